"""What goes into a chunk store and what comes out of a search."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ChunkRecord:
    """A chunk to store: its text, where it belongs, and its embedding.

    ``embedding`` may be empty: the chunk is then found by full text only.
    """

    id: str
    tenant_id: str
    dataset_id: str
    document_id: str
    content: str
    embedding: Sequence[float] = ()
    important_keywords: Sequence[str] = ()
    questions: Sequence[str] = ()
    token_count: int = 0
    position: int = 0
    page: int | None = None
    available: bool = True


@dataclass(frozen=True)
class ScoredChunk:
    """A search result with RAGFlow's three scores.

    ``similarity = (1 - w) * term_similarity + w * vector_similarity`` where ``w`` is the
    ``vector_similarity_weight``; ``term_similarity`` is the full-text score normalised
    into [0, 1] for the query (1 for the best full-text match), ``vector_similarity``
    the cosine of the chunk's and the query's embeddings.
    """

    chunk_id: str
    dataset_id: str
    document_id: str
    content: str
    similarity: float
    term_similarity: float
    vector_similarity: float
    important_keywords: list[str] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)
    position: int = 0
    page: int | None = None


@dataclass(frozen=True)
class SearchScope:
    """Which chunks a search may see: one tenant's available chunks in some datasets."""

    tenant_id: str
    dataset_ids: tuple[str, ...]
    document_ids: tuple[str, ...] | None = None
