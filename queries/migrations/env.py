"""Alembic environment: runs on the connection handed over by ``queries.db.upgrade``."""

from alembic import context

from queries.schema.base import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # plain `alembic` command line: build an engine from the setting
    from queries.db import make_engine

    with make_engine().begin() as connection:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
