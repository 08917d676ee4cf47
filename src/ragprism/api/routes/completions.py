"""RAGFlow's completion routes: ``/api/v1/chats/{chat_id}/completions`` (deprecated) and
``/api/v1/chat/completions``, whole or as a server-sent event stream."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Path, Response
from fastapi.responses import JSONResponse
from pydantic import Field
from starlette.concurrency import iterate_in_threadpool
from starlette.responses import StreamingResponse
from starlette.types import Send

from ragprism.api.deps import CurrentPrincipal, SessionDep, StateDep
from ragprism.api.envelope import failure, ok
from ragprism.api.routes.chats import RequestBody
from ragprism.errors import InvalidArgument, RagprismError
from ragprism.services.chat import conversation, sse
from ragprism.services.chat.rag_prompt import last_user_question

router = APIRouter(prefix="/api/v1", tags=["completions"])

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


class EventStreamResponse(StreamingResponse):
    """A ``text/event-stream`` over a generator that is always closed when the response
    ends — also when the client disconnects — so its clean-up (storing what was
    produced) runs right away, in a worker thread, not whenever it is garbage collected.
    ``on_close`` runs after that (ending a trace a never-started generator would leave
    open); ``trace_id`` becomes the ``X-Trace-Id`` header."""

    def __init__(
        self,
        events: Generator[str, None, None],
        *,
        on_close: Callable[[], None] | None = None,
        trace_id: str | None = None,
    ) -> None:
        self._events = events
        self._on_close = on_close
        headers = {**SSE_HEADERS, "X-Trace-Id": trace_id} if trace_id else SSE_HEADERS
        super().__init__(
            iterate_in_threadpool(events), media_type="text/event-stream", headers=headers
        )

    def _close(self) -> None:
        try:
            self._events.close()
        finally:
            if self._on_close is not None:
                self._on_close()

    async def stream_response(self, send: Send) -> None:
        try:
            await super().stream_response(send)
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self._close)


def turn_stream(turn: conversation.Turn, events: Generator[str, None, None]) -> EventStreamResponse:
    """The stream of a turn's answer, its trace ended whatever happens."""
    return EventStreamResponse(
        events, on_close=lambda: conversation.end_turn(turn), trace_id=turn.trace.trace_id
    )


class CompletionIn(RequestBody):
    question: str = Field(default="", max_length=100_000)
    stream: bool = True
    # Earlier RAGFlow (its "v0.23 format") streamed the answer so far in each event;
    # ``legacy: true`` asks for that instead of deltas.
    legacy: bool = False
    session_id: str | None = Field(default=None, max_length=64)
    user_id: str | None = Field(default=None, max_length=255)


class MessageIn(RequestBody):
    role: str = Field(max_length=32)
    content: str | list[dict[str, Any]] | None = None


class ModelOptionsIn(RequestBody):
    """A request's model options (OpenAI's names), which override the assistant's."""

    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    max_tokens: int | None = Field(default=None, ge=1, le=10_000_000)
    stop: (
        Annotated[str, Field(max_length=1_000)]
        | Annotated[list[Annotated[str, Field(max_length=1_000)]], Field(max_length=16)]
        | None
    ) = None
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)

    def model_options(self) -> dict[str, Any]:
        """The options given, ``stop`` as a list."""
        keys = ("temperature", "top_p", "max_tokens", "presence_penalty", "frequency_penalty")
        options = {k: getattr(self, k) for k in keys if getattr(self, k) is not None}
        if self.stop:
            options["stop"] = [self.stop] if isinstance(self.stop, str) else list(self.stop)
        return options


class ChatCompletionIn(ModelOptionsIn):
    """``messages``, or only a ``question`` (one user message)."""

    messages: list[MessageIn] | None = Field(default=None, max_length=10_000)
    question: str | None = Field(default=None, max_length=100_000)
    stream: bool = True
    legacy: bool = False
    chat_id: str | None = Field(default=None, max_length=64)
    session_id: str | None = Field(default=None, max_length=64)
    user_id: str | None = Field(default=None, max_length=255)
    llm_id: str | None = Field(default=None, max_length=255)


def _respond(
    session: SessionDep,
    state: StateDep,
    turn: conversation.Turn,
    stream: bool,
    legacy: bool,
    response: Response,
) -> dict[str, Any] | EventStreamResponse | JSONResponse:
    if turn.prepared is None:  # a new session without a question: RAGFlow answers the opener
        data: dict[str, Any] = {
            "answer": turn.opener or "",
            "reference": {},
            "audio_binary": None,
            "id": None,
            "session_id": turn.session_id,
        }
        if not stream:
            return ok(data)
        return EventStreamResponse(sse.ragflow_opener_events(data, legacy=legacy))
    trace = turn.trace_fields
    if not stream:
        try:
            answer = conversation.finish_turn(session, turn)
        except RagprismError as exc:
            if not trace:
                raise
            # the failed answer's trace was exported: say where, as an answer does
            failed = failure(exc.code, exc.message, exc.http_status, data=trace)
            failed.headers["X-Trace-Id"] = trace["trace_id"] or ""
            return failed
        if turn.trace.trace_id:
            response.headers["X-Trace-Id"] = turn.trace.trace_id
        return ok(
            sse.ragflow_answer(
                answer, turn.message_id, turn.session_id, turn.prepared.prompt, trace
            )
        )
    events = conversation.stream_turn(state, turn)
    return turn_stream(
        turn,
        sse.ragflow_events(
            events, turn.message_id, turn.session_id, turn.prepared.prompt, trace, legacy=legacy
        ),
    )


@router.post("/chats/{chat_id}/completions", response_model=None)
def chat_completions(
    chat_id: Annotated[str, Path(max_length=64)],
    body: CompletionIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    state: StateDep,
    response: Response,
) -> dict[str, Any] | EventStreamResponse | JSONResponse:
    """Ask an assistant (deprecated in RAGFlow for ``/chat/completions``); without
    ``session_id`` a new session is created."""
    turn = conversation.start_turn(
        session,
        state,
        principal,
        chat_id=chat_id,
        question=body.question,
        session_id=body.session_id,
        user_id=body.user_id,
    )
    return _respond(session, state, turn, body.stream, body.legacy, response)


@router.post("/chat/completions", response_model=None)
def completions(
    body: ChatCompletionIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    state: StateDep,
    response: Response,
) -> dict[str, Any] | EventStreamResponse | JSONResponse:
    """Ask an assistant (``chat_id``; a new session unless ``session_id``) or, without
    ``chat_id``, the tenant's default chat model. The last message is the question."""
    if body.messages is not None:
        messages = [m.model_dump() for m in body.messages]
    elif body.question is not None:
        messages = [{"role": "user", "content": body.question}]
    else:
        raise InvalidArgument("`messages` is required (or a `question`)")
    question, history = last_user_question(messages)
    turn = conversation.start_turn(
        session,
        state,
        principal,
        chat_id=body.chat_id,
        question=question,
        session_id=body.session_id,
        user_id=body.user_id,
        history=history,
        llm_id=body.llm_id,
        model_options=body.model_options(),
    )
    return _respond(session, state, turn, body.stream, body.legacy, response)
