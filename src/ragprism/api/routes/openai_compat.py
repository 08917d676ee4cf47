"""OpenAI-compatible chat completions over an assistant:
``/api/v1/openai/{chat_id}/chat/completions`` and RAGFlow's
``/api/v1/chats_openai/{chat_id}/chat/completions``.

The last message is the question and the earlier ones the history; nothing is stored in
a session. Shapes are OpenAI's (``chat.completion`` / ``chat.completion.chunk`` with
usage in the last chunk, then ``[DONE]``) so OpenAI's client libraries work unchanged.
``reference: true`` — top level, as OpenAI's clients send ``extra_body``, or inside an
``extra_body`` object, as RAGFlow documents it — adds the retrieved chunks.

Failures keep RAGFlow's envelope (``code``, ``message``) but, unlike RAGFlow's HTTP 200,
come with an HTTP error status and OpenAI's ``error`` object: OpenAI's clients raise only
on the status (a 200 envelope would be read as an empty completion).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import Field

from ragprism.api.deps import CurrentPrincipal, SessionDep, StateDep
from ragprism.api.errors import describe_validation_error
from ragprism.api.routes.chats import RequestBody
from ragprism.api.routes.completions import (
    EventStreamResponse,
    MessageIn,
    ModelOptionsIn,
    turn_stream,
)
from ragprism.db import new_id
from ragprism.errors import NotFound, RagprismError, RetCode
from ragprism.services.chat import conversation, sse
from ragprism.services.chat.rag_prompt import last_user_question

_STATUS_BY_CODE = {
    RetCode.ARGUMENT_ERROR: 400,
    RetCode.DATA_ERROR: 400,
    RetCode.OPERATING_ERROR: 409,
    RetCode.CONNECTION_ERROR: 502,
    RetCode.PERMISSION_ERROR: 403,
}
_ERROR_TYPE_BY_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
}


def _openai_failure(
    code: int, message: str, status: int, trace: dict[str, Any] | None = None
) -> JSONResponse:
    """The error body; a failed answer's ``trace_id``/``trace_url`` as top-level fields
    (as on a completion object) and ``X-Trace-Id``."""
    error = {"message": message, "type": _ERROR_TYPE_BY_STATUS.get(status, "server_error")}
    body = {"code": code, "message": message, "data": None, "error": {**error, "code": code}}
    response = JSONResponse({**body, **(trace or {})}, status_code=status)
    if trace:
        response.headers["X-Trace-Id"] = trace["trace_id"]
    return response


def _status(exc: RagprismError) -> int:
    if exc.http_status != 200:
        return exc.http_status
    if isinstance(exc, NotFound):
        return 404
    if exc.code in (401, 403, 404, 500):  # RAGFlow's HTTP-like codes
        return int(exc.code)
    return _STATUS_BY_CODE.get(exc.code, 400)


class OpenAIErrorRoute(APIRoute):
    """A route whose handled failures carry an HTTP error status (see the module doc)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except RagprismError as exc:
                return _openai_failure(exc.code, exc.message, _status(exc))
            except RequestValidationError as exc:
                message = describe_validation_error(exc)
                return _openai_failure(RetCode.ARGUMENT_ERROR, message, 400)

        return route_handler


router = APIRouter(prefix="/api/v1", tags=["openai"], route_class=OpenAIErrorRoute)


class ExtraBody(RequestBody):
    reference: bool = False


class OpenAIChatIn(ModelOptionsIn):
    """OpenAI's body; the sampling options override the assistant's model settings."""

    model: str = Field(default="model", max_length=255)
    messages: list[MessageIn] = Field(min_length=1, max_length=10_000)
    stream: bool = True
    reference: bool = False
    extra_body: ExtraBody | None = None


def _chat_completions(
    chat_id: str,
    body: OpenAIChatIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    state: StateDep,
    response: Response,
) -> dict[str, Any] | EventStreamResponse | JSONResponse:
    question, history = last_user_question([m.model_dump() for m in body.messages])
    chat_turn = conversation.start_turn(
        session,
        state,
        principal,
        chat_id=chat_id,
        question=question,
        history=history,
        stateless=True,
        model_options=body.model_options(),
    )
    with_reference = body.reference or bool(body.extra_body and body.extra_body.reference)
    completion_id, created = "chatcmpl-" + new_id(), int(time.time())
    trace = chat_turn.trace_fields
    if not body.stream:
        try:
            answer = conversation.finish_turn(session, chat_turn)
        except RagprismError as exc:
            if not trace:
                raise
            return _openai_failure(exc.code, exc.message, _status(exc), trace)
        if chat_turn.trace.trace_id:
            response.headers["X-Trace-Id"] = chat_turn.trace.trace_id
        return sse.openai_completion(
            answer, completion_id, answer.model, created, with_reference, trace
        )
    events = conversation.stream_turn(state, chat_turn)
    model = chat_turn.prepared.model.model_name if chat_turn.prepared else body.model
    return turn_stream(
        chat_turn,
        sse.openai_events(events, completion_id, model, created, with_reference, trace),
    )


ChatId = Annotated[str, Path(max_length=64)]


@router.post("/openai/{chat_id}/chat/completions", response_model=None)
def openai_chat_completions(
    chat_id: ChatId,
    body: OpenAIChatIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    state: StateDep,
    response: Response,
) -> dict[str, Any] | EventStreamResponse | JSONResponse:
    """An OpenAI chat completion answered by the assistant ``chat_id`` with retrieval."""
    return _chat_completions(chat_id, body, principal, session, state, response)


@router.post("/chats_openai/{chat_id}/chat/completions", response_model=None)
def chats_openai_chat_completions(
    chat_id: ChatId,
    body: OpenAIChatIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    state: StateDep,
    response: Response,
) -> dict[str, Any] | EventStreamResponse | JSONResponse:
    """RAGFlow's spelling of ``/openai/{chat_id}/chat/completions``."""
    return _chat_completions(chat_id, body, principal, session, state, response)
