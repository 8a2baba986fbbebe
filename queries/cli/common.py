"""Helpers shared by the command modules."""

from __future__ import annotations

import argparse

from sqlalchemy import Engine

from queries.db import init_db, make_engine


def add_db_option(parser: argparse.ArgumentParser) -> None:
    """Let ``--db URL`` follow the command name too (``python -m queries status --db URL``)."""
    parser.add_argument(
        "--db",
        metavar="URL",
        default=argparse.SUPPRESS,
        help="database URL (default: SENIM_DATABASE_URL)",
    )


def engine_from(args: argparse.Namespace) -> Engine:
    """The engine for the command's ``--db`` (or the setting), schema brought up to date."""
    engine = make_engine(getattr(args, "db", None))
    init_db(engine)
    return engine
