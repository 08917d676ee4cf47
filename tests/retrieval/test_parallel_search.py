"""A search's vector side on a second connection (PostgreSQL + pgvector) and its fallbacks."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import pytest
from sqlalchemy import Connection, create_engine

from ragprism.db import Database
from ragprism.db.engine import normalise_url
from ragprism.retrieval import PostgresChunkStore, make_store
from ragprism.retrieval.hybrid_store import HybridChunkStore
from ragprism.retrieval.parallel import SideConnections
from ragprism.retrieval.pgvector import _PgvectorQuery
from ragprism.retrieval.postgres import _TsQuery
from ragprism.settings import Settings
from tests.retrieval.conftest import StoreWorld, empty_all_tables, open_store

WORDS = [
    "apple",
    "banana",
    "cherry",
    "delta",
    "echo",
    "falcon",
    "granite",
    "harbor",
    "island",
    "jungle",
    "kettle",
    "lemon",
]


def pg_store(pg_database: Database, **options: Any) -> PostgresChunkStore:
    store = PostgresChunkStore(pg_database.engine, exact_limit=0, **options)  # the HNSW path
    store.ensure_schema()
    assert store.uses_pgvector
    return store


def fill(world: StoreWorld, where: tuple[str, str, str], count: int, seed: int = 7) -> None:
    rnd = random.Random(seed)
    for _ in range(count):
        text = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(3, 9)))
        world.chunk(where, text, [rnd.uniform(-1, 1) for _ in range(8)])


def filled_store(database: Database, count: int) -> tuple[PostgresChunkStore, tuple[str, str, str]]:
    """A pgvector store and a place in it holding ``count`` chunks."""
    store = pg_store(database)
    world = StoreWorld(database, store, "pgvector")
    where = world.place()
    fill(world, where, count)
    return store, where


def found(store: HybridChunkStore, where: tuple[str, str, str], **options: Any) -> list[Any]:
    question = options.pop("question", "apple cherry harbor")
    results = store.search(
        where[0],
        options.pop("datasets", [where[1]]),
        question=question,
        query_vector=options.pop("vector", [0.5, -0.2, 0.1, 0.9, 0.0, 0.3, -0.7, 0.2]),
        **options,
    )
    return [
        (r.chunk_id, round(r.similarity, 6), round(r.term_similarity, 6), r.content)
        for r in results
    ]


class Spy:
    """Counts the searches whose vector side went to a side connection."""

    def __init__(self, sides: SideConnections) -> None:
        self.sides = sides
        self.submitted = 0
        self.declined = 0
        self._submit = sides.submit

    def __call__(self, work: Callable[[Connection], Any]) -> Future[Any] | None:
        future = self._submit(work)
        if future is None:
            self.declined += 1
        else:
            self.submitted += 1
        return future


def spy_on(store: HybridChunkStore, monkeypatch: pytest.MonkeyPatch) -> Spy:
    assert store.side_connections is not None
    spy = Spy(store.side_connections)
    monkeypatch.setattr(store.side_connections, "submit", spy)
    return spy


def test_concurrent_sides_return_what_one_connection_returns(
    pg_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    concurrent = pg_store(pg_database)
    sequential = pg_store(pg_database, side_connections=0)
    assert sequential.side_connections is None
    world = StoreWorld(pg_database, concurrent, "pgvector")
    where = world.place()
    fill(world, where, 120)
    extra = world.dataset(where[0])
    second = (where[0], extra, world.document(where[0], extra))
    fill(world, second, 40, seed=8)
    spy = spy_on(concurrent, monkeypatch)

    cases: list[dict[str, Any]] = [
        {},
        {"top_k": 5},
        {"question": "banana"},
        {"question": "zzz unknown words"},
        {"vector_similarity_weight": 0.9, "similarity_threshold": 0.0},
        {"keyword": True, "similarity_threshold": 0.0},
        {"document_ids": [where[2]], "datasets": [where[1], extra]},
        {"document_ids": [], "datasets": [where[1], extra]},
        {"datasets": [where[1], extra], "question": "lemon kettle island"},
    ]
    for case in cases:
        expected = found(sequential, where, **dict(case))
        assert found(concurrent, where, **dict(case)) == expected, case
    assert any(found(sequential, where, **dict(case)) for case in cases)
    assert spy.submitted == len(cases)
    assert concurrent.side_connections is not None
    assert concurrent.side_connections.checked_out() == 0
    assert pg_database.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_a_search_without_both_sides_takes_no_side_connection(
    pg_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, where = filled_store(pg_database, 20)
    spy = spy_on(store, monkeypatch)
    assert found(store, where, vector=None) == found(
        pg_store(pg_database, side_connections=0), where, vector=None
    )
    store.search(where[0], [where[1]], question="the of and", query_vector=[1.0] * 8)
    assert spy.submitted == spy.declined == 0


@pytest.mark.timeout(60)
def test_a_pool_of_one_still_answers(pgvector_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    pg_database = Database(pgvector_url)  # its sessions (the test's writes) keep their engine
    empty_all_tables(pg_database)
    writer = pg_database.engine
    pg_database.engine = create_engine(normalise_url(pgvector_url), pool_size=1, max_overflow=0)
    try:
        store = pg_store(pg_database)
        sequential = pg_store(pg_database, side_connections=0)
        assert store.side_connections is not None
        assert store.side_connections.limit == 1  # bounded by the engine's pool
        world = StoreWorld(pg_database, store, "pgvector")
        where = world.place()
        fill(world, where, 60)
        expected = found(sequential, where)
        assert expected
        spy = spy_on(store, monkeypatch)

        # The only side connection is busy: the search runs both sides itself, at once.
        release = threading.Event()
        holding = spy._submit(lambda conn: release.wait(30))
        assert holding is not None
        try:
            assert found(store, where) == expected
            assert spy.declined == 1
        finally:
            release.set()
            holding.result(timeout=30)

        # Eight searches at once on one engine connection and one side connection.
        results: list[list[Any]] = []
        errors: list[BaseException] = []

        def search() -> None:
            try:
                results.append(found(store, where))
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=search) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=40)
        assert not any(thread.is_alive() for thread in threads)
        assert errors == []
        assert results == [expected] * 8
        assert spy.submitted >= 1
        assert store.side_connections.checked_out() == 0
    finally:
        pg_database.dispose()
        writer.dispose()


@pytest.mark.parametrize("failing", ["vector side", "full-text side"])
def test_an_error_on_one_side_propagates_and_returns_every_connection(
    pg_database: Database, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    store, where = filled_store(pg_database, 30)
    expected = found(store, where)
    spy = spy_on(store, monkeypatch)
    side_finished = threading.Event()

    class Broken(RuntimeError):
        pass

    if failing == "vector side":

        def broken_nearest(self: _PgvectorQuery, limit: int) -> dict[str, float]:
            raise Broken(failing)

        monkeypatch.setattr(_PgvectorQuery, "nearest", broken_nearest)
    else:
        original_nearest = _PgvectorQuery.nearest

        def slow_nearest(self: _PgvectorQuery, limit: int) -> dict[str, float]:
            time.sleep(0.5)  # still running when the full-text side fails
            result = original_nearest(self, limit)
            side_finished.set()
            return result

        def broken_top(self: _TsQuery, limit: int) -> dict[str, float]:
            raise Broken(failing)

        monkeypatch.setattr(_PgvectorQuery, "nearest", slow_nearest)
        monkeypatch.setattr(_TsQuery, "top", broken_top)

    with pytest.raises(Broken, match=failing):
        found(store, where)
    assert spy.submitted == 1
    assert store.side_connections is not None
    # Nothing of the search is left running or holding a connection once it raised.
    assert store.side_connections.checked_out() == 0
    assert pg_database.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    if failing == "full-text side":
        assert side_finished.is_set()  # waited for, not left behind
    monkeypatch.undo()
    assert found(store, where) == expected  # the permit came back


def test_both_sides_keep_the_tenant_and_dataset_filters(
    pg_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = pg_store(pg_database)
    world = StoreWorld(pg_database, store, "pgvector")
    mine = world.place()
    other_dataset = world.dataset(mine[0])
    beside = (mine[0], other_dataset, world.document(mine[0], other_dataset))
    foreign = world.place()
    vector = [0.5, -0.2, 0.1, 0.9, 0.0, 0.3, -0.7, 0.2]
    # Identical chunks everywhere: only the filters keep the others out. Some match the
    # question only by vector (found by the vector side, scored by full text there).
    own: set[str] = set()
    for text, where in [
        (t, w) for t in ("apple harbor", "granite") for w in (mine, beside, foreign)
    ]:
        chunk_id = world.chunk(where, text, vector)
        if where is mine:
            own.add(chunk_id)
    spy = spy_on(store, monkeypatch)

    results = store.search(
        mine[0], [mine[1]], question="apple harbor", query_vector=vector, similarity_threshold=0.0
    )
    assert {r.chunk_id for r in results} == own
    assert {r.content for r in results} == {"apple harbor", "granite"}
    # Another tenant naming this tenant's dataset finds nothing of it.
    assert store.search(foreign[0], [mine[1]], question="apple harbor", query_vector=vector) == []
    assert spy.submitted == 2

    both = store.search(
        mine[0],
        [mine[1], other_dataset],
        question="apple harbor",
        query_vector=vector,
        similarity_threshold=0.0,
    )
    assert len(both) == 4
    assert spy.submitted == 3


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_plain_stores_search_on_one_connection(
    request: pytest.FixtureRequest, tmp_path: Any, backend: str
) -> None:
    pg_database = open_store(request, tmp_path, backend)
    try:
        store = make_store(pg_database)
        assert isinstance(store, HybridChunkStore)
        assert store.side_connections is None
    finally:
        pg_database.dispose()


def test_the_setting_reaches_the_store(
    pg_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make_store(pg_database)
    assert isinstance(store, HybridChunkStore)
    assert store.side_connections is not None
    assert store.side_connections.limit == 4
    never = make_store(pg_database, side_connections=0)
    assert isinstance(never, HybridChunkStore)
    assert never.side_connections is None
    monkeypatch.setenv("RAGPRISM_SEARCH_SIDE_CONNECTIONS", "2")
    assert Settings().search_side_connections == 2


def test_disposing_the_engine_closes_side_connections_and_searches_go_on(
    pg_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, where = filled_store(pg_database, 20)
    expected = found(store, where)
    sides = store.side_connections
    assert sides is not None
    assert sides._pool is not None
    pg_database.dispose()
    assert sides._pool is None
    assert sides._executor is None
    spy = spy_on(store, monkeypatch)
    assert found(store, where) == expected
    assert spy.submitted == 1
