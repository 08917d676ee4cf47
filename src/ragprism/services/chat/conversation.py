"""A question put to an assistant within a session: what the completion routes call.

``start_turn`` finds or creates the session, prepares the answer and stores the user's
question; the answer is then produced whole (``finish_turn``) or streamed
(``stream_turn``), and the assistant message is stored either way — for a stream in a
transaction of its own when the stream ends, however it ends.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from ragprism.db import new_id
from ragprism.errors import DataError
from ragprism.llm import Message
from ragprism.services.accounts.accounts import Principal
from ragprism.services.chat import answer_records, completion, sessions
from ragprism.services.chat.answer_recorder import AnswerRecorder
from ragprism.services.chat.chats import get_chat
from ragprism.services.chat.completion import Answer, ChatConfig, PreparedAnswer, StreamEvent
from ragprism.tracing import NoopTrace, Trace

if TYPE_CHECKING:
    from ragprism.models import Chat
    from ragprism.services.context import ServiceContext

_NOOP = NoopTrace()


@dataclass(frozen=True)
class Turn:
    """A prepared answer and where it goes. ``session_id`` is "" for session-less chats;
    ``opener`` is set when a new session was asked for without a question."""

    prepared: PreparedAnswer | None
    tenant_id: str
    session_id: str
    message_id: str
    opener: str | None = None
    trace: Trace = field(default=_NOOP)
    # Feeds the trace and the answer record (issue 11); ``trace`` is this when set.
    recorder: AnswerRecorder | None = None
    chat_id: str = ""
    _ended: list[bool] = field(default_factory=lambda: [False], repr=False, compare=False)

    @property
    def stored(self) -> bool:
        return bool(self.session_id)

    @property
    def trace_fields(self) -> dict[str, str | None]:
        """``trace_id`` and ``trace_url`` for a response; empty when not traced."""
        if not self.trace.trace_id:
            return {}
        return {"trace_id": self.trace.trace_id, "trace_url": self.trace.url}


def _start_trace(
    state: ServiceContext,
    principal: Principal,
    *,
    question: str,
    message_id: str,
    chat: Chat | None,
    session_id: str,
    user_id: str | None,
    llm_id: str | None,
) -> Trace:
    """The ``chat`` trace of one answer, entered here; ``_end_trace`` ends it. Tags: the
    assistant's name and model id; user: the session's client-supplied ``user_id``, else
    the requesting user's id."""
    tags = [t for t in (chat.name if chat else None, llm_id) if t]
    metadata: dict[str, Any] = {"message_id": message_id}
    if chat is not None:
        metadata |= {"chat_id": chat.id, "dataset_ids": list(chat.dataset_ids or [])}
    trace = state.tracing.tracer.trace(
        "chat",
        tenant_id=principal.tenant_id,
        session_id=session_id or None,
        user_id=user_id or principal.user.id,
        input=question,
        tags=tags,
        metadata=metadata,
    )
    return trace.__enter__()


def _end_trace(trace: Trace, exc: BaseException | None = None, output: Any = None) -> None:
    if output is not None:
        trace.update(output=output)
    trace.__exit__(type(exc) if exc is not None else None, exc, None)


def _end_turn_trace(turn: Turn, exc: BaseException | None = None, output: Any = None) -> None:
    """End the turn's trace once (later calls do nothing)."""
    if turn._ended[0]:
        return
    turn._ended[0] = True
    _end_trace(turn.trace, exc, output)


def _traced_prepare(
    session: Session,
    state: ServiceContext,
    principal: Principal,
    config: ChatConfig,
    question: str,
    history: Sequence[Message],
    *,
    chat: Chat | None,
    session_id: str,
    user_id: str | None,
) -> Turn:
    """A traced turn: the trace started, the answer prepared (retrieval nested in it)."""
    message_id = new_id()
    trace = _start_trace(
        state,
        principal,
        question=question,
        message_id=message_id,
        chat=chat,
        session_id=session_id,
        user_id=user_id,
        llm_id=config.llm_id,
    )
    trace = recorder = answer_records.recorder_for(session, principal.tenant_id, trace)
    try:
        prepared = completion.prepare(
            session, state, principal.tenant_id, config, question, history, parent=trace
        )
        if not config.llm_id:
            trace.update(tags=[prepared.model.model_name])
        if session_id:
            sessions.add_user_message(session, principal.tenant_id, session_id, question)
    except BaseException as exc:
        _end_trace(trace, exc)
        raise
    chat_id = chat.id if chat is not None else ""
    return Turn(
        prepared,
        principal.tenant_id,
        session_id,
        message_id,
        trace=trace,
        recorder=recorder,
        chat_id=chat_id,
    )


def start_turn(
    session: Session,
    state: ServiceContext,
    principal: Principal,
    *,
    chat_id: str | None,
    question: str,
    session_id: str | None = None,
    user_id: str | None = None,
    history: Sequence[Message] | None = None,
    llm_id: str | None = None,
    stateless: bool = False,
    model_options: Mapping[str, Any] | None = None,
) -> Turn:
    """Check the assistant and session, prepare the answer and store the question.

    Without ``chat_id`` the tenant's default (or ``llm_id``) model answers directly and
    nothing is stored; nor with ``stateless`` (the OpenAI-compatible routes). ``history``
    given (OpenAI-style messages) replaces the stored one. ``model_options`` (a request's
    ``temperature``, ``max_tokens``, ``stop``…) override the assistant's model settings.
    """
    overrides = {k: v for k, v in (model_options or {}).items() if v is not None}
    tenant_id = principal.tenant_id
    question = question.strip()
    if chat_id is None:
        if not question:
            raise DataError("Please input your question.")
        return _traced_prepare(
            session,
            state,
            principal,
            ChatConfig(llm_id=llm_id, llm_setting=overrides),
            question,
            history or (),
            chat=None,
            session_id="",
            user_id=user_id,
        )
    chat = get_chat(session, tenant_id, chat_id)
    if stateless:
        return _traced_prepare(
            session,
            state,
            principal,
            ChatConfig.of(chat, llm_id, overrides),
            question,
            history or (),
            chat=chat,
            session_id="",
            user_id=user_id,
        )
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
    return _traced_prepare(
        session,
        state,
        principal,
        ChatConfig.of(chat, llm_id, overrides),
        question,
        history,
        chat=chat,
        session_id=row.id,
        user_id=row.user_id,
    )


def _stored(
    turn: Turn, text: str, reference: dict[str, object] | None, status: str
) -> sessions.StoredAnswer:
    assert turn.prepared is not None
    record = None
    if turn.recorder is not None and turn.chat_id:
        record = answer_records.new_record(
            turn.recorder,
            tenant_id=turn.tenant_id,
            chat_id=turn.chat_id,
            session_id=turn.session_id,
            message_id=turn.message_id,
            status=status,
            answer=text,
            chunks=turn.prepared.chunks,
            default_model=turn.prepared.model.model_name,
        )
    return sessions.StoredAnswer(
        tenant_id=turn.tenant_id,
        session_id=turn.session_id,
        message_id=turn.message_id,
        content=text,
        reference=dict(reference) if reference is not None else None,
        prompt=turn.prepared.prompt,
        status=status,
        trace_id=turn.trace.trace_id,
        record=record,
    )


def finish_turn(session: Session, turn: Turn) -> Answer:
    """The whole answer, stored in the request's transaction; the trace ends here."""
    assert turn.prepared is not None
    try:
        answer = completion.complete(turn.prepared, parent=turn.trace)
        if turn.stored:
            sessions.store_answer(session, _stored(turn, answer.text, answer.reference, "done"))
    except BaseException as exc:
        _end_turn_trace(turn, exc)
        raise
    _end_turn_trace(turn, output=answer.text)
    return answer


def end_turn(turn: Turn) -> None:
    """End the turn's trace if it is still open (a stream that never started, say)."""
    _end_turn_trace(turn)


def stream_turn(state: ServiceContext, turn: Turn) -> Generator[StreamEvent, None, None]:
    """The answer as stream events; the assistant message is stored when the stream ends
    (done, failed or closed early by a client that went away)."""
    assert turn.prepared is not None

    def on_end(outcome: completion.StreamOutcome) -> None:
        try:
            if turn.stored:
                stored = _stored(turn, outcome.text, outcome.reference, outcome.status)
                sessions.store_answer_in(state.db, stored)
        finally:  # a failed stream marks the trace ERROR, as a failed answer does
            _end_turn_trace(turn, outcome.error, output=outcome.text)

    return completion.stream(turn.prepared, on_end, parent=turn.trace)
