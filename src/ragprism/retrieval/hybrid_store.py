"""A chunk store assembled from a full-text index and a vector index over ``chunk``.

Chunks live in the ``chunk`` table on every backend (the repositories list them from
there); the two indexes are what differs between backends. Writing goes through plain
SQL on ``chunk`` plus ``VectorIndex.write``; database triggers keep the full-text index
(SQLite) and the cache version counters current, so deletes cascading from documents
and datasets need nothing from the store.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, wait
from functools import partial
from typing import Any, cast

from sqlalchemy import Connection, Engine, Row, Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ragprism.db.base import utcnow
from ragprism.errors import Conflict, InvalidArgument, NotFound
from ragprism.models import Chunk, Document
from ragprism.retrieval import hybrid, vectors
from ragprism.retrieval.analysis import index_text, query_terms
from ragprism.retrieval.parallel import SideConnections
from ragprism.retrieval.records import ChunkRecord, ScoredChunk, SearchScope
from ragprism.retrieval.store import TermIndex, Vector, VectorIndex

_BATCH = 500  # ids per IN (...) list
_chunk = cast(Table, Chunk.__table__)


class HybridChunkStore:
    """``ChunkStore`` whose search combines ``terms`` and ``vectors`` as RAGFlow does."""

    def __init__(self, engine: Engine, terms: TermIndex, vectors: VectorIndex) -> None:
        self.engine = engine
        self.terms = terms
        self.vectors = vectors
        # When set, a search runs its vector side on one of these while the full-text
        # side runs on its own connection (see ``ragprism.retrieval.parallel``).
        self.side_connections: SideConnections | None = None

    def ensure_schema(self) -> None:
        """Let the vector index create what it needs."""
        with self.engine.begin() as conn:
            self.vectors.ensure_schema(conn)

    # -- writes ------------------------------------------------------------------------

    def add(self, chunks: Sequence[ChunkRecord]) -> None:
        """Insert chunks (replacing the tenant's chunks with the same ids) in one transaction."""
        if not chunks:
            return
        now = utcnow()
        rows = [_row(chunk, now) for chunk in chunks]
        with self.engine.begin() as conn:
            _check_documents(conn, chunks)
            by_tenant: defaultdict[str, list[str]] = defaultdict(list)
            for chunk in chunks:
                by_tenant[chunk.tenant_id].append(chunk.id)
            for tenant_id, ids in by_tenant.items():
                for part in _batches(ids):
                    conn.execute(
                        delete(_chunk).where(_chunk.c.tenant_id == tenant_id, _chunk.c.id.in_(part))
                    )
            try:
                conn.execute(insert(_chunk), rows)
            except IntegrityError as exc:
                raise Conflict("chunk id already in use") from exc
            self.vectors.write(conn, chunks)

    def delete_chunks(self, tenant_id: str, chunk_ids: Sequence[str]) -> int:
        """Delete the tenant's chunks among ``chunk_ids``."""
        deleted = 0
        with self.engine.begin() as conn:
            for part in _batches(list(chunk_ids)):
                result = conn.execute(
                    delete(_chunk).where(_chunk.c.tenant_id == tenant_id, _chunk.c.id.in_(part))
                )
                deleted += result.rowcount
        return deleted

    def delete_document(self, tenant_id: str, document_id: str) -> int:
        """Delete every chunk of the tenant's document."""
        with self.engine.begin() as conn:
            result = conn.execute(
                delete(_chunk).where(
                    _chunk.c.tenant_id == tenant_id, _chunk.c.document_id == document_id
                )
            )
        return result.rowcount

    def delete_dataset(self, tenant_id: str, dataset_id: str) -> int:
        """Delete every chunk of the tenant's dataset."""
        with self.engine.begin() as conn:
            result = conn.execute(
                delete(_chunk).where(
                    _chunk.c.tenant_id == tenant_id, _chunk.c.dataset_id == dataset_id
                )
            )
        return result.rowcount

    def set_available(
        self,
        tenant_id: str,
        *,
        available: bool,
        chunk_ids: Sequence[str] | None = None,
        document_id: str | None = None,
    ) -> int:
        """Switch the tenant's chunks in or out of retrieval; returns how many matched."""
        if chunk_ids is None and document_id is None:
            raise InvalidArgument("give `chunk_ids` or `document_id`")
        conditions = [_chunk.c.tenant_id == tenant_id]
        if document_id is not None:
            conditions.append(_chunk.c.document_id == document_id)
        changed = 0
        with self.engine.begin() as conn:
            for part in [None] if chunk_ids is None else _batches(list(chunk_ids)):
                where = [*conditions] if part is None else [*conditions, _chunk.c.id.in_(part)]
                result = conn.execute(
                    update(_chunk).where(*where).values(available=available, update_time=utcnow())
                )
                changed += result.rowcount
        return changed

    # -- search ------------------------------------------------------------------------

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
        """Hybrid search, scored as RAGFlow does.

        Candidates are the ``top_k`` best full-text matches (any term of the question)
        and the ``top_k`` nearest vectors; each gets both scores, then
        ``similarity = (1 - w) * term_similarity + w * vector_similarity``. Chunks below
        ``similarity_threshold`` are dropped and the best ``top_k`` returned. With
        ``keyword`` only chunks matching a term of the question qualify. An empty
        question finds nothing (as in RAGFlow); one of stop words only is searched by its
        vector alone; without ``query_vector`` the vector similarity is 0. Only available
        chunks of the tenant's given datasets (and documents, if given) are searched.
        """
        weight = vector_similarity_weight
        if not 0.0 <= weight <= 1.0:
            raise InvalidArgument("`vector_similarity_weight` must be between 0 and 1")
        if not question.strip() or not dataset_ids or top_k < 1:
            return []
        scope = SearchScope(
            tenant_id,
            tuple(dict.fromkeys(dataset_ids)),
            None if document_ids is None else tuple(dict.fromkeys(document_ids)),
        )
        terms = query_terms(question)
        unit = None if query_vector is None else vectors.unit(query_vector)
        with self.engine.connect() as conn:
            side = None
            if terms and unit is not None and self.side_connections is not None:
                side = self.side_connections.submit(
                    partial(self._vector_side, scope=scope, terms=terms, unit=unit, top_k=top_k)
                )
            if side is None or unit is None:
                raw_terms, cosines = self._both_sides(conn, scope, terms, unit, top_k)
            else:
                raw_terms, cosines = self._term_side(conn, scope, terms, unit, top_k, side)
            ranked = hybrid.rank(
                raw_terms.keys() | cosines.keys(),
                hybrid.normalise_term_scores(raw_terms),
                cosines,
                vector_similarity_weight=weight,
                similarity_threshold=similarity_threshold,
                top_k=top_k,
                require_term_match=keyword,
            )
            rows = self._result_rows(conn, tenant_id, [r.chunk_id for r in ranked])
            return _results(ranked, rows)

    def _both_sides(
        self,
        conn: Connection,
        scope: SearchScope,
        terms: list[str],
        unit: Vector | None,
        top_k: int,
    ) -> tuple[dict[str, float], dict[str, float]]:
        """Raw full-text scores and cosines of every candidate, one statement after another."""
        term_query = self.terms.query(conn, scope, terms) if terms else None
        vector_query = None if unit is None else self.vectors.query(conn, scope, unit)
        raw_terms = term_query.top(top_k) if term_query else {}
        cosines = vector_query.nearest(top_k) if vector_query else {}
        if term_query and cosines.keys() - raw_terms.keys():
            raw_terms.update(term_query.score(cosines.keys() - raw_terms.keys()))
        if vector_query and raw_terms.keys() - cosines.keys():
            cosines.update(vector_query.score(raw_terms.keys() - cosines.keys()))
        return raw_terms, cosines

    def _vector_side(
        self,
        conn: Connection,
        *,
        scope: SearchScope,
        terms: list[str],
        unit: Vector,
        top_k: int,
    ) -> tuple[dict[str, float], dict[str, float]]:
        """On a side connection: the nearest vectors and their raw full-text scores.

        All of them are scored, not only those the full-text side misses (that side runs
        at the same time); a chunk found by both gets the same score either way.
        """
        cosines = self.vectors.query(conn, scope, unit).nearest(top_k)
        raw_terms = self.terms.query(conn, scope, terms).score(cosines.keys()) if cosines else {}
        return raw_terms, cosines

    def _term_side(
        self,
        conn: Connection,
        scope: SearchScope,
        terms: list[str],
        unit: Vector,
        top_k: int,
        side: Future[tuple[dict[str, float], dict[str, float]]],
    ) -> tuple[dict[str, float], dict[str, float]]:
        """The full-text top and its cosines here while ``side`` runs; both merged.

        Whatever fails here, the side is waited for before this returns or raises, so no
        statement of this search still runs (nor holds a connection) afterwards.
        """
        try:
            raw_terms = self.terms.query(conn, scope, terms).top(top_k)
            cosines = self.vectors.query(conn, scope, unit).score(raw_terms.keys())
        except BaseException:
            wait([side])
            raise
        side_terms, side_cosines = side.result()
        raw_terms.update(side_terms)
        cosines.update(side_cosines)
        return raw_terms, cosines

    def _result_rows(
        self, conn: Connection, tenant_id: str, chunk_ids: list[str]
    ) -> dict[str, Row[Any]]:
        """The ranked chunks' rows (read only after the fusion, for those returned)."""
        rows: dict[str, Row[Any]] = {}
        for part in _batches(chunk_ids):
            query = select(*RESULT_COLUMNS).where(Chunk.tenant_id == tenant_id, Chunk.id.in_(part))
            rows.update({row.id: row for row in conn.execute(query)})
        return rows


def _row(chunk: ChunkRecord, now: object) -> dict[str, object]:
    return {
        "id": chunk.id,
        "tenant_id": chunk.tenant_id,
        "dataset_id": chunk.dataset_id,
        "document_id": chunk.document_id,
        "content": chunk.content,
        "content_tokens": index_text(chunk.content),
        "keyword_tokens": index_text([*chunk.important_keywords, *chunk.questions]),
        "important_keywords": list(chunk.important_keywords),
        "questions": list(chunk.questions),
        "token_count": chunk.token_count,
        "position": chunk.position,
        "page": chunk.page,
        "available": chunk.available,
        "embedding": vectors.encode(chunk.embedding),
        "create_time": now,
        "update_time": now,
    }


def _check_documents(conn: Connection, chunks: Sequence[ChunkRecord]) -> None:
    """Every chunk must name a document of its own tenant and dataset."""
    wanted = {(c.document_id, c.tenant_id, c.dataset_id) for c in chunks}
    found: set[tuple[str, str, str]] = set()
    for part in _batches(sorted({w[0] for w in wanted})):
        rows = conn.execute(
            select(Document.id, Document.tenant_id, Document.dataset_id).where(
                Document.id.in_(part)
            )
        )
        found.update((row[0], row[1], row[2]) for row in rows)
    for document_id, _, dataset_id in sorted(wanted - found):
        raise NotFound(f"document {document_id} not found in dataset {dataset_id}")


RESULT_COLUMNS = (  # what a ScoredChunk needs besides its scores
    Chunk.id,
    Chunk.dataset_id,
    Chunk.document_id,
    Chunk.content,
    Chunk.important_keywords,
    Chunk.questions,
    Chunk.position,
    Chunk.page,
)


def _results(ranked: list[hybrid.Ranked], rows: Mapping[str, Row[Any]]) -> list[ScoredChunk]:
    results: list[ScoredChunk] = []
    for r in ranked:
        row = rows.get(r.chunk_id)
        if row is None:  # deleted since the indexes were read
            continue
        results.append(
            ScoredChunk(
                chunk_id=row.id,
                dataset_id=row.dataset_id,
                document_id=row.document_id,
                content=row.content,
                similarity=r.similarity,
                term_similarity=r.term_similarity,
                vector_similarity=r.vector_similarity,
                important_keywords=list(row.important_keywords or []),
                questions=list(row.questions or []),
                position=row.position,
                page=row.page,
            )
        )
    return results


def _batches(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), _BATCH):
        yield items[start : start + _BATCH]
