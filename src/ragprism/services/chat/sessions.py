"""Sessions with a chat assistant (RAGFlow's conversations), their messages and feedback."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from ragprism.db import Database
from ragprism.errors import InvalidArgument, NotFound
from ragprism.models import AnswerRecord, Chat, ChatMessage, ChatSession
from ragprism.repositories import answer_records as record_repo
from ragprism.repositories import chats as repo
from ragprism.services.accounts.accounts import Principal
from ragprism.services.chat.chats import get_chat

DEFAULT_SESSION_NAME = "New session"


def _clean_name(value: Any) -> str:
    name = str(value if value is not None else "").strip()
    if not name:
        raise InvalidArgument("`name` can not be empty.")
    if not name.isprintable():
        raise InvalidArgument("`name`: must not contain control characters")
    return name[:255]


def create_session(
    session: Session,
    principal: Principal,
    chat_id: str,
    *,
    name: str | None = None,
    user_id: str | None = None,
) -> ChatSession:
    """A new session that starts with the assistant's opener."""
    chat = get_chat(session, principal.tenant_id, chat_id)
    return start_session(session, principal, chat, name=name, user_id=user_id)


def start_session(
    session: Session,
    principal: Principal,
    chat: Chat,
    *,
    name: str | None = None,
    user_id: str | None = None,
) -> ChatSession:
    """A new session of ``chat`` (already checked to be the tenant's)."""
    row = ChatSession(
        tenant_id=principal.tenant_id,
        chat_id=chat.id,
        name=_clean_name(DEFAULT_SESSION_NAME if name is None else name),
        user_id=(user_id or "")[:255],
        created_by=principal.user.id,
    )
    session.add(row)
    session.flush()
    opener = (chat.prompt_config or {}).get("prologue") or ""
    if opener:
        repo.add_message(session, principal.tenant_id, row.id, role="assistant", content=opener)
    return row


def get_session(session: Session, tenant_id: str, chat_id: str, session_id: str) -> ChatSession:
    """The session, or ``NotFound`` when it or its assistant is not the tenant's."""
    found = repo.get_session(session, tenant_id, chat_id, session_id)
    if found is None:
        raise NotFound("Session not found!")
    return found


def update_session(
    session: Session,
    principal: Principal,
    chat_id: str,
    session_id: str,
    fields: dict[str, Any],
) -> ChatSession:
    """Rename a session (and/or change its client-supplied ``user_id``)."""
    get_chat(session, principal.tenant_id, chat_id)
    row = get_session(session, principal.tenant_id, chat_id, session_id)
    if "name" in fields:
        row.name = _clean_name(fields["name"])
    if fields.get("user_id") is not None:
        row.user_id = str(fields["user_id"])[:255]
    session.flush()
    return row


def list_sessions(
    session: Session,
    principal: Principal,
    chat_id: str,
    **filters: Any,
) -> tuple[list[ChatSession], dict[str, list[ChatMessage]]]:
    """One page of the assistant's sessions with their messages."""
    get_chat(session, principal.tenant_id, chat_id)
    rows = repo.list_sessions(session, principal.tenant_id, chat_id, **filters)
    if not rows and filters.get("session_id"):
        raise NotFound("The session doesn't exist")
    return rows, repo.messages_of(session, [r.id for r in rows])


def delete_sessions(
    session: Session,
    principal: Principal,
    chat_id: str,
    ids: Sequence[str] | None,
    delete_all: bool,
) -> int:
    """Delete the listed sessions (all of the assistant's with ``delete_all``); nothing is
    deleted when one of the ids is unknown."""
    get_chat(session, principal.tenant_id, chat_id)
    if not ids:
        if not delete_all:
            return 0
        ids = [
            s.id for s in repo.list_sessions(session, principal.tenant_id, chat_id, page_size=10**6)
        ]
    wanted = list(dict.fromkeys(ids))
    found = repo.existing_session_ids(session, principal.tenant_id, chat_id, wanted)
    for session_id in wanted:
        if session_id not in found:
            raise NotFound(f"The chat doesn't own the session {session_id}")
    return repo.delete_sessions(session, principal.tenant_id, chat_id, wanted)


def session_messages(session: Session, session_row: ChatSession) -> list[ChatMessage]:
    """The session's messages, in order."""
    return repo.messages_of(session, [session_row.id])[session_row.id]


def history(session: Session, session_row: ChatSession) -> list[dict[str, str]]:
    """The session's messages as chat messages (the opener included)."""
    messages = session_messages(session, session_row)
    return [{"role": m.role, "content": m.content} for m in messages if m.content]


# -- storing answers ---------------------------------------------------------------------


@dataclass(frozen=True)
class StoredAnswer:
    """An assistant message to store once its answer is known (or cut short)."""

    tenant_id: str
    session_id: str
    message_id: str
    content: str
    reference: dict[str, Any] | None
    prompt: str | None
    status: str = "done"
    trace_id: str | None = None
    record: AnswerRecord | None = None  # what happened inside the answer (issue 11)


def add_user_message(session: Session, tenant_id: str, session_id: str, question: str) -> str:
    return repo.add_message(session, tenant_id, session_id, role="user", content=question).id


def store_answer(session: Session, answer: StoredAnswer) -> None:
    """Append the assistant message of ``answer`` to its session."""
    repo.add_message(
        session,
        answer.tenant_id,
        answer.session_id,
        id=answer.message_id,
        role="assistant",
        content=answer.content,
        reference=answer.reference,
        prompt=answer.prompt,
        status=answer.status,
        trace_id=answer.trace_id,
    )
    if answer.record is not None:
        session.add(answer.record)
        session.flush()


def store_answer_in(db: Database, answer: StoredAnswer) -> None:
    """``store_answer`` in a transaction of its own (streams outlive the request's)."""
    with db.session() as session:
        if repo.get_session_by_id(session, answer.tenant_id, answer.session_id) is not None:
            store_answer(session, answer)


# -- feedback ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedbackRecord:
    """A user's verdict on an answer; ``trace_id`` links it to the answer's trace."""

    tenant_id: str
    chat_id: str
    session_id: str
    message_id: str
    trace_id: str | None
    thumbup: bool
    feedback: str
    user_id: str


def record_feedback(
    session: Session,
    principal: Principal,
    chat_id: str,
    session_id: str,
    message_id: str,
    *,
    thumbup: bool,
    feedback: str = "",
) -> FeedbackRecord:
    """Store thumbs up/down and a comment on an assistant message."""
    get_chat(session, principal.tenant_id, chat_id)
    row = get_session(session, principal.tenant_id, chat_id, session_id)
    message = repo.get_message(session, principal.tenant_id, session_id, message_id)
    if message is None:
        raise NotFound("Message not found!")
    if message.role != "assistant":
        raise InvalidArgument("msg_id: only assistant messages take feedback")
    message.thumbup = thumbup
    message.feedback = feedback
    record_repo.set_feedback(session, principal.tenant_id, message_id, thumbup)
    session.flush()
    return FeedbackRecord(
        tenant_id=principal.tenant_id,
        chat_id=chat_id,
        session_id=session_id,
        message_id=message_id,
        trace_id=message.trace_id,
        thumbup=thumbup,
        feedback=feedback,
        user_id=row.user_id or principal.user.id,
    )


def delete_message(
    session: Session, principal: Principal, chat_id: str, session_id: str, message_id: str
) -> ChatSession:
    """Delete a message and its partner, as RAGFlow deletes a question with its answer:
    an answer takes the question before it, a question the answer after it. The session."""
    get_chat(session, principal.tenant_id, chat_id)
    row = get_session(session, principal.tenant_id, chat_id, session_id)
    messages = session_messages(session, row)
    index = next((i for i, m in enumerate(messages) if m.id == message_id), None)
    if index is None:
        raise NotFound("Message not found!")
    doomed = [messages[index]]
    if messages[index].role == "assistant" and index > 0 and messages[index - 1].role == "user":
        doomed.append(messages[index - 1])
    after = messages[index + 1] if index + 1 < len(messages) else None
    if messages[index].role == "user" and after is not None and after.role == "assistant":
        doomed.append(after)
    for message in doomed:
        session.delete(message)
    session.flush()
    return row


# -- JSON --------------------------------------------------------------------------------


def reference_chunks(reference: dict[str, Any] | None) -> list[dict[str, Any]]:
    return list((reference or {}).get("chunks") or [])


def message_json(
    message: ChatMessage, trace_url: Callable[[str | None], str | None] | None = None
) -> dict[str, Any]:
    """A stored message as the sessions list shows it (with ``trace_url`` given, an
    answer's link into the tenant's Langfuse project)."""
    item: dict[str, Any] = {
        "id": message.id,
        "role": message.role,
        "content": message.content,
        "created_at": message.create_time.timestamp(),
    }
    if message.role == "assistant":
        item["reference"] = reference_chunks(message.reference)
        item["trace_id"] = message.trace_id
        if trace_url is not None:
            item["trace_url"] = trace_url(message.trace_id)
        if message.status != "done":
            item["status"] = message.status
        if message.thumbup is not None:
            item["thumbup"] = message.thumbup
            item["feedback"] = message.feedback or ""
    return item


def session_json(
    row: ChatSession,
    messages: Sequence[ChatMessage],
    trace_url: Callable[[str | None], str | None] | None = None,
) -> dict[str, Any]:
    return {
        "id": row.id,
        "chat_id": row.chat_id,
        "name": row.name,
        "user_id": row.user_id,
        "messages": [message_json(m, trace_url) for m in messages],
    }
