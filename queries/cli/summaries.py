"""`summaries rebuild|check`: the summary store recomputed from the raw survey rows, or checked
against them (exit code 1 when something differs). A rebuild also replaces the persisted
snapshot (``queries.summaries.persisted``), so the next server start reads one row."""

from __future__ import annotations

import argparse
import sys

from queries.cli.common import add_db_option, engine_from
from queries.ingest.uploads import lock
from queries.summaries.memory import load_snapshot
from queries.summaries.persisted import forget_frames
from queries.summaries.rebuild import check, rebuild
from queries.vocab import UploadKind

SHOWN = 20  # differences printed; the count says how many there are


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("summaries", help="rebuild or check the survey summary store")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = actions.add_parser("rebuild", help="recompute every wave's summaries from its rows")
    add_db_option(p)
    p.set_defaults(handler=_rebuild)
    p = actions.add_parser("check", help="recompute and compare; exit code 1 on a difference")
    add_db_option(p)
    p.set_defaults(handler=_check)


def _say(done: int, total: int, wave: tuple[str, str]) -> None:
    print(f"  {done}/{total}  {wave[0]} / {wave[1]}", file=sys.stderr, flush=True)


def _rebuild(args) -> int:
    engine = engine_from(args)
    # one transaction under the survey writer lock: no upload interleaves, readers see the old
    # summaries until the new ones are complete
    with engine.connect().execution_options(immediate=True) as conn, conn.begin():
        lock(conn, UploadKind.SURVEY)
        lock(conn, UploadKind.PROPOSALS)  # the register summaries are rebuilt too (issue 11)
        waves = rebuild(conn, progress=_say)
        forget_frames(conn)  # the store may have changed under the same data version
    load_snapshot(engine)  # persisted again from the new store, for the next server start
    print(f"Summaries rebuilt for {waves} wave(s).")
    return 0


def _check(args) -> int:
    engine = engine_from(args)
    with engine.connect() as conn, conn.begin():  # one snapshot of rows and summaries
        found = check(conn, progress=_say)
    if not found:
        print("Summaries match the stored rows.")
        return 0
    print(f"{len(found)} difference(s) between the summaries and the stored rows:")
    for line in found[:SHOWN]:
        print(f"  {line}")
    if len(found) > SHOWN:
        print(f"  ... and {len(found) - SHOWN} more; run `summaries rebuild` to fix them")
    return 1
