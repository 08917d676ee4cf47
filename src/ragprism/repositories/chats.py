"""Queries on chat assistants, their sessions and messages.

Every query filters on the tenant: another tenant's id behaves exactly like a missing
one (getters return ``None``, deletes skip it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.orm import Session

from ragprism.db.base import utcnow
from ragprism.models import Chat, ChatMessage, ChatSession
from ragprism.models.dataset import name_key
from ragprism.repositories import answer_records

OrderBy = Literal["create_time", "update_time"]


def _ordered(query: Select[Any], column: Any, desc: bool, page: int, page_size: int) -> Select[Any]:
    order = column.desc() if desc else column.asc()
    page, page_size = max(page, 1), max(page_size, 0)
    return query.order_by(order, column.table.c.id).limit(page_size).offset((page - 1) * page_size)


# -- chats -------------------------------------------------------------------------------


def get_chat(session: Session, tenant_id: str, chat_id: str) -> Chat | None:
    return session.scalars(
        select(Chat).where(Chat.tenant_id == tenant_id, Chat.id == chat_id)
    ).first()


def get_chat_by_name(session: Session, tenant_id: str, name: str) -> Chat | None:
    """The tenant's assistant called ``name``, compared case-insensitively."""
    return session.scalars(
        select(Chat).where(Chat.tenant_id == tenant_id, Chat.name_key == name_key(name))
    ).first()


def list_chats(
    session: Session,
    tenant_id: str,
    *,
    page: int = 1,
    page_size: int = 30,
    orderby: OrderBy = "create_time",
    desc: bool = True,
    chat_id: str | None = None,
    name: str | None = None,
    keywords: str | None = None,
) -> list[Chat]:
    query = _filtered_chats(select(Chat), tenant_id, chat_id, name, keywords)
    column = Chat.update_time if orderby == "update_time" else Chat.create_time
    return list(session.scalars(_ordered(query, column, desc, page, page_size)))


def count_chats(
    session: Session,
    tenant_id: str,
    *,
    chat_id: str | None = None,
    name: str | None = None,
    keywords: str | None = None,
) -> int:
    query = _filtered_chats(select(func.count(Chat.id)), tenant_id, chat_id, name, keywords)
    return int(session.scalar(query) or 0)


def _filtered_chats(
    query: Select[Any],
    tenant_id: str,
    chat_id: str | None,
    name: str | None,
    keywords: str | None,
) -> Select[Any]:
    """``keywords`` matches part of the name, ignoring case."""
    query = query.where(Chat.tenant_id == tenant_id)
    if chat_id:
        query = query.where(Chat.id == chat_id)
    if name:
        query = query.where(Chat.name_key == name_key(name))
    if keywords:
        query = query.where(Chat.name_key.contains(name_key(keywords), autoescape=True))
    return query


def existing_chat_ids(session: Session, tenant_id: str, chat_ids: Sequence[str]) -> set[str]:
    return set(
        session.scalars(select(Chat.id).where(Chat.tenant_id == tenant_id, Chat.id.in_(chat_ids)))
    )


def delete_chats(session: Session, tenant_id: str, chat_ids: Sequence[str]) -> int:
    """Delete the tenant's assistants among ``chat_ids`` with their sessions and messages."""
    sessions = select(ChatSession.id).where(
        ChatSession.tenant_id == tenant_id, ChatSession.chat_id.in_(chat_ids)
    )
    # Explicit deletes: SQLite only cascades with foreign keys on, MariaDB skips triggers.
    session.execute(delete(ChatMessage).where(ChatMessage.session_id.in_(sessions)))
    answer_records.delete_for_sessions(session, sessions)
    session.execute(
        delete(ChatSession).where(
            ChatSession.tenant_id == tenant_id, ChatSession.chat_id.in_(chat_ids)
        )
    )
    result = session.execute(delete(Chat).where(Chat.tenant_id == tenant_id, Chat.id.in_(chat_ids)))
    return int(result.rowcount)  # type: ignore[attr-defined]


# -- sessions ----------------------------------------------------------------------------


def get_session(
    session: Session, tenant_id: str, chat_id: str, session_id: str
) -> ChatSession | None:
    return session.scalars(
        select(ChatSession).where(
            ChatSession.tenant_id == tenant_id,
            ChatSession.chat_id == chat_id,
            ChatSession.id == session_id,
        )
    ).first()


def list_sessions(
    session: Session,
    tenant_id: str,
    chat_id: str,
    *,
    page: int = 1,
    page_size: int = 30,
    orderby: OrderBy = "create_time",
    desc: bool = True,
    session_id: str | None = None,
    name: str | None = None,
    user_id: str | None = None,
) -> list[ChatSession]:
    query = select(ChatSession).where(
        ChatSession.tenant_id == tenant_id, ChatSession.chat_id == chat_id
    )
    if session_id:
        query = query.where(ChatSession.id == session_id)
    if name:
        query = query.where(ChatSession.name == name)
    if user_id:
        query = query.where(ChatSession.user_id == user_id)
    column = ChatSession.update_time if orderby == "update_time" else ChatSession.create_time
    return list(session.scalars(_ordered(query, column, desc, page, page_size)))


def existing_session_ids(
    session: Session, tenant_id: str, chat_id: str, session_ids: Sequence[str]
) -> set[str]:
    return set(
        session.scalars(
            select(ChatSession.id).where(
                ChatSession.tenant_id == tenant_id,
                ChatSession.chat_id == chat_id,
                ChatSession.id.in_(session_ids),
            )
        )
    )


def delete_sessions(
    session: Session, tenant_id: str, chat_id: str, session_ids: Sequence[str]
) -> int:
    owned = existing_session_ids(session, tenant_id, chat_id, session_ids)
    if not owned:
        return 0
    session.execute(delete(ChatMessage).where(ChatMessage.session_id.in_(owned)))
    answer_records.delete_for_sessions(session, owned)
    result = session.execute(delete(ChatSession).where(ChatSession.id.in_(owned)))
    return int(result.rowcount)  # type: ignore[attr-defined]


def touch_session(session: Session, session_id: str) -> None:
    session.execute(
        update(ChatSession).where(ChatSession.id == session_id).values(update_time=utcnow())
    )


# -- messages ----------------------------------------------------------------------------


def messages_of(session: Session, session_ids: Sequence[str]) -> dict[str, list[ChatMessage]]:
    """The messages of each session, in order."""
    found: dict[str, list[ChatMessage]] = {sid: [] for sid in session_ids}
    if not session_ids:
        return found
    rows = session.scalars(
        select(ChatMessage)
        .where(ChatMessage.session_id.in_(session_ids))
        .order_by(ChatMessage.session_id, ChatMessage.seq)
    )
    for row in rows:
        found[row.session_id].append(row)
    return found


def add_message(session: Session, tenant_id: str, session_id: str, **fields: Any) -> ChatMessage:
    """Append a message to a session (after its last one)."""
    last = session.scalar(
        select(func.max(ChatMessage.seq)).where(ChatMessage.session_id == session_id)
    )
    row = ChatMessage(tenant_id=tenant_id, session_id=session_id, seq=(last or 0) + 1, **fields)
    session.add(row)
    session.flush()
    touch_session(session, session_id)
    return row


def get_message(
    session: Session, tenant_id: str, session_id: str, message_id: str
) -> ChatMessage | None:
    return session.scalars(
        select(ChatMessage).where(
            ChatMessage.tenant_id == tenant_id,
            ChatMessage.session_id == session_id,
            ChatMessage.id == message_id,
        )
    ).first()


def get_session_by_id(session: Session, tenant_id: str, session_id: str) -> ChatSession | None:
    """A session by id alone (still scoped to the tenant)."""
    return session.scalars(
        select(ChatSession).where(ChatSession.tenant_id == tenant_id, ChatSession.id == session_id)
    ).first()
