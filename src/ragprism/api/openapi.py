"""The OpenAPI document: what the main routes answer, as RAGFlow envelopes.

The routes return plain dicts (RAGFlow's shapes, assembled in one place each), so FastAPI
cannot infer their responses. This module describes them for the reference at ``/docs``:
one table from route to the model of its ``data``. It only documents; responses are not
filtered through these models. A route named here that no longer exists fails loudly
(tests/api/test_openapi.py builds the document).
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

T = TypeVar("T")


class Envelope(BaseModel, Generic[T]):
    """RAGFlow's envelope. Failures come with HTTP 200 too (401/413 aside): ``code`` other
    than 0 (101 bad argument, naming the field; 102 not found or data error; …), ``data``
    null."""

    code: int = Field(description="0 on success")
    message: str = ""
    data: T | None = Field(description="null on failure")


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class UserOut(_Open):
    id: str
    email: str
    nickname: str
    is_superuser: bool


class LoginOut(UserOut):
    access_token: str = Field(description="Send as `Authorization: Bearer <token>`.")


class ProfileOut(UserOut):
    tenant_id: str = Field(description="The tenant acted on (`X-Tenant-Id` picks another).")
    role: str = Field(description="`owner`, `admin` or `normal`")


class ApiKeyOut(_Open):
    id: str
    tenant_id: str
    token: str = Field(description="In full only when created; masked in lists.")
    create_time: int
    update_time: int


class LangfuseConfigOut(_Open):
    tenant_id: str
    public_key: str
    secret_key: str = Field(description="Masked, e.g. `sk-lf-…a1b2`.")
    host: str
    project_id: str
    project_name: str
    project_url: str
    enabled: bool
    sample_rate: float
    capture: str
    status: dict[str, Any] | None = Field(
        default=None, description="Last validation and exporter health (GET only)."
    )


class DatasetOut(_Open):
    id: str
    name: str
    embedding_model: str
    chunk_method: str
    document_count: int
    chunk_count: int
    create_time: int


class DocumentOut(_Open):
    id: str
    name: str
    dataset_id: str
    size: int
    run: str = Field(description="`UNSTART`, `RUNNING`, `CANCEL`, `DONE` or `FAIL`")
    progress: float
    progress_msg: str
    chunk_count: int


class DocumentPage(BaseModel):
    docs: list[DocumentOut]
    total: int


class ChatOut(_Open):
    id: str
    name: str
    dataset_ids: list[str]
    llm: dict[str, Any] = Field(description="`model_name` and its parameters")
    prompt: dict[str, Any]


class SessionOut(_Open):
    id: str
    chat_id: str
    name: str
    user_id: str | None = None
    messages: list[dict[str, Any]]


class AnswerOut(_Open):
    answer: str = Field(description="With `[ID:n]` citations into `reference.chunks`.")
    reference: dict[str, Any] = Field(description="`chunks`, `doc_aggs`, `total`")
    id: str | None = Field(description="The message id (for feedback).")
    session_id: str
    trace_id: str | None = Field(default=None, description="When the tenant traces.")
    trace_url: str | None = None


class RetrievalOut(BaseModel):
    chunks: list[dict[str, Any]]
    doc_aggs: list[dict[str, Any]]
    total: int
    trace_id: str | None = None
    trace_url: str | None = None


_LANGFUSE = LangfuseConfigOut | None
RESPONSES: dict[tuple[str, str], Any] = {
    ("post", "/v1/user/register"): UserOut,
    ("post", "/v1/user/login"): LoginOut,
    ("get", "/v1/user/info"): ProfileOut,
    ("post", "/v1/system/new_token"): ApiKeyOut,
    ("get", "/v1/system/token_list"): list[ApiKeyOut],
    **{
        (method, path): _LANGFUSE
        for path in ("/v1/langfuse/api_key", "/api/v1/langfuse/api-key")
        for method in ("get", "post", "put")
    },
    ("post", "/api/v1/datasets"): DatasetOut,
    ("get", "/api/v1/datasets"): list[DatasetOut],
    ("put", "/api/v1/datasets/{dataset_id}"): DatasetOut,
    ("post", "/api/v1/datasets/{dataset_id}/documents"): list[DocumentOut],
    ("get", "/api/v1/datasets/{dataset_id}/documents"): DocumentPage,
    ("post", "/api/v1/chats"): ChatOut,
    ("get", "/api/v1/chats/{chat_id}"): ChatOut,
    ("put", "/api/v1/chats/{chat_id}"): ChatOut,
    ("post", "/api/v1/chats/{chat_id}/sessions"): SessionOut,
    ("get", "/api/v1/chats/{chat_id}/sessions"): list[SessionOut],
    ("post", "/api/v1/chats/{chat_id}/completions"): AnswerOut,
    ("post", "/api/v1/chat/completions"): AnswerOut,
    ("post", "/api/v1/retrieval"): RetrievalOut,
}
"""``data`` of each main route's success answer."""

_STREAMED = {"/api/v1/chats/{chat_id}/completions", "/api/v1/chat/completions"}
_REF = "#/components/schemas/{model}"


def _describe(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for (method, path), model in RESPONSES.items():
        try:
            operation = schema["paths"][path][method]
        except KeyError:
            message = f"openapi.RESPONSES names {method.upper()} {path}: no such route"
            raise RuntimeError(message) from None
        envelope: Any = Envelope[model]  # type: ignore[valid-type]
        body = TypeAdapter(envelope).json_schema(ref_template=_REF, mode="serialization")
        components.update(body.pop("$defs", {}))
        content: dict[str, Any] = {"application/json": {"schema": body}}
        if path in _STREAMED:
            content["text/event-stream"] = {
                "schema": {"type": "string"},
                "description": 'With "stream": true: `data:` events carrying the same envelope.',
            }
        operation["responses"]["200"] = {"description": "RAGFlow envelope", "content": content}
    for item in schema["paths"].values():
        for operation in item.values():
            # Validation failures are answered as code 101 envelopes, never as HTTP 422.
            operation.get("responses", {}).pop("422", None)


def install(app: FastAPI) -> None:
    """Make ``app.openapi()`` build the document with the main routes' responses described."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            _describe(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
