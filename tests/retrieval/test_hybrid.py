"""RAGFlow's weighted hybrid score and the per-query normalisation of full-text scores."""

from __future__ import annotations

import pytest

from ragprism.retrieval.hybrid import normalise_term_scores, rank


def test_term_scores_are_scaled_by_the_best_match() -> None:
    assert normalise_term_scores({"a": 8.0, "b": 2.0, "c": 0.0}) == {"a": 1.0, "b": 0.25}
    assert normalise_term_scores({}) == {}


def test_rank_weights_thresholds_and_limits() -> None:
    terms = {"a": 1.0, "b": 0.5}
    vectors = {"a": 0.0, "b": 1.0, "c": 0.9}
    ranked = rank(
        ["a", "b", "c"],
        terms,
        vectors,
        vector_similarity_weight=0.3,
        similarity_threshold=0.2,
        top_k=10,
    )
    assert [(r.chunk_id, pytest.approx(r.similarity)) for r in ranked] == [
        ("a", 0.7),
        ("b", 0.65),
        ("c", 0.27),
    ]
    assert [
        r.chunk_id
        for r in rank(
            ["a", "b", "c"],
            terms,
            vectors,
            vector_similarity_weight=0.3,
            similarity_threshold=0.3,
            top_k=10,
        )
    ] == ["a", "b"]
    assert [
        r.chunk_id
        for r in rank(
            ["a", "b", "c"],
            terms,
            vectors,
            vector_similarity_weight=0.3,
            similarity_threshold=0.0,
            top_k=1,
        )
    ] == ["a"]
    keyword_only = rank(
        ["a", "b", "c"],
        terms,
        vectors,
        vector_similarity_weight=0.3,
        similarity_threshold=0.0,
        top_k=10,
        require_term_match=True,
    )
    assert [r.chunk_id for r in keyword_only] == ["a", "b"]


def test_ties_are_broken_by_chunk_id() -> None:
    ranked = rank(
        ["b", "a"],
        {"a": 1.0, "b": 1.0},
        {},
        vector_similarity_weight=0.0,
        similarity_threshold=0.0,
        top_k=10,
    )
    assert [r.chunk_id for r in ranked] == ["a", "b"]
