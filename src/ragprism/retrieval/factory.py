"""Pick the chunk store for a database's backend."""

from __future__ import annotations

from ragprism.db import Database
from ragprism.retrieval.mariadb import MariaDbChunkStore
from ragprism.retrieval.matrix import DEFAULT_CACHE_BYTES, EmbeddingMatrixCache
from ragprism.retrieval.postgres import DEFAULT_SIDE_CONNECTIONS, PostgresChunkStore
from ragprism.retrieval.sqlite import SqliteChunkStore
from ragprism.retrieval.store import ChunkStore


def make_store(
    database: Database,
    *,
    cache_bytes: int = DEFAULT_CACHE_BYTES,
    use_pgvector: bool = True,
    side_connections: int = DEFAULT_SIDE_CONNECTIONS,
) -> ChunkStore:
    """The chunk store for ``database``, its schema ensured.

    SQLite → ``SqliteChunkStore``; PostgreSQL → ``PostgresChunkStore`` (pgvector when the
    extension can be created, else numpy); MariaDB/MySQL → ``MariaDbChunkStore``.
    ``cache_bytes`` bounds the in-memory embedding matrices of the numpy vector search;
    ``side_connections`` how many searches at once may run their vector side on a second
    connection (PostgreSQL with pgvector only).
    """
    cache = EmbeddingMatrixCache(cache_bytes)
    store: ChunkStore
    if database.backend == "sqlite":
        store = SqliteChunkStore(database.engine, cache)
    elif database.backend == "postgresql":
        store = PostgresChunkStore(
            database.engine,
            cache,
            use_pgvector=use_pgvector,
            side_connections=side_connections,
        )
    elif database.backend in ("mysql", "mariadb"):
        store = MariaDbChunkStore(database.engine, cache)
    else:
        raise ValueError(f"no chunk store for the {database.backend!r} backend")
    store.ensure_schema()
    return store
