"""One chunk store per backend, on an empty migrated database, plus data helpers."""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ragprism.db import Base, Database, new_id
from ragprism.models import Dataset, Document, Tenant
from ragprism.retrieval import ChunkRecord, HybridChunkStore, PostgresChunkStore, make_store

STORE_BACKENDS = [
    "sqlite",
    # The system PostgreSQL 15 has no pgvector: this is the numpy fallback.
    pytest.param("postgres", marks=pytest.mark.postgres),
    # pgserver's PostgreSQL 16 with pgvector: HNSW tables.
    "pgvector",
    pytest.param("mysql", marks=pytest.mark.mysql),
]


@pytest.fixture
def pg_database(pgvector_url: str) -> Iterator[Database]:
    """A PostgreSQL + pgvector database, emptied first."""
    database = Database(pgvector_url)
    empty_all_tables(database)
    yield database
    database.dispose()


def empty_all_tables(database: Database) -> None:
    with database.session() as session:
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(table.delete())


@dataclass
class StoreWorld:
    """A database with its chunk store, and shortcuts to fill it."""

    database: Database
    store: HybridChunkStore
    backend: str
    _seq: int = field(default=0)

    def tenant(self) -> str:
        tenant_id = new_id()
        with self.database.session() as session:
            session.add(Tenant(id=tenant_id, name="tenant"))
        return tenant_id

    def dataset(self, tenant_id: str) -> str:
        dataset_id = new_id()
        with self.database.session() as session:
            session.add(
                Dataset(id=dataset_id, tenant_id=tenant_id, name=dataset_id, created_by=tenant_id)
            )
        return dataset_id

    def document(self, tenant_id: str, dataset_id: str) -> str:
        document_id = new_id()
        with self.database.session() as session:
            session.add(
                Document(
                    id=document_id,
                    tenant_id=tenant_id,
                    dataset_id=dataset_id,
                    name=f"{document_id}.txt",
                    content_hash="0" * 64,
                    created_by=tenant_id,
                )
            )
        return document_id

    def place(self) -> tuple[str, str, str]:
        """A new tenant with a dataset and a document in it."""
        tenant_id = self.tenant()
        dataset_id = self.dataset(tenant_id)
        return tenant_id, dataset_id, self.document(tenant_id, dataset_id)

    def chunk(
        self,
        where: tuple[str, str, str],
        content: str,
        embedding: Sequence[float] = (),
        **extra: object,
    ) -> str:
        """Store one chunk at ``where`` (tenant, dataset, document); returns its id."""
        tenant_id, dataset_id, document_id = where
        self._seq += 1
        chunk_id = str(extra.pop("id", new_id()))
        record = ChunkRecord(
            id=chunk_id,
            tenant_id=tenant_id,
            dataset_id=dataset_id,
            document_id=document_id,
            content=content,
            embedding=embedding,
            position=self._seq,
            **extra,  # type: ignore[arg-type]
        )
        self.store.add([record])
        return chunk_id


def open_store(request: pytest.FixtureRequest, tmp_path: Path, backend: str) -> Database:
    if backend == "sqlite":
        target = tmp_path / "ragprism.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        return Database(f"sqlite:///{target}")
    database = Database(request.getfixturevalue(f"{backend}_url"))
    empty_all_tables(database)
    return database


@pytest.fixture(params=STORE_BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreWorld]:
    backend: str = request.param
    database = open_store(request, tmp_path, backend)
    store = make_store(database)
    assert isinstance(store, HybridChunkStore)
    if backend in ("postgres", "pgvector"):
        assert isinstance(store, PostgresChunkStore)
        assert store.uses_pgvector is (backend == "pgvector")
    yield StoreWorld(database, store, backend)
    database.dispose()
