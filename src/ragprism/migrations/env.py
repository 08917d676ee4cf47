"""Alembic environment: migrations run against the URL handed over by ragprism.db.migrate."""

from __future__ import annotations

from alembic import context

import ragprism.models  # noqa: F401  (registers the tables)
from ragprism.db.base import Base
from ragprism.db.engine import make_engine

config = context.config
url = config.get_main_option("sqlalchemy.url")
assert url, "ragprism.db.migrate sets sqlalchemy.url"

connectable = config.attributes.get("connection")
if connectable is None:
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection, target_metadata=Base.metadata, render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
else:
    context.configure(connection=connectable, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
