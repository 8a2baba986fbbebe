"""The database schema: SQLAlchemy Core tables, one definition for SQLite and PostgreSQL, all on
the one ``MetaData`` of ``base``: the uploaded data (``data``), accounts and sign-in (``access``)
and the summary store (``summaries``).

Importing any module of the package imports all three, so ``base.metadata`` (Alembic's target,
and ``metadata.tables[name]`` lookups) always holds every table.
"""

from queries.schema import access, data, summaries  # noqa: F401  (registers their tables)
