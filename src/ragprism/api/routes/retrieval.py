"""``POST /api/v1/retrieval``: RAGFlow's "Retrieve chunks"."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from ragprism.api.deps import CurrentPrincipal, SessionDep, StateDep
from ragprism.api.envelope import ok
from ragprism.errors import InvalidArgument
from ragprism.services.knowledge.metadata_filter import parse_condition
from ragprism.services.knowledge.retrieval import RetrievalRequest, retrieve

router = APIRouter(prefix="/api/v1", tags=["retrieval"])

Id = Annotated[str, Field(max_length=64)]


class RetrievalIn(BaseModel):
    """RAGFlow's body. Features ragprism lacks (``cross_languages``, ``use_kg``,
    ``toc_enhance``) are refused when asked for, not ignored; other unknown fields are
    ignored, as RAGFlow does."""

    model_config = ConfigDict(extra="ignore")
    question: str = Field(max_length=10_000)
    dataset_ids: list[Id] | None = Field(default=None, max_length=1_000)
    document_ids: list[Id] | None = Field(default=None, max_length=10_000)
    page: int = Field(default=1, ge=1, le=1_000_000)
    page_size: int = Field(default=30, ge=1, le=10_000)
    similarity_threshold: float = Field(default=0.2, ge=0, le=1)
    vector_similarity_weight: float = Field(default=0.3, ge=0, le=1)
    top_k: int = Field(default=1024, ge=1, le=100_000)
    rerank_id: str | None = Field(default=None, max_length=256)
    keyword: bool = False
    highlight: bool = False
    metadata_condition: dict[str, Any] | None = None
    cross_languages: list[Annotated[str, Field(max_length=64)]] | None = Field(
        default=None, max_length=64
    )
    use_kg: bool = False
    toc_enhance: bool = False


def refuse_unsupported(body: RetrievalIn) -> None:
    """101 naming a field that asks for a feature ragprism does not have."""
    if body.cross_languages:
        raise InvalidArgument(
            "`cross_languages` is not supported: ragprism does not translate the question"
        )
    if body.use_kg:
        raise InvalidArgument("`use_kg` is not supported: ragprism has no knowledge graph")
    if body.toc_enhance:
        raise InvalidArgument(
            "`toc_enhance` is not supported: ragprism builds no table of contents"
        )


@router.post("/retrieval")
def retrieval(
    body: RetrievalIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    state: StateDep,
    response: Response,
) -> dict[str, Any]:
    """The best chunks of the tenant's datasets for ``question``, one page of them.

    Traced as ``ragflow-retrieval`` into the tenant's Langfuse project, if configured.
    """
    refuse_unsupported(body)
    request = RetrievalRequest(
        question=body.question,
        dataset_ids=body.dataset_ids or [],
        document_ids=body.document_ids or None,
        page=body.page,
        page_size=body.page_size,
        similarity_threshold=body.similarity_threshold,
        vector_similarity_weight=body.vector_similarity_weight,
        top_k=body.top_k,
        rerank_id=body.rerank_id or None,
        keyword=body.keyword,
        highlight=body.highlight,
        metadata_condition=parse_condition(body.metadata_condition),
    )
    with state.tracing.tracer.trace(
        "retrieval",
        tenant_id=principal.tenant_id,
        user_id=principal.user.id,
        input=body.question,
        metadata={"dataset_ids": body.dataset_ids or []},
    ) as trace:
        result = retrieve(session, state, principal.tenant_id, request, parent=trace)
        trace.update(output={"total": result.total})
    data: dict[str, Any] = {
        "chunks": result.chunks,
        "doc_aggs": result.doc_aggs,
        "total": result.total,
    }
    if trace.trace_id:
        response.headers["X-Trace-Id"] = trace.trace_id
        data |= {"trace_id": trace.trace_id, "trace_url": trace.url}
    return ok(data)
