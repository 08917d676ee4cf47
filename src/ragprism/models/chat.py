"""Chat assistants (RAGFlow's "dialog"), their sessions ("conversation") and messages.

The assistant keeps RAGFlow's stored shape (``llm_setting``, ``prompt_config``, the
retrieval knobs as columns); the HTTP layer maps it to the SDK's ``llm``/``prompt``
objects. Messages get a row each so a streamed answer can be stored on its own, even
when the client went away, without rewriting the whole conversation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column, validates
from sqlalchemy.types import TypeEngine

from ragprism.db.base import Base, IdMixin, UTCDateTime, utcnow
from ragprism.models.dataset import _NAME_KEY, LONG_TEXT, name_key


class PreciseUTCDateTime(UTCDateTime):
    """``UTCDateTime`` with microseconds on MariaDB too (its DATETIME drops them), so
    records created within one second still list in creation order."""

    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())


class PreciseTimestamps:
    create_time: Mapped[datetime] = mapped_column(PreciseUTCDateTime(), default=utcnow)
    update_time: Mapped[datetime] = mapped_column(
        PreciseUTCDateTime(), default=utcnow, onupdate=utcnow
    )


class Chat(IdMixin, PreciseTimestamps, Base):
    """A chat assistant: datasets to search, a chat model and its prompt."""

    __tablename__ = "chat"
    __table_args__ = (UniqueConstraint("tenant_id", "name_key", name="uq_chat_tenant_name"),)

    tenant_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("tenant.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    name_key: Mapped[str] = mapped_column(_NAME_KEY)
    avatar: Mapped[str | None] = mapped_column(LONG_TEXT, default=None)
    description: Mapped[str] = mapped_column(Text, default="A helpful Assistant")
    language: Mapped[str] = mapped_column(String(32), default="English")
    dataset_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    llm_id: Mapped[str] = mapped_column(String(255))
    # temperature, top_p, presence_penalty, frequency_penalty, max_tokens (unset: absent).
    llm_setting: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # system, prologue, parameters, empty_response, quote.
    prompt_config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    similarity_threshold: Mapped[float] = mapped_column(Float, default=0.2)
    vector_similarity_weight: Mapped[float] = mapped_column(Float, default=0.3)
    top_n: Mapped[int] = mapped_column(Integer, default=6)
    top_k: Mapped[int] = mapped_column(Integer, default=1024)
    rerank_id: Mapped[str] = mapped_column(String(255), default="")
    created_by: Mapped[str] = mapped_column(String(32))

    @validates("name")
    def _keep_name_key(self, _key: str, value: str) -> str:
        self.name_key = name_key(value)
        return value


class ChatSession(IdMixin, PreciseTimestamps, Base):
    """One conversation with an assistant; ``user_id`` is the client's own id, if given."""

    __tablename__ = "chat_session"

    tenant_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("tenant.id", ondelete="CASCADE"), index=True
    )
    chat_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("chat.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(255), default="")
    created_by: Mapped[str] = mapped_column(String(32))


class ChatMessage(IdMixin, PreciseTimestamps, Base):
    """A message of a session, in order of ``seq``.

    Assistant answers keep their ``reference`` (chunks and doc_aggs), the ``trace_id`` of
    the request that produced them, and the user's feedback.
    """

    __tablename__ = "chat_message"
    __table_args__ = (Index("ix_chat_message_session_seq", "session_id", "seq"),)

    tenant_id: Mapped[str] = mapped_column(String(32), index=True)
    session_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("chat_session.id", ondelete="CASCADE")
    )
    seq: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(LONG_TEXT, default="")
    reference: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    prompt: Mapped[str | None] = mapped_column(LONG_TEXT, default=None)
    trace_id: Mapped[str | None] = mapped_column(String(64), default=None)
    # Whether the answer ended normally; "error"/"disconnected" mark a partial answer.
    status: Mapped[str] = mapped_column(String(16), default="done")
    thumbup: Mapped[bool | None] = mapped_column(default=None)
    feedback: Mapped[str | None] = mapped_column(Text, default=None)
