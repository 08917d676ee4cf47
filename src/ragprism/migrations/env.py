"""Alembic environment: migrations run against the URL handed over by ragprism.db.migrate."""

from __future__ import annotations

from alembic import context

import ragprism.models  # noqa: F401  (registers the tables)
from ragprism.db.base import Base
from ragprism.db.engine import make_engine

# Search indexes owned by the chunk stores, not by the ORM models: autogenerate must not
# propose dropping them.
_STORE_OWNED = ("chunk_fts", "chunk_vector_", "search_vector", "ix_chunk_search_vector")


def _include_name(name: str | None, type_: str, parent_names: object) -> bool:
    return not (name or "").startswith(_STORE_OWNED)


config = context.config
url = config.get_main_option("sqlalchemy.url")
assert url, "ragprism.db.migrate sets sqlalchemy.url"

connectable = config.attributes.get("connection")
if connectable is None:
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=True,
            include_name=_include_name,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
else:
    context.configure(
        connection=connectable,
        target_metadata=Base.metadata,
        render_as_batch=True,
        include_name=_include_name,
    )
    with context.begin_transaction():
        context.run_migrations()
