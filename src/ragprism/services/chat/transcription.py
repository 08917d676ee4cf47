"""Speech to text with the tenant's default speech-to-text model (RAGFlow's
``/chat/audio/transcription``), traced as ``transcription``.

The trace is a root span and one ``transcription`` generation: the model, the audio's
file name, size and type (never its bytes), the transcript and the usage — the
provider's when it reports tokens, else counted locally from the transcript and marked
``usage_estimated`` (audio input cannot be counted offline: input 0). Checks that need no
model (file present, type, not empty) come first and are not traced.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from ragprism.errors import DataError, RagprismError
from ragprism.llm import Usage, count_tokens
from ragprism.services.accounts.accounts import Principal
from ragprism.services.models.model_usage import record_usage

if TYPE_CHECKING:
    from ragprism.services.context import ServiceContext

# RAGFlow's list, with the type each is sent to the provider as.
AUDIO_TYPES: dict[str, str] = {
    ".aac": "audio/aac",
    ".flac": "audio/flac",
    ".m4a": "audio/mp4",
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".opus": "audio/opus",
    ".wav": "audio/wav",
    ".webm": "audio/webm",
    ".wma": "audio/x-ms-wma",
}


@dataclass(frozen=True)
class AudioUpload:
    """The uploaded audio as the route received it."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class Transcription:
    """A transcript, or the error that stopped it; with the trace either way (when the
    tenant traces), so a failure can be followed to its trace too."""

    text: str
    error: RagprismError | None
    trace_id: str | None
    trace_url: str | None

    @property
    def trace_fields(self) -> dict[str, str | None]:
        """``trace_id`` and ``trace_url`` for a response; empty when not traced."""
        if not self.trace_id:
            return {}
        return {"trace_id": self.trace_id, "trace_url": self.trace_url}


def audio_type(upload: AudioUpload | None) -> tuple[str, str]:
    """The file's name and the MIME type to send; ``DataError`` (RAGFlow's 102) for no
    file (``None``: the request had no ``file`` part), an unsupported extension or an
    empty file."""
    if upload is None:
        raise DataError("Missing 'file' in multipart form-data")
    name = PurePosixPath(upload.filename.replace("\\", "/")).name.strip()
    suffix = PurePosixPath(name).suffix.lower()
    if suffix not in AUDIO_TYPES:
        shown = suffix or "(no extension)"
        raise DataError(
            f"Unsupported audio format: {shown}. Allowed: {', '.join(sorted(AUDIO_TYPES))}"
        )
    if not upload.data:
        raise DataError(f"{name}: the file is empty.")
    return name, AUDIO_TYPES[suffix]


def transcribe(
    session: Session, state: ServiceContext, principal: Principal, upload: AudioUpload | None
) -> Transcription:
    """Transcribe ``upload`` with the tenant's ``asr_id`` model.

    Bad input and a missing model raise ``DataError``; a provider failure is returned
    in ``Transcription.error`` (105 when unreachable, 102 when it refuses), recorded on
    the generation as level ERROR.
    """
    name, mime = audio_type(upload)
    assert upload is not None
    tenant_id = principal.tenant_id
    try:
        model_id = state.models.model_id_for(session, tenant_id, "speech2text", None)
    except DataError:
        raise DataError(
            "No speech-to-text model is configured for this tenant: add one (model_type "
            "speech2text) and set it as asr_id (POST /v1/user/set_tenant_info)."
        ) from None
    model = state.models.speech2text(session, tenant_id, model_id)
    price = state.models.price(model)
    described = {"file": name, "bytes": len(upload.data), "content_type": mime}
    error: RagprismError | None = None
    text = ""
    with state.tracing.tracer.trace(
        "transcription",
        tenant_id=tenant_id,
        user_id=principal.user.id,
        input=described,
        tags=[model_id],
    ) as trace:
        with trace.observation(
            "transcription", kind="generation", input=described, model=model.model_name
        ) as generation:
            try:
                result = model.transcribe(upload.data, name, mime)
            except RagprismError as exc:
                error = exc
                generation.update(level="ERROR", status_message=exc.message)
            else:
                text = result.text
                usage = result.usage or Usage.of(0, count_tokens(text), estimated=True)
                generation.update(output=text, model=result.model)
                record_usage(generation, usage, price)
        trace.update(output=text if error is None else {"error": error.message})
    return Transcription(text, error, trace.trace_id, trace.url)
