"""Server-sent event streams of an answer, in RAGFlow's and in OpenAI's format."""

from __future__ import annotations

import json
import time
from collections.abc import Generator, Iterable, Mapping
from typing import Any

from ragprism.services.chat.completion import Answer, Failed, Finished, Piece, StreamEvent


def event(payload: Any) -> str:
    """One ``data:`` event."""
    return "data: " + json.dumps(payload, ensure_ascii=False) + "\n\n"


# -- RAGFlow -----------------------------------------------------------------------------


def ragflow_answer(
    answer: Answer,
    message_id: str | None,
    session_id: str,
    prompt: str,
    trace: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """``data`` of a finished answer (non-stream response, last event of a stream);
    ``trace`` (``trace_id``, ``trace_url``) is added when the answer was traced."""
    return {
        "answer": answer.text,
        "reference": answer.reference,
        "audio_binary": None,
        "id": message_id,
        "session_id": session_id,
        "prompt": prompt,
        "created_at": time.time(),
        **(trace or {}),
    }


def ragflow_events(
    events: Iterable[StreamEvent],
    message_id: str | None,
    session_id: str,
    prompt: str,
    trace: Mapping[str, Any] | None = None,
    *,
    legacy: bool = False,
) -> Generator[str, None, None]:
    """RAGFlow's stream, as current RAGFlow sends it: each event's ``answer`` is the new
    text only (``"final": false``), a closing ``"final": true`` event carries the reference
    and the other answer fields with an empty ``answer``; ``legacy`` gives the earlier form
    (each event the answer so far, the reference in the last one, no ``final``). A model
    failure is an error event (code != 0); the closing ``data: true`` always comes.
    ``trace`` fields go into every answer event."""
    trace = trace or {}
    try:
        for item in events:
            data: dict[str, Any]
            if isinstance(item, Piece):
                data = {
                    "answer": item.answer if legacy else item.delta,
                    "reference": {},
                    "audio_binary": None,
                    "id": message_id,
                    "session_id": session_id,
                    **({} if legacy else {"final": False}),
                    **trace,
                }
                yield event({"code": 0, "message": "", "data": data})
            elif isinstance(item, Finished):
                data = ragflow_answer(item.answer, message_id, session_id, prompt, trace)
                if not legacy:
                    data |= {"answer": "", "final": True}
                yield event({"code": 0, "message": "", "data": data})
            elif isinstance(item, Failed):
                data = {
                    "answer": "**ERROR**: " + item.message,
                    "reference": [],
                    "id": message_id,
                    "session_id": session_id,
                    **trace,
                }
                yield event({"code": item.code, "message": item.message, "data": data})
        yield event({"code": 0, "message": "", "data": True})
    finally:
        _close(events)


def ragflow_opener_events(
    data: dict[str, Any], *, legacy: bool = False
) -> Generator[str, None, None]:
    """The stream of an answer given without a model call (a new session's opener): the
    text, then (except ``legacy``) the closing ``final`` event, then ``data: true``."""
    if legacy:
        yield event({"code": 0, "message": "", "data": data})
    else:
        yield event({"code": 0, "message": "", "data": data | {"final": False}})
        yield event({"code": 0, "message": "", "data": data | {"answer": "", "final": True}})
    yield event({"code": 0, "message": "", "data": True})


# -- OpenAI ------------------------------------------------------------------------------


def openai_usage(answer: Answer) -> dict[str, Any]:
    usage = answer.usage
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
    }


def openai_completion(
    answer: Answer,
    completion_id: str,
    model: str,
    created: int,
    with_reference: bool,
    trace: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``chat.completion`` object (``trace_id``/``trace_url`` top level when traced)."""
    message: dict[str, Any] = {"role": "assistant", "content": answer.text}
    if with_reference:
        message["reference"] = answer.reference
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": answer.finish_reason or "stop",
                "logprobs": None,
            }
        ],
        "usage": openai_usage(answer),
        "system_fingerprint": "",
        **(trace or {}),
    }


def _chunk(
    completion_id: str,
    model: str,
    created: int,
    delta: dict[str, Any],
    finish_reason: str | None = None,
    usage: dict[str, Any] | None = None,
    trace: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "system_fingerprint": "",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}],
        "usage": usage,
        **(trace or {}),
    }


def openai_events(
    events: Iterable[StreamEvent],
    completion_id: str,
    model: str,
    created: int,
    with_reference: bool,
    trace: Mapping[str, Any] | None = None,
) -> Generator[str, None, None]:
    """``chat.completion.chunk`` events; the last chunk carries the finish reason, the usage
    (and the reference when asked), then ``[DONE]``. A failure is an ``error`` event, which
    OpenAI's clients raise as an API error. ``trace`` fields go into every chunk."""
    try:
        first = {"role": "assistant", "content": ""}
        yield event(_chunk(completion_id, model, created, first, trace=trace))
        for item in events:
            delta: dict[str, Any]
            if isinstance(item, Piece):
                delta = {"role": "assistant", "content": item.delta}
                yield event(_chunk(completion_id, model, created, delta, trace=trace))
            elif isinstance(item, Finished):
                delta = {"role": "assistant", "content": None}
                if with_reference:
                    delta["reference"] = item.answer.reference
                finish = item.answer.finish_reason or "stop"
                usage = openai_usage(item.answer)
                used = item.answer.model or model  # as the provider names it
                yield event(_chunk(completion_id, used, created, delta, finish, usage, trace))
            elif isinstance(item, Failed):
                error = {"message": item.message, "type": "server_error", "code": item.code}
                yield event({"error": error, **(trace or {})})
        yield "data: [DONE]\n\n"
    finally:
        _close(events)


def _close(events: Iterable[StreamEvent]) -> None:
    # Closing the event source runs its clean-up (storing the partial answer) right away.
    close = getattr(events, "close", None)
    if callable(close):
        close()
