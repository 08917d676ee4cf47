"""The embedded default: FTS5 BM25 and numpy vectors, in the same SQLite file as the rest.

Migration 0002 creates ``chunk_fts``, an external-content FTS5 index over
``chunk.content_tokens``/``keyword_tokens`` that triggers keep in step with ``chunk``;
FTS5 rowids are ``chunk`` rowids. Embeddings are ``chunk.embedding`` float32 blobs,
searched exactly with the cached matrices of ``ragprism.retrieval.matrix``.

BM25's statistics (document frequencies, average length) are those of the whole index,
across tenants: rankings stay per query, but another tenant's texts shift them slightly.
FTS5 uses the classic IDF, log((N - n + 0.5) / (n + 0.5)) floored just above zero, so a
term found in more than half of all chunks adds (almost) nothing to a chunk's score.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import BindParameter, Connection, Engine, bindparam, text

from ragprism.retrieval.hybrid_store import HybridChunkStore
from ragprism.retrieval.matrix import EmbeddingMatrixCache, MatrixVectorIndex
from ragprism.retrieval.records import SearchScope

# Keywords and questions weigh more than body text, as in RAGFlow's queries.
_BM25 = "bm25(chunk_fts, 1.0, 4.0)"


def match_expression(terms: Sequence[str]) -> str:
    """An FTS5 query matching any of ``terms`` (each a quoted string)."""
    return " OR ".join('"' + term.replace('"', '""') + '"' for term in terms)


class Fts5TermIndex:
    """``TermIndex`` over the ``chunk_fts`` FTS5 table; raw score is ``-bm25()``."""

    def query(self, conn: Connection, scope: SearchScope, terms: Sequence[str]) -> _Fts5Query:
        return _Fts5Query(conn, scope, match_expression(terms))


class _Fts5Query:
    def __init__(self, conn: Connection, scope: SearchScope, match: str) -> None:
        self._conn = conn
        self._scope = scope
        self._match = match

    def _run(self, extra: str, limit: int | None, **params: object) -> dict[str, float]:
        scope = self._scope
        sql = (
            f"SELECT c.id, -{_BM25} AS score"  # noqa: S608 - constant text
            # CROSS JOIN keeps the full-text match the outer loop: SQLite would otherwise
            # walk chunk by an index and run the MATCH once per row.
            " FROM chunk_fts CROSS JOIN chunk c ON c.rowid = chunk_fts.rowid"
            " WHERE chunk_fts MATCH :match AND c.tenant_id = :tenant_id"
            " AND c.dataset_id IN :dataset_ids AND c.available = 1"
        )
        binds: list[BindParameter[object]] = [bindparam("dataset_ids", expanding=True)]
        values: dict[str, object] = {
            "match": self._match,
            "tenant_id": scope.tenant_id,
            "dataset_ids": list(scope.dataset_ids),
        }
        if scope.document_ids is not None:
            sql += " AND c.document_id IN :document_ids"
            binds.append(bindparam("document_ids", expanding=True))
            values["document_ids"] = list(scope.document_ids)
        sql += extra
        if limit is not None:
            sql += f" ORDER BY {_BM25}, c.id LIMIT :limit"
            values["limit"] = limit
        for name, value in params.items():
            binds.append(bindparam(name, expanding=True))
            values[name] = value
        rows = self._conn.execute(text(sql).bindparams(*binds), values)
        return {chunk_id: float(score) for chunk_id, score in rows if score > 0}

    def top(self, limit: int) -> dict[str, float]:
        if self._scope.document_ids == ():
            return {}
        return self._run("", limit)

    def score(self, chunk_ids: Collection[str]) -> dict[str, float]:
        if not chunk_ids or self._scope.document_ids == ():
            return {}
        return self._run(" AND c.id IN :chunk_ids", None, chunk_ids=list(chunk_ids))


class SqliteChunkStore(HybridChunkStore):
    """Chunk store for SQLite: FTS5 BM25 + exact numpy vector search."""

    def __init__(self, engine: Engine, cache: EmbeddingMatrixCache | None = None) -> None:
        super().__init__(engine, Fts5TermIndex(), MatrixVectorIndex(cache))

    def rebuild_full_text_index(self) -> None:
        """Rebuild ``chunk_fts`` from ``chunk`` (after a VACUUM renumbered rowids, say)."""
        with self.engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO chunk_fts (chunk_fts) VALUES ('rebuild')")
