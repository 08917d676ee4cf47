"""Migration 0002 matches the models, and adds the search objects each backend needs."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

import ragprism.models
from ragprism.db import Base, Database

# Search structures the migration adds beyond the models (see the 0002 docstring).
STORE_OWNED_TABLES = {
    "chunk_fts",
    "chunk_fts_data",
    "chunk_fts_idx",
    "chunk_fts_docsize",
    "chunk_fts_config",
}


def _store_owned(diff: Any) -> bool:
    kind = diff[0]
    if kind == "remove_table":
        return diff[1].name in STORE_OWNED_TABLES or diff[1].name.startswith("chunk_vector_")
    if kind == "remove_column":
        return diff[2] == "chunk" and diff[3].name == "search_vector"
    if kind == "remove_index":
        return diff[1].name == "ix_chunk_search_vector"
    return False


def test_migrations_match_the_models(database: Database) -> None:
    for module in pkgutil.iter_modules(ragprism.models.__path__):  # every table, registered or not
        importlib.import_module(f"ragprism.models.{module.name}")
    with database.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(context, Base.metadata)
    assert [d for d in diffs if not _store_owned(d)] == []


def test_backend_search_objects_exist(database: Database) -> None:
    inspector = inspect(database.engine)
    if database.backend == "sqlite":
        assert set(inspector.get_table_names()) >= STORE_OWNED_TABLES
    if database.backend == "postgresql":
        assert "search_vector" in {c["name"] for c in inspector.get_columns("chunk")}
    with database.engine.connect() as conn:
        if database.backend == "sqlite":
            found = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
        elif database.backend == "postgresql":
            found = conn.execute(
                text(
                    "SELECT tgname FROM pg_trigger"
                    " WHERE tgrelid = 'chunk'::regclass AND NOT tgisinternal"
                )
            )
        else:
            found = conn.execute(
                text(
                    "SELECT trigger_name FROM information_schema.triggers"
                    " WHERE trigger_schema = DATABASE()"
                )
            )
        triggers = set(found.scalars())
    assert {
        "chunk_index_version_ai",
        "chunk_index_version_ad",
        "chunk_index_version_au",
    } <= triggers
