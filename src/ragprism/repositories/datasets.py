"""Queries on datasets, documents (with their bytes), chunks and the parse queue.

Every query filters on the tenant: another tenant's id behaves exactly like a missing
one. Getters return ``None`` for it, mutators return ``None``/``[]``/``False``.
The parse-queue primitives at the end are the exception: the background workers serve
every tenant.

Chunks are written by ``ragprism.retrieval`` (``ChunkStore.add``, which also indexes
them); this module lists them and keeps the counters on documents and datasets.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import PurePosixPath
from typing import Any, Literal, TypedDict, Unpack

from sqlalchemy import ColumnElement, Select, delete, func, select, update
from sqlalchemy.orm import Session

from ragprism.db.base import new_id, utcnow
from ragprism.errors import Conflict, NotFound
from ragprism.models import (
    VIRTUAL_DOCUMENT_TYPE,
    Chunk,
    Dataset,
    Document,
    DocumentBlob,
    DocumentRun,
)
from ragprism.models.dataset import default_parser_config, name_key
from ragprism.repositories.common import flush_unique
from ragprism.repositories.parse_queue import claim_next_document as claim_next_document

OrderBy = Literal["create_time", "update_time"]

_IMAGE_SUFFIXES = frozenset({"jpg", "jpeg", "png", "gif", "bmp", "webp", "tif", "tiff", "svg"})
_AUDIO_SUFFIXES = frozenset({"mp3", "wav", "ogg", "flac", "m4a", "aac"})


class DatasetFields(TypedDict, total=False):
    """Dataset attributes a caller may set (RAGFlow's create/update body fields)."""

    name: str
    avatar: str | None
    description: str | None
    language: str
    embedding_model: str
    embedding_dimension: int
    permission: str
    chunk_method: str
    parser_config: dict[str, Any]
    pagerank: int
    similarity_threshold: float
    vector_similarity_weight: float


class DocumentFields(TypedDict, total=False):
    """Document attributes a caller may change (RAGFlow's update body, parse state)."""

    name: str
    meta_fields: dict[str, Any]
    chunk_method: str
    parser_config: dict[str, Any]
    enabled: bool
    run: str
    progress: float
    progress_msg: str
    process_begin_at: datetime | None
    process_duration: float


def _page(query: Select[Any], page: int, page_size: int) -> Select[Any]:
    page, page_size = max(page, 1), max(page_size, 1)
    return query.limit(page_size).offset((page - 1) * page_size)


def _count(session: Session, query: Select[Any]) -> int:
    return int(
        session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    )


def _contains(column: Any, needle: str) -> ColumnElement[bool]:
    """Case-insensitive substring match, wildcards in ``needle`` taken literally."""
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")  # type: ignore[no-any-return]


# -- datasets ----------------------------------------------------------------------------


def create_dataset(
    session: Session, tenant_id: str, *, created_by: str, **fields: Unpack[DatasetFields]
) -> Dataset:
    """Insert a dataset; ``Conflict`` if the tenant has one of that name (any case)."""
    name = fields.get("name", "")
    if get_dataset_by_name(session, tenant_id, name) is not None:
        raise Conflict(f"Dataset name '{name}' already exists")
    dataset = Dataset(tenant_id=tenant_id, created_by=created_by, **fields)
    flush_unique(session, f"Dataset name '{name}' already exists", dataset)
    return dataset


def get_dataset(session: Session, tenant_id: str, dataset_id: str) -> Dataset | None:
    return session.scalars(
        select(Dataset).where(Dataset.tenant_id == tenant_id, Dataset.id == dataset_id)
    ).first()


def get_dataset_by_name(session: Session, tenant_id: str, name: str) -> Dataset | None:
    """The tenant's dataset called ``name``, compared case-insensitively."""
    return session.scalars(
        select(Dataset).where(Dataset.tenant_id == tenant_id, Dataset.name_key == name_key(name))
    ).first()


def list_datasets(
    session: Session,
    tenant_id: str,
    *,
    page: int = 1,
    page_size: int = 30,
    orderby: OrderBy = "create_time",
    desc: bool = True,
    name: str | None = None,
    dataset_id: str | None = None,
) -> tuple[list[Dataset], int]:
    """One page of the tenant's datasets and the total, filtered as RAGFlow's list route."""
    query = select(Dataset).where(Dataset.tenant_id == tenant_id)
    if name is not None:
        query = query.where(Dataset.name_key == name_key(name))
    if dataset_id is not None:
        query = query.where(Dataset.id == dataset_id)
    column = Dataset.update_time if orderby == "update_time" else Dataset.create_time
    query = query.order_by(column.desc() if desc else column.asc(), Dataset.id)
    total = _count(session, query)
    return list(session.scalars(_page(query, page, page_size))), total


def update_dataset(
    session: Session, tenant_id: str, dataset_id: str, **fields: Unpack[DatasetFields]
) -> Dataset | None:
    """Change a dataset; ``Conflict`` when renaming onto another dataset's name."""
    dataset = get_dataset(session, tenant_id, dataset_id)
    if dataset is None:
        return None
    if "name" in fields:
        other = get_dataset_by_name(session, tenant_id, fields["name"])
        if other is not None and other.id != dataset_id:
            raise Conflict(f"Dataset name '{fields['name']}' already exists")
    for key, value in fields.items():
        setattr(dataset, key, value)
    dataset.update_time = utcnow()
    flush_unique(session, f"Dataset name '{fields.get('name')}' already exists")
    return dataset


def delete_datasets(
    session: Session, tenant_id: str, dataset_ids: Sequence[str] | None
) -> list[str]:
    """Delete the tenant's datasets among ``dataset_ids`` (all of them for ``None``).

    Documents, their bytes and chunks go with them (foreign-key cascades). Returns the
    ids deleted, so a caller can tell which of the given ids were not the tenant's.
    """
    query = select(Dataset.id).where(Dataset.tenant_id == tenant_id)
    if dataset_ids is not None:
        query = query.where(Dataset.id.in_(dataset_ids))
    found = list(session.scalars(query))
    if found:
        session.execute(
            delete(Dataset).where(Dataset.tenant_id == tenant_id, Dataset.id.in_(found))
        )
    return found


# -- documents ---------------------------------------------------------------------------


def document_type(suffix: str) -> str:
    """RAGFlow's coarse file type: ``pdf``, ``visual``, ``aural`` or ``doc``."""
    if suffix == "pdf":
        return "pdf"
    if suffix in _IMAGE_SUFFIXES:
        return "visual"
    if suffix in _AUDIO_SUFFIXES:
        return "aural"
    return "doc"


def _unique_name(session: Session, dataset_id: str, name: str) -> str:
    """``name``, or ``stem(n).suffix`` with the first free ``n``, as RAGFlow does."""
    taken = set(
        session.scalars(
            select(Document.name).where(
                Document.dataset_id == dataset_id,
                Document.name.startswith(_stem(name), autoescape=True),
            )
        )
    )
    path = PurePosixPath(name)
    candidate, number = name, 0
    while candidate in taken:
        number += 1
        candidate = f"{_stem(name)}({number}){path.suffix}"
    return candidate


def _stem(name: str) -> str:
    path = PurePosixPath(name)
    stem = path.name[: -len(path.suffix)] if path.suffix else path.name
    return re.sub(r"\(\d+\)$", "", stem)


def create_document(
    session: Session,
    tenant_id: str,
    dataset_id: str,
    *,
    name: str,
    data: bytes | None,
    created_by: str,
    meta_fields: dict[str, Any] | None = None,
) -> Document:
    """Store an upload: its row (with the dataset's chunk settings) and its bytes; with
    ``data`` None a virtual document, without a file.

    A name already used in the dataset gets ``(1)``, ``(2)``… before the suffix.
    ``NotFound`` if the dataset is not the tenant's.
    """
    dataset = get_dataset(session, tenant_id, dataset_id)
    if dataset is None:
        raise NotFound(f"You don't own the dataset {dataset_id}.")
    suffix = PurePosixPath(name).suffix.lstrip(".").lower()
    document = Document(
        id=new_id(),
        tenant_id=tenant_id,
        dataset_id=dataset_id,
        name=_unique_name(session, dataset_id, name),
        type=VIRTUAL_DOCUMENT_TYPE if data is None else document_type(suffix),
        suffix=suffix[:16],
        size=len(data or b""),
        content_hash=hashlib.sha256(data or b"").hexdigest(),
        chunk_method=dataset.chunk_method,
        parser_config=dict(dataset.parser_config or default_parser_config()),
        meta_fields=meta_fields or {},
        created_by=created_by,
    )
    session.add(document)
    session.flush()
    if data is not None:
        session.add(DocumentBlob(document_id=document.id, data=data))
    session.execute(
        update(Dataset)
        .where(Dataset.id == dataset_id)
        .values(document_count=Dataset.document_count + 1)
    )
    session.flush()
    return document


def get_document(
    session: Session, tenant_id: str, document_id: str, *, dataset_id: str | None = None
) -> Document | None:
    query = select(Document).where(Document.tenant_id == tenant_id, Document.id == document_id)
    if dataset_id is not None:
        query = query.where(Document.dataset_id == dataset_id)
    return session.scalars(query).first()


def get_document_blob(session: Session, tenant_id: str, document_id: str) -> bytes | None:
    """The uploaded bytes of the tenant's document."""
    return session.scalar(
        select(DocumentBlob.data)
        .join(Document, Document.id == DocumentBlob.document_id)
        .where(Document.tenant_id == tenant_id, Document.id == document_id)
    )


def list_documents(
    session: Session,
    tenant_id: str,
    dataset_id: str,
    *,
    page: int = 1,
    page_size: int = 30,
    orderby: OrderBy = "create_time",
    desc: bool = True,
    keywords: str | None = None,
    document_id: str | None = None,
    name: str | None = None,
    suffixes: Sequence[str] | None = None,
    runs: Sequence[DocumentRun] | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    among: Sequence[str] | None = None,
) -> tuple[list[Document], int]:
    """One page of a dataset's documents and the total, filtered as RAGFlow's list route.

    ``keywords`` matches a part of the name, any case; ``name`` the whole name; ``among``
    keeps only those ids.
    """
    query = select(Document).where(
        Document.tenant_id == tenant_id, Document.dataset_id == dataset_id
    )
    if among is not None:
        query = query.where(Document.id.in_(list(among)))
    if keywords:
        query = query.where(_contains(Document.name, keywords))
    if document_id is not None:
        query = query.where(Document.id == document_id)
    if name is not None:
        query = query.where(Document.name == name)
    if suffixes:
        query = query.where(Document.suffix.in_([s.lower().lstrip(".") for s in suffixes]))
    if runs:
        query = query.where(Document.run.in_([r.value for r in runs]))
    if created_from is not None:
        query = query.where(Document.create_time >= created_from)
    if created_to is not None:
        query = query.where(Document.create_time <= created_to)
    column = Document.update_time if orderby == "update_time" else Document.create_time
    query = query.order_by(column.desc() if desc else column.asc(), Document.id)
    total = _count(session, query)
    return list(session.scalars(_page(query, page, page_size))), total


def update_document(
    session: Session, tenant_id: str, document_id: str, **fields: Unpack[DocumentFields]
) -> Document | None:
    """Change a document; ``Conflict`` when renaming onto another document's name."""
    document = get_document(session, tenant_id, document_id)
    if document is None:
        return None
    if "name" in fields and fields["name"] != document.name:
        clash = session.scalar(
            select(Document.id).where(
                Document.dataset_id == document.dataset_id, Document.name == fields["name"]
            )
        )
        if clash is not None:
            raise Conflict("Duplicated document name in the same dataset.")
        document.suffix = PurePosixPath(fields["name"]).suffix.lstrip(".").lower()[:16]
    for key, value in fields.items():
        setattr(document, key, value)
    document.update_time = utcnow()
    session.flush()
    return document


def delete_documents(
    session: Session, tenant_id: str, dataset_id: str, document_ids: Sequence[str] | None
) -> list[str]:
    """Delete the tenant's documents (all of the dataset's for ``None``) with their
    bytes and chunks; the dataset's counters drop accordingly. Returns the ids deleted.
    """
    query = select(Document.id, Document.chunk_count, Document.token_count).where(
        Document.tenant_id == tenant_id, Document.dataset_id == dataset_id
    )
    if document_ids is not None:
        query = query.where(Document.id.in_(document_ids))
    found = session.execute(query).all()
    if not found:
        return []
    ids = [row.id for row in found]
    session.execute(delete(Document).where(Document.tenant_id == tenant_id, Document.id.in_(ids)))
    session.execute(
        update(Dataset)
        .where(Dataset.tenant_id == tenant_id, Dataset.id == dataset_id)
        .values(
            document_count=Dataset.document_count - len(ids),
            chunk_count=Dataset.chunk_count - sum(row.chunk_count for row in found),
            token_num=Dataset.token_num - sum(row.token_count for row in found),
            update_time=utcnow(),
        )
    )
    return ids


# -- chunks and counters -----------------------------------------------------------------


def list_chunks(
    session: Session,
    tenant_id: str,
    dataset_id: str,
    document_id: str,
    *,
    page: int = 1,
    page_size: int = 1024,
    keywords: str | None = None,
    chunk_id: str | None = None,
) -> tuple[list[Chunk], int]:
    """One page of a document's chunks in document order, and the total.

    ``keywords`` matches a part of the content, any case.
    """
    query = select(Chunk).where(
        Chunk.tenant_id == tenant_id,
        Chunk.dataset_id == dataset_id,
        Chunk.document_id == document_id,
    )
    if keywords:
        query = query.where(_contains(Chunk.content, keywords))
    if chunk_id is not None:
        query = query.where(Chunk.id == chunk_id)
    query = query.order_by(Chunk.position, Chunk.id)
    total = _count(session, query)
    return list(session.scalars(_page(query, page, page_size))), total


def get_chunk(
    session: Session, tenant_id: str, chunk_id: str, *, document_id: str | None = None
) -> Chunk | None:
    query = select(Chunk).where(Chunk.tenant_id == tenant_id, Chunk.id == chunk_id)
    if document_id is not None:
        query = query.where(Chunk.document_id == document_id)
    return session.scalars(query).first()


def add_chunk_counts(
    session: Session, tenant_id: str, document_id: str, *, chunks: int, tokens: int
) -> bool:
    """Add to a document's and its dataset's chunk and token counters (negative to remove).

    Increments in SQL, so concurrent writers do not lose updates.
    """
    dataset_id = session.scalar(
        select(Document.dataset_id).where(
            Document.tenant_id == tenant_id, Document.id == document_id
        )
    )
    if dataset_id is None:
        return False
    now = utcnow()
    session.execute(
        update(Document)
        .where(Document.id == document_id)
        .values(
            chunk_count=Document.chunk_count + chunks,
            token_count=Document.token_count + tokens,
            update_time=now,
        )
    )
    session.execute(
        update(Dataset)
        .where(Dataset.id == dataset_id)
        .values(
            chunk_count=Dataset.chunk_count + chunks,
            token_num=Dataset.token_num + tokens,
            update_time=now,
        )
    )
    return True


def refresh_counts(session: Session, tenant_id: str, dataset_id: str) -> bool:
    """Recount a dataset's documents, chunks and tokens from the rows themselves."""
    if get_dataset(session, tenant_id, dataset_id) is None:
        return False
    chunk_count = (
        select(func.count(Chunk.id))
        .where(Chunk.document_id == Document.id)
        .correlate(Document)
        .scalar_subquery()
    )
    token_count = (
        select(func.coalesce(func.sum(Chunk.token_count), 0))
        .where(Chunk.document_id == Document.id)
        .correlate(Document)
        .scalar_subquery()
    )
    session.execute(
        update(Document)
        .where(Document.tenant_id == tenant_id, Document.dataset_id == dataset_id)
        .values(chunk_count=chunk_count, token_count=token_count)
    )
    totals = session.execute(
        select(
            func.count(Document.id),
            func.coalesce(func.sum(Document.chunk_count), 0),
            func.coalesce(func.sum(Document.token_count), 0),
        ).where(Document.tenant_id == tenant_id, Document.dataset_id == dataset_id)
    ).one()
    session.execute(
        update(Dataset)
        .where(Dataset.id == dataset_id)
        .values(
            document_count=int(totals[0]),
            chunk_count=int(totals[1]),
            token_num=int(totals[2]),
            update_time=utcnow(),
        )
    )
    session.expire_all()
    return True


# -- parse queue -------------------------------------------------------------------------


def start_parsing(
    session: Session, tenant_id: str, dataset_id: str, document_ids: Sequence[str]
) -> list[str]:
    """Queue the tenant's documents for parsing (``run = RUNNING``, no claim, progress 0);
    virtual documents are left out.

    A worker still holding one of them loses it: its next ``renew_claim`` fails.
    """
    return _set_run(session, tenant_id, dataset_id, document_ids, DocumentRun.RUNNING)


def stop_parsing(
    session: Session, tenant_id: str, dataset_id: str, document_ids: Sequence[str]
) -> list[str]:
    """Cancel parsing (``run = CANCEL``); the worker notices at its next ``renew_claim``."""
    return _set_run(session, tenant_id, dataset_id, document_ids, DocumentRun.CANCEL)


def _set_run(
    session: Session,
    tenant_id: str,
    dataset_id: str,
    document_ids: Sequence[str],
    run: DocumentRun,
) -> list[str]:
    query = select(Document.id).where(
        Document.tenant_id == tenant_id,
        Document.dataset_id == dataset_id,
        Document.id.in_(document_ids),
    )
    if run is DocumentRun.RUNNING:  # a virtual document has no file to parse
        query = query.where(Document.type != VIRTUAL_DOCUMENT_TYPE)
    found = list(session.scalars(query))
    if found:
        values: dict[str, Any] = {
            "run": run.value,
            "claimed_by": None,
            "claim_expires_at": None,
            "update_time": utcnow(),
        }
        if run is DocumentRun.RUNNING:
            values |= {"progress": 0.0, "progress_msg": "", "parse_attempts": 0}
        session.execute(update(Document).where(Document.id.in_(found)).values(**values))
        session.expire_all()
    return found


def renew_claim(session: Session, worker_id: str, document_id: str, lease_seconds: float) -> bool:
    """Extend ``worker_id``'s claim; ``False`` if it lost the document (taken over by
    another worker after expiring, or parsing was stopped or restarted): stop working on it.
    """
    now = utcnow()
    result = session.execute(
        update(Document)
        .where(
            Document.id == document_id,
            Document.claimed_by == worker_id,
            Document.run == DocumentRun.RUNNING.value,
        )
        .values(claim_expires_at=now + timedelta(seconds=lease_seconds), update_time=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def release_claim(
    session: Session, worker_id: str, document_id: str, *, run: DocumentRun | None = None
) -> bool:
    """Give a claimed document up, setting its final ``run`` (``DONE``/``FAIL``) if given.

    ``False`` if ``worker_id`` no longer held it (nothing is changed then).
    """
    values: dict[str, Any] = {"claimed_by": None, "claim_expires_at": None, "update_time": utcnow()}
    if run is not None:
        values["run"] = run.value
    result = session.execute(
        update(Document)
        .where(Document.id == document_id, Document.claimed_by == worker_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]
