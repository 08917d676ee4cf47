"""MariaDB/MySQL: a portable fallback for small deployments, no search engine needed.

SPEC §4 names MariaDB a metadata backend; this store still lets such a server retrieve,
without claiming to scale. Full text: chunks containing a query term are found with
``LIKE '% term %'`` over the analysed text (terms are space-separated, so that is an
exact term match) and scored with BM25 in Python over the scope's statistics; this reads
every chunk of the searched datasets, O(chunks) per query. (InnoDB FULLTEXT would index
but drops terms shorter than 3 characters, i.e. the CJK bigrams, and stop words.)
Vectors: exact numpy search over the cached matrices, as for SQLite.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, func, literal, or_, select

from ragprism.models import Chunk
from ragprism.retrieval.hybrid_store import HybridChunkStore
from ragprism.retrieval.matrix import EmbeddingMatrixCache, MatrixVectorIndex
from ragprism.retrieval.records import SearchScope

_K1 = 1.2
_B = 0.75
_KEYWORD_WEIGHT = 4  # a keyword or question term counts as four occurrences


def _like_pattern(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"% {escaped} %"


class LikeBm25TermIndex:
    """``TermIndex`` matching with LIKE and scoring with BM25 computed in Python."""

    def query(self, conn: Connection, scope: SearchScope, terms: Sequence[str]) -> _LikeQuery:
        return _LikeQuery(conn, scope, terms)


class _LikeQuery:
    def __init__(self, conn: Connection, scope: SearchScope, terms: Sequence[str]) -> None:
        self._conn = conn
        self._scope = scope
        self._terms = list(terms)
        self._scores: dict[str, float] | None = None

    def _in_scope(self) -> list[ColumnElement[bool]]:
        scope = self._scope
        conditions = [
            Chunk.tenant_id == scope.tenant_id,
            Chunk.dataset_id.in_(scope.dataset_ids),
            Chunk.available.is_(True),
        ]
        if scope.document_ids is not None:
            conditions.append(Chunk.document_id.in_(scope.document_ids))
        return conditions

    def _all_scores(self) -> dict[str, float]:
        if self._scores is not None:
            return self._scores
        self._scores = {}
        if not self._terms or self._scope.document_ids == ():
            return self._scores
        text = func.concat(literal(" "), Chunk.content_tokens, " ", Chunk.keyword_tokens, " ")
        matches = or_(*(text.like(_like_pattern(t), escape="\\") for t in self._terms))
        rows = self._conn.execute(
            select(Chunk.id, Chunk.content_tokens, Chunk.keyword_tokens).where(
                *self._in_scope(), matches
            )
        ).all()
        if not rows:
            return self._scores
        count, average = self._conn.execute(
            select(
                func.count(),
                func.avg(
                    func.char_length(Chunk.content_tokens) + func.char_length(Chunk.keyword_tokens)
                ),
            ).where(*self._in_scope())
        ).one()
        self._scores = _bm25(self._terms, rows, int(count), float(average or 1.0))
        return self._scores

    def top(self, limit: int) -> dict[str, float]:
        ranked = sorted(self._all_scores().items(), key=lambda item: (-item[1], item[0]))
        return dict(ranked[:limit])

    def score(self, chunk_ids: Collection[str]) -> dict[str, float]:
        scores = self._all_scores()  # every match of the scope is scored already
        return {chunk_id: scores[chunk_id] for chunk_id in chunk_ids if chunk_id in scores}


def _bm25(terms: list[str], rows: Sequence[Any], count: int, average: float) -> dict[str, float]:
    wanted = set(terms)
    frequencies: dict[str, Counter[str]] = {}
    lengths: dict[str, int] = {}
    for chunk_id, content_tokens, keyword_tokens in rows:
        tf: Counter[str] = Counter(t for t in content_tokens.split() if t in wanted)
        for term in keyword_tokens.split():
            if term in wanted:
                tf[term] += _KEYWORD_WEIGHT
        if tf:  # LIKE also matched accent/case variants the collation folds together
            frequencies[chunk_id] = tf
            lengths[chunk_id] = len(content_tokens) + len(keyword_tokens)
    document_frequency = Counter(term for tf in frequencies.values() for term in tf)
    idf = {
        term: math.log(1 + (count - df + 0.5) / (df + 0.5))
        for term, df in document_frequency.items()
    }
    scores: dict[str, float] = {}
    for chunk_id, tf in frequencies.items():
        norm = _K1 * (1 - _B + _B * lengths[chunk_id] / average)
        scores[chunk_id] = sum(idf[t] * n * (_K1 + 1) / (n + norm) for t, n in tf.items())
    return scores


class MariaDbChunkStore(HybridChunkStore):
    """Chunk store for MariaDB/MySQL: LIKE + BM25 in Python, exact numpy vectors."""

    def __init__(self, engine: Engine, cache: EmbeddingMatrixCache | None = None) -> None:
        super().__init__(engine, LikeBm25TermIndex(), MatrixVectorIndex(cache))
