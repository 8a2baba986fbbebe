"""Deterministic demo data: contract-format CSV files for survey, NGO and proposals data.

``write_demo_files`` writes one survey CSV per (source, wave), ``ngo.csv`` and
``proposals.csv``; ``load_demo`` writes them one at a time (to a temporary folder unless told
where) and ingests each through the normal upload path before generating the next, so the demo
also exercises reading, validation and region names and a 10M-response demo holds one wave at a
time. The same seed always gives byte-identical files.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, func, select

from queries.demo.common import AS_OF
from queries.demo.ngo import generate_ngo
from queries.demo.proposals import generate_proposals
from queries.demo.survey import generate_survey, generate_survey_frame, iter_survey
from queries.errors import SenimError
from queries.schema import data

__all__ = [
    "AS_OF",
    "DEFAULT_RESPONSES",
    "DEFAULT_SEED",
    "LoadedFile",
    "generate_ngo",
    "generate_proposals",
    "generate_survey",
    "generate_survey_frame",
    "iter_demo_files",
    "iter_survey",
    "load_demo",
    "stored_counts",
    "write_demo_files",
]

DEFAULT_RESPONSES = 60_000
DEFAULT_SEED = 2025


def survey_file_name(source: str, wave: str) -> str:
    return f"survey_{source}_{wave}.csv"


def iter_demo_files(
    folder: Path, *, responses: int = DEFAULT_RESPONSES, seed: int = DEFAULT_SEED
) -> Iterator[Path]:
    """Write the demo CSV files into ``folder`` one at a time, yielding each path once written:
    survey files (one per source and wave) first, then ``ngo.csv`` and ``proposals.csv``.

    Lazy on purpose: a consumer that loads (and deletes) each file before asking for the next
    keeps one wave in memory and on disk, whatever ``responses`` is."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for (source, wave), frame in iter_survey(responses, seed):
        path = folder / survey_file_name(source, wave)
        frame.write_csv(path)
        del frame  # the wave's rows go before the consumer loads the file
        yield path
    for name, make in (
        ("ngo.csv", lambda: generate_ngo(seed)),
        ("proposals.csv", lambda: generate_proposals(seed, AS_OF)),
    ):
        make().write_csv(folder / name)
        yield folder / name


def write_demo_files(
    folder: Path, *, responses: int = DEFAULT_RESPONSES, seed: int = DEFAULT_SEED
) -> list[Path]:
    """Write every demo CSV file into ``folder`` (see ``iter_demo_files``); their paths in order."""
    return list(iter_demo_files(folder, responses=responses, seed=seed))


def file_kind(path: Path) -> str:
    """The upload kind of a demo file, from its name."""
    if path.name.startswith("survey_"):
        return "survey"
    return "ngo" if path.name == "ngo.csv" else "proposals"


def stored_counts(engine: Engine) -> dict[str, int]:
    """Rows already stored per kind (survey responses, NGO rows, proposals)."""
    tables = {
        "survey": data.responses,
        "ngo": data.ngo_activity,
        "proposals": data.proposals,
    }
    with engine.connect() as conn:
        return {
            kind: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
            for kind, table in tables.items()
        }


@dataclass(frozen=True)
class LoadedFile:
    """One demo file loaded: what ``load_demo`` tells its ``on_loaded`` callback."""

    name: str
    kind: str
    rows: int
    seconds: float  # writing the file plus ingesting it


def load_demo(
    engine: Engine,
    *,
    responses: int = DEFAULT_RESPONSES,
    seed: int = DEFAULT_SEED,
    folder: Path | None = None,
    on_loaded: Callable[[LoadedFile], None] | None = None,
) -> dict:
    """Generate the demo files and load them into an empty database, one file at a time.

    Each file is written, ingested through the normal upload path, then the next one is
    generated, so memory holds one wave at most. Without ``folder`` the files go to a temporary
    folder and each is deleted once loaded; with it they are kept there. Refuses
    (``SenimError``) when any survey, NGO or proposal data is already stored, so demo rows never
    mix with real ones. Returns a summary: files, rows loaded per kind and the upload ids (each
    can be rolled back like any upload).
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

    with contextlib.ExitStack() as stack:
        temporary = folder is None
        target = (
            Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="senim-demo-")))
            if temporary
            else Path(folder)
        )
        loaded = {"survey": 0, "ngo": 0, "proposals": 0}
        upload_ids: list[int] = []
        names: list[str] = []
        started = time.perf_counter()
        for path in iter_demo_files(target, responses=responses, seed=seed):
            kind = file_kind(path)
            report = ingest_bytes(engine, kind, path.read_bytes(), path.name, uploaded_by="demo")
            if temporary:
                path.unlink()
            if report.status != "loaded" or report.rows_rejected:
                done = ", ".join(str(i) for i in upload_ids) or "none"
                raise SenimError(
                    f"Demo file {path.name} was not loaded ({report.status}): {report.message} "
                    f"Uploads already made by this demo load (roll back to undo): {done}."
                )
            loaded[kind] += report.rows_loaded
            names.append(path.name)
            if report.upload_id is not None:
                upload_ids.append(report.upload_id)
            if on_loaded is not None:
                now = time.perf_counter()
                on_loaded(LoadedFile(path.name, kind, report.rows_loaded, now - started))
                started = now
    return {
        "folder": None if temporary else str(target),
        "files": names,
        "rows_loaded": loaded,
        "upload_ids": upload_ids,
        "seed": seed,
    }
