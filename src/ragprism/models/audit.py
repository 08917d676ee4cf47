"""The audit log of configuration changes: who changed what in a tenant, and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ragprism.db.base import Base, UTCDateTime, utcnow


class AuditEvent(Base):
    """One change of a tenant's configuration. ``changes`` never holds a secret."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_tenant_id", "tenant_id", "id"),)

    # A growing number orders events even within one second (MariaDB keeps whole seconds).
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    tenant_id: Mapped[str] = mapped_column(String(32), ForeignKey("tenant.id", ondelete="CASCADE"))
    # Who: the user (kept as an id and an e-mail, so the entry outlives the account).
    actor_id: Mapped[str] = mapped_column(String(32))
    actor_email: Mapped[str] = mapped_column(String(255))
    via_api_key: Mapped[bool] = mapped_column(default=False)
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(255), default="")
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    create_time: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
