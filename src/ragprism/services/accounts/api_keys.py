"""API keys of a tenant (``/v1/system/new_token`` and friends)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ragprism.errors import InvalidArgument, NotFound
from ragprism.models import ApiToken
from ragprism.repositories import tokens as repo
from ragprism.security.tokens import API_KEY_PREFIX, digest, mask_secret, new_api_key
from ragprism.services.accounts import audit
from ragprism.services.accounts.accounts import Principal


def create(session: Session, principal: Principal) -> tuple[ApiToken, str]:
    """A new API key for the caller's tenant; the plaintext is returned only here."""
    token = new_api_key()
    row = ApiToken(
        tenant_id=principal.tenant_id,
        user_id=principal.user.id,
        token_hash=digest(token),
        masked=API_KEY_PREFIX + mask_secret(token[len(API_KEY_PREFIX) :]),
    )
    session.add(row)
    session.flush()
    audit.record(session, principal, "api_key.create", row.masked, {"id": row.id})
    return row, token


def list_for_tenant(session: Session, principal: Principal) -> list[ApiToken]:
    return repo.list_api_tokens(session, principal.tenant_id)


def delete(session: Session, principal: Principal, handle: str) -> None:
    """Delete a key of the caller's tenant, named by the key itself, its id or masked form.
    Owners and admins delete any key of the tenant; other members only their own."""
    handle = handle.strip()
    if not handle or len(handle) > 512:
        raise InvalidArgument("token: required")
    # A handle no key can have (PostgreSQL cannot even compare text holding NUL) is absent.
    if not handle.isprintable():
        raise NotFound("API key not found.")
    gone = repo.delete_api_token(
        session,
        principal.tenant_id,
        digest(handle),
        handle,
        None if principal.role.can_manage else principal.user.id,
    )
    if not gone:
        raise NotFound("API key not found.")
    for row in gone:
        audit.record(session, principal, "api_key.delete", row.masked, {"id": row.id})
