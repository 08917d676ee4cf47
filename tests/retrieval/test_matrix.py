"""The in-memory embedding matrices: served from cache until a write bumps the version."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from ragprism.db import Database
from ragprism.retrieval import EmbeddingMatrixCache, SqliteChunkStore
from tests.retrieval.conftest import StoreWorld

E1 = [1.0, 0.0, 0.0, 0.0]


@pytest.fixture
def sqlite_world(sqlite_template: Path, tmp_path: Path) -> Iterator[StoreWorld]:
    target = tmp_path / "ragprism.db"
    shutil.copyfile(sqlite_template, target)
    database = Database(f"sqlite:///{target}")
    yield StoreWorld(database, SqliteChunkStore(database.engine), "sqlite")
    database.dispose()


def search(world: StoreWorld, where: tuple[str, str, str], datasets: list[str]) -> int:
    found = world.store.search(
        where[0], datasets, question="q", query_vector=E1, vector_similarity_weight=1.0
    )
    return len(found)


def test_hits_until_a_write_changes_the_dataset(sqlite_world: StoreWorld) -> None:
    world = sqlite_world
    where = world.place()
    world.chunk(where, "one", E1)
    cache = world.store.vectors.cache  # type: ignore[attr-defined]
    assert isinstance(cache, EmbeddingMatrixCache)

    assert search(world, where, [where[1]]) == 1
    assert search(world, where, [where[1]]) == 1
    stats = cache.stats()
    assert (stats.misses, stats.hits, stats.loads, stats.entries) == (1, 1, 1, 1)
    assert stats.bytes > 0

    world.chunk(where, "two", E1)
    assert search(world, where, [where[1]]) == 2
    assert cache.stats().loads == 2
    world.store.set_available(where[0], available=False, document_id=where[2])
    assert search(world, where, [where[1]]) == 0
    assert cache.stats().loads == 3


def test_least_recently_used_datasets_are_evicted(sqlite_world: StoreWorld) -> None:
    world = sqlite_world
    small = EmbeddingMatrixCache(max_bytes=1)  # room for one entry only
    world.store = SqliteChunkStore(world.database.engine, small)
    tenant_id = world.tenant()
    places = []
    for _ in range(3):
        dataset_id = world.dataset(tenant_id)
        place = (tenant_id, dataset_id, world.document(tenant_id, dataset_id))
        world.chunk(place, "x", E1)
        places.append(place)

    for place in places:
        assert search(world, place, [place[1]]) == 1
    stats = small.stats()
    assert (stats.entries, stats.evictions, stats.loads) == (1, 2, 3)
    assert search(world, places[0], [p[1] for p in places]) == 3
