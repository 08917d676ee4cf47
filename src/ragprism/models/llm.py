"""A tenant's model providers (RAGFlow's ``tenant_llm``)."""

from __future__ import annotations

from sqlalchemy import Double, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ragprism.db.base import Base, IdMixin, TimestampMixin


class TenantLlm(IdMixin, TimestampMixin, Base):
    """One model of one provider ("factory") a tenant added, with its encrypted API key."""

    __tablename__ = "tenant_llm"
    __table_args__ = (
        UniqueConstraint(
            "tenant_id", "llm_factory", "llm_name", "model_type", name="uq_tenant_llm_model"
        ),
    )

    tenant_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("tenant.id", ondelete="CASCADE"), index=True
    )
    llm_factory: Mapped[str] = mapped_column(String(64))
    llm_name: Mapped[str] = mapped_column(String(128))
    model_type: Mapped[str] = mapped_column(String(16))
    api_base: Mapped[str | None] = mapped_column(String(512), default=None)
    # Fernet token of the provider's API key; None for keyless local servers.
    api_key_enc: Mapped[str | None] = mapped_column(Text, default=None)
    max_tokens: Mapped[int] = mapped_column(default=8192)
    used_tokens: Mapped[int] = mapped_column(default=0)
    # USD per 1M tokens, as the tenant configured them (not in RAGFlow). None: no price,
    # so no cost is recorded and Langfuse may apply its own model prices.
    input_price: Mapped[float | None] = mapped_column(Double(), default=None)
    output_price: Mapped[float | None] = mapped_column(Double(), default=None)
