"""The record the server keeps with each stored answer, for the answer inspector and usage
(and ``UsageDay``, a finished day's usage summed from those records).

One row per assistant message (``id`` is the message's id). The figures the usage API
groups and sums are columns (``day``, ``chat_id``, ``model``, tokens, cost, latency);
the rest — the steps with their timings, the models called, the retrieved chunks and
the prompt — is the ``details`` JSON the inspector shows.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ragprism.db.base import Base, utcnow
from ragprism.models.chat import PreciseUTCDateTime


class AnswerRecord(Base):
    """What happened inside one answer: steps, models, chunks, prompt, and its totals."""

    __tablename__ = "answer_record"
    __table_args__ = (
        # Covers the usage API's queries: one tenant, a range of days, grouped by day,
        # assistant and model, the latencies in order, the figures summed.
        Index(
            "ix_answer_record_usage",
            "tenant_id",
            "day",
            "chat_id",
            "model",
            "latency_ms",
            "status",
            "input_tokens",
            "output_tokens",
            "cost",
            "thumbup",
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # the message's id
    tenant_id: Mapped[str] = mapped_column(String(32), ForeignKey("tenant.id", ondelete="CASCADE"))
    chat_id: Mapped[str] = mapped_column(String(32))
    session_id: Mapped[str] = mapped_column(String(32), index=True)
    create_time: Mapped[datetime] = mapped_column(PreciseUTCDateTime(), default=utcnow)
    day: Mapped[date] = mapped_column(Date)  # the UTC day of create_time
    # done, error or disconnected, as the message's status.
    status: Mapped[str] = mapped_column(String(16))
    model: Mapped[str] = mapped_column(String(255), default="")  # the chat model
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost: Mapped[float | None] = mapped_column(Float, default=None)  # USD; None: no price
    latency_ms: Mapped[float] = mapped_column(Float)
    first_token_ms: Mapped[float | None] = mapped_column(Float, default=None)
    trace_id: Mapped[str | None] = mapped_column(String(64), default=None)
    # The message's thumbs up/down, copied here when given so usage needs no join.
    thumbup: Mapped[bool | None] = mapped_column(Boolean, default=None)
    capture: Mapped[str] = mapped_column(String(16), default="full")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class UsageDay(Base):
    """A finished day's usage of a tenant, kept so the usage API need not read every
    answer of a long range again: per assistant and model, the sums and the sorted
    latencies of the finished answers. Made on first use for days before yesterday (no
    answer is stored for them any more), dropped when one of their answers gets feedback
    or is deleted."""

    __tablename__ = "usage_day"

    tenant_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("tenant.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    groups: Mapped[list[Any]] = mapped_column(JSON, default=list)
