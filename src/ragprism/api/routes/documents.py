"""``/api/v1/datasets/{dataset_id}/documents``: RAGFlow's document routes, and parsing
(``/datasets/{dataset_id}/chunks``: queue and stop)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ragprism.api.bulk_delete import ids_to_delete
from ragprism.api.deps import CurrentPrincipal, SessionDep, StateDep
from ragprism.api.envelope import ok
from ragprism.api.errors import describe_validation_error
from ragprism.api.routes.datasets import ChunkMethod
from ragprism.api.serialize import times
from ragprism.errors import InvalidArgument
from ragprism.models import Document
from ragprism.services.knowledge import document_metadata
from ragprism.services.knowledge import documents as service
from ragprism.services.knowledge.metadata_filter import parse_condition

router = APIRouter(prefix="/api/v1", tags=["documents"])

Id = Annotated[str, Field(max_length=64)]


class DocumentUpdateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=1024)
    meta_fields: dict[str, Any] | None = None
    chunk_method: ChunkMethod | None = None
    parser_config: dict[str, Any] | None = None
    enabled: Literal[0, 1] | None = None


class IdsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ids: list[Id] | None = Field(default=None, max_length=10_000)
    delete_all: bool | None = None


class DocumentIdsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    document_ids: list[Id] | None = Field(default=None, max_length=10_000)


def _date(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else None


def document_json(document: Document) -> dict[str, Any]:
    """A document in RAGFlow's response shape."""
    return {
        "id": document.id,
        "name": document.name,
        "location": document.name,
        "dataset_id": document.dataset_id,
        "knowledgebase_id": document.dataset_id,
        "type": document.type,
        "suffix": document.suffix,
        "size": document.size,
        "source_type": "local",
        "status": "1" if document.enabled else "0",
        "thumbnail": "",
        "chunk_method": document.chunk_method,
        "parser_config": document.parser_config,
        "meta_fields": document.meta_fields,
        "run": document.run,
        "progress": document.progress,
        "progress_msg": document.progress_msg,
        "process_begin_at": _date(document.process_begin_at),
        "process_duration": document.process_duration,
        "chunk_count": document.chunk_count,
        "token_count": document.token_count,
        "created_by": document.created_by,
        **times(document.create_time, document.update_time),
    }


class EmptyDocumentIn(BaseModel):
    """The JSON body of ``type=empty``."""

    model_config = ConfigDict(extra="forbid")
    name: str


def _wants_empty(request: Request) -> bool:
    return (request.query_params.get("type") or "").strip().lower() == "empty"


async def _empty_document_json(request: Request) -> Any:
    """The JSON body of a ``type=empty`` request (None without one). The route's body is a
    form, which FastAPI reads; a JSON body it leaves unread, so it is read here."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not _wants_empty(request) or not media_type.endswith("json"):
        return None
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise InvalidArgument("malformed JSON body") from None


def _empty_document_name(form_name: str | None, body: Any) -> str:
    """``name`` from the JSON body or the form; 101 naming what is wrong."""
    if body is not None:
        try:
            return EmptyDocumentIn.model_validate(body).name
        except ValidationError as exc:
            raise InvalidArgument(
                describe_validation_error(RequestValidationError(exc.errors()))
            ) from None
    if form_name is None:
        raise InvalidArgument("`name` is required: the name of the empty document")
    return form_name


# The JSON body of ``type=empty`` is read by hand (the declared body is the upload's form):
# declared here so that the reference shows it.
_EMPTY_DOCUMENT_BODY = {
    "requestBody": {
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "title": "EmptyDocumentIn",
                    "description": "With `type=empty`: the new document's name (at most 255 "
                    "bytes).",
                    "properties": {"name": {"type": "string"}},
                    "required": ["name"],
                    "additionalProperties": False,
                }
            }
        }
    }
}


@router.post("/datasets/{dataset_id}/documents", openapi_extra=_EMPTY_DOCUMENT_BODY)
def upload_documents(
    dataset_id: str,
    principal: CurrentPrincipal,
    session: SessionDep,
    file: Annotated[list[UploadFile] | None, File()] = None,
    kind: Annotated[
        str | None,
        Query(
            alias="type",
            max_length=32,
            description="`local` (the default): upload the files of `file`. `empty`: create "
            'one document without a file, named by `name` (a JSON body `{"name": …}` or a '
            "form field), whose chunks are added by hand.",
        ),
    ] = None,
    name: Annotated[
        str | None, Form(description="With `type=empty`: the new document's name.")
    ] = None,
    body: Annotated[Any, Depends(_empty_document_json)] = None,
) -> dict[str, Any]:
    """Upload one or more files (multipart field ``file``, repeated), or with
    ``type=empty`` create an empty document (RAGFlow's virtual document)."""
    kind = (kind or "local").strip().lower()
    if kind == "empty":
        if file:
            raise InvalidArgument(
                "`file`: an empty document (type=empty) has no file; upload files without "
                "type=empty"
            )
        document = service.create_empty(
            session, principal, dataset_id, _empty_document_name(name, body)
        )
        return ok([document_json(document)])
    if kind != "local":
        web = " (ragprism does not fetch web pages)" if kind == "web" else ""
        raise InvalidArgument(f"`type` must be `local` or `empty`{web}")
    uploads = [service.Upload(f.filename or "", f.file.read()) for f in file or []]
    documents = service.upload(session, principal, dataset_id, uploads)
    return ok([document_json(d) for d in documents])


def _from_timestamp(value: int) -> datetime | None:
    # RAGFlow passes milliseconds; seconds are accepted too. 0 means "no filter".
    if value <= 0:
        return None
    seconds = value / 1000 if value > 10**11 else value
    return datetime.fromtimestamp(seconds, UTC)


@router.get("/datasets/{dataset_id}/documents")
def list_documents(
    dataset_id: str,
    principal: CurrentPrincipal,
    session: SessionDep,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=10_000)] = 30,
    orderby: Literal["create_time", "update_time"] = "create_time",
    desc: bool = True,
    keywords: Annotated[str | None, Query(max_length=512)] = None,
    id: Annotated[str | None, Query(max_length=64)] = None,
    name: Annotated[str | None, Query(max_length=1024)] = None,
    suffix: Annotated[list[str] | None, Query(max_length=100)] = None,
    run: Annotated[list[str] | None, Query(max_length=100)] = None,
    create_time_from: Annotated[int, Query(ge=0, le=10**14)] = 0,
    create_time_to: Annotated[int, Query(ge=0, le=10**14)] = 0,
    metadata_condition: Annotated[str | None, Query(max_length=100_000)] = None,
) -> dict[str, Any]:
    """A page of the dataset's documents: ``{"docs": [...], "total": n}``;
    ``metadata_condition`` (JSON, as in ``/retrieval``) filters on ``meta_fields``."""
    documents, total = service.list_page(
        session,
        principal.tenant_id,
        dataset_id,
        page=page,
        page_size=page_size,
        orderby=orderby,
        desc=desc,
        keywords=keywords,
        document_id=id,
        name=name,
        suffixes=suffix or [],
        runs=run or [],
        created_from=_from_timestamp(create_time_from),
        created_to=_from_timestamp(create_time_to),
        metadata_condition=parse_condition(_json_param(metadata_condition, "metadata_condition")),
    )
    return ok({"docs": [document_json(d) for d in documents], "total": total})


def _json_param(value: str | None, name: str) -> Any:
    """A query parameter that holds JSON; 101 naming it when it does not parse."""
    if value is None or not value.strip():
        return None
    try:
        return json.loads(value)
    except ValueError:
        raise InvalidArgument(f"`{name}` must be JSON") from None


@router.put("/datasets/{dataset_id}/documents/{document_id}")
@router.patch("/datasets/{dataset_id}/documents/{document_id}", include_in_schema=False)
def update_document(
    dataset_id: str,
    document_id: str,
    body: DocumentUpdateIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    state: StateDep,
) -> dict[str, Any]:
    """Rename, set ``meta_fields``, change the chunk method or parser config, enable
    (``ragflow-sdk`` ≤ 0.24 sends PUT, later releases PATCH)."""
    document = service.update(
        session,
        state,
        principal.tenant_id,
        dataset_id,
        document_id,
        body.model_dump(exclude_unset=True),
    )
    return ok(document_json(document))


@router.get("/datasets/{dataset_id}/documents/{document_id}", response_model=None)
def download_document(
    dataset_id: str, document_id: str, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    """The uploaded bytes, with the file's content type and name."""
    document, data, content_type = service.download(
        session, principal.tenant_id, dataset_id, document_id
    )
    ascii_name = document.name.encode("ascii", "replace").decode().replace('"', "_")
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(document.name)}"
    return Response(data, media_type=content_type, headers={"Content-Disposition": disposition})


@router.delete("/datasets/{dataset_id}/documents")
def delete_documents(
    dataset_id: str,
    principal: CurrentPrincipal,
    session: SessionDep,
    state: StateDep,
    body: IdsIn | None = None,
) -> dict[str, Any]:
    """Delete documents by id (no ``ids``: all of the dataset's, or with ``delete_all``
    all only when true), with their chunks."""
    ids = ids_to_delete(body.ids, body.delete_all) if body is not None else None
    deleted = service.delete(session, state, principal.tenant_id, dataset_id, ids)
    return ok({"success_count": len(deleted)})


@router.post("/datasets/{dataset_id}/chunks")
def parse_documents(
    dataset_id: str,
    body: DocumentIdsIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    state: StateDep,
) -> dict[str, Any]:
    """Queue documents for parsing; the background workers pick them up."""
    service.start_parsing(session, state, principal.tenant_id, dataset_id, body.document_ids or [])
    return ok(True)


@router.delete("/datasets/{dataset_id}/chunks")
def stop_parsing(
    dataset_id: str,
    body: DocumentIdsIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    state: StateDep,
) -> dict[str, Any]:
    """Stop parsing documents; the chunks made so far are dropped."""
    service.stop_parsing(session, state, principal.tenant_id, dataset_id, body.document_ids or [])
    return ok(True)


class MetadataChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str = Field(min_length=1, max_length=255)
    value: Any = None
    match: Any = None


class MetadataSelectorIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    document_ids: list[Annotated[str, Field(max_length=64)]] | None = Field(
        default=None, max_length=10_000
    )
    metadata_condition: dict[str, Any] | None = None


class MetadataUpdateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    selector: MetadataSelectorIn | None = None
    updates: list[MetadataChangeIn] = Field(default_factory=list, max_length=1_000)
    deletes: list[MetadataChangeIn] = Field(default_factory=list, max_length=1_000)


@router.get("/datasets/{dataset_id}/metadata/summary")
def metadata_summary(
    dataset_id: str,
    principal: CurrentPrincipal,
    session: SessionDep,
    doc_ids: Annotated[str | None, Query(max_length=100_000)] = None,
) -> dict[str, Any]:
    """Per ``meta_fields`` key, how many documents hold each value (``doc_ids``: a
    comma-separated subset)."""
    ids = [i.strip() for i in doc_ids.split(",") if i.strip()] if doc_ids else None
    found = document_metadata.summary(session, principal.tenant_id, dataset_id, ids)
    return ok({"summary": found})


@router.post("/datasets/{dataset_id}/metadata/update")
def metadata_update(
    dataset_id: str, body: MetadataUpdateIn, principal: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    """Set or delete metadata of the documents the ``selector`` chooses (none: all)."""
    for index, change in enumerate(body.updates):
        if change.value is None:
            raise InvalidArgument(f"`updates[{index}].value` is required")
    selector = body.selector or MetadataSelectorIn()
    updated, matched = document_metadata.update(
        session,
        principal.tenant_id,
        dataset_id,
        document_ids=selector.document_ids,
        condition=parse_condition(selector.metadata_condition, "selector.metadata_condition"),
        updates=[document_metadata.MetadataChange(c.key, c.value, c.match) for c in body.updates],
        deletes=[document_metadata.MetadataChange(c.key, c.value) for c in body.deletes],
    )
    return ok({"updated": updated, "matched_docs": matched})
