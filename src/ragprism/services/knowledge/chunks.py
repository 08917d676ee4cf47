"""A document's chunks: list, add (embedded and indexed), update, delete (SPEC §4).

The chunk store writes on its own connection. A request session that already wrote
is committed before the store is called, so neither waits for a lock the other holds
(SQLite has one writer at a time; InnoDB locks a parent row against child inserts).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ragprism.db.base import new_id
from ragprism.errors import DataError, InvalidArgument, NotFound
from ragprism.llm.tokens import count_tokens
from ragprism.models import Chunk, Dataset, Document
from ragprism.repositories import datasets as repo
from ragprism.retrieval import ChunkRecord

if TYPE_CHECKING:
    from ragprism.services.context import ServiceContext


def document_in_dataset(
    session: Session, tenant_id: str, dataset_id: str, document_id: str
) -> tuple[Dataset, Document]:
    """The tenant's dataset and its document; ``NotFound`` in RAGFlow's words otherwise."""
    dataset = repo.get_dataset(session, tenant_id, dataset_id)
    if dataset is None:
        raise NotFound(f"You don't own the dataset {dataset_id}.")
    document = repo.get_document(session, tenant_id, document_id, dataset_id=dataset_id)
    if document is None:
        raise NotFound(f"You don't own the document {document_id}.")
    return dataset, document


def drop_document_chunks(
    session: Session, state: ServiceContext, tenant_id: str, document_id: str
) -> None:
    """Delete every chunk of a document and zero its counters (commits ``session`` first)."""
    session.commit()
    state.store.delete_document(tenant_id, document_id)
    document = repo.get_document(session, tenant_id, document_id)
    if document is not None and (document.chunk_count or document.token_count):
        repo.add_chunk_counts(
            session,
            tenant_id,
            document_id,
            chunks=-document.chunk_count,
            tokens=-document.token_count,
        )
        session.expire_all()


def list_page(
    session: Session,
    tenant_id: str,
    dataset_id: str,
    document_id: str,
    *,
    page: int,
    page_size: int,
    keywords: str | None,
    chunk_id: str | None,
) -> tuple[Document, list[Chunk], int]:
    """The document, a page of its chunks in document order, and the total."""
    _, document = document_in_dataset(session, tenant_id, dataset_id, document_id)
    chunks, total = repo.list_chunks(
        session,
        tenant_id,
        dataset_id,
        document_id,
        page=page,
        page_size=page_size,
        keywords=keywords,
        chunk_id=chunk_id,
    )
    if chunk_id and total == 0:
        raise NotFound(f"Chunk not found: {dataset_id}/{chunk_id}")
    return document, chunks, total


def _clean_terms(values: Sequence[str], field: str) -> list[str]:
    terms = [v.strip() for v in values if v.strip()]
    if any(len(t) > 512 for t in terms):
        raise InvalidArgument(f"{field}: each item at most 512 characters")
    return terms


def _embed(
    session: Session, state: ServiceContext, dataset: Dataset, content: str, questions: list[str]
) -> list[float]:
    # RAGFlow embeds a chunk's questions instead of its content when it has some.
    text = "\n".join(questions) if questions else content
    embedder = state.models.embedding(session, dataset.tenant_id, dataset.embedding_model)
    return embedder.embed([text]).vectors[0]


def add(
    session: Session,
    state: ServiceContext,
    tenant_id: str,
    dataset_id: str,
    document_id: str,
    *,
    content: str,
    important_keywords: Sequence[str],
    questions: Sequence[str],
) -> Chunk:
    """Add a chunk written by hand, embedded with the dataset's model and indexed."""
    dataset, document = document_in_dataset(session, tenant_id, dataset_id, document_id)
    if not content.strip():
        raise DataError("`content` is required")
    keywords = _clean_terms(important_keywords, "important_keywords")
    asked = _clean_terms(questions, "questions")
    vector = _embed(session, state, dataset, content, asked)
    last = session.scalar(
        select(func.max(Chunk.position)).where(
            Chunk.tenant_id == tenant_id, Chunk.document_id == document.id
        )
    )
    position = 0 if last is None else last + 1
    record = ChunkRecord(
        id=new_id(),
        tenant_id=tenant_id,
        dataset_id=dataset_id,
        document_id=document.id,
        content=content,
        embedding=vector,
        important_keywords=keywords,
        questions=asked,
        token_count=count_tokens(content),
        position=position,
    )
    session.commit()
    state.store.add([record])
    repo.add_chunk_counts(session, tenant_id, document_id, chunks=1, tokens=record.token_count)
    chunk = repo.get_chunk(session, tenant_id, record.id)
    if chunk is None:  # the document was deleted meanwhile
        raise NotFound(f"You don't own the document {document_id}.")
    return chunk


def get(
    session: Session, tenant_id: str, dataset_id: str, document_id: str, chunk_id: str
) -> tuple[Document, Chunk]:
    """One chunk of the document, and the document; ``NotFound`` otherwise."""
    _, document = document_in_dataset(session, tenant_id, dataset_id, document_id)
    chunk = repo.get_chunk(session, tenant_id, chunk_id, document_id=document_id)
    if chunk is None:
        raise NotFound(f"Chunk not found: {dataset_id}/{chunk_id}")
    return document, chunk


def switch(
    session: Session,
    state: ServiceContext,
    tenant_id: str,
    dataset_id: str,
    document_id: str,
    chunk_ids: Sequence[str],
    *,
    available: bool,
) -> None:
    """Make chunks of the document available to retrieval or not, all or none of them
    (``NotFound`` naming the chunks the document lacks)."""
    document_in_dataset(session, tenant_id, dataset_id, document_id)
    wanted = list(dict.fromkeys(chunk_ids))
    found = {i for i in wanted if repo.get_chunk(session, tenant_id, i, document_id=document_id)}
    if len(found) != len(wanted):
        missing = [i for i in wanted if i not in found]
        raise NotFound(f"Can't find these chunks: {', '.join(missing)}")
    session.commit()
    state.store.set_available(tenant_id, available=available, chunk_ids=wanted)


def update(
    session: Session,
    state: ServiceContext,
    tenant_id: str,
    dataset_id: str,
    document_id: str,
    chunk_id: str,
    *,
    content: str | None,
    important_keywords: Sequence[str] | None,
    questions: Sequence[str] | None,
    available: bool | None,
) -> None:
    """Change a chunk; a new text, keywords or questions re-embed and re-index it."""
    dataset, _ = document_in_dataset(session, tenant_id, dataset_id, document_id)
    chunk = repo.get_chunk(session, tenant_id, chunk_id, document_id=document_id)
    if chunk is None:
        raise NotFound(f"Can't find this chunk {chunk_id}")
    if content is not None and not content.strip():
        raise InvalidArgument("`content` must not be empty")
    if content is None and important_keywords is None and questions is None:
        if available is not None:
            session.commit()
            state.store.set_available(tenant_id, available=available, chunk_ids=[chunk_id])
        return
    new_content = chunk.content if content is None else content
    keywords = (
        list(chunk.important_keywords or [])
        if important_keywords is None
        else _clean_terms(important_keywords, "important_keywords")
    )
    asked = (
        list(chunk.questions or []) if questions is None else _clean_terms(questions, "questions")
    )
    record = ChunkRecord(
        id=chunk.id,
        tenant_id=tenant_id,
        dataset_id=dataset_id,
        document_id=document_id,
        content=new_content,
        embedding=_embed(session, state, dataset, new_content, asked),
        important_keywords=keywords,
        questions=asked,
        token_count=count_tokens(new_content),
        position=chunk.position,
        page=chunk.page,
        available=chunk.available if available is None else available,
    )
    delta = record.token_count - chunk.token_count
    session.commit()
    state.store.add([record])  # replaces the chunk with the same id
    if delta:
        repo.add_chunk_counts(session, tenant_id, document_id, chunks=0, tokens=delta)


def delete(
    session: Session,
    state: ServiceContext,
    tenant_id: str,
    dataset_id: str,
    document_id: str,
    chunk_ids: Sequence[str] | None,
) -> int:
    """Delete chunks of the document (all of them for ``None``); how many went."""
    _, document = document_in_dataset(session, tenant_id, dataset_id, document_id)
    if chunk_ids is None:
        count = document.chunk_count
        drop_document_chunks(session, state, tenant_id, document_id)
        return count
    wanted = list(dict.fromkeys(chunk_ids))
    found = [
        c
        for c in (repo.get_chunk(session, tenant_id, i, document_id=document_id) for i in wanted)
        if c is not None
    ]
    if len(found) != len(wanted):
        missing = sorted(set(wanted) - {c.id for c in found})
        raise NotFound(
            f"rm_chunk deleted chunks {len(found)}, expect {len(wanted)}; "
            f"not found: {', '.join(missing)}"
        )
    tokens = sum(c.token_count for c in found)
    session.commit()
    deleted = state.store.delete_chunks(tenant_id, [c.id for c in found])
    repo.add_chunk_counts(session, tenant_id, document_id, chunks=-deleted, tokens=-tokens)
    return deleted
