"""``/api/v1/chats``: RAGFlow's chat assistant routes, and ``/api/v1/system/healthz``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from sqlalchemy import text

from ragprism.api.deps import CurrentPrincipal, SessionDep, StateDep
from ragprism.api.envelope import ok
from ragprism.api.serialize import times
from ragprism.models import Chat
from ragprism.services.chat import chats as service

router = APIRouter(prefix="/api/v1", tags=["chats"])

ChatId = Annotated[str, Path(max_length=64)]


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return False


class RequestBody(BaseModel):
    """A JSON body; unknown fields are ignored (as RAGFlow does), NUL characters refused
    (PostgreSQL cannot store them)."""

    model_config = ConfigDict(extra="ignore")

    @field_validator("*", mode="after")
    @classmethod
    def _refuse_nul(cls, value: Any) -> Any:
        if _has_nul(value):
            raise ValueError("must not contain NUL characters")
        return value


Text = Annotated[str, Field(max_length=100_000)]


class LlmSettingIn(RequestBody):
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    max_tokens: int | None = Field(default=None, ge=1, le=10_000_000)


class LlmIn(LlmSettingIn):
    model_name: str | None = Field(default=None, max_length=255)


class VariableIn(RequestBody):
    key: str = Field(min_length=1, max_length=64)
    optional: bool = True


_UNSUPPORTED_SETTINGS = {
    "tts": "text to speech is not supported",
    "use_kg": "knowledge graphs are not supported",
    "tavily_api_key": "web search is not supported",
    "cross_languages": "translating the question is not supported",
    "toc_enhance": "tables of contents are not supported",
}


class UnsupportedSettingsIn(RequestBody):
    """Prompt settings for features ragprism lacks: refused (101) when they ask for the
    feature, not dropped; never stored."""

    tts: bool | None = Field(default=None, exclude=True)
    use_kg: bool | None = Field(default=None, exclude=True)
    tavily_api_key: str | None = Field(default=None, max_length=1024, exclude=True)
    cross_languages: list[Annotated[str, Field(max_length=64)]] | None = Field(
        default=None, max_length=64, exclude=True
    )
    toc_enhance: bool | None = Field(default=None, exclude=True)

    @field_validator(*_UNSUPPORTED_SETTINGS, mode="after")
    @classmethod
    def _refuse(cls, value: Any, info: ValidationInfo) -> Any:
        if value:
            raise ValueError(_UNSUPPORTED_SETTINGS[str(info.field_name)])
        return value


class PromptIn(UnsupportedSettingsIn):
    similarity_threshold: float | None = Field(default=None, ge=0, le=1)
    keywords_similarity_weight: float | None = Field(default=None, ge=0, le=1)
    top_n: int | None = Field(default=None, ge=1, le=1024)
    top_k: int | None = Field(default=None, ge=1, le=100_000)
    variables: list[VariableIn] | None = Field(default=None, max_length=64)
    rerank_model: str | None = Field(default=None, max_length=255)
    empty_response: Text | None = None
    opener: Text | None = None
    show_quote: bool | None = None
    prompt: Text | None = None


class PromptConfigIn(UnsupportedSettingsIn):
    """``prompt_config`` as later ``ragflow-sdk`` releases send it (RAGFlow's stored names)."""

    system: Text | None = None
    prologue: Text | None = None
    parameters: list[VariableIn] | None = Field(default=None, max_length=64)
    empty_response: Text | None = None
    quote: bool | None = None


class ChatIn(RequestBody):
    """RAGFlow's create/update body in either spelling: ``avatar``, ``llm``, ``prompt``
    (``ragflow-sdk`` ≤ 0.24) or ``icon``, ``llm_id``, ``llm_setting``, ``prompt_config`` and
    top-level retrieval settings (later releases). Unknown fields are ignored, as RAGFlow
    does."""

    name: str | None = Field(default=None, max_length=1024)
    avatar: str | None = Field(default=None, max_length=2_000_000)
    dataset_ids: list[Annotated[str, Field(max_length=64)]] | None = Field(
        default=None, max_length=1024
    )
    llm: LlmIn | None = None
    prompt: PromptIn | None = None
    icon: str | None = Field(default=None, max_length=2_000_000)
    llm_id: str | None = Field(default=None, max_length=255)
    llm_setting: LlmSettingIn | None = None
    prompt_config: PromptConfigIn | None = None
    similarity_threshold: float | None = Field(default=None, ge=0, le=1)
    vector_similarity_weight: float | None = Field(default=None, ge=0, le=1)
    top_n: int | None = Field(default=None, ge=1, le=1024)
    top_k: int | None = Field(default=None, ge=1, le=100_000)
    rerank_id: str | None = Field(default=None, max_length=255)


class DeleteIn(RequestBody):
    ids: list[Annotated[str, Field(max_length=64)]] | None = Field(default=None, max_length=10_000)
    delete_all: bool = False


def chat_out(chat: Chat) -> dict[str, Any]:
    return {**service.chat_json(chat), **times(chat.create_time, chat.update_time)}


@router.post("/chats")
def create_chat(
    body: ChatIn, principal: CurrentPrincipal, session: SessionDep, state: StateDep
) -> dict[str, Any]:
    """Create a chat assistant (RAGFlow's defaults for whatever is not given)."""
    chat = service.create_chat(
        session, state.models, principal, body.model_dump(exclude_unset=True)
    )
    return ok(chat_out(chat))


@router.get("/chats")
def list_chats(
    principal: CurrentPrincipal,
    session: SessionDep,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=0, le=10_000)] = 30,
    orderby: Literal["create_time", "update_time"] = "create_time",
    desc: bool = True,
    name: Annotated[str | None, Query(max_length=255)] = None,
    id: Annotated[str | None, Query(max_length=64)] = None,
    keywords: Annotated[str | None, Query(max_length=255)] = None,
    owner_ids: Annotated[list[Annotated[str, Field(max_length=64)]] | None, Query()] = None,
) -> dict[str, Any]:
    """One page of assistants: a bare list, as ``ragflow-sdk`` ≤ 0.24 reads it, or
    ``{"chats": [...], "total": n}`` when the query carries ``keywords`` or ``owner_ids``,
    parameters only the later API has (its SDK reads that shape)."""
    if keywords is None and owner_ids is None:
        chats = service.list_chats(
            session,
            principal.tenant_id,
            page=page,
            page_size=page_size,
            orderby=orderby,
            desc=desc,
            chat_id=id,
            name=name,
        )
        return ok([chat_out(c) for c in chats])
    found, total = service.search_chats(
        session,
        principal.tenant_id,
        page=page,
        page_size=page_size,
        orderby=orderby,
        desc=desc,
        chat_id=id,
        name=name,
        keywords=keywords,
        owner_ids=owner_ids,
    )
    return ok({"chats": [chat_out(c) for c in found], "total": total})


@router.get("/chats/{chat_id}")
def get_chat(chat_id: ChatId, principal: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    return ok(chat_out(service.get_chat(session, principal.tenant_id, chat_id)))


@router.put("/chats/{chat_id}")
@router.patch("/chats/{chat_id}", include_in_schema=False)
def update_chat(
    chat_id: ChatId,
    body: ChatIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    state: StateDep,
) -> dict[str, Any]:
    """Change the given fields; ``llm``/``llm_setting`` and ``prompt``/``prompt_config`` are
    merged key by key (``ragflow-sdk`` ≤ 0.24 sends PUT, later releases PATCH)."""
    fields = body.model_dump(exclude_unset=True)
    chat = service.update_chat(session, state.models, principal, chat_id, fields)
    return ok(chat_out(chat))


@router.delete("/chats")
def delete_chats(
    principal: CurrentPrincipal, session: SessionDep, body: DeleteIn | None = None
) -> dict[str, Any]:
    """Delete assistants by id (with their sessions); ``delete_all`` for every one."""
    body = body or DeleteIn()
    service.delete_chats(session, principal, body.ids, body.delete_all)
    return ok(True)


@router.delete("/chats/{chat_id}")
def delete_chat(
    chat_id: ChatId, principal: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    """Delete one assistant with its sessions."""
    service.delete_chats(session, principal, [chat_id], False)
    return ok(True)


@router.get("/system/healthz", tags=["health"])
def healthz(state: StateDep) -> JSONResponse:
    """RAGFlow's health check (no login): 200 when the database answers, else 500."""
    try:
        with state.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        db = "ok"
    except Exception as exc:  # any failure means "not healthy", never a stack trace
        db = f"nok: {type(exc).__name__}"
    healthy = db == "ok"
    problem = state.secrets.problem() if healthy else None
    # RAGFlow's keys, plus the envelope's code every ragprism response carries, and
    # whether the stored secrets can be read (lost ones: serving, but ``degraded``).
    status = {"code": 0 if healthy else 500, "db": db, "doc_engine": db}
    status["secrets"] = f"nok: {problem}" if problem else "ok"
    status["status"] = ("degraded" if problem else "ok") if healthy else "nok"
    return JSONResponse(status, status_code=200 if healthy else 500)
