"""The command line. Each command group lives in its own module with a ``register`` function."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from sqlalchemy.exc import OperationalError

from queries.errors import SenimError

COMMAND_MODULES = (
    "queries.cli.data",
    "queries.cli.users",
    "queries.cli.setup",
    "queries.cli.summaries",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m queries", description="Senim data tools.")
    parser.add_argument("--db", metavar="URL", help="database URL (default: SENIM_DATABASE_URL)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; errors become one clear line on stderr and exit code 2 (1 = rejected)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    # --db is accepted before or after the command name
    try:
        return int(args.handler(args) or 0)
    except SenimError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OperationalError as exc:
        print(f"error: database unavailable: {exc.orig}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and closed early
        return 0
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
