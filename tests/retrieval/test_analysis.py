"""Text analysis shared by every backend's full-text index."""

from __future__ import annotations

from ragprism.retrieval.analysis import MAX_QUERY_TERMS, index_terms, index_text, query_terms, stem


def test_words_are_folded_and_lightly_stemmed() -> None:
    assert index_terms("Refunds were REFUNDED; refunding… Größe") == [
        "refund",
        "were",
        "refund",
        "refund",
        "grösse",
    ]
    assert stem("policies") == "policy"
    assert stem("stopped") == "stop"
    assert stem("bus") == "bus"


def test_cjk_runs_index_characters_and_pairs_and_search_by_pairs() -> None:
    assert index_terms("数据库") == ["数", "据", "库", "数据", "据库"]
    assert query_terms("数据库") == ["数据", "据库"]
    assert query_terms("库") == ["库"]
    assert index_terms("iPhone手机") == ["iphone", "手", "机", "手机"]


def test_query_terms_drop_stop_words() -> None:
    assert query_terms("What is the refund policy?") == ["refund", "policy"]
    assert query_terms("what is this") == []
    assert query_terms("refund refunds REFUND") == ["refund"]
    assert query_terms("   ") == []
    assert len(query_terms(" ".join(f"word{i}" for i in range(100)))) == MAX_QUERY_TERMS


def test_underscores_and_punctuation_separate_terms() -> None:
    assert index_text("snake_case, dash-ed; a.b") == "snake case dash ed a b"
    assert index_text(["first keyword", "second"]) == "first keyword second"
