"""Retrieval over a tenant's datasets, as RAGFlow's ``POST /api/v1/retrieval`` does it.

Hybrid search (full text + vectors, weighted by ``vector_similarity_weight``) in the chunk
store, then an optional rerank: the best candidates are scored by the rerank model and
that score takes the place of the vector similarity in the blend, as in RAGFlow's
``rerank_by_model``. Results above ``similarity_threshold`` are paged.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ragprism.errors import DataError, InvalidArgument
from ragprism.llm.base import RerankModel
from ragprism.llm.pricing import ModelPrice
from ragprism.models import Dataset, Document
from ragprism.retrieval import ScoredChunk, query_terms
from ragprism.retrieval.analysis import index_terms
from ragprism.services.knowledge.metadata_filter import MetadataCondition, matching_document_ids
from ragprism.services.models.model_usage import record_usage
from ragprism.tracing import NoopTrace, Trace

if TYPE_CHECKING:
    from ragprism.services.context import ServiceContext
    from ragprism.tracing import Observation

_NOOP = NoopTrace()
# How many of the best hybrid candidates the rerank model sees (RAGFlow: 64 per page).
RERANK_LIMIT = 64
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class RetrievalRequest:
    """RAGFlow's retrieval parameters."""

    question: str
    dataset_ids: list[str]
    document_ids: list[str] | None = None
    page: int = 1
    page_size: int = 30
    similarity_threshold: float = 0.2
    vector_similarity_weight: float = 0.3
    top_k: int = 1024
    rerank_id: str | None = None
    keyword: bool = False
    highlight: bool = False
    # Only documents whose ``meta_fields`` meet it (RAGFlow's ``metadata_condition``).
    metadata_condition: MetadataCondition | None = None


@dataclass
class RetrievalResult:
    """One page of chunks (RAGFlow's "Retrieve chunks" items), per-document counts, total."""

    chunks: list[dict[str, Any]]
    doc_aggs: list[dict[str, Any]]
    total: int


def _reranker(
    session: Session, state: ServiceContext, tenant_id: str, rerank_id: str | None
) -> RerankModel | None:
    """The rerank model ``rerank_id`` names; its errors name the field."""
    if not rerank_id:
        return None
    try:
        return state.models.rerank(session, tenant_id, rerank_id)
    except (DataError, InvalidArgument) as exc:
        raise type(exc)(f"rerank_id: {exc.message}") from None


def _validate(request: RetrievalRequest) -> None:
    if not request.dataset_ids and not request.document_ids:
        raise InvalidArgument("`dataset_ids` or `document_ids` is required.")
    if not request.question.strip():
        raise InvalidArgument("`question` is required.")
    if request.page < 1:
        raise InvalidArgument("`page` must be at least 1.")
    if request.page_size < 1:
        raise InvalidArgument("`page_size` must be at least 1.")
    if request.top_k < 1:
        raise InvalidArgument("`top_k` must be at least 1.")
    if not 0.0 <= request.similarity_threshold <= 1.0:
        raise InvalidArgument("`similarity_threshold` must be between 0 and 1.")
    if not 0.0 <= request.vector_similarity_weight <= 1.0:
        raise InvalidArgument("`vector_similarity_weight` must be between 0 and 1.")


def owned_datasets(session: Session, tenant_id: str, dataset_ids: Sequence[str]) -> list[Dataset]:
    """The tenant's datasets among ``dataset_ids``; ``DataError`` naming the first foreign one."""
    wanted = list(dict.fromkeys(dataset_ids))
    found = {
        d.id: d
        for d in session.scalars(
            select(Dataset).where(Dataset.tenant_id == tenant_id, Dataset.id.in_(wanted))
        )
    }
    for dataset_id in wanted:
        if dataset_id not in found:
            raise DataError(f"You don't own the dataset {dataset_id}.")
    return [found[i] for i in wanted]


def _datasets_of(session: Session, tenant_id: str, document_ids: Sequence[str]) -> list[str]:
    """The datasets of the tenant's documents; ``DataError`` naming a foreign one."""
    rows = {
        row.id: row.dataset_id
        for row in session.execute(
            select(Document.id, Document.dataset_id).where(
                Document.tenant_id == tenant_id, Document.id.in_(list(document_ids))
            )
        )
    }
    for document_id in document_ids:
        if document_id not in rows:
            raise DataError(f"You don't own the document {document_id}.")
    return list(dict.fromkeys(rows[i] for i in document_ids))


def retrieve(
    session: Session,
    state: ServiceContext,
    tenant_id: str,
    request: RetrievalRequest,
    *,
    parent: Trace | Observation | None = None,
) -> RetrievalResult:
    """Search the tenant's datasets for ``request.question``.

    ``DataError`` (102) for a foreign or missing dataset or datasets with different
    embedding models; ``InvalidArgument`` (101) for out-of-range parameters. With a
    ``parent`` trace or observation, the steps are recorded under a ``retrieval``
    observation (``embed-query``, ``search``, ``rerank``).
    """
    _validate(request)
    dataset_ids = request.dataset_ids or _datasets_of(
        session, tenant_id, request.document_ids or []
    )
    datasets = owned_datasets(session, tenant_id, dataset_ids)
    models = {d.embedding_model for d in datasets}
    if len(models) > 1:
        raise DataError("Datasets use different embedding models.")
    embedding_id = models.pop()
    embedder = state.models.embedding(session, tenant_id, embedding_id)
    reranker = _reranker(session, state, tenant_id, request.rerank_id)
    if isinstance(parent, Trace):  # the trace is tagged with every model it used
        parent.update(tags=[embedding_id or embedder.model_name, request.rerank_id or ""])
    document_ids = request.document_ids
    if request.metadata_condition is not None:
        chosen = matching_document_ids(
            session, tenant_id, [d.id for d in datasets], request.metadata_condition
        )
        document_ids = [i for i in document_ids if i in set(chosen)] if document_ids else chosen
        if not document_ids:
            return RetrievalResult([], [], 0)
    tracer = parent if parent is not None else _NOOP
    with tracer.observation(
        "retrieval",
        kind="retriever",
        input=request.question,
        metadata={"dataset_ids": [d.id for d in datasets], "top_k": request.top_k},
    ) as step:
        with step.observation(
            "embed-query", kind="embedding", input=request.question, model=embedder.model_name
        ) as obs:
            embedded = embedder.embed_query(request.question)
            record_usage(obs, embedded.usage, state.models.price(embedder))
        with step.observation("search", input=request.question) as obs:
            found = state.store.search(
                tenant_id,
                [d.id for d in datasets],
                question=request.question,
                query_vector=embedded.vectors[0],
                top_k=request.top_k,
                # With a rerank model the blend changes afterwards: filter only then.
                similarity_threshold=0.0 if reranker else request.similarity_threshold,
                vector_similarity_weight=request.vector_similarity_weight,
                document_ids=document_ids,
                keyword=request.keyword,
            )
            obs.update(output={"candidates": len(found)})
        if reranker is not None:
            found = _rerank(step, reranker, request, found, state.models.price(reranker))
        result = _page(session, tenant_id, request, found)
        step.update(output={"total": result.total, "chunk_ids": [c["id"] for c in result.chunks]})
    return result


def _rerank(
    step: Observation,
    reranker: RerankModel,
    request: RetrievalRequest,
    found: list[ScoredChunk],
    price: ModelPrice | None,
) -> list[ScoredChunk]:
    """The best candidates rescored with the rerank model, above the threshold, best first."""
    limit = min(request.top_k, max(RERANK_LIMIT, request.page * request.page_size))
    candidates = found[:limit]
    with step.observation(
        "rerank", kind="generation", input=request.question, model=reranker.model_name
    ) as obs:
        ranked = reranker.rerank(request.question, [c.content for c in candidates])
        obs.update(output={"results": len(ranked.results)})
        record_usage(obs, ranked.usage, price)
    scores = dict(ranked.results)
    weight = request.vector_similarity_weight
    rescored = sorted(
        (_rescored(c, scores.get(i, 0.0), weight) for i, c in enumerate(candidates)),
        key=lambda c: (-c.similarity, c.chunk_id),
    )
    return [c for c in rescored if c.similarity >= request.similarity_threshold]


def _page(
    session: Session, tenant_id: str, request: RetrievalRequest, found: list[ScoredChunk]
) -> RetrievalResult:
    start = (request.page - 1) * request.page_size
    page = found[start : start + request.page_size]
    names = _document_names(session, tenant_id, {c.document_id for c in found})
    terms = set(query_terms(request.question)) if request.highlight else None
    chunks = [_chunk_json(c, names, terms) for c in page]
    counts = Counter(c.document_id for c in found)
    doc_aggs = [
        {"doc_name": names.get(doc_id, ""), "doc_id": doc_id, "count": count}
        for doc_id, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]
    return RetrievalResult(chunks=chunks, doc_aggs=doc_aggs, total=len(found))


def _rescored(chunk: ScoredChunk, rerank_score: float, weight: float) -> ScoredChunk:
    similarity = (1.0 - weight) * chunk.term_similarity + weight * rerank_score
    return ScoredChunk(
        chunk_id=chunk.chunk_id,
        dataset_id=chunk.dataset_id,
        document_id=chunk.document_id,
        content=chunk.content,
        similarity=similarity,
        term_similarity=chunk.term_similarity,
        vector_similarity=rerank_score,
        important_keywords=chunk.important_keywords,
        questions=chunk.questions,
        position=chunk.position,
        page=chunk.page,
    )


def _document_names(session: Session, tenant_id: str, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    rows = session.execute(
        select(Document.id, Document.name).where(
            Document.tenant_id == tenant_id, Document.id.in_(sorted(ids))
        )
    )
    return {row.id: row.name for row in rows}


def highlight(content: str, terms: set[str]) -> str:
    """``content`` with the words matching the query's terms wrapped in ``<em>``."""

    def mark(match: re.Match[str]) -> str:
        word = match.group(0)
        return f"<em>{word}</em>" if terms.intersection(index_terms(word)) else word

    return _WORD.sub(mark, content) if terms else content


def _chunk_json(
    chunk: ScoredChunk, names: dict[str, str], terms: set[str] | None
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": chunk.chunk_id,
        "content": chunk.content,
        "document_id": chunk.document_id,
        "document_keyword": names.get(chunk.document_id, ""),
        "document_name": names.get(chunk.document_id, ""),  # the SDK's Chunk reads this
        "dataset_id": chunk.dataset_id,
        "kb_id": chunk.dataset_id,
        "similarity": chunk.similarity,
        "term_similarity": chunk.term_similarity,
        "vector_similarity": chunk.vector_similarity,
        "important_keywords": list(chunk.important_keywords),
        "questions": list(chunk.questions),
        "positions": [] if chunk.page is None else [[chunk.page, 0, 0, 0, 0]],
        "image_id": "",
    }
    if terms is not None:
        item["highlight"] = highlight(chunk.content, terms)
    return item
