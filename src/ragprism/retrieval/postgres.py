"""PostgreSQL: full text with a tsvector + GIN index, vectors with pgvector or numpy.

Full text: migration 0002 adds ``chunk.search_vector``, a generated ``tsvector`` over the
analysed text (keywords and questions weighted A, content B) with a GIN index. The raw
score is ``ts_rank_cd(search_vector, query, 1)`` (cover density, divided by
1 + log(length)); the store scales it into [0, 1] per query like BM25 elsewhere. Very
common terms do not select candidates (see ``TsvectorTermIndex``).

Vectors: ``ensure_schema()`` tries to create the ``vector`` extension. With it, vectors
go to pgvector tables with HNSW indexes (``ragprism.retrieval.pgvector``). Without it
(Debian's PostgreSQL 15 has no pgvector package) the store falls back to
``chunk.embedding`` (float32 bytea) scored exactly with numpy over the cached per-dataset
matrices of ``ragprism.retrieval.matrix``, as the SQLite store does; fine for tens of
thousands of chunks per dataset, and it needs nothing but plain PostgreSQL.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import (
    TEXT,
    BindParameter,
    Connection,
    Engine,
    Row,
    String,
    any_,
    bindparam,
    case,
    cast,
    null,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY

from ragprism.models import Chunk
from ragprism.retrieval.hybrid_store import RESULT_COLUMNS, HybridChunkStore
from ragprism.retrieval.matrix import EmbeddingMatrixCache, MatrixVectorIndex
from ragprism.retrieval.parallel import SideConnections
from ragprism.retrieval.pgvector import DEFAULT_EXACT_LIMIT, PgvectorIndex, create_extension
from ragprism.retrieval.records import SearchScope

DEFAULT_SIDE_CONNECTIONS = 4


def tsquery_text(terms: Sequence[str]) -> str:
    """``to_tsquery`` input matching any of ``terms``, each a quoted lexeme."""
    quoted = ("'" + term.replace("\\", "\\\\").replace("'", "''") + "'" for term in terms)
    return " | ".join(quoted)


class TsvectorTermIndex:
    """``TermIndex`` over ``chunk.search_vector``.

    Ranking reads every matching row's tsvector, so a term found in a large share of
    the chunks makes a query cost O(chunks). Such terms weigh little in BM25 anyway
    (FTS5 gives a term in over half the chunks none at all), so when a question also has
    rarer terms, candidates are the chunks matching a rarer one, ranked by the whole
    question. Term frequencies come from PostgreSQL's statistics on ``search_vector``
    (``pg_stats.most_common_elems``, refreshed by ANALYZE/autovacuum), read at most once
    per ``stats_ttl`` seconds; without statistics every term is used.
    """

    def __init__(self, common_fraction: float = 0.05, stats_ttl: float = 300.0) -> None:
        self.common_fraction = common_fraction
        self._stats_ttl = stats_ttl
        self._frequencies: dict[str, float] = {}
        self._read_at = -math.inf
        self._lock = threading.Lock()

    def query(self, conn: Connection, scope: SearchScope, terms: Sequence[str]) -> _TsQuery:
        frequencies = self.frequencies(conn)
        rare = [t for t in terms if frequencies.get(t, 0.0) < self.common_fraction]
        return _TsQuery(conn, scope, tsquery_text(terms), tsquery_text(rare or terms))

    def frequencies(self, conn: Connection) -> dict[str, float]:
        """Share of chunks containing each of the most common terms (whole table)."""
        with self._lock:
            if time.monotonic() - self._read_at < self._stats_ttl:
                return self._frequencies
        row = conn.execute(
            text(
                "SELECT most_common_elems::text::text[], most_common_elem_freqs FROM pg_stats"
                " WHERE schemaname = current_schema() AND tablename = 'chunk'"
                " AND attname = 'search_vector'"
            )
        ).first()
        found = {} if row is None or row[0] is None else dict(zip(row[0], row[1], strict=False))
        with self._lock:
            self._frequencies, self._read_at = found, time.monotonic()
        return found


class _TsQuery:
    def __init__(self, conn: Connection, scope: SearchScope, query: str, match: str) -> None:
        self._conn = conn
        self._scope = scope
        self._query = query  # ranks
        self._match = match  # selects candidates in top()

    def _run(self, match: str, limit: int | None, chunk_ids: list[str] | None) -> dict[str, float]:
        scope = self._scope
        sql = (
            "SELECT c.id, ts_rank_cd(c.search_vector, q.query, 1) AS score"
            " FROM chunk c, to_tsquery('simple', :query) AS q(query),"
            " to_tsquery('simple', :match) AS m(match)"
            " WHERE c.search_vector @@ m.match AND c.tenant_id = :tenant_id"
            " AND c.dataset_id IN :dataset_ids AND c.available"
        )
        binds: list[BindParameter[object]] = [bindparam("dataset_ids", expanding=True)]
        values: dict[str, object] = {
            "query": self._query,
            "match": match,
            "tenant_id": scope.tenant_id,
            "dataset_ids": list(scope.dataset_ids),
        }
        if scope.document_ids is not None:
            sql += " AND c.document_id IN :document_ids"
            binds.append(bindparam("document_ids", expanding=True))
            values["document_ids"] = list(scope.document_ids)
        if chunk_ids is not None:
            # One array parameter: an expanding IN of ~1000 ids costs more to build and
            # to parse than the lookups themselves.
            sql += " AND c.id = ANY(CAST(:chunk_ids AS varchar[]))"
            values["chunk_ids"] = chunk_ids
        if limit is not None:
            sql += " ORDER BY score DESC, c.id LIMIT :limit"
            values["limit"] = limit
        rows = self._conn.execute(text(sql).bindparams(*binds), values)
        return {chunk_id: float(score) for chunk_id, score in rows if score > 0}

    def top(self, limit: int) -> dict[str, float]:
        if self._scope.document_ids == ():
            return {}
        return self._run(self._match, limit, None)

    def score(self, chunk_ids: Collection[str]) -> dict[str, float]:
        if not chunk_ids or self._scope.document_ids == ():
            return {}
        return self._run(self._query, None, list(chunk_ids))


class PostgresChunkStore(HybridChunkStore):
    """Chunk store for PostgreSQL; call ``ensure_schema()`` once before use.

    Until then (and for good if the ``vector`` extension cannot be created) vectors are
    searched with numpy; ``uses_pgvector`` tells which. With pgvector, a search runs its
    vector side on a second connection while the full-text side runs (at most
    ``side_connections`` searches at once; others run both sides in turn, 0 never).
    """

    def __init__(
        self,
        engine: Engine,
        cache: EmbeddingMatrixCache | None = None,
        *,
        use_pgvector: bool = True,
        exact_limit: int = DEFAULT_EXACT_LIMIT,
        side_connections: int = DEFAULT_SIDE_CONNECTIONS,
    ) -> None:
        super().__init__(engine, TsvectorTermIndex(), MatrixVectorIndex(cache))
        self._use_pgvector = use_pgvector
        self._exact_limit = exact_limit
        self._side_limit = side_connections

    @property
    def uses_pgvector(self) -> bool:
        """Whether vectors are in pgvector tables (else numpy over ``chunk.embedding``)."""
        return isinstance(self.vectors, PgvectorIndex)

    def ensure_schema(self) -> None:
        """Create the ``vector`` extension if allowed and switch to pgvector (idempotent).

        When this call is the one creating the extension, chunks stored before (with
        numpy search) are indexed into the pgvector tables.
        """
        if not self._use_pgvector or self.uses_pgvector:
            return
        with self.engine.begin() as conn:
            state = create_extension(conn)
            if state == "missing":
                return
            index = PgvectorIndex(self._exact_limit)
            if state == "created":
                index.backfill(conn)
        self.vectors = index
        if self._side_limit > 0:
            # Both sides are SQL statements now: the vector side can run on a second
            # connection (numpy's side stays in this process, so it is not split).
            self.side_connections = SideConnections(self.engine, self._side_limit)

    def backfill_vectors(self) -> int:
        """Index every stored embedding into the pgvector tables (a full pass)."""
        if not isinstance(self.vectors, PgvectorIndex):
            return 0
        with self.engine.begin() as conn:
            return self.vectors.backfill(conn)

    def _result_rows(
        self, conn: Connection, tenant_id: str, chunk_ids: list[str]
    ) -> dict[str, Row[Any]]:
        """The ranked chunks' rows in one statement, their ids bound as one array.

        Empty keyword and question lists (most chunks') come back as NULL, which the
        results read as an empty list too, instead of ~1,300 ``json.loads("[]")``.
        """
        if not chunk_ids:
            return {}
        ids = bindparam("chunk_ids", chunk_ids, type_=ARRAY(String))
        columns = [_unless_empty(c) if c.key in _LISTS else c for c in RESULT_COLUMNS]
        query = select(*columns).where(Chunk.tenant_id == tenant_id, Chunk.id == any_(ids))
        rows: dict[str, Row[Any]] = {}
        rows.update({row.id: row for row in conn.execute(query)})
        return rows


_LISTS = ("important_keywords", "questions")


def _unless_empty(column: Any) -> Any:
    """``column`` (a JSON list), or NULL where it is ``[]`` (stored as written: ``[]``)."""
    return case((cast(column, TEXT) == "[]", null()), else_=column).label(column.key)
