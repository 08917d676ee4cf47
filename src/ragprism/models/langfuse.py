"""A tenant's Langfuse destination (SPEC §3)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ragprism.db.base import Base, TimestampMixin, UTCDateTime


class TenantLangfuse(TimestampMixin, Base):
    __tablename__ = "tenant_langfuse"

    tenant_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("tenant.id", ondelete="CASCADE"), primary_key=True
    )
    public_key: Mapped[str] = mapped_column(String(255))
    # Fernet token of the secret key; the plaintext is never stored.
    secret_key_enc: Mapped[str] = mapped_column(Text)
    # The masked secret shown to clients, kept so a PUT can recognise it unchanged.
    secret_key_masked: Mapped[str] = mapped_column(String(64))
    host: Mapped[str] = mapped_column(String(512))
    project_id: Mapped[str] = mapped_column(String(255))
    project_name: Mapped[str] = mapped_column(String(255))
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Bumped on every write so caches in other processes notice a change.
    version: Mapped[int] = mapped_column(default=1)
    validated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    validation_status: Mapped[str] = mapped_column(String(16), default="valid")
    validation_message: Mapped[str | None] = mapped_column(String(512), default=None)
