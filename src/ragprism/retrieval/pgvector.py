"""Vector search with pgvector: one table per embedding dimension, each with an HNSW index.

Datasets use different embedding models, hence dimensions, and a pgvector column or
HNSW index has one fixed dimension. So each dimension gets its own table,
``chunk_vector_<dim>`` (``chunk_id`` → ``chunk`` with ON DELETE CASCADE, tenant and
dataset ids, ``embedding vector(<dim>)``), with an HNSW index (``vector_cosine_ops``) and
a B-tree on ``dataset_id``, created on the first write of that dimension. None of it is
in the Alembic migrations, which must also run where the extension is missing:
``ensure_schema()`` creates the extension and ``_ensure_table`` the tables, both
idempotent and serialised with an advisory lock so several processes can race.

``chunk.embedding`` stays the source of truth; these tables are an index over it
(``backfill()`` rebuilds them, e.g. after pgvector was installed on a database in use).

Searching: HNSW is approximate and filters apply after the index scan, so a tenant
owning a small share of a big table could get few neighbours. When the scope (the
tenant's datasets) holds at most ``exact_limit`` vectors the search is an exact scan
instead (a MATERIALIZED CTE the planner cannot turn into an index scan); above that, the
HNSW index, returning at most ``max_candidates`` neighbours with ``hnsw.ef_search`` set
to that number (a large ef_search is what makes HNSW slow; with the default weights a
chunk found by its vector alone needs a high cosine to pass the threshold anyway, and
chunks found by full text get their exact cosine). The scope's size is counted up to
``exact_limit + 1`` per dataset and remembered until the dataset's
``chunk_index_version`` changes.
"""

from __future__ import annotations

import threading
import zlib
from collections import OrderedDict
from collections.abc import Collection, Sequence
from typing import Literal

from sqlalchemy import BindParameter, Connection, bindparam, select, text
from sqlalchemy.exc import DBAPIError

from ragprism.models import ChunkIndexVersion
from ragprism.retrieval import vectors
from ragprism.retrieval.records import ChunkRecord, SearchScope
from ragprism.retrieval.store import Vector

MAX_HNSW_DIMENSION = 2000  # pgvector 0.6 cannot HNSW-index longer `vector`s
DEFAULT_EXACT_LIMIT = 20_000
DEFAULT_MAX_CANDIDATES = 400
_COUNTS_KEPT = 4096
_LOCK = zlib.crc32(b"ragprism.retrieval.pgvector")


def table_name(dimension: int) -> str:
    """The table holding vectors of ``dimension``."""
    return f"chunk_vector_{int(dimension)}"


def create_extension(conn: Connection) -> Literal["present", "created", "missing"]:
    """Create the ``vector`` extension if possible: ``missing`` if it cannot be."""
    if _installed(conn):
        return "present"
    available = conn.execute(
        text("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
    ).first()
    if not available:
        return "missing"
    savepoint = conn.begin_nested()
    try:
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK})
        if _installed(conn):  # another process won the race
            savepoint.commit()
            return "present"
        conn.execute(text("CREATE EXTENSION vector"))
    except DBAPIError:  # no privilege, say: the store keeps searching with numpy
        savepoint.rollback()
        return "missing"
    savepoint.commit()
    return "created"


def _installed(conn: Connection) -> bool:
    found = conn.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'vector'")).first()
    return found is not None


class PgvectorIndex:
    """``VectorIndex`` over the ``chunk_vector_<dim>`` tables."""

    def __init__(
        self,
        exact_limit: int = DEFAULT_EXACT_LIMIT,
        max_candidates: int = DEFAULT_MAX_CANDIDATES,
    ) -> None:
        self.exact_limit = exact_limit
        self.max_candidates = max_candidates
        self._tables: set[int] = set()
        self._counts: OrderedDict[tuple[str, str, str, int], int] = OrderedDict()
        self._lock = threading.Lock()

    def scope_size(self, conn: Connection, scope: SearchScope, table: str) -> int:
        """Vectors in the scope's datasets, counted up to ``exact_limit + 1`` per dataset."""
        versions = conn.execute(
            select(ChunkIndexVersion.dataset_id, ChunkIndexVersion.version).where(
                ChunkIndexVersion.dataset_id.in_(scope.dataset_ids)
            )
        ).all()
        total = 0
        for dataset_id, version in versions:
            key = (scope.tenant_id, dataset_id, table, version)
            with self._lock:
                count = self._counts.get(key)
            if count is None:
                count = conn.execute(
                    text(
                        f"SELECT count(*) FROM (SELECT 1 FROM {table}"  # noqa: S608 - int name
                        " WHERE tenant_id = :tenant_id AND dataset_id = :dataset_id LIMIT :cap) s"
                    ),
                    {
                        "tenant_id": scope.tenant_id,
                        "dataset_id": dataset_id,
                        "cap": self.exact_limit + 1,
                    },
                ).scalar_one()
                with self._lock:
                    self._counts[key] = count
                    while len(self._counts) > _COUNTS_KEPT:
                        self._counts.popitem(last=False)
            total += count
        return total

    def ensure_schema(self, conn: Connection) -> None:
        """Nothing more: tables are created with their first vector."""

    def existing_dimensions(self, conn: Connection) -> set[int]:
        """Dimensions that have a table."""
        rows = conn.execute(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
                r" AND tablename LIKE 'chunk\_vector\_%'"
            )
        ).scalars()
        found = {int(name.rsplit("_", 1)[1]) for name in rows if name.rsplit("_", 1)[1].isdigit()}
        self._tables |= found
        return found

    def write(self, conn: Connection, chunks: Sequence[ChunkRecord]) -> None:
        by_dimension: dict[int, list[dict[str, object]]] = {}
        for chunk in chunks:
            if len(chunk.embedding):
                by_dimension.setdefault(len(chunk.embedding), []).append(
                    {
                        "chunk_id": chunk.id,
                        "tenant_id": chunk.tenant_id,
                        "dataset_id": chunk.dataset_id,
                        "embedding": vectors.literal(chunk.embedding),
                    }
                )
        for dimension, rows in by_dimension.items():
            self._ensure_table(conn, dimension)
            conn.execute(
                text(
                    f"INSERT INTO {table_name(dimension)}"  # noqa: S608 - name from an int
                    " (chunk_id, tenant_id, dataset_id, embedding)"
                    " VALUES (:chunk_id, :tenant_id, :dataset_id, CAST(:embedding AS vector))"
                    " ON CONFLICT (chunk_id) DO NOTHING"
                ),
                rows,
            )

    def backfill(self, conn: Connection, batch: int = 1000) -> int:
        """Index every ``chunk.embedding`` (those indexed already are skipped); returns count."""
        done = 0
        last = ""
        while True:
            rows = conn.execute(
                text(
                    "SELECT id, tenant_id, dataset_id, document_id, embedding FROM chunk"
                    " WHERE embedding IS NOT NULL AND id > :last ORDER BY id LIMIT :batch"
                ),
                {"last": last, "batch": batch},
            ).all()
            if not rows:
                return done
            last = rows[-1].id
            self.write(
                conn,
                [
                    ChunkRecord(
                        id=row.id,
                        tenant_id=row.tenant_id,
                        dataset_id=row.dataset_id,
                        document_id=row.document_id,
                        content="",
                        embedding=vectors.decode(row.embedding).tolist(),
                    )
                    for row in rows
                ],
            )
            done += len(rows)

    def _ensure_table(self, conn: Connection, dimension: int) -> None:
        # Only tables seen committed are remembered: this transaction may still roll back.
        if dimension in self._tables or dimension in self.existing_dimensions(conn):
            return
        if not 0 < dimension <= 16000:
            raise ValueError(f"unsupported embedding dimension {dimension}")
        table = table_name(dimension)
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK})
        conn.execute(
            text(
                f"CREATE TABLE IF NOT EXISTS {table} ("
                " chunk_id varchar(32) PRIMARY KEY REFERENCES chunk (id) ON DELETE CASCADE,"
                " tenant_id varchar(32) NOT NULL,"
                " dataset_id varchar(32) NOT NULL,"
                f" embedding vector({dimension}) NOT NULL)"
            )
        )
        conn.execute(text(f"CREATE INDEX IF NOT EXISTS ix_{table}_dataset ON {table} (dataset_id)"))
        if dimension <= MAX_HNSW_DIMENSION:
            conn.execute(
                text(
                    f"CREATE INDEX IF NOT EXISTS ix_{table}_hnsw ON {table}"
                    " USING hnsw (embedding vector_cosine_ops)"
                )
            )

    def query(self, conn: Connection, scope: SearchScope, vector: Vector) -> _PgvectorQuery:
        dimension = int(vector.shape[0])
        exists = dimension in self._tables or dimension in self.existing_dimensions(conn)
        return _PgvectorQuery(conn, scope, vector, table_name(dimension) if exists else None, self)


class _PgvectorQuery:
    def __init__(
        self,
        conn: Connection,
        scope: SearchScope,
        vector: Vector,
        table: str | None,
        index: PgvectorIndex,
    ) -> None:
        self._conn = conn
        self._scope = scope
        self._literal = vectors.literal(vector.tolist())
        self._table = table
        self._index = index

    def _filters(self) -> tuple[str, list[BindParameter[object]], dict[str, object]]:
        scope = self._scope
        sql = " v.tenant_id = :tenant_id AND v.dataset_id IN :dataset_ids AND c.available"
        binds: list[BindParameter[object]] = [bindparam("dataset_ids", expanding=True)]
        values: dict[str, object] = {
            "tenant_id": scope.tenant_id,
            "dataset_ids": list(scope.dataset_ids),
            "query": self._literal,
        }
        if scope.document_ids is not None:
            sql += " AND c.document_id IN :document_ids"
            binds.append(bindparam("document_ids", expanding=True))
            values["document_ids"] = list(scope.document_ids)
        return sql, binds, values

    def nearest(self, limit: int) -> dict[str, float]:
        if self._table is None or self._scope.document_ids == ():
            return {}
        where, binds, values = self._filters()
        values["limit"] = limit
        source = f"{self._table} v JOIN chunk c ON c.id = v.chunk_id"
        distance = "v.embedding <=> CAST(:query AS vector)"
        if self._index.scope_size(self._conn, self._scope, self._table) <= self._index.exact_limit:
            sql = (
                f"WITH scored AS MATERIALIZED (SELECT v.chunk_id, {distance} AS distance"  # noqa: S608
                f" FROM {source} WHERE {where})"
                " SELECT chunk_id, 1 - distance FROM scored"
                " ORDER BY distance, chunk_id LIMIT :limit"
            )
        else:
            candidates = min(limit, self._index.max_candidates)
            values["limit"] = candidates
            self._conn.execute(text(f"SET LOCAL hnsw.ef_search = {max(40, min(1000, candidates))}"))
            sql = (
                f"SELECT v.chunk_id, 1 - ({distance}) FROM {source} WHERE {where}"  # noqa: S608
                f" ORDER BY {distance} LIMIT :limit"
            )
        rows = self._conn.execute(text(sql).bindparams(*binds), values)
        return {chunk_id: float(similarity) for chunk_id, similarity in rows}

    def score(self, chunk_ids: Collection[str]) -> dict[str, float]:
        """Cosines of ``chunk_ids`` within the scope's tenant and datasets.

        The ids are the other side's candidates, already limited to available chunks
        (and to the scope's documents), so ``chunk`` is not joined again; they are bound
        as one array rather than an expanding ``IN`` of up to ``top_k`` parameters.
        """
        if self._table is None or not chunk_ids or self._scope.document_ids == ():
            return {}
        sql = (
            "SELECT v.chunk_id, 1 - (v.embedding <=> CAST(:query AS vector))"  # noqa: S608
            f" FROM {self._table} v WHERE v.tenant_id = :tenant_id"
            " AND v.dataset_id IN :dataset_ids AND v.chunk_id = ANY(CAST(:chunk_ids AS varchar[]))"
        )
        values = {
            "tenant_id": self._scope.tenant_id,
            "dataset_ids": list(self._scope.dataset_ids),
            "query": self._literal,
            "chunk_ids": list(chunk_ids),
        }
        statement = text(sql).bindparams(bindparam("dataset_ids", expanding=True))
        rows = self._conn.execute(statement, values)
        return {chunk_id: float(similarity) for chunk_id, similarity in rows}
