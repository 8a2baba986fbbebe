"""The summary store gives the raw-row path's numbers: for random filters, the per-stratum sums
of every stored variable and every Overview number equal those computed from the loaded rows
(to 1e-9 relative), on SQLite and PostgreSQL. Data is loaded through the real upload path
(including a file that adds respondents to a stored wave, and a rollback)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import random

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from queries.errors import SenimError
from queries.ingest.pipeline import ingest_bytes
from queries.ingest.uploads import rollback
from queries.metrics import variable_sums
from queries.metrics.dataset import load_dataset
from queries.metrics.filters import Filters, apply_filters
from queries.metrics.overview import OverviewNumbers, overview_numbers
from queries.summaries.cells import variables_for
from queries.summaries.memory import load_snapshot, overview_from_summaries
from queries.summaries.read import summary_sums
from queries.summaries.rebuild import check
from tests.uploads_helpers import NGO_HEADER, PROPOSALS_HEADER

SOURCES = ("public_trust_council", "kurultai")
# 2021-Q4 lies before the 2022 reform: its regions are the 17 old units (no Abai, KZ-10), and a
# region filter over both vintages widens to the comparable unit (KZ-63+10)
WAVES = {
    "public_trust_council": ("2021-Q4", "2024-Q2", "2024-Q4", "2025-Q2"),
    "kurultai": ("2024-06",),
}
REGIONS = ("KZ-75", "KZ-71", "KZ-63", "KZ-10")
OLD_REGIONS = ("KZ-75", "KZ-71", "KZ-63")
INSTITUTIONS = ("government", "police", "courts", "media")
SEXES = ("male", "female")
AGE_GROUPS = ("under_18", "18-29", "30-44", "45-59", "60+")
SETTLEMENTS = ("urban", "rural")
REL = 1e-9
SLOW = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def survey_file(
    seed: int,
    *,
    source: str,
    wave: str,
    n: int,
    start: int = 1,
    institutions: tuple[str, ...] = INSTITUTIONS,
) -> bytes:
    """A valid survey CSV with blanks everywhere a blank is allowed (seeded, reproducible)."""
    rng = random.Random(seed)

    def pick(values, blank=0.1):
        return "" if rng.random() < blank else rng.choice(values)

    def score(blank=0.15):
        return "" if rng.random() < blank else str(rng.randint(0, 10))

    header = [
        "respondent_id", "source", "wave", "region", "settlement", "sex", "age", "weight",
        "state_listens", "response_satisfaction", "participated_consultation",
        "submitted_proposal", "received_response", "ngo_involvement",
        *(f"trust_{i}" for i in institutions),
    ]  # fmt: skip
    lines = [",".join(header)]
    for i in range(start, start + n):
        proposed = pick(("yes", "no"))
        lines.append(
            ",".join(
                [
                    f"S{seed}-{i}",
                    source,
                    wave,
                    rng.choice(OLD_REGIONS if wave < "2022" else REGIONS),
                    pick(SETTLEMENTS),
                    pick(SEXES),
                    "" if rng.random() < 0.05 else str(rng.randint(16, 85)),
                    f"{rng.uniform(0.2, 3.0):.6f}",
                    score(),
                    score(0.5),
                    pick(("yes", "no")),
                    proposed,
                    pick(("yes", "no"), 0.3) if proposed == "yes" else "",
                    pick(("yes", "no")),
                    *(score() for _ in institutions),
                ]
            )
        )
    return ("\n".join(lines) + "\n").encode()


def load(engine, file: bytes, name: str) -> int:
    report = ingest_bytes(engine, "survey", file, name)
    assert report.status == "loaded", report.errors.to_dicts()[:3]
    return report.upload_id


@pytest.fixture
def loaded(engine):
    """Both sources, several waves; one wave grown by a second upload, one upload rolled back,
    one institution asked in a later wave only."""
    seed = 0
    for source in SOURCES:
        for wave in WAVES[source]:
            seed += 1
            load(engine, survey_file(seed, source=source, wave=wave, n=320), f"{seed}.csv")
    later = survey_file(99, source=SOURCES[0], wave="2025-Q2", n=150, start=5000,
                        institutions=(*INSTITUTIONS, "akimat"))  # fmt: skip
    load(engine, later, "later.csv")
    gone = load(engine, survey_file(98, source=SOURCES[0], wave="2024-Q4", n=80, start=7000), "x")
    rollback(engine, gone, by="test")
    register = ingest_bytes(engine, "proposals", register_file(5), "proposals.csv")
    ngo = ingest_bytes(engine, "ngo", ngo_file(), "ngo.csv")
    assert (register.status, ngo.status) == ("loaded", "loaded"), (register.errors, ngo.errors)
    return engine


def register_file(seed: int, n: int = 200) -> bytes:
    """Proposals of every source over two years, some answered (the 30-day card, the funnel)."""
    rng = random.Random(seed)
    lines = [PROPOSALS_HEADER]
    for i in range(n):
        submitted = dt.date(2024, 1, 1) + dt.timedelta(days=rng.randint(0, 700))
        answered = submitted + dt.timedelta(days=rng.randint(1, 60))
        status = rng.choice(("received", "answered"))
        lines.append(
            f"P{i},{rng.choice(('kurultai', 'public_trust_council', 'eotinish'))},"
            f"{rng.choice(REGIONS)},roads,{submitted},{status},"
            f"{answered if status == 'answered' else ''},"
        )
    return ("\n".join(lines) + "\n").encode()


def ngo_file() -> bytes:
    """Every region's NGO counts in two years (the density card)."""
    rows = [
        f"{r},{year},{100 + i},{50 + i},3,1000"
        for i, r in enumerate(REGIONS)
        for year in (2024, 2025)
    ]
    return ("\n".join([NGO_HEADER, *rows]) + "\n").encode()


def delivered(filters: Filters) -> Filters:
    """The filters with delivered weights (the calibrated Overview from summaries, issue 12,
    is tested in tests/test_summaries_calibrated.py)."""
    if "weights" in Filters.__dataclass_fields__:
        return dataclasses.replace(filters, weights="delivered")
    return filters


def filters_strategy() -> st.SearchStrategy[Filters]:
    known = [w for ws in WAVES.values() for w in ws]
    labels = st.one_of(st.none(), st.sampled_from([*known, "2030-Q1"]))  # one unknown wave
    chosen = st.lists(st.sampled_from((*INSTITUTIONS, "akimat")), unique=True, max_size=3)

    def subset(values):
        return st.lists(st.sampled_from(values), unique=True, max_size=len(values) - 1).map(tuple)

    return st.builds(
        Filters,
        sources=subset(SOURCES),
        wave_from=labels,
        wave_to=labels,
        regions=subset(REGIONS),
        institutions=st.one_of(st.just(()), chosen.map(tuple)),
        sexes=subset(SEXES),
        age_groups=subset(AGE_GROUPS),
        settlements=subset(SETTLEMENTS),
    ).map(delivered)


def close(a, b) -> bool:
    if a is None or b is None:
        return a is b
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=REL, abs_tol=1e-12)
    return a == b


def assert_same_frame(raw: pl.DataFrame, summed: pl.DataFrame, what: str) -> None:
    assert raw.schema == summed.schema, what
    assert raw.height == summed.height, what
    for column in raw.columns:
        for i, (a, b) in enumerate(zip(raw[column], summed[column], strict=True)):
            assert close(a, b), f"{what}: {column}[{i}] {a!r} != {b!r}"


def assert_same_overview(raw: OverviewNumbers, summed: OverviewNumbers) -> None:
    for field in dataclasses.fields(OverviewNumbers):
        value, other = getattr(raw, field.name), getattr(summed, field.name)
        if isinstance(value, pl.DataFrame):
            assert_same_frame(value, other, field.name)
        else:
            assert value == other, field.name


def test_every_stored_variable_sums_like_the_raw_rows(loaded):
    data = load_dataset(loaded)

    @given(filters=filters_strategy())
    @SLOW
    def same(filters: Filters) -> None:
        variables = variables_for(data.institutions)
        names = {
            **variables.stored,
            **{a: variables.stored[s] for a, s in variables.aliases.items()},
        }
        try:
            rows = apply_filters(data.responses, filters)
        except SenimError as exc:  # an unknown wave: the same message both ways
            with loaded.connect() as conn, pytest.raises(SenimError) as caught:
                summary_sums(conn, filters, None, names)
            assert str(caught.value) == str(exc)
            return
        keys = ["source", "region", "wave", "period_start", "stratum", "variable"]
        raw = variable_sums(rows, names, carry=["source", "region", "wave", "period_start"])
        with loaded.connect() as conn:
            summed = summary_sums(conn, filters, None, names)
        raw = raw.select(summed.columns).sort(keys[1:])
        assert_same_frame(raw, summed.sort(keys[1:]), "sums")

    same()


@pytest.mark.slow
def assert_overview_paths_agree(engine, filters) -> None:
    """For every drawn (filters, source), the Overview from summaries equals the raw-row path
    (or both refuse with the same message)."""
    data = load_dataset(engine)
    snapshot = load_snapshot(engine)  # one per data version, as the dashboard keeps it

    @given(filters=filters, source=st.sampled_from(SOURCES))
    @SLOW
    def same(filters: Filters, source: str) -> None:
        try:
            raw = overview_numbers(data, filters, source)
        except SenimError as exc:
            with pytest.raises(SenimError) as caught:
                overview_from_summaries(engine, filters, source, snapshot=snapshot)
            assert str(caught.value) == str(exc)
            return
        summed = overview_from_summaries(engine, filters, source, snapshot=snapshot)
        assert_same_overview(raw, summed)

    same()


def test_overview_from_summaries_equals_the_raw_row_path(loaded):
    assert_overview_paths_agree(loaded, filters_strategy())


def test_stored_summaries_equal_a_recomputation(loaded):
    with loaded.connect() as conn:
        assert check(conn) == []


def test_a_domain_keeps_the_whole_stratum_in_n_h(loaded):
    """The linearised variance of a domain mean needs n_h of the whole stratum: a filter by sex
    changes the sums, never n_h."""
    with loaded.connect() as conn:
        names = {"state_listens": variables_for(INSTITUTIONS).stored["state_listens"]}
        everyone = summary_sums(conn, Filters(), None, names)
        women = summary_sums(conn, Filters(sexes=("female",)), None, names)
    assert everyone.get_column("n_h").to_list() == women.get_column("n_h").to_list()
    assert (women.get_column("n") < everyone.get_column("n")).all()


def test_a_region_filter_across_the_reform_widens_as_on_the_raw_path(loaded):
    data = load_dataset(loaded)
    filters = delivered(Filters(regions=("KZ-10",)))
    raw = overview_numbers(data, filters, SOURCES[0])
    summed = overview_from_summaries(loaded, filters, SOURCES[0])
    assert summed.comparable_units  # the 2021 wave makes Abai a part of a comparable unit
    assert_same_overview(raw, summed)
