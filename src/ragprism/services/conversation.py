"""A question put to an assistant within a session: what the completion routes call.

``start_turn`` finds or creates the session, prepares the answer and stores the user's
question; the answer is then produced whole (``finish_turn``) or streamed
(``stream_turn``), and the assistant message is stored either way — for a stream in a
transaction of its own when the stream ends, however it ends.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from ragprism.db import new_id
from ragprism.errors import DataError
from ragprism.llm import Message
from ragprism.services import completion, sessions
from ragprism.services.accounts import Principal
from ragprism.services.chats import get_chat
from ragprism.services.completion import Answer, ChatConfig, PreparedAnswer, StreamEvent

if TYPE_CHECKING:
    from ragprism.api.state import AppState


@dataclass(frozen=True)
class Turn:
    """A prepared answer and where it goes. ``session_id`` is "" for session-less chats;
    ``opener`` is set when a new session was asked for without a question."""

    prepared: PreparedAnswer | None
    tenant_id: str
    session_id: str
    message_id: str
    opener: str | None = None

    @property
    def stored(self) -> bool:
        return bool(self.session_id)


def start_turn(
    session: Session,
    state: AppState,
    principal: Principal,
    *,
    chat_id: str | None,
    question: str,
    session_id: str | None = None,
    user_id: str | None = None,
    history: Sequence[Message] | None = None,
    llm_id: str | None = None,
    stateless: bool = False,
) -> Turn:
    """Check the assistant and session, prepare the answer and store the question.

    Without ``chat_id`` the tenant's default (or ``llm_id``) model answers directly and
    nothing is stored; nor with ``stateless`` (the OpenAI-compatible routes). ``history``
    given (OpenAI-style messages) replaces the stored one.
    """
    tenant_id = principal.tenant_id
    question = question.strip()
    if chat_id is None:
        if not question:
            raise DataError("Please input your question.")
        prepared = completion.prepare(
            session, state, tenant_id, ChatConfig(llm_id=llm_id), question, history or ()
        )
        return Turn(prepared, tenant_id, "", new_id())
    chat = get_chat(session, tenant_id, chat_id)
    if stateless:
        config = ChatConfig.of(chat, llm_id)
        prepared = completion.prepare(session, state, tenant_id, config, question, history or ())
        return Turn(prepared, tenant_id, "", new_id())
    if session_id:
        row = sessions.get_session(session, tenant_id, chat.id, session_id)
    else:
        row = sessions.start_session(session, principal, chat, user_id=user_id)
        if not question:
            opener = (chat.prompt_config or {}).get("prologue") or ""
            return Turn(None, tenant_id, row.id, "", opener=opener)
    if not question:
        raise DataError("Please input your question.")
    if history is None:
        history = sessions.history(session, row)
    config = ChatConfig.of(chat, llm_id)
    prepared = completion.prepare(session, state, tenant_id, config, question, history)
    sessions.add_user_message(session, tenant_id, row.id, question)
    return Turn(prepared, tenant_id, row.id, new_id())


def _stored(
    turn: Turn, text: str, reference: dict[str, object] | None, status: str
) -> sessions.StoredAnswer:
    assert turn.prepared is not None
    return sessions.StoredAnswer(
        tenant_id=turn.tenant_id,
        session_id=turn.session_id,
        message_id=turn.message_id,
        content=text,
        reference=dict(reference) if reference is not None else None,
        prompt=turn.prepared.prompt,
        status=status,
    )


def finish_turn(session: Session, turn: Turn) -> Answer:
    """The whole answer, stored in the request's transaction."""
    assert turn.prepared is not None
    answer = completion.complete(turn.prepared)
    if turn.stored:
        sessions.store_answer(session, _stored(turn, answer.text, answer.reference, "done"))
    return answer


def stream_turn(state: AppState, turn: Turn) -> Generator[StreamEvent, None, None]:
    """The answer as stream events; the assistant message is stored when the stream ends
    (done, failed or closed early by a client that went away)."""
    assert turn.prepared is not None

    def on_end(outcome: completion.StreamOutcome) -> None:
        if turn.stored:
            stored = _stored(turn, outcome.text, outcome.reference, outcome.status)
            sessions.store_answer_in(state.db, stored)

    return completion.stream(turn.prepared, on_end)
