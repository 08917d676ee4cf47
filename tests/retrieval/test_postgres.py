"""PostgreSQL full text, on the system server (numpy vectors) and the pgvector one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from ragprism.retrieval import PostgresChunkStore
from ragprism.retrieval.postgres import TsvectorTermIndex
from ragprism.retrieval.records import SearchScope
from tests.retrieval.conftest import StoreWorld, open_store


@pytest.fixture(params=[pytest.param("postgres", marks=pytest.mark.postgres), "pgvector"])
def pg_world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreWorld]:
    database = open_store(request, tmp_path, request.param)
    store = PostgresChunkStore(database.engine)
    store.ensure_schema()
    yield StoreWorld(database, store, request.param)
    database.dispose()


def test_very_common_terms_do_not_select_candidates(pg_world: StoreWorld) -> None:
    where = pg_world.place()
    fillers = [pg_world.chunk(where, f"common filler text number {i}") for i in range(10)]
    both = pg_world.chunk(where, "common rare")
    rare = pg_world.chunk(where, "rare alone")
    with pg_world.database.engine.begin() as conn:
        conn.execute(text("ANALYZE chunk"))
    index = TsvectorTermIndex(common_fraction=0.5)
    scope = SearchScope(where[0], (where[1],))

    with pg_world.database.engine.connect() as conn:
        assert index.frequencies(conn)["common"] > 0.5
        query = index.query(conn, scope, ["common", "rare"])
        top = query.top(10)
        assert list(top) == [both, rare]  # ranked by both terms
        # Scoring given chunks uses every term: a common-only chunk still gets its score.
        assert set(query.score([fillers[0], rare])) == {fillers[0], rare}
        only_common = index.query(conn, scope, ["common"]).top(20)
    assert len(only_common) == 11  # nothing rarer: the common term is used


def test_without_statistics_every_term_selects(pg_world: StoreWorld) -> None:
    where = pg_world.place()
    first = pg_world.chunk(where, "alpha")
    second = pg_world.chunk(where, "beta")
    index = TsvectorTermIndex(common_fraction=0.0)  # every term counts as common
    with pg_world.database.engine.connect() as conn:
        top = index.query(conn, SearchScope(where[0], (where[1],)), ["alpha", "beta"]).top(5)
    assert set(top) == {first, second}
