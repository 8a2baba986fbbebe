"""Deterministic demo data: contract-format CSV files for survey, NGO and proposals data.

``write_demo_files`` writes one survey CSV per (source, wave), ``ngo.csv`` and
``proposals.csv``; ``load_demo`` writes them to ``data/demo/`` and ingests each one through
the normal upload path, so the demo also exercises reading, validation and region names.
The same seed always gives byte-identical files.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, func, select

from queries import schema
from queries.demo.common import AS_OF
from queries.demo.ngo import generate_ngo
from queries.demo.proposals import generate_proposals
from queries.demo.survey import generate_survey, generate_survey_frame
from queries.errors import SenimError
from queries.settings import DATA_DIR

__all__ = [
    "AS_OF",
    "DEFAULT_RESPONSES",
    "DEFAULT_SEED",
    "demo_dir",
    "generate_ngo",
    "generate_proposals",
    "generate_survey",
    "generate_survey_frame",
    "load_demo",
    "stored_counts",
    "write_demo_files",
]

DEFAULT_RESPONSES = 60_000
DEFAULT_SEED = 2025


def demo_dir() -> Path:
    """Where the demo files go by default (git-ignored)."""
    return DATA_DIR / "demo"


def survey_file_name(source: str, wave: str) -> str:
    return f"survey_{source}_{wave}.csv"


def write_demo_files(
    folder: Path, *, responses: int = DEFAULT_RESPONSES, seed: int = DEFAULT_SEED
) -> list[Path]:
    """Write the demo CSV files into ``folder``: survey files (one per source and wave) first,
    then ``ngo.csv`` and ``proposals.csv``. Returns their paths in that order."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for (source, wave), frame in generate_survey(responses, seed).items():
        path = folder / survey_file_name(source, wave)
        frame.write_csv(path)
        paths.append(path)
    for name, frame in (
        ("ngo.csv", generate_ngo(seed)),
        ("proposals.csv", generate_proposals(seed, AS_OF)),
    ):
        frame.write_csv(folder / name)
        paths.append(folder / name)
    return paths


def file_kind(path: Path) -> str:
    """The upload kind of a demo file, from its name."""
    if path.name.startswith("survey_"):
        return "survey"
    return "ngo" if path.name == "ngo.csv" else "proposals"


def stored_counts(engine: Engine) -> dict[str, int]:
    """Rows already stored per kind (survey responses, NGO rows, proposals)."""
    tables = {
        "survey": schema.responses,
        "ngo": schema.ngo_activity,
        "proposals": schema.proposals,
    }
    with engine.connect() as conn:
        return {
            kind: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
            for kind, table in tables.items()
        }


def load_demo(
    engine: Engine,
    *,
    responses: int = DEFAULT_RESPONSES,
    seed: int = DEFAULT_SEED,
    folder: Path | None = None,
) -> dict:
    """Generate the demo files and load them into an empty database, file by file.

    Refuses (``SenimError``) when any survey, NGO or proposal data is already stored, so
    demo rows never mix with real ones. Returns a summary: files, rows loaded per kind and
    the upload ids (each can be rolled back like any upload).
    """
    existing = stored_counts(engine)
    if any(existing.values()):
        raise SenimError(
            "The demo data can only be loaded into an empty database; this one already holds "
            f"{existing['survey']} survey responses, {existing['ngo']} NGO rows and "
            f"{existing['proposals']} proposals. Roll those uploads back or use a new database."
        )
    from queries.ingest.pipeline import (
        ingest_bytes,  # late: ingestion pulls in the whole validation stack
    )

    paths = write_demo_files(folder or demo_dir(), responses=responses, seed=seed)
    loaded = {"survey": 0, "ngo": 0, "proposals": 0}
    upload_ids: list[int] = []
    for path in paths:
        kind = file_kind(path)
        report = ingest_bytes(engine, kind, path.read_bytes(), path.name, uploaded_by="demo")
        if report.status != "loaded" or report.rows_rejected:
            done = ", ".join(str(i) for i in upload_ids) or "none"
            raise SenimError(
                f"Demo file {path.name} was not loaded ({report.status}): {report.message} "
                f"Uploads already made by this demo load (roll back to undo): {done}."
            )
        loaded[kind] += report.rows_loaded
        if report.upload_id is not None:
            upload_ids.append(report.upload_id)
    return {
        "folder": str(paths[0].parent),
        "files": [path.name for path in paths],
        "rows_loaded": loaded,
        "upload_ids": upload_ids,
        "seed": seed,
    }
