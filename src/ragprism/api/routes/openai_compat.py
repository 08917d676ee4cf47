"""OpenAI-compatible chat completions over an assistant:
``/api/v1/openai/{chat_id}/chat/completions`` and RAGFlow's
``/api/v1/chats_openai/{chat_id}/chat/completions``.

The last message is the question and the earlier ones the history; nothing is stored in
a session. Shapes are OpenAI's (``chat.completion`` / ``chat.completion.chunk`` with
usage in the last chunk, then ``[DONE]``) so OpenAI's client libraries work unchanged.
``reference: true`` — top level, as OpenAI's clients send ``extra_body``, or inside an
``extra_body`` object, as RAGFlow documents it — adds the retrieved chunks.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from pydantic import Field

from ragprism.api.deps import CurrentPrincipal, SessionDep, StateDep
from ragprism.api.routes.chats import RequestBody
from ragprism.api.routes.completions import EventStreamResponse, MessageIn, turn_stream
from ragprism.db import new_id
from ragprism.services import conversation, sse
from ragprism.services.rag_prompt import last_user_question

router = APIRouter(prefix="/api/v1", tags=["openai"])


class ExtraBody(RequestBody):
    reference: bool = False


class OpenAIChatIn(RequestBody):
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
) -> dict[str, Any] | EventStreamResponse:
    question, history = last_user_question([m.model_dump() for m in body.messages])
    chat_turn = conversation.start_turn(
        session,
        state,
        principal,
        chat_id=chat_id,
        question=question,
        history=history,
        stateless=True,
    )
    with_reference = body.reference or bool(body.extra_body and body.extra_body.reference)
    completion_id, created = "chatcmpl-" + new_id(), int(time.time())
    trace = chat_turn.trace_fields
    if not body.stream:
        answer = conversation.finish_turn(session, chat_turn)
        if chat_turn.trace.trace_id:
            response.headers["X-Trace-Id"] = chat_turn.trace.trace_id
        return sse.openai_completion(
            answer, completion_id, body.model, created, with_reference, trace
        )
    events = conversation.stream_turn(state, chat_turn)
    return turn_stream(
        chat_turn,
        sse.openai_events(events, completion_id, body.model, created, with_reference, trace),
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
) -> dict[str, Any] | EventStreamResponse:
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
) -> dict[str, Any] | EventStreamResponse:
    """RAGFlow's spelling of ``/openai/{chat_id}/chat/completions``."""
    return _chat_completions(chat_id, body, principal, session, state, response)
