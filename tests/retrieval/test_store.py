"""The chunk store contract, run on every implementation (see ``world`` in conftest)."""

from __future__ import annotations

import math

import pytest

from ragprism.errors import Conflict, InvalidArgument, NotFound
from ragprism.repositories import datasets as repo
from ragprism.retrieval import ScoredChunk, make_store
from tests.retrieval.conftest import StoreWorld

E1 = [1.0, 0.0, 0.0, 0.0]
E2 = [0.0, 1.0, 0.0, 0.0]
E3 = [0.0, 0.0, 1.0, 0.0]
E4 = [0.0, 0.0, 0.0, 1.0]


def ids(results: list[ScoredChunk]) -> list[str]:
    return [r.chunk_id for r in results]


def test_exact_terms_rank_the_matching_chunk_first(world: StoreWorld) -> None:
    where = world.place()
    tenant_id, dataset_id, _ = where
    match = world.chunk(where, "Vacuum tuning keeps PostgreSQL tables healthy", E1)
    partial = world.chunk(where, "A vacuum cleaner for the living room and the stairs", E2)
    world.chunk(where, "Recipes for apple pie and cinnamon rolls", E3)
    # FTS5's BM25 gives a term in over half of all chunks no weight: keep "vacuum" rarer.
    world.chunk(where, "Train timetables for the northern line", E3)
    world.chunk(where, "Knitting patterns for winter scarves", E3)

    results = world.store.search(
        tenant_id,
        [dataset_id],
        question="How does vacuum tuning work?",
        query_vector=E4,
        similarity_threshold=0.01,
    )

    assert ids(results) == [match, partial]
    best = results[0]
    assert best.term_similarity == pytest.approx(1.0)
    assert best.vector_similarity == pytest.approx(0.0, abs=1e-6)
    assert best.similarity == pytest.approx(0.7)
    assert 0 < results[1].term_similarity < 1
    assert best.content == "Vacuum tuning keeps PostgreSQL tables healthy"
    assert best.document_id == where[2]
    assert best.dataset_id == dataset_id


def test_vector_only_relevance_ranks_by_cosine(world: StoreWorld) -> None:
    where = world.place()
    tenant_id, dataset_id, _ = where
    cosines = {1.0: [1.0, 0.0, 0.0, 0.0], 0.8: [0.8, 0.6, 0.0, 0.0], 0.6: [0.6, 0.8, 0.0, 0.0]}
    by_cosine = {cos: world.chunk(where, f"text number {cos}", vec) for cos, vec in cosines.items()}
    world.chunk(where, "orthogonal", E2)

    results = world.store.search(
        tenant_id,
        [dataset_id],
        question="unrelated words",
        query_vector=[2.0, 0.0, 0.0, 0.0],  # not unit length: cosine, not dot product
        vector_similarity_weight=1.0,
        similarity_threshold=0.1,
    )

    assert ids(results) == [by_cosine[1.0], by_cosine[0.8], by_cosine[0.6]]
    for result, cosine in zip(results, [1.0, 0.8, 0.6], strict=True):
        assert result.vector_similarity == pytest.approx(cosine, abs=1e-5)
        assert result.similarity == pytest.approx(cosine, abs=1e-5)
        assert result.term_similarity == 0


def test_similarity_threshold_drops_weak_results(world: StoreWorld) -> None:
    where = world.place()
    tenant_id, dataset_id, _ = where
    strong = world.chunk(where, "first", [1.0, 0.0, 0.0, 0.0])
    medium = world.chunk(where, "second", [0.8, 0.6, 0.0, 0.0])
    world.chunk(where, "third", [0.6, 0.8, 0.0, 0.0])

    def search(threshold: float) -> list[str]:
        return ids(
            world.store.search(
                tenant_id,
                [dataset_id],
                question="nothing matches",
                query_vector=E1,
                vector_similarity_weight=1.0,
                similarity_threshold=threshold,
            )
        )

    assert search(0.7) == [strong, medium]
    assert search(0.9) == [strong]
    assert search(1.01) == []


def test_hybrid_score_weights_terms_and_vectors(world: StoreWorld) -> None:
    where = world.place()
    tenant_id, dataset_id, _ = where
    world.chunk(where, "alpha beta gamma", [0.6, 0.8, 0.0, 0.0])
    world.chunk(where, "alpha delta", E1)
    world.chunk(where, "epsilon", [0.8, 0.6, 0.0, 0.0])

    for weight in (0.0, 0.3, 0.5, 1.0):
        results = world.store.search(
            tenant_id,
            [dataset_id],
            question="alpha beta",
            query_vector=E1,
            vector_similarity_weight=weight,
            similarity_threshold=0.0,
        )
        assert len(results) == 3
        assert [r.similarity for r in results] == sorted(
            (r.similarity for r in results), reverse=True
        )
        for r in results:
            expected = (1 - weight) * r.term_similarity + weight * r.vector_similarity
            assert r.similarity == pytest.approx(expected)
            assert 0.0 <= r.term_similarity <= 1.0


def test_top_k_limits_the_results(world: StoreWorld) -> None:
    where = world.place()
    tenant_id, dataset_id, _ = where
    angles = [0.0, 0.2, 0.4, 0.6, 0.8]
    made = [
        world.chunk(where, f"shared term {i}", [math.cos(a), math.sin(a), 0, 0])
        for i, a in enumerate(angles)
    ]

    results = world.store.search(
        tenant_id, [dataset_id], question="shared", query_vector=E1, top_k=2, similarity_threshold=0
    )

    assert ids(results) == made[:2]


def test_dataset_and_document_filters(world: StoreWorld) -> None:
    tenant_id = world.tenant()
    first, second = world.dataset(tenant_id), world.dataset(tenant_id)
    doc_a, doc_b = world.document(tenant_id, first), world.document(tenant_id, first)
    doc_c = world.document(tenant_id, second)
    in_a = world.chunk((tenant_id, first, doc_a), "lighthouse keeper", E1)
    in_b = world.chunk((tenant_id, first, doc_b), "lighthouse beam", E1)
    in_c = world.chunk((tenant_id, second, doc_c), "lighthouse island", E1)

    def search(datasets: list[str], documents: list[str] | None = None) -> set[str]:
        found = world.store.search(
            tenant_id, datasets, question="lighthouse", query_vector=E1, document_ids=documents
        )
        return set(ids(found))

    assert search([first]) == {in_a, in_b}
    assert search([second]) == {in_c}
    assert search([first, second]) == {in_a, in_b, in_c}
    assert search([first], [doc_b]) == {in_b}
    assert search([first, second], [doc_a, doc_c]) == {in_a, in_c}
    assert search([first], [doc_c]) == set()
    assert search([first], []) == set()
    assert search([]) == set()


def test_another_tenants_chunks_are_invisible_and_untouchable(world: StoreWorld) -> None:
    mine = world.place()
    theirs = world.place()
    my_chunk = world.chunk(mine, "quarterly revenue report", E1)
    their_chunk = world.chunk(theirs, "quarterly revenue report", E1)
    store = world.store

    found = store.search(mine[0], [mine[1], theirs[1]], question="revenue", query_vector=E1)
    assert ids(found) == [my_chunk]
    assert store.search(mine[0], [theirs[1]], question="revenue", query_vector=E1) == []
    assert (
        store.search(
            mine[0], [mine[1]], question="revenue", query_vector=E1, document_ids=[theirs[2]]
        )
        == []
    )

    assert store.delete_chunks(mine[0], [their_chunk]) == 0
    assert store.delete_document(mine[0], theirs[2]) == 0
    assert store.delete_dataset(mine[0], theirs[1]) == 0
    assert store.set_available(mine[0], available=False, chunk_ids=[their_chunk]) == 0
    assert store.set_available(mine[0], available=False, document_id=theirs[2]) == 0
    with pytest.raises(NotFound):  # writing into their document
        world.chunk((mine[0], theirs[1], theirs[2]), "planted")
    with pytest.raises(NotFound):  # their document filed under my dataset
        world.chunk((mine[0], mine[1], theirs[2]), "planted")
    with pytest.raises(Conflict):  # their chunk id
        world.chunk(mine, "overwrite", E1, id=their_chunk)

    theirs_found = store.search(theirs[0], [theirs[1]], question="revenue", query_vector=E1)
    assert ids(theirs_found) == [their_chunk]
    assert theirs_found[0].content == "quarterly revenue report"


def test_deletes(world: StoreWorld) -> None:
    tenant_id = world.tenant()
    dataset_id = world.dataset(tenant_id)
    doc_a, doc_b = world.document(tenant_id, dataset_id), world.document(tenant_id, dataset_id)
    a1 = world.chunk((tenant_id, dataset_id, doc_a), "harbour crane one", E1)
    a2 = world.chunk((tenant_id, dataset_id, doc_a), "harbour crane two", E1)
    b1 = world.chunk((tenant_id, dataset_id, doc_b), "harbour crane three", E1)

    def found() -> set[str]:
        return set(
            ids(world.store.search(tenant_id, [dataset_id], question="crane", query_vector=E1))
        )

    assert found() == {a1, a2, b1}
    assert world.store.delete_chunks(tenant_id, [a2]) == 1
    assert found() == {a1, b1}
    assert world.store.delete_document(tenant_id, doc_a) == 1
    assert found() == {b1}
    assert world.store.delete_dataset(tenant_id, dataset_id) == 1
    assert found() == set()


def test_availability_flag(world: StoreWorld) -> None:
    where = world.place()
    tenant_id, dataset_id, document_id = where
    first = world.chunk(where, "glacier melt data", E1)
    second = world.chunk(where, "glacier retreat data", E1)
    hidden = world.chunk(where, "glacier photos", E1, available=False)

    def found() -> set[str]:
        return set(
            ids(world.store.search(tenant_id, [dataset_id], question="glacier", query_vector=E1))
        )

    assert found() == {first, second}
    assert world.store.set_available(tenant_id, available=False, chunk_ids=[first]) == 1
    assert found() == {second}
    assert world.store.set_available(tenant_id, available=True, chunk_ids=[first, hidden]) == 2
    assert found() == {first, second, hidden}
    assert world.store.set_available(tenant_id, available=False, document_id=document_id) == 3
    assert found() == set()
    with pytest.raises(InvalidArgument):
        world.store.set_available(tenant_id, available=True)


def test_empty_question_finds_nothing(world: StoreWorld) -> None:
    where = world.place()
    world.chunk(where, "anything at all", E1)
    for question in ("", "   \n\t"):
        assert world.store.search(where[0], [where[1]], question=question, query_vector=E1) == []


def test_unicode_and_cjk_text(world: StoreWorld) -> None:
    where = world.place()
    tenant_id, dataset_id, _ = where
    chinese = world.chunk(where, "数据库系统的设计原理与实现", E1)
    japanese = world.chunk(where, "東京タワーは高いです", E1)
    german = world.chunk(where, "Die Größe des Café ist überraschend", E1)
    world.chunk(where, "plain english text about systems", E1)

    def first(question: str) -> str:
        results = world.store.search(tenant_id, [dataset_id], question=question, query_vector=None)
        assert results, question
        return results[0].chunk_id

    assert first("数据库") == chinese
    assert first("什么是数据库？") == chinese
    assert first("東京") == japanese
    assert first("GRÖSSE") == german
    assert first("café") == german
    found = world.store.search(tenant_id, [dataset_id], question="数据库", query_vector=None)
    assert found[0].content == "数据库系统的设计原理与实现"


def test_stemming_and_keywords(world: StoreWorld) -> None:
    where = world.place()
    tenant_id, dataset_id, _ = where
    stemmed = world.chunk(where, "Customers were refunded within a week", E2)
    tagged = world.chunk(
        where, "General notes on store operations", E2, important_keywords=["warranty claims"]
    )
    world.chunk(
        where, "Warranty is mentioned once in this longer paragraph of text about shops", E2
    )

    refunds = world.store.search(tenant_id, [dataset_id], question="refunds", query_vector=None)
    assert ids(refunds) == [stemmed]
    warranty = world.store.search(tenant_id, [dataset_id], question="warranty", query_vector=None)
    assert ids(warranty)[0] == tagged
    assert warranty[0].important_keywords == ["warranty claims"]
    assert warranty[0].questions == []
    assert [r.important_keywords for r in warranty[1:]] == [[]]


def test_keyword_and_question_lists_come_back_as_stored(world: StoreWorld) -> None:
    where = world.place()
    lists = [([], []), (["a b", "[]"], []), ([], ["why?"]), (["[]"], ["", "x"])]
    for keywords, questions in lists:
        world.chunk(where, "harbor notes", E2, important_keywords=keywords, questions=questions)
    found = world.store.search(where[0], [where[1]], question="harbor", query_vector=E2)
    got = sorted((r.important_keywords, r.questions) for r in found)
    assert got == sorted((list(k), list(q)) for k, q in lists)


def test_keyword_requires_a_term_match(world: StoreWorld) -> None:
    where = world.place()
    tenant_id, dataset_id, _ = where
    texty = world.chunk(where, "alpha", E2)
    vectory = world.chunk(where, "beta", E1)

    def search(keyword: bool) -> set[str]:
        found = world.store.search(
            tenant_id,
            [dataset_id],
            question="alpha",
            query_vector=E1,
            vector_similarity_weight=0.5,
            keyword=keyword,
        )
        return set(ids(found))

    assert search(False) == {texty, vectory}
    assert search(True) == {texty}


def test_adding_an_existing_id_replaces_the_chunk(world: StoreWorld) -> None:
    where = world.place()
    tenant_id, dataset_id, _ = where
    chunk_id = world.chunk(where, "obsolete wording", E1)
    world.chunk(where, "fresh wording", E2, id=chunk_id)

    assert world.store.search(tenant_id, [dataset_id], question="obsolete", query_vector=None) == []
    found = world.store.search(
        tenant_id, [dataset_id], question="fresh", query_vector=E2, similarity_threshold=0.9
    )
    assert ids(found) == [chunk_id]
    assert found[0].vector_similarity == pytest.approx(1.0)


def test_chunks_without_vectors_and_other_dimensions(world: StoreWorld) -> None:
    where = world.place()
    tenant_id, dataset_id, _ = where
    bare = world.chunk(where, "telescope mirror")
    vectored = world.chunk(where, "telescope lens", E1)

    found = world.store.search(tenant_id, [dataset_id], question="telescope", query_vector=E1)
    assert set(ids(found)) == {bare, vectored}
    assert {r.chunk_id: r.vector_similarity for r in found}[bare] == 0
    # A query embedded by another model (another dimension) compares with nothing.
    other = world.store.search(
        tenant_id, [dataset_id], question="telescope", query_vector=[1.0, 0.0, 0.0]
    )
    assert {r.vector_similarity for r in other} == {0.0}
    assert set(ids(other)) == {bare, vectored}


def test_invalid_arguments(world: StoreWorld) -> None:
    where = world.place()
    with pytest.raises(InvalidArgument):
        world.store.search(
            where[0], [where[1]], question="x", query_vector=E1, vector_similarity_weight=1.5
        )
    with pytest.raises(InvalidArgument):
        world.store.search(where[0], [where[1]], question="x", query_vector=[])
    with pytest.raises(InvalidArgument):
        world.store.search(where[0], [where[1]], question="x", query_vector=[math.nan, 1.0])
    with pytest.raises(InvalidArgument):
        world.chunk(where, "bad vector", [math.inf, 0.0])


def test_writes_from_elsewhere_are_seen(world: StoreWorld) -> None:
    """Another process's store (own cache) or a cascading delete invalidates the cache."""
    tenant_id = world.tenant()
    dataset_id = world.dataset(tenant_id)
    doc_a, doc_b = world.document(tenant_id, dataset_id), world.document(tenant_id, dataset_id)
    a = world.chunk((tenant_id, dataset_id, doc_a), "volcano ash", E1)
    b = world.chunk((tenant_id, dataset_id, doc_b), "volcano lava", E1)
    other = make_store(world.database)

    def found() -> set[str]:
        return set(
            ids(
                world.store.search(
                    tenant_id,
                    [dataset_id],
                    question="unrelated",
                    query_vector=E1,
                    vector_similarity_weight=1.0,
                )
            )
        )

    assert found() == {a, b}
    assert found() == {a, b}  # served from the cache where there is one
    other.delete_chunks(tenant_id, [a])
    assert found() == {b}
    with world.database.session() as session:
        assert repo.delete_documents(session, tenant_id, dataset_id, [doc_b]) == [doc_b]
    assert found() == set()
    c = world.chunk((tenant_id, dataset_id, doc_a), "volcano vent", E1)
    assert found() == {c}
    with world.database.session() as session:
        assert repo.delete_datasets(session, tenant_id, [dataset_id]) == [dataset_id]
    assert found() == set()
