"""Queries on the audit log; every one is scoped to a tenant."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ragprism.models import AuditEvent


def add(session: Session, event: AuditEvent) -> None:
    session.add(event)


def list_for_tenant(
    session: Session, tenant_id: str, offset: int, limit: int
) -> tuple[list[AuditEvent], int]:
    """The tenant's events, newest first, and how many there are."""
    rows = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.tenant_id == tenant_id)
        .order_by(AuditEvent.id.desc())
        .offset(offset)
        .limit(limit)
    )
    total = session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.tenant_id == tenant_id)
    )
    return list(rows), int(total or 0)
