"""`setup`: what `make run` does before serving — schema, demo data if empty, a first admin."""

from __future__ import annotations

import argparse

from sqlalchemy import func, select

from queries.cli.common import add_db_option, engine_from
from queries.schema.data import ngo_activity, proposals, responses


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "setup",
        help="create or upgrade the database; load demo data and create an admin if it is empty",
    )
    add_db_option(parser)
    parser.add_argument("--no-demo", action="store_true", help="do not load demo data")
    parser.add_argument("--responses", type=int, default=60_000, help="demo survey size")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    engine = engine_from(args)
    with engine.connect() as conn:
        stored = sum(
            conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (responses, ngo_activity, proposals)
        )
    if stored == 0 and not args.no_demo:
        from queries.demo import load_demo

        print(f"Loading demo data ({args.responses:,} survey responses)…", flush=True)
        load_demo(engine, responses=args.responses)
    else:
        print(f"Database ready: {engine.url.render_as_string(hide_password=True)}")

    from queries.access.accounts import ensure_demo_admin

    password = ensure_demo_admin(engine)
    if password:
        print("\nA first administrator account was created.")
        print("  user name: admin")
        print(f"  one-time password: {password}")
        print("You will be asked to choose a new password at the first sign-in.\n")
    return 0
