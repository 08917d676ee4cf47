"""Queries on ``tenant_langfuse``; one row per tenant."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ragprism.models import TenantLangfuse


def get(session: Session, tenant_id: str, *, for_update: bool = False) -> TenantLangfuse | None:
    stmt = select(TenantLangfuse).where(TenantLangfuse.tenant_id == tenant_id)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).first()


def delete_for_tenant(session: Session, tenant_id: str) -> int:
    result = session.execute(delete(TenantLangfuse).where(TenantLangfuse.tenant_id == tenant_id))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def list_all(session: Session) -> list[TenantLangfuse]:
    return list(session.scalars(select(TenantLangfuse)))
