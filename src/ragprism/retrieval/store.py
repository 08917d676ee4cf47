"""The chunk store interface, and the two halves every implementation is built from."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection

from ragprism.retrieval.records import ChunkRecord, ScoredChunk, SearchScope

Vector = npt.NDArray[np.float32]


class ChunkStore(Protocol):
    """Stores chunks with their embeddings and finds them again by hybrid search.

    Every method is scoped to one tenant: another tenant's chunks are never returned,
    changed or deleted, whatever ids are passed.
    """

    def ensure_schema(self) -> None:
        """Create what the store needs beyond the migrations (idempotent)."""
        ...

    def add(self, chunks: Sequence[ChunkRecord]) -> None:
        """Insert chunks, replacing any of the same tenant with the same id.

        Raises ``NotFound`` if a chunk names a document that is not the tenant's or not
        in the given dataset, ``Conflict`` if an id is taken by another tenant's chunk.
        """
        ...

    def delete_chunks(self, tenant_id: str, chunk_ids: Sequence[str]) -> int:
        """Delete the tenant's chunks among ``chunk_ids``; returns how many went."""
        ...

    def delete_document(self, tenant_id: str, document_id: str) -> int:
        """Delete every chunk of a document; returns how many went."""
        ...

    def delete_dataset(self, tenant_id: str, dataset_id: str) -> int:
        """Delete every chunk of a dataset; returns how many went."""
        ...

    def set_available(
        self,
        tenant_id: str,
        *,
        available: bool,
        chunk_ids: Sequence[str] | None = None,
        document_id: str | None = None,
    ) -> int:
        """Switch chunks in or out of retrieval, by ids and/or for a whole document."""
        ...

    def search(
        self,
        tenant_id: str,
        dataset_ids: Sequence[str],
        *,
        question: str,
        query_vector: Sequence[float] | None,
        top_k: int = 1024,
        similarity_threshold: float = 0.2,
        vector_similarity_weight: float = 0.3,
        document_ids: Sequence[str] | None = None,
        keyword: bool = False,
    ) -> list[ScoredChunk]:
        """The best ``top_k`` available chunks for ``question``, best first.

        See ``HybridChunkStore.search`` for the scoring.
        """
        ...


class TermQuery(Protocol):
    """A full-text query prepared for one scope. Scores are raw: higher is better, > 0."""

    def top(self, limit: int) -> dict[str, float]:
        """The ``limit`` best matching chunks and their scores."""
        ...

    def score(self, chunk_ids: Collection[str]) -> dict[str, float]:
        """Scores of those of ``chunk_ids`` that match (the others are absent)."""
        ...


class TermIndex(Protocol):
    """Full-text search over ``chunk``."""

    def query(self, conn: Connection, scope: SearchScope, terms: Sequence[str]) -> TermQuery:
        """Prepare a search for chunks containing any of ``terms``."""
        ...


class VectorQuery(Protocol):
    """A nearest-neighbour query prepared for one scope and query vector."""

    def nearest(self, limit: int) -> dict[str, float]:
        """The ``limit`` chunks with the highest cosine similarity, and that similarity."""
        ...

    def score(self, chunk_ids: Collection[str]) -> dict[str, float]:
        """Cosine similarity of those of ``chunk_ids`` that have a comparable vector."""
        ...


class VectorIndex(Protocol):
    """Vector search over the chunks' embeddings."""

    def ensure_schema(self, conn: Connection) -> None:
        """Create what the index needs (idempotent)."""
        ...

    def write(self, conn: Connection, chunks: Sequence[ChunkRecord]) -> None:
        """Index the embeddings of chunks just inserted into ``chunk``."""
        ...

    def query(self, conn: Connection, scope: SearchScope, vector: Vector) -> VectorQuery:
        """Prepare a search for ``vector`` (unit length)."""
        ...
