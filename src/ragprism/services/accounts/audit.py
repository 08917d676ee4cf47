"""The audit log of configuration changes (issue 13): who, when, what changed.

Services record an event in the same transaction as the change, so a change that is
rolled back leaves no entry and a committed one always has its entry. ``changes`` holds
names and non-secret values only: a secret appears as ``"changed"``, never as a value or
a mask of it.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.orm import Session

from ragprism.errors import InvalidArgument
from ragprism.models import AuditEvent, User
from ragprism.repositories import audit as repo


class Principal(Protocol):
    """Who acts (``accounts.Principal``; a protocol, since accounts records here too)."""

    @property
    def user(self) -> User: ...

    @property
    def tenant_id(self) -> str: ...

    @property
    def via_api_key(self) -> bool: ...

    def require_manager(self) -> None: ...


MAX_PAGE_SIZE = 200


def record(
    session: Session,
    principal: Principal,
    action: str,
    target: str = "",
    changes: dict[str, Any] | None = None,
    *,
    tenant_id: str | None = None,
) -> None:
    """Add an event for a change ``principal`` made to its tenant (or to ``tenant_id``)."""
    repo.add(
        session,
        AuditEvent(
            tenant_id=tenant_id or principal.tenant_id,
            actor_id=principal.user.id,
            actor_email=principal.user.email,
            via_api_key=principal.via_api_key,
            action=action,
            target=target[:255],
            changes=changes or {},
        ),
    )


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """``{field: {"from": old, "to": new}}`` for the fields whose value changed."""
    return {
        name: {"from": before.get(name), "to": value}
        for name, value in after.items()
        if before.get(name) != value
    }


def list_events(
    session: Session, principal: Principal, page: int, page_size: int
) -> tuple[list[AuditEvent], int]:
    """The tenant's events, newest first; owners and admins only."""
    principal.require_manager()
    if page < 1:
        raise InvalidArgument("page: must be at least 1")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidArgument(f"page_size: must be 1 to {MAX_PAGE_SIZE}")
    return repo.list_for_tenant(session, principal.tenant_id, (page - 1) * page_size, page_size)
