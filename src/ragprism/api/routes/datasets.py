"""``/api/v1/datasets``: RAGFlow's dataset management routes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from ragprism.api.bulk_delete import ids_to_delete
from ragprism.api.deps import CurrentPrincipal, SessionDep, StateDep
from ragprism.api.envelope import ok
from ragprism.api.serialize import times
from ragprism.models import Dataset
from ragprism.services.knowledge import datasets as service

router = APIRouter(prefix="/api/v1", tags=["datasets"])

ChunkMethod = Literal[
    "naive",
    "book",
    "email",
    "laws",
    "manual",
    "one",
    "paper",
    "picture",
    "presentation",
    "qa",
    "table",
    "tag",
]


def _dataset_name(value: str) -> str:
    name = value.strip()
    if not name:
        raise ValueError("must not be empty")
    if len(name) > 128:
        raise ValueError("at most 128 characters")
    if any(ord(c) > 0xFFFF for c in name) or not name.isprintable():
        raise ValueError("printable characters of the Basic Multilingual Plane only")
    return name


DatasetName = Annotated[str, Field(max_length=512), AfterValidator(_dataset_name)]


class DatasetIn(BaseModel):
    """RAGFlow's create body; unknown fields are refused, as RAGFlow does."""

    model_config = ConfigDict(extra="forbid")
    name: DatasetName
    avatar: str | None = Field(default=None, max_length=65535)
    description: str | None = Field(default=None, max_length=65535)
    embedding_model: str | None = Field(default=None, max_length=255)
    permission: Literal["me", "team"] = "me"
    chunk_method: ChunkMethod = "naive"
    parser_config: dict[str, Any] | None = None


class DatasetUpdateIn(BaseModel):
    """RAGFlow's update body: every field optional."""

    model_config = ConfigDict(extra="forbid")
    name: DatasetName | None = None
    avatar: str | None = Field(default=None, max_length=65535)
    description: str | None = Field(default=None, max_length=65535)
    embedding_model: str | None = Field(default=None, max_length=255)
    permission: Literal["me", "team"] | None = None
    chunk_method: ChunkMethod | None = None
    pagerank: int | None = Field(default=None, ge=0, le=100)
    parser_config: dict[str, Any] | None = None
    language: str | None = Field(default=None, min_length=1, max_length=32)
    similarity_threshold: float | None = Field(default=None, ge=0, le=1)
    vector_similarity_weight: float | None = Field(default=None, ge=0, le=1)


class IdsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ids: list[Annotated[str, Field(max_length=64)]] | None = Field(max_length=10_000)
    delete_all: bool | None = None


def dataset_json(dataset: Dataset) -> dict[str, Any]:
    """A dataset in RAGFlow's response shape."""
    return {
        "id": dataset.id,
        "tenant_id": dataset.tenant_id,
        "name": dataset.name,
        "avatar": dataset.avatar,
        "description": dataset.description,
        "language": dataset.language,
        "embedding_model": dataset.embedding_model,
        "permission": dataset.permission,
        "chunk_method": dataset.chunk_method,
        "parser_config": dataset.parser_config,
        "pagerank": dataset.pagerank,
        "similarity_threshold": dataset.similarity_threshold,
        "vector_similarity_weight": dataset.vector_similarity_weight,
        "document_count": dataset.document_count,
        "chunk_count": dataset.chunk_count,
        "token_num": dataset.token_num,
        "created_by": dataset.created_by,
        "status": "1",
        **times(dataset.create_time, dataset.update_time),
    }


@router.post("/datasets")
def create_dataset(
    body: DatasetIn, principal: CurrentPrincipal, session: SessionDep, state: StateDep
) -> dict[str, Any]:
    """Create a dataset; the embedding model defaults to the tenant's default one."""
    dataset = service.create(session, state, principal, body.model_dump())
    return ok(dataset_json(dataset))


@router.get("/datasets")
def list_datasets(
    principal: CurrentPrincipal,
    session: SessionDep,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=10_000)] = 30,
    orderby: Literal["create_time", "update_time"] = "create_time",
    desc: bool = True,
    name: Annotated[str | None, Query(max_length=512)] = None,
    id: Annotated[str | None, Query(max_length=64)] = None,
    include_parsing_status: bool = False,
) -> dict[str, Any]:
    """A page of the tenant's datasets, with ``total_datasets`` as RAGFlow sends it;
    ``include_parsing_status`` adds the documents' counts per parsing state."""
    datasets, total = service.list_page(
        session,
        principal.tenant_id,
        page=page,
        page_size=page_size,
        orderby=orderby,
        desc=desc,
        name=name,
        dataset_id=id,
    )
    items = [dataset_json(d) for d in datasets]
    if include_parsing_status:
        status = service.parsing_status(session, principal.tenant_id, [d.id for d in datasets])
        items = [item | status[item["id"]] for item in items]
    return {**ok(items), "total_datasets": total}


@router.put("/datasets/{dataset_id}")
def update_dataset(
    dataset_id: str,
    body: DatasetUpdateIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    state: StateDep,
) -> dict[str, Any]:
    """Change a dataset's settings (only the fields sent)."""
    fields = body.model_dump(exclude_unset=True)
    dataset = service.update(session, state, principal, dataset_id, fields)
    return ok(dataset_json(dataset))


@router.delete("/datasets")
def delete_datasets(
    body: IdsIn, principal: CurrentPrincipal, session: SessionDep, state: StateDep
) -> dict[str, Any]:
    """Delete datasets by id (``null``: all of them; with ``delete_all``: all only when
    true), with their documents and chunks."""
    ids = ids_to_delete(body.ids, body.delete_all)
    deleted = service.delete(session, state, principal, ids)
    return ok({"success_count": len(deleted)})
