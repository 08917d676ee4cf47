"""``/api/v1/chats/{chat_id}/sessions``: RAGFlow's session routes and message feedback."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import Field

from ragprism.api.deps import CurrentPrincipal, SessionDep, StateDep
from ragprism.api.envelope import ok
from ragprism.api.routes.chats import DeleteIn, RequestBody
from ragprism.api.serialize import times
from ragprism.models import ChatMessage, ChatSession
from ragprism.services.chat import sessions as service
from ragprism.services.chat.answer_records import TraceUrl, inspect_answer, trace_urls

router = APIRouter(prefix="/api/v1/chats/{chat_id}/sessions", tags=["sessions"])

Id = Annotated[str, Path(max_length=64)]


class SessionIn(RequestBody):
    name: str | None = Field(default=None, max_length=1024)
    user_id: str | None = Field(default=None, max_length=255)


class FeedbackIn(RequestBody):
    thumbup: bool
    feedback: str = Field(default="", max_length=10_000)


def session_out(
    row: ChatSession, messages: Sequence[ChatMessage], trace_url: TraceUrl | None = None
) -> dict[str, Any]:
    json = service.session_json(row, messages, trace_url)
    return {**json, **times(row.create_time, row.update_time)}


def _with_messages(session: SessionDep, row: ChatSession) -> dict[str, Any]:
    trace_url = trace_urls(session, row.tenant_id)
    return session_out(row, service.session_messages(session, row), trace_url)


@router.post("")
def create_session(
    chat_id: Id, principal: CurrentPrincipal, session: SessionDep, body: SessionIn | None = None
) -> dict[str, Any]:
    """A new session, starting with the assistant's opener."""
    body = body or SessionIn()
    row = service.create_session(session, principal, chat_id, name=body.name, user_id=body.user_id)
    return ok(_with_messages(session, row))


@router.get("")
def list_sessions(
    chat_id: Id,
    principal: CurrentPrincipal,
    session: SessionDep,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=0, le=10_000)] = 30,
    orderby: Literal["create_time", "update_time"] = "create_time",
    desc: bool = True,
    name: Annotated[str | None, Query(max_length=255)] = None,
    id: Annotated[str | None, Query(max_length=64)] = None,
    user_id: Annotated[str | None, Query(max_length=255)] = None,
) -> dict[str, Any]:
    rows, messages = service.list_sessions(
        session,
        principal,
        chat_id,
        page=page,
        page_size=page_size,
        orderby=orderby,
        desc=desc,
        session_id=id,
        name=name,
        user_id=user_id,
    )
    trace_url = trace_urls(session, principal.tenant_id)
    return ok([session_out(r, messages[r.id], trace_url) for r in rows])


@router.get("/{session_id}")
def get_session(
    chat_id: Id, session_id: Id, principal: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    rows, messages = service.list_sessions(session, principal, chat_id, session_id=session_id)
    trace_url = trace_urls(session, principal.tenant_id)
    return ok(session_out(rows[0], messages[rows[0].id], trace_url))


@router.put("/{session_id}")
@router.patch("/{session_id}", include_in_schema=False)
def update_session(
    chat_id: Id, session_id: Id, body: SessionIn, principal: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    """Rename a session (RAGFlow ≤0.2x uses PUT, later versions PATCH)."""
    fields = body.model_dump(exclude_unset=True)
    row = service.update_session(session, principal, chat_id, session_id, fields)
    return ok(_with_messages(session, row))


@router.delete("")
def delete_sessions(
    chat_id: Id, principal: CurrentPrincipal, session: SessionDep, body: DeleteIn | None = None
) -> dict[str, Any]:
    body = body or DeleteIn()
    service.delete_sessions(session, principal, chat_id, body.ids, body.delete_all)
    return ok(True)


@router.delete("/{session_id}/messages/{msg_id}")
def delete_message(
    chat_id: Id, session_id: Id, msg_id: Id, principal: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    """Delete a question and its answer (either id); returns the session."""
    row = service.delete_message(session, principal, chat_id, session_id, msg_id)
    return ok(_with_messages(session, row))


@router.put("/{session_id}/messages/{msg_id}/feedback")
def feedback(
    chat_id: Id,
    session_id: Id,
    msg_id: Id,
    body: FeedbackIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    state: StateDep,
) -> dict[str, Any]:
    """Thumbs up/down and a comment on an assistant message; returns the session.

    A traced answer gets a BOOLEAN ``user-feedback`` score (1 up, 0 down) on its trace.
    """
    record = service.record_feedback(
        session,
        principal,
        chat_id,
        session_id,
        msg_id,
        thumbup=body.thumbup,
        feedback=body.feedback,
    )
    if record.trace_id:
        state.tracing.tracer.score_trace(
            record.tenant_id,
            record.trace_id,
            "user-feedback",
            1 if record.thumbup else 0,
            data_type="BOOLEAN",
            comment=record.feedback or None,
        )
    row = service.get_session(session, principal.tenant_id, chat_id, session_id)
    return ok(_with_messages(session, row))


@router.get("/{session_id}/messages/{msg_id}/inspect")
def inspect(
    chat_id: Id, session_id: Id, msg_id: Id, principal: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    """What happened inside an answer: the steps with their timings, the models with
    tokens and cost, the retrieved chunks (cited or not) and the prompt — from the record
    the server keeps with each stored answer, with or without Langfuse."""
    return ok(inspect_answer(session, principal, chat_id, session_id, msg_id))
