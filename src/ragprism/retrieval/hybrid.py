"""RAGFlow's hybrid score: weighted full-text and vector similarity, then a threshold."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Ranked:
    """One chunk's scores."""

    chunk_id: str
    similarity: float
    term_similarity: float
    vector_similarity: float


def normalise_term_scores(raw: Mapping[str, float]) -> dict[str, float]:
    """Raw full-text scores (BM25, ts_rank_cd…) scaled into [0, 1] for the query.

    The best match of the query gets 1. Engines' raw scores have no fixed upper bound
    (BM25 grows with the number and rarity of matched terms), so dividing by the query's
    best score is what makes them comparable with a cosine similarity.
    """
    best = max((score for score in raw.values() if score > 0), default=0.0)
    if best <= 0:
        return {}
    return {chunk_id: score / best for chunk_id, score in raw.items() if score > 0}


def rank(
    chunk_ids: Iterable[str],
    term_scores: Mapping[str, float],
    vector_scores: Mapping[str, float],
    *,
    vector_similarity_weight: float,
    similarity_threshold: float,
    top_k: int,
    require_term_match: bool = False,
) -> list[Ranked]:
    """The ``top_k`` chunks scoring at least ``similarity_threshold``, best first.

    ``term_scores`` must already be normalised; missing entries count as 0. Ties are
    broken by chunk id so results are deterministic.
    """
    weight = vector_similarity_weight
    ranked: list[Ranked] = []
    for chunk_id in chunk_ids:
        term = term_scores.get(chunk_id, 0.0)
        if require_term_match and term <= 0:
            continue
        vector = vector_scores.get(chunk_id, 0.0)
        similarity = (1.0 - weight) * term + weight * vector
        if similarity >= similarity_threshold:
            ranked.append(Ranked(chunk_id, similarity, term, vector))
    ranked.sort(key=lambda r: (-r.similarity, r.chunk_id))
    return ranked[:top_k]
