"""pgvector specifics: per-dimension tables, the HNSW path, backfilling, idempotent setup."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from ragprism.db import Database
from ragprism.retrieval import PostgresChunkStore
from ragprism.retrieval.pgvector import create_extension
from ragprism.retrieval.records import SearchScope
from ragprism.retrieval.vectors import unit
from tests.retrieval.conftest import StoreWorld

E1 = [1.0, 0.0, 0.0, 0.0]


def vector_search(
    store: PostgresChunkStore, where: tuple[str, str, str]
) -> list[tuple[str, float]]:
    found = store.search(
        where[0],
        [where[1]],
        question="nothing in common",
        query_vector=E1,
        vector_similarity_weight=1.0,
        similarity_threshold=-1.0,
    )
    return [(r.chunk_id, round(r.vector_similarity, 5)) for r in found]


def test_hnsw_path_agrees_with_the_exact_scan(pg_database: Database) -> None:
    exact = PostgresChunkStore(pg_database.engine)
    exact.ensure_schema()
    approximate = PostgresChunkStore(pg_database.engine, exact_limit=0)  # always HNSW
    approximate.ensure_schema()
    world = StoreWorld(pg_database, exact, "pgvector")
    where = world.place()
    for i in range(30):
        world.chunk(where, f"chunk {i}", [1.0, i / 10, (i % 3) / 5, 0.0])

    assert approximate.uses_pgvector
    assert vector_search(approximate, where) == vector_search(exact, where)
    with pg_database.engine.connect() as conn:
        indexes = set(
            conn.execute(
                text("SELECT indexname FROM pg_indexes WHERE tablename = 'chunk_vector_4'")
            ).scalars()
        )
    assert {"ix_chunk_vector_4_hnsw", "ix_chunk_vector_4_dataset"} <= indexes


def test_each_dimension_gets_its_own_table(pg_database: Database) -> None:
    store = PostgresChunkStore(pg_database.engine)
    store.ensure_schema()
    world = StoreWorld(pg_database, store, "pgvector")
    where = world.place()
    small = world.chunk(where, "three dimensions", [1.0, 0.0, 0.0])
    large = world.chunk(where, "five dimensions", [1.0, 0.0, 0.0, 0.0, 0.0])

    for vector, expected in (([1.0, 0.0, 0.0], small), ([1.0, 0.0, 0.0, 0.0, 0.0], large)):
        found = store.search(
            where[0], [where[1]], question="x", query_vector=vector, vector_similarity_weight=1.0
        )
        assert [r.chunk_id for r in found] == [expected]
    assert store.delete_chunks(where[0], [small, large]) == 2
    with pg_database.engine.connect() as conn:
        left = conn.execute(text("SELECT count(*) FROM chunk_vector_3")).scalar_one()
    assert left == 0  # vectors go with their chunk (ON DELETE CASCADE)


def test_backfill_indexes_chunks_stored_without_pgvector(pg_database: Database) -> None:
    numpy_store = PostgresChunkStore(pg_database.engine, use_pgvector=False)
    numpy_store.ensure_schema()
    assert not numpy_store.uses_pgvector
    world = StoreWorld(pg_database, numpy_store, "postgres")
    where = world.place()
    chunk_id = world.chunk(where, "stored before pgvector", E1)
    pgvector_store = PostgresChunkStore(pg_database.engine)
    pgvector_store.ensure_schema()
    pgvector_store.ensure_schema()  # idempotent

    assert vector_search(pgvector_store, where) == []  # its vector is not indexed yet
    assert pgvector_store.backfill_vectors() == 1
    assert vector_search(pgvector_store, where) == [(chunk_id, 1.0)]
    assert pgvector_store.backfill_vectors() == 1  # a full pass, nothing duplicated
    assert vector_search(pgvector_store, where) == [(chunk_id, 1.0)]


def test_extension_setup_is_idempotent(pg_database: Database) -> None:
    with pg_database.engine.begin() as conn:
        assert create_extension(conn) in ("present", "created")
        assert create_extension(conn) == "present"


@pytest.mark.postgres
def test_system_postgres_without_pgvector_falls_back(postgres_url: str) -> None:
    pg_database = Database(postgres_url)
    try:
        with pg_database.engine.begin() as conn:
            assert create_extension(conn) == "missing"
        store = PostgresChunkStore(pg_database.engine)
        store.ensure_schema()
        assert not store.uses_pgvector
    finally:
        pg_database.dispose()


def test_vector_scores_of_given_ids_stay_in_the_scope(pg_database: Database) -> None:
    store = PostgresChunkStore(pg_database.engine, exact_limit=0)
    store.ensure_schema()
    world = StoreWorld(pg_database, store, "pgvector")
    mine = world.place()
    dataset = world.dataset(mine[0])
    other_dataset = (mine[0], dataset, world.document(mine[0], dataset))
    own = world.chunk(mine, "own", E1)
    beside = world.chunk(other_dataset, "same tenant, another dataset", E1)
    foreign = world.chunk(world.place(), "another tenant", E1)

    with pg_database.engine.connect() as conn:
        query = store.vectors.query(conn, SearchScope(mine[0], (mine[1],)), unit(E1))
        scores = query.score([own, beside, foreign, "no-such-chunk"])
    assert scores == {own: pytest.approx(1.0)}
