"""Data commands: init, ingest, uploads, rollback, status, demo, export-template, contract-docs."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path

from sqlalchemy import func, select

from queries.access.audit import os_actor
from queries.cli.common import add_db_option, engine_from
from queries.contract import docs, template_csv
from queries.errors import SenimError
from queries.ingest.pipeline import ingest_bytes
from queries.ingest.uploads import list_uploads, rollback
from queries.schema.base import metadata
from queries.schema.data import UPLOAD_KINDS, uploads
from queries.vocab import DONE_STATUSES, UploadStatus

CONTRACT_DOC = Path(__file__).resolve().parents[2] / "docs" / "data-contract.md"
COUNTED = (
    "responses",
    "trust_scores",
    "survey_waves",
    "ngo_activity",
    "proposals",
    "uploads",
    "users",
    "audit_log",
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("init", help="create or upgrade the database schema")
    add_db_option(p)
    p.set_defaults(handler=_init)

    p = sub.add_parser("ingest", help="validate and load a CSV file")
    add_db_option(p)
    p.add_argument("--kind", required=True, choices=UPLOAD_KINDS)
    p.add_argument("--source", help="survey source for the whole file")
    p.add_argument("--wave", help="survey wave for the whole file, e.g. 2025-Q3")
    p.add_argument("--keep-valid", action="store_true", help="load the valid rows, reject others")
    p.add_argument("--rejected", metavar="FILE", help="write rejected rows (CSV) to FILE")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("file", metavar="FILE")
    p.set_defaults(handler=_ingest)

    p = sub.add_parser("contract-docs", help="rewrite the column tables of the data contract")
    p.add_argument("--check", action="store_true", help="only say whether they are current")
    p.add_argument("--file", default=str(CONTRACT_DOC), help="default: docs/data-contract.md")
    p.set_defaults(handler=_contract_docs)

    p = sub.add_parser("uploads", help="list uploads")
    add_db_option(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_uploads)

    p = sub.add_parser("rollback", help="remove one upload's rows whole")
    add_db_option(p)
    p.add_argument("upload_id", type=int, metavar="UPLOAD_ID")
    p.set_defaults(handler=_rollback)

    p = sub.add_parser("status", help="row counts per table and the last upload time")
    add_db_option(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_status)

    p = sub.add_parser("demo", help="fill an empty database with deterministic demo data")
    add_db_option(p)
    p.add_argument("--responses", type=int, default=60_000)
    p.add_argument("--seed", type=int, default=2025)
    p.set_defaults(handler=_demo)

    p = sub.add_parser("export-template", help="write the CSV template of an upload kind")
    add_db_option(p)  # accepted for uniformity; a template needs no database
    p.add_argument("--kind", required=True, choices=UPLOAD_KINDS)
    p.add_argument("file", nargs="?", metavar="FILE", help="default: standard output")
    p.set_defaults(handler=_template)


def _init(args) -> int:
    engine = engine_from(args)
    print(f"Database ready: {engine.url.render_as_string(hide_password=True)}")
    return 0


def _ingest(args) -> int:
    path = Path(args.file)
    if not path.is_file():
        raise SenimError(f"{path}: no such file.")
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise SenimError(f"{path}: cannot be read ({exc.strerror}).") from None
    engine = engine_from(args)
    report = ingest_bytes(
        engine,
        args.kind,
        content,
        path.name,
        source=args.source,
        wave=args.wave,
        keep_valid=args.keep_valid,
        uploaded_by=os_actor(),  # the real OS account; no --by (issue 13)
        progress=_failpoint(),
    )
    if args.rejected and report.rows_rejected:
        Path(args.rejected).write_bytes(report.rejected_csv())
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False, default=str))
    else:
        print(f"{report.status}: {report.message}")
        for row in report.errors.head(50).iter_rows(named=True):
            where = f"row {row['row']}" if row["row"] else "file"
            column = f", column {row['column']}" if row["column"] else ""
            print(f"  {where}{column}: {row['message']}")
        if report.error_count > 50:
            print(f"  ... and {report.error_count - 50:,} more problems")
    return 1 if report.status == UploadStatus.REJECTED else 0


def _failpoint():
    """Fault injection for the crash tests: SENIM_FAULT_KILL_AT=0.3 makes this process kill
    itself (SIGKILL, no clean-up) once the load passes 30%. Unset in normal use."""
    at = os.environ.get("SENIM_FAULT_KILL_AT")
    if not at:
        return None

    def progress(fraction: float, stage: str) -> None:
        if fraction >= float(at):
            os.kill(os.getpid(), signal.SIGKILL)

    return progress


def _uploads(args) -> int:
    frame = list_uploads(engine_from(args))
    if args.json:
        print(json.dumps(frame.drop("pid").to_dicts(), ensure_ascii=False, default=str))
        return 0
    for r in frame.iter_rows(named=True):
        print(
            f"{r['id']:>5}  {r['uploaded_at']:%Y-%m-%d %H:%M}  {r['kind']:<9} {r['status']:<11} "
            f"{r['rows_loaded']:>9,} loaded {r['rows_rejected']:>7,} rejected  "
            f"{r['uploaded_by']}  {r['file_name']}"
        )
    return 0


def _rollback(args) -> int:
    print(rollback(engine_from(args), args.upload_id, by=os_actor()))
    return 0


def _status(args) -> int:
    engine = engine_from(args)
    with engine.connect() as conn:
        counts = {
            name: conn.execute(select(func.count()).select_from(metadata.tables[name])).scalar_one()
            for name in COUNTED
        }
        last = conn.execute(
            select(func.max(uploads.c.uploaded_at)).where(uploads.c.status.in_(DONE_STATUSES))
        ).scalar()
    out = {
        "database": engine.url.render_as_string(hide_password=True),
        "tables": counts,
        "last_upload_at": last.isoformat() if last else None,
    }
    if args.json:
        print(json.dumps(out))
    else:
        for name, count in counts.items():
            print(f"{name:<14}{count:>12,}")
        print(f"last upload   {out['last_upload_at'] or 'never'}")
    return 0


def _demo(args) -> int:
    from queries.demo import load_demo

    summary = load_demo(engine_from(args), responses=args.responses, seed=args.seed)
    rows = summary["rows_loaded"]
    print(
        f"Demo data loaded: {rows['survey']:,} survey responses, {rows['ngo']:,} NGO rows, "
        f"{rows['proposals']:,} proposals ({len(summary['files'])} files)."
    )
    return 0


def _template(args) -> int:
    content = template_csv(args.kind)
    if args.file:
        Path(args.file).write_bytes(content)
    else:
        sys.stdout.buffer.write(content)
    return 0


def _contract_docs(args: argparse.Namespace) -> int:
    path = Path(args.file)
    text = path.read_text(encoding="utf-8")
    current = docs.render(text)
    if args.check:
        print("current" if current == text else f"{path} is out of date with the contract")
        return 0 if current == text else 1
    path.write_text(current, encoding="utf-8")
    print(f"{path}: column tables written from the contract")
    return 0
