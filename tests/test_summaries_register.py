"""The register of proposals from its summaries (issue 11): counts per (source, region, topic,
day submitted, status) and per-day histograms give every number the Feedback page and the
Overview show exactly as the proposals rows do (property tests, on frames and through both
databases); the stored summaries stay equal to a rebuild after any sequence of uploads,
re-uploads that change old rows, and rollbacks (stateful test); migration 0007 fills them for a
database that already holds proposals; the command line checks and rebuilds them."""

from __future__ import annotations

import datetime as dt
import itertools

import polars as pl
import pytest
from alembic import command
from alembic.config import Config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from polars.testing import assert_frame_equal
from sqlalchemy import delete, select, update

from queries.cli import main
from queries.db import MIGRATIONS_DIR, upgrade
from queries.errors import SenimError
from queries.ingest.pipeline import ingest_bytes
from queries.ingest.uploads import rollback
from queries.metrics.dataset import _proposals
from queries.metrics.filters import Filters
from queries.metrics.overview import overview_from_sums
from queries.metrics.register import (
    RegisterNumbers,
    answer_rate_30,
    backlog,
    funnel,
    numbers_of,
    register_rows,
    summarise_register,
    time_to,
)
from queries.schema.data import proposals, row_history, uploads
from queries.schema.summaries import register_counts, register_days
from queries.summaries.read import register_frames
from queries.summaries.register import check_register, read_register, rebuild_register
from queries.vocab import ProposalSource, ProposalStatus, UploadStatus
from tests.uploads_helpers import PROPOSALS_HEADER

SOURCES = tuple(ProposalSource)
STATUSES = tuple(ProposalStatus)
REGIONS = ("KZ-75", "KZ-71", "KZ-63", None)  # None: a national proposal
TOPICS = ("roads", "schools", "water")
START = dt.date(2023, 1, 1)  # after the 2022 region reform: every region code is valid
FRAMES = ("answer_rate_30", "times", "backlog", "funnel", "backlog_by_region", "backlog_by_topic")
BY = (None, "region", "topic", "source", ["source", "region"])
SCHEMA = {
    "proposal_id": pl.String,
    "source": pl.String,
    "region": pl.String,
    "topic": pl.String,
    "submitted_on": pl.Date,
    "status": pl.String,
    "answered_on": pl.Date,
    "implemented_on": pl.Date,
}
SLOW = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _row(i: int, draw) -> tuple:
    """One proposal: any dates (frames need not pass the upload's rules: stored data may predate
    a rule, and an answer date on a 'received' proposal is allowed)."""
    submitted = START + dt.timedelta(days=draw(st.integers(0, 800)))
    answered = draw(st.one_of(st.none(), st.integers(-2, 150)))
    implemented = draw(st.one_of(st.none(), st.integers(0, 400)))
    return (
        f"P{i}",
        draw(st.sampled_from(SOURCES)),
        draw(st.sampled_from(REGIONS)),
        draw(st.sampled_from(TOPICS)),
        submitted,
        draw(st.sampled_from(STATUSES)),
        None if answered is None else submitted + dt.timedelta(days=answered),
        None if implemented is None else submitted + dt.timedelta(days=implemented),
    )


@st.composite
def proposal_frames(draw, max_size: int = 80) -> pl.DataFrame:
    n = draw(st.integers(0, max_size))
    rows = [_row(i, draw) for i in range(n)]
    return pl.DataFrame(rows, schema=SCHEMA, orient="row")


def subset(values) -> st.SearchStrategy[tuple]:
    return st.lists(st.sampled_from(values), unique=True, max_size=len(values) - 1).map(tuple)


FILTERS = st.builds(
    Filters,
    sources=subset(SOURCES),
    regions=subset([r for r in REGIONS if r]),
    sexes=subset(("male", "female")),  # not in the register: must change nothing
)
DAYS = st.integers(-30, 900).map(lambda d: START + dt.timedelta(days=d))


def assert_same_numbers(raw: RegisterNumbers | None, made: RegisterNumbers | None) -> None:
    """Every field equal, to the last bit."""
    assert (raw is None) == (made is None)
    if raw is None or made is None:
        return
    assert (made.as_of, made.received) == (raw.as_of, raw.received)
    for name in (*FRAMES, "days_to_answer"):
        assert_frame_equal(getattr(made, name), getattr(raw, name), check_exact=True)


def overview_register(register, ngo: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The Overview's register part (the 30-day card and the funnel) of a register already cut
    to the filters, rows or summary."""
    numbers = overview_from_sums(pl.DataFrame(), register, ngo)
    return numbers.cards.filter(pl.col("card") == "answered_30"), numbers.funnel


@pytest.mark.slow
@given(frame=proposal_frames(), filters=FILTERS)
@settings(max_examples=100, deadline=None)
def test_register_numbers_and_overview_card_from_summaries_equal_the_rows(frame, filters):
    summary = summarise_register(frame)
    assert_same_numbers(numbers_of(frame, filters), numbers_of(summary, filters))
    raw_card, raw_funnel = overview_register(register_rows(frame, filters), pl.DataFrame())
    card, made_funnel = overview_register(register_rows(summary, filters), pl.DataFrame())
    assert card.to_dicts() == raw_card.to_dicts()
    assert_frame_equal(made_funnel, raw_funnel, check_exact=True)


@pytest.mark.slow
@given(
    frame=proposal_frames(),
    by=st.sampled_from(BY),
    as_of=DAYS,
    since=st.one_of(st.none(), DAYS),
)
@settings(max_examples=100, deadline=None)
def test_every_register_function_on_any_date_and_grouping(frame, by, as_of, since):
    """Beyond the page's own "as of" (the latest submission): any date, any grouping."""
    summary = summarise_register(frame)
    pairs = [
        (funnel(frame, by=by, as_of=as_of), funnel(summary, by=by, as_of=as_of)),
        (funnel(frame, by=by), funnel(summary, by=by)),
        (time_to(frame, by=by), time_to(summary, by=by)),
        (backlog(frame, as_of, by=by), backlog(summary, as_of, by=by)),
        (
            answer_rate_30(frame, as_of, by=by, since=since),
            answer_rate_30(summary, as_of, by=by, since=since),
        ),
    ]
    for raw, made in pairs:
        assert_frame_equal(made, raw, check_exact=True)


def test_summaries_are_smaller_than_the_rows_they_replace():
    """Proposals sharing keys collapse into one count (the point of summarising), and the
    histogram holds the days to answer of each: three proposals, two answered the same days."""
    d = dt.date(2025, 3, 1)
    frame = pl.DataFrame(
        [
            ("a", "kurultai", "KZ-75", "roads", d, "answered", d + dt.timedelta(days=5), None),
            ("b", "kurultai", "KZ-75", "roads", d, "answered", d + dt.timedelta(days=5), None),
            ("c", "kurultai", "KZ-75", "roads", d, "received", None, None),
        ],
        schema=SCHEMA,
        orient="row",
    )
    summary = summarise_register(frame)
    counts = summary.counts.sort("status")
    assert counts.select("status", "n", "n_answered").rows() == [
        ("answered", 2, 2),
        ("received", 1, 0),
    ]
    assert summary.days.select("event", "days", "n").rows() == [("answer", 5, 2)]


# --- through the databases ---------------------------------------------------------------


def proposals_file(rows: list[tuple]) -> bytes:
    """A proposals CSV of rows (id, source, region, topic, submitted, status, answered,
    implemented)."""
    text = lambda v: "" if v is None else str(v)  # noqa: E731
    lines = [PROPOSALS_HEADER, *(",".join(text(v) for v in row) for row in rows)]
    return ("\n".join(lines) + "\n").encode()


@st.composite
def valid_rows(draw, ids: list[str]) -> list[tuple]:
    """Proposals the upload accepts: answered statuses have an answer date, implemented ones an
    implementation date, dates in order (a 'received' one may still have an answer date)."""
    rows = []
    for proposal_id in ids:
        submitted = START + dt.timedelta(days=draw(st.integers(0, 900)))
        status = draw(st.sampled_from(STATUSES))
        answered = None
        if status not in (ProposalStatus.RECEIVED, ProposalStatus.IN_REVIEW) or draw(st.booleans()):
            answered = submitted + dt.timedelta(days=draw(st.integers(0, 120)))
        implemented = None
        if status == ProposalStatus.IMPLEMENTED:
            implemented = answered + dt.timedelta(days=draw(st.integers(0, 300)))
        source, region = draw(st.sampled_from(SOURCES[:3])), draw(st.sampled_from(REGIONS))
        rows.append((proposal_id, source, region, draw(st.sampled_from(TOPICS)), submitted,
                     status, answered, implemented))  # fmt: skip
    return rows


def empty_register(engine) -> None:
    with engine.begin() as conn:
        for table in (proposals, register_counts, register_days, row_history, uploads):
            conn.execute(delete(table))


def stored(engine) -> dict[str, pl.DataFrame]:
    """Both register summaries, sorted (for comparing two states)."""
    summary = read_register(engine)
    return {
        "counts": summary.counts.sort(pl.all(), nulls_last=True),
        "days": summary.days.sort(pl.all(), nulls_last=True),
    }


def load(engine, rows: list[tuple], name: str) -> int | None:
    """Upload rows; the upload's id (None: the same file again, which stores nothing)."""
    report = ingest_bytes(engine, "proposals", proposals_file(rows), name)
    if report.status == UploadStatus.UNCHANGED:
        return None
    assert report.status == UploadStatus.LOADED, report.errors.to_dicts()[:3]
    return report.upload_id


@pytest.mark.slow
def test_through_the_database_summaries_give_the_rows_numbers(engine):
    """Uploaded through the normal path, read back by ``register_frames`` (what the app
    reads): every RegisterNumbers field and the Overview's register part equal the rows'."""

    @given(data=st.data(), n=st.integers(1, 60))
    @settings(SLOW, max_examples=12)
    def check_one(data, n):
        empty_register(engine)
        load(engine, data.draw(valid_rows([f"P{i}" for i in range(n)])), "p.csv")
        raw = _proposals(engine)
        summary, ngo = register_frames(engine)
        for filters in data.draw(st.lists(FILTERS, min_size=1, max_size=4)):
            assert_same_numbers(numbers_of(raw, filters), numbers_of(summary, filters))
            raw_part = overview_register(register_rows(raw, filters), ngo)
            made_part = overview_register(register_rows(summary, filters), ngo)
            assert made_part[0].to_dicts() == raw_part[0].to_dicts()
            assert_frame_equal(made_part[1], raw_part[1], check_exact=True)

    check_one()


@pytest.mark.slow
def test_after_random_uploads_reuploads_and_rollbacks_summaries_equal_a_rebuild(engine):
    numbers = itertools.count(1)

    class Register(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            empty_register(engine)
            self.loaded: list[int] = []
            self.ids: list[str] = []

        @rule(data=st.data(), n=st.integers(1, 30))
        def upload_new(self, data, n) -> None:
            ids = [f"N{next(numbers)}" for _ in range(n)]
            self.loaded.append(load(engine, data.draw(valid_rows(ids)), "new.csv"))
            self.ids += ids

        @precondition(lambda self: self.ids)
        @rule(data=st.data())
        def reupload_changing_old_rows(self, data) -> None:
            """Old proposals again with other statuses and dates (a source may change too:
            that is another proposal, the key being (source, id))."""
            ids = data.draw(st.lists(st.sampled_from(self.ids), min_size=1, unique=True))
            upload_id = load(engine, data.draw(valid_rows(ids)), "again.csv")
            self.loaded += [upload_id] if upload_id is not None else []

        @precondition(lambda self: self.loaded)
        @rule(which=st.integers(0, 100))
        def roll_back(self, which) -> None:
            upload_id = self.loaded[which % len(self.loaded)]
            try:
                rollback(engine, upload_id, by="test")
            except SenimError:  # a later upload changed one of its rows: refused, nothing done
                return
            self.loaded.remove(upload_id)

        @invariant()
        def summaries_equal_a_rebuild(self) -> None:
            with engine.connect() as conn:
                assert check_register(conn) == []
            before = stored(engine)
            with engine.begin() as conn:
                rebuild_register(conn)
            after = stored(engine)
            for name in before:
                assert_frame_equal(before[name], after[name], check_exact=True)

    Register.TestCase.settings = settings(
        max_examples=8,
        stateful_step_count=6,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    Register.TestCase().runTest()


def test_migration_0007_fills_the_summaries_of_stored_proposals(engine):
    """A database with proposals from before 0007: down to 0006 (the tables go), up again."""
    rows = [
        ("A1", "kurultai", "KZ-75", "roads", dt.date(2024, 1, 5), "answered",
         dt.date(2024, 1, 25), None),
        ("A2", "eotinish", None, "water", dt.date(2024, 2, 1), "implemented",
         dt.date(2024, 2, 3), dt.date(2024, 6, 1)),
        ("A3", "eotinish", None, "water", dt.date(2024, 2, 1), "received", None, None),
    ]  # fmt: skip
    load(engine, rows, "p.csv")
    want = stored(engine)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0006")
    upgrade(engine)
    got = stored(engine)
    assert got["counts"].get_column("n").sum() == 3
    for name in want:
        assert_frame_equal(got[name], want[name], check_exact=True)
    with engine.connect() as conn:
        assert check_register(conn) == []


def test_check_finds_a_difference_and_rebuild_repairs_it(engine, db_url, capsys):
    rows = [("B1", "kurultai", "KZ-71", "roads", dt.date(2024, 3, 1), "answered",
             dt.date(2024, 3, 9), None)]  # fmt: skip
    load(engine, rows, "p.csv")
    assert main(["summaries", "check", "--db", db_url]) == 0
    with engine.begin() as conn:  # a stale count, and a day no proposal has
        conn.execute(update(register_counts).values(n=register_counts.c.n + 1))
        conn.execute(register_days.insert().values(
            source="kurultai", region=None, topic="roads", submitted_on=dt.date(2024, 3, 2),
            event="answer", days=4, n=1))  # fmt: skip
    capsys.readouterr()
    assert main(["summaries", "check", "--db", db_url]) == 1
    out = capsys.readouterr().out
    assert "register_counts" in out and "register_days" in out
    assert main(["summaries", "rebuild", "--db", db_url]) == 0
    assert main(["summaries", "check", "--db", db_url]) == 0
    with engine.connect() as conn:
        assert conn.execute(select(register_counts.c.n)).scalars().all() == [1]


def test_a_database_stamped_past_the_placeholder_still_serves_the_register(engine, db_url):
    """Upgraded while 0007 was an empty placeholder: no summary tables. The register is then
    summarised from the rows, and ``summaries rebuild`` creates and fills the tables."""
    rows = [("C1", "eotinish", None, "water", dt.date(2024, 5, 1), "received", None, None)]
    load(engine, rows, "p.csv")
    want = stored(engine)
    with engine.begin() as conn:
        for table in (register_counts, register_days):
            conn.exec_driver_sql(f"DROP TABLE {table.name}")
    for name, frame in stored(engine).items():
        assert_frame_equal(frame, want[name], check_exact=True)
    assert main(["summaries", "check", "--db", db_url]) == 1
    assert main(["summaries", "rebuild", "--db", db_url]) == 0
    assert main(["summaries", "check", "--db", db_url]) == 0
    with engine.connect() as conn:
        assert conn.execute(select(register_counts.c.n)).scalars().all() == [1]
