"""Chunk storage and hybrid retrieval (full text + vectors, weighted as in RAGFlow).

``make_store(database)`` returns the ``ChunkStore`` for the database's backend:

* SQLite (the embedded default): FTS5 BM25 + exact numpy vector search;
* PostgreSQL: tsvector/GIN full text + pgvector HNSW (numpy without the extension);
* MariaDB/MySQL: LIKE + BM25 in Python + numpy, a fallback for small deployments.

Chunks live in the ``chunk`` table everywhere; the stores differ in their indexes.
"""

from ragprism.retrieval.analysis import index_text, query_terms
from ragprism.retrieval.factory import make_store
from ragprism.retrieval.hybrid_store import HybridChunkStore
from ragprism.retrieval.mariadb import MariaDbChunkStore
from ragprism.retrieval.matrix import CacheStats, EmbeddingMatrixCache
from ragprism.retrieval.postgres import PostgresChunkStore
from ragprism.retrieval.records import ChunkRecord, ScoredChunk
from ragprism.retrieval.sqlite import SqliteChunkStore
from ragprism.retrieval.store import ChunkStore

__all__ = [
    "CacheStats",
    "ChunkRecord",
    "ChunkStore",
    "EmbeddingMatrixCache",
    "HybridChunkStore",
    "MariaDbChunkStore",
    "PostgresChunkStore",
    "ScoredChunk",
    "SqliteChunkStore",
    "index_text",
    "make_store",
    "query_terms",
]
