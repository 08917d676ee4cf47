"""``/api/v1/chat/audio/transcription``: RAGFlow's speech-to-text route."""

from __future__ import annotations

from collections.abc import Generator
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Response, UploadFile
from fastapi.responses import JSONResponse

from ragprism.api.deps import CurrentPrincipal, SessionDep, StateDep
from ragprism.api.envelope import failure, ok
from ragprism.api.routes.completions import EventStreamResponse
from ragprism.services.chat import sse
from ragprism.services.chat.transcription import AudioUpload, Transcription, transcribe

router = APIRouter(prefix="/api/v1", tags=["audio"])


def _events(result: Transcription) -> Generator[str, None, None]:
    """RAGFlow's stream: one ``done`` event with the transcript (providers answer in one
    piece), or an ``error`` event."""
    if result.error is None:
        yield sse.event({"event": "done", "text": result.text, **result.trace_fields})
    else:
        error = result.error
        payload = {"event": "error", "text": error.message, "code": int(error.code)}
        yield sse.event({**payload, **result.trace_fields})


@router.post("/chat/audio/transcription", response_model=None)
def transcription(
    principal: CurrentPrincipal,
    session: SessionDep,
    state: StateDep,
    response: Response,
    file: Annotated[UploadFile | None, File(description="The audio (multipart).")] = None,
    stream: Annotated[str, Form(max_length=16, description='"true" for an event stream')] = (
        "false"
    ),
) -> dict[str, Any] | JSONResponse | EventStreamResponse:
    """Transcribe an audio file (wav, mp3, m4a, aac, flac, ogg, webm, opus, wma) with the
    tenant's speech-to-text model (``asr_id``): ``data.text``, or with ``stream=true``
    an event stream ending in ``{"event": "done", "text": ...}``."""
    upload = AudioUpload(file.filename or "", file.file.read()) if file is not None else None
    result = transcribe(session, state, principal, upload)
    headers = {"X-Trace-Id": result.trace_id} if result.trace_id else {}
    if stream.strip().lower() == "true":
        return EventStreamResponse(_events(result), trace_id=result.trace_id)
    if result.error is not None:
        refused = failure(result.error.code, result.error.message)
        refused.headers.update(headers)
        return refused
    response.headers.update(headers)
    return ok({"text": result.text, **result.trace_fields})
