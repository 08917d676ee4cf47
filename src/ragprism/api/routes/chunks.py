"""``/api/v1/datasets/{dataset_id}/documents/{document_id}/chunks``: RAGFlow's chunk routes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ragprism.api.bulk_delete import ids_to_delete
from ragprism.api.deps import CurrentPrincipal, SessionDep, StateDep
from ragprism.api.envelope import ok
from ragprism.api.routes.documents import document_json
from ragprism.errors import InvalidArgument
from ragprism.models import Chunk, Document
from ragprism.services.knowledge import chunks as service

router = APIRouter(prefix="/api/v1", tags=["chunks"])

Term = Annotated[str, Field(max_length=512)]
Content = Annotated[str, Field(max_length=1_000_000)]
_PATH = "/datasets/{dataset_id}/documents/{document_id}/chunks"


class ChunkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    content: Content | None = None
    important_keywords: list[Term] = Field(default_factory=list, max_length=256)
    questions: list[Term] = Field(default_factory=list, max_length=256)
    # ragflow-sdk after 0.24 always sends tags (RAGFlow's tag sets, which ragprism lacks):
    # none is accepted, tags are refused rather than dropped.
    tag_kwd: list[Term] = Field(default_factory=list, max_length=256)

    @field_validator("tag_kwd")
    @classmethod
    def _no_tags(cls, value: list[str]) -> list[str]:
        if value:
            raise ValueError("tags are not supported")
        return value


class ChunkUpdateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    content: Content | None = None
    important_keywords: list[Term] | None = Field(default=None, max_length=256)
    questions: list[Term] | None = Field(default=None, max_length=256)
    available: bool | None = None


class ChunkIdsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    chunk_ids: list[Annotated[str, Field(max_length=64)]] | None = Field(
        default=None, max_length=10_000
    )
    delete_all: bool | None = None


class ChunkSwitchIn(BaseModel):
    """RAGFlow's availability switch: ``available_int`` (0/1) or ``available``."""

    model_config = ConfigDict(extra="forbid")
    chunk_ids: list[Annotated[str, Field(max_length=64)]] = Field(min_length=1, max_length=10_000)
    available_int: Literal[0, 1] | None = None
    available: bool | None = None


def chunk_json(chunk: Chunk, document: Document) -> dict[str, Any]:
    """A chunk in RAGFlow's list shape."""
    return {
        "id": chunk.id,
        "content": chunk.content,
        "document_id": chunk.document_id,
        "docnm_kwd": document.name,
        "dataset_id": chunk.dataset_id,
        "important_keywords": list(chunk.important_keywords or []),
        "questions": list(chunk.questions or []),
        "available": chunk.available,
        "image_id": "",
        "positions": [] if chunk.page is None else [[chunk.page, 0, 0, 0, 0]],
        "token_count": chunk.token_count,
        "create_time": chunk.create_time.strftime("%Y-%m-%d %H:%M:%S"),
        "create_timestamp": chunk.create_time.timestamp(),
    }


@router.get(_PATH)
def list_chunks(
    dataset_id: str,
    document_id: str,
    principal: CurrentPrincipal,
    session: SessionDep,
    keywords: Annotated[str | None, Query(max_length=512)] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=10_000)] = 1024,
    id: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    """A page of the document's chunks in document order, the document, and the total.

    An empty ``keywords`` or ``id`` filters nothing: RAGFlow's SDK always sends both."""
    document, chunks, total = service.list_page(
        session,
        principal.tenant_id,
        dataset_id,
        document_id,
        page=page,
        page_size=page_size,
        keywords=keywords or None,
        chunk_id=id or None,
    )
    return ok(
        {
            "chunks": [chunk_json(c, document) for c in chunks],
            "doc": document_json(document),
            "total": total,
        }
    )


@router.get(_PATH + "/{chunk_id}")
def get_chunk(
    dataset_id: str,
    document_id: str,
    chunk_id: str,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> dict[str, Any]:
    """One chunk of the document."""
    document, chunk = service.get(session, principal.tenant_id, dataset_id, document_id, chunk_id)
    return ok(chunk_json(chunk, document))


@router.patch(_PATH)
def switch_chunks(
    dataset_id: str,
    document_id: str,
    body: ChunkSwitchIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    state: StateDep,
) -> dict[str, Any]:
    """Make chunks available to retrieval (``available_int: 1``) or not (0)."""
    if body.available_int is None and body.available is None:
        raise InvalidArgument("`available_int` or `available` is required.")
    available = bool(body.available_int) if body.available_int is not None else body.available
    service.switch(
        session,
        state,
        principal.tenant_id,
        dataset_id,
        document_id,
        body.chunk_ids,
        available=bool(available),
    )
    return ok(True)


@router.post(_PATH)
def add_chunk(
    dataset_id: str,
    document_id: str,
    body: ChunkIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    state: StateDep,
) -> dict[str, Any]:
    """Add a chunk by hand; it is embedded with the dataset's model and indexed."""
    chunk = service.add(
        session,
        state,
        principal.tenant_id,
        dataset_id,
        document_id,
        content=body.content or "",
        important_keywords=body.important_keywords,
        questions=body.questions,
    )
    document = service.document_in_dataset(session, principal.tenant_id, dataset_id, document_id)[1]
    return ok({"chunk": chunk_json(chunk, document)})


@router.put(_PATH + "/{chunk_id}")
@router.patch(_PATH + "/{chunk_id}", include_in_schema=False)
def update_chunk(
    dataset_id: str,
    document_id: str,
    chunk_id: str,
    body: ChunkUpdateIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    state: StateDep,
) -> dict[str, Any]:
    """Change a chunk's text, keywords, questions or availability (``ragflow-sdk`` ≤ 0.24
    sends PUT, later releases PATCH)."""
    service.update(
        session,
        state,
        principal.tenant_id,
        dataset_id,
        document_id,
        chunk_id,
        content=body.content,
        important_keywords=body.important_keywords,
        questions=body.questions,
        available=body.available,
    )
    return ok(True)


@router.delete(_PATH)
def delete_chunks(
    dataset_id: str,
    document_id: str,
    principal: CurrentPrincipal,
    session: SessionDep,
    state: StateDep,
    body: ChunkIdsIn | None = None,
) -> dict[str, Any]:
    """Delete chunks by id (no ``chunk_ids``: all of the document's, or with
    ``delete_all`` all only when true)."""
    ids = ids_to_delete(body.chunk_ids, body.delete_all) if body is not None else None
    deleted = service.delete(session, state, principal.tenant_id, dataset_id, document_id, ids)
    return ok({"success_count": deleted})
