"""Answer records: made from the recorder when an answer is stored, read by the inspector.

A record follows the tenant's Langfuse ``capture`` option: with ``metadata`` it keeps no
prompt and no chunk text (without a Langfuse configuration it keeps them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from ragprism.errors import NotFound
from ragprism.models import AnswerRecord
from ragprism.repositories import answer_records as repo
from ragprism.repositories import chats as chat_repo
from ragprism.repositories import langfuse as langfuse_repo
from ragprism.services.accounts.accounts import Principal
from ragprism.services.chat.answer_recorder import AnswerRecorder
from ragprism.services.chat.chats import get_chat
from ragprism.tracing import Trace

TraceUrl = Callable[[str | None], str | None]


def capture_of(session: Session, tenant_id: str) -> str:
    """The tenant's capture option: ``metadata`` or ``full`` (also without Langfuse)."""
    row = langfuse_repo.get(session, tenant_id)
    options = (row.options or {}) if row is not None else {}
    return "metadata" if options.get("capture") == "metadata" else "full"


def recorder_for(session: Session, tenant_id: str, trace: Trace) -> AnswerRecorder:
    """A recorder around the answer's trace, following the tenant's capture option."""
    return AnswerRecorder(trace, capture=capture_of(session, tenant_id))


def new_record(
    recorder: AnswerRecorder,
    *,
    tenant_id: str,
    chat_id: str,
    session_id: str,
    message_id: str,
    status: str,
    answer: str,
    chunks: Sequence[dict[str, Any]],
    default_model: str,
) -> AnswerRecord:
    """The record of an answer that is about to be stored."""
    now = datetime.now(UTC)
    totals = recorder.totals(default_model)
    return AnswerRecord(
        id=message_id,
        tenant_id=tenant_id,
        chat_id=chat_id,
        session_id=session_id,
        create_time=now,
        day=now.date(),
        status=status,
        model=totals.model[:255],
        input_tokens=totals.input_tokens,
        output_tokens=totals.output_tokens,
        cost=totals.cost,
        latency_ms=totals.latency_ms,
        first_token_ms=totals.first_token_ms,
        trace_id=recorder.trace_id,
        capture=recorder.capture,
        details=recorder.details(chunks, answer, totals),
    )


def trace_urls(session: Session, tenant_id: str) -> TraceUrl:
    """``trace_id`` → its URL in the tenant's Langfuse project as configured now (None
    without a trace id or a configuration)."""
    row = langfuse_repo.get(session, tenant_id)

    def url(trace_id: str | None) -> str | None:
        if not trace_id or row is None:
            return None
        return f"{row.host}/project/{row.project_id}/traces/{trace_id}"

    return url


def inspect_answer(
    session: Session, principal: Principal, chat_id: str, session_id: str, message_id: str
) -> dict[str, Any]:
    """The record of an assistant message, as the inspector shows it; ``NotFound`` for
    another tenant's or a missing assistant, session, message or record."""
    tenant_id = principal.tenant_id
    get_chat(session, tenant_id, chat_id)
    if chat_repo.get_session(session, tenant_id, chat_id, session_id) is None:
        raise NotFound("Session not found!")
    message = chat_repo.get_message(session, tenant_id, session_id, message_id)
    if message is None:
        raise NotFound("Message not found!")
    record = repo.get(session, tenant_id, message_id)
    if record is None:
        raise NotFound("message_id: this message has no answer record")
    return record_json(record, trace_urls(session, tenant_id))


def record_json(record: AnswerRecord, trace_url: TraceUrl) -> dict[str, Any]:
    details = record.details or {}
    return {
        "message_id": record.id,
        "chat_id": record.chat_id,
        "session_id": record.session_id,
        "created_at": record.create_time.timestamp(),
        "started_at": details.get("started_at"),
        "status": record.status,
        "model": record.model,
        "input_tokens": record.input_tokens,
        "output_tokens": record.output_tokens,
        "cost": record.cost,
        "total_ms": record.latency_ms,
        "first_token_ms": record.first_token_ms,
        "trace_id": record.trace_id,
        "trace_url": trace_url(record.trace_id),
        "capture": record.capture,
        "thumbup": record.thumbup,
        "steps": details.get("steps", []),
        "models": details.get("models", []),
        "chunks": details.get("chunks", []),
        "prompt": details.get("prompt"),
    }
