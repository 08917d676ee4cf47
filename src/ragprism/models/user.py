"""Users, tenants and memberships."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ragprism.db.base import Base, IdMixin, TimestampMixin


class Role(StrEnum):
    """A member's role in a tenant. Owners and admins may change tenant settings."""

    OWNER = "owner"
    ADMIN = "admin"
    NORMAL = "normal"

    @property
    def can_manage(self) -> bool:
        return self in (Role.OWNER, Role.ADMIN)


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "user"

    email: Mapped[str] = mapped_column(String(255), unique=True)
    nickname: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_superuser: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)


class Tenant(IdMixin, TimestampMixin, Base):
    """A tenant; the one a user registers with has the user's id."""

    __tablename__ = "tenant"

    name: Mapped[str] = mapped_column(String(100))
    # Default models, as ``name@Factory`` (RAGFlow's ids); see services.model_settings.
    llm_id: Mapped[str] = mapped_column(String(256), default="builtin-extractive@Builtin")
    embd_id: Mapped[str] = mapped_column(String(256), default="builtin-hashing@Builtin")
    rerank_id: Mapped[str] = mapped_column(String(256), default="")
    img2txt_id: Mapped[str] = mapped_column(String(256), default="")
    asr_id: Mapped[str] = mapped_column(String(256), default="")


class UserTenant(IdMixin, TimestampMixin, Base):
    __tablename__ = "user_tenant"
    __table_args__ = (UniqueConstraint("tenant_id", "user_id", name="uq_user_tenant_member"),)

    tenant_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("tenant.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(16))
    invited_by: Mapped[str | None] = mapped_column(String(32), default=None)
