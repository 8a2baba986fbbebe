"""R's survey package, reached through the summary store (issue 11: "the R-parity tests also pass
through the summary path").

R's ``apistrat`` is stored as one survey wave: the stratum ``stype`` is the region, ``yr.rnd`` the
sex column, ``awards`` the settlement, ``api00`` a trust item, ``acs.core`` (missing for elementary
schools) a second one and ``sch.wide == "Yes"`` a yes/no item. The per-cell sums go into the real
database tables (``write_sums``, as an upload writes them) and come back through the two readers
the dashboard uses (the in-memory ``Snapshot`` and the SQL ``summary_sums``) into ``combine``.
The figures are R's (4.2.2, survey 4.1-1) with ``dstrat <- svydesign(id = ~1, strata = ~stype,
weights = ~pw, data = apistrat)``, the same as tests/test_survey_ci.py and test_calibration.py.
"""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest

from queries.metrics import combine
from queries.metrics.filters import Filters
from queries.summaries.calibrated import whole_wave_cells
from queries.summaries.cells import ROW_COLUMNS
from queries.summaries.memory import load_snapshot, snapshot_sums
from queries.summaries.read import all_strata, summary_sums
from queries.summaries.store import write_sums
from queries.survey.calibrated_sums import calibrated_sums
from tests.conftest import FIXTURES

SOURCE, WAVE = "public_trust_council", "2000-Q2"
VARIABLES = {  # the metrics' own expressions for the columns apistrat was stored in
    "api00": pl.col("trust_government"),
    "acs": pl.col("trust_courts"),
    "sw": pl.col("participated_consultation"),
}
DELIVERED = {"weights": "delivered"}


@pytest.fixture
def stored(engine):
    """apistrat written into the summary store of a real database, as one wave."""
    api = pl.read_csv(FIXTURES / "api" / "apistrat.csv", null_values="NA")
    rows = pl.DataFrame(schema=ROW_COLUMNS).extend(
        api.select(
            source=pl.lit(SOURCE),
            wave=pl.lit(WAVE),
            period_start=pl.lit(dt.date(2000, 4, 1)),
            region=pl.col("stype"),
            settlement=pl.col("awards"),
            sex=pl.col("yr.rnd"),
            age=pl.lit(30, pl.Int16),
            weight=pl.col("pw").cast(pl.Float64),
            state_listens=pl.lit(None, pl.Float64),
            participated_consultation=pl.col("sch.wide") == "Yes",
            submitted_proposal=pl.lit(None, pl.Boolean),
            received_response=pl.lit(None, pl.Boolean),
            response_satisfaction=pl.lit(None, pl.Float64),
            ngo_involvement=pl.lit(None, pl.Boolean),
        )
    )
    rows = rows.with_columns(
        trust_government=api.get_column("api00").cast(pl.Float64),
        trust_courts=api.get_column("acs.core").cast(pl.Float64),
    )
    with engine.begin() as conn:
        write_sums(conn, [(SOURCE, WAVE)], rows)
    return engine


def both_readers(engine, filters: Filters) -> list[pl.DataFrame]:
    """The per-stratum sums of VARIABLES from the snapshot and from SQL."""
    snapshot = load_snapshot(engine)
    with engine.connect() as conn:
        kept = all_strata(conn)
        from_sql = summary_sums(conn, filters, SOURCE, VARIABLES, kept=kept)
    return [snapshot_sums(snapshot, kept, filters, VARIABLES), from_sql]


def row(out: pl.DataFrame, variable: str) -> dict:
    return out.filter(pl.col("variable") == variable).row(0, named=True)


def close(a: float, b: float, rel: float = 1e-9) -> bool:
    return math.isclose(a, b, rel_tol=rel)


def test_means_and_shares_with_r_intervals(stored):
    for sums in both_readers(stored, Filters(**DELIVERED)):
        out = combine(sums, shares=["sw"])
        mean = row(out, "api00")
        # R: svymean(~api00, dstrat); confint(..., df = degf(dstrat))
        assert close(mean["estimate"], 662.287363, 1e-8) and close(mean["se"], 9.536132, 1e-6)
        assert mean["df"] == 197 and mean["n"] == 200
        assert close(mean["ci_low"], 643.481356593217) and close(mean["ci_high"], 681.093369725425)
        share = row(out, "sw")
        # R: svyciprop(~I(sch.wide == "Yes"), dstrat, method = "logit")
        assert close(share["ci_low"], 0.773542009331158)
        assert close(share["ci_high"], 0.871455182359908)


def test_a_domain_cut_by_cells_matches_r_svyby(stored):
    # R: svyby(~sw, ~yr.rnd, dstrat, svyciprop, method = "logit"): subset(yr.rnd == "No") has
    # 179 respondents in 3 strata, degf 176; here yr.rnd is the sex column, a cell dimension
    for sums in both_readers(stored, Filters(sexes=("No",), **DELIVERED)):
        share = row(combine(sums, shares=["sw"]), "sw")
        assert share["n"] == 179 and share["df"] == 176
        assert close(share["ci_low"], 0.755010327689323)
        assert close(share["ci_high"], 0.863647911089921)


def test_a_variable_with_missing_values_keeps_the_whole_design(stored):
    # acs.core is missing for every elementary school: R's svymean(~acs.core, dstrat,
    # na.rm = TRUE) drops those rows but keeps the design; equal to the frame estimator
    from queries.survey.design import survey_mean

    api = pl.read_csv(FIXTURES / "api" / "apistrat.csv", null_values="NA")
    want = survey_mean(api, "acs.core", weight="pw", strata="stype", ci="t").row(0, named=True)
    for sums in both_readers(stored, Filters(**DELIVERED)):
        got = row(combine(sums), "acs")
        assert got["n"] == want["n"] and got["df"] == want["df"]
        for key in ("estimate", "se", "ci_low", "ci_high"):
            assert close(got[key], want[key], 1e-12), key


def test_raked_from_stored_cells_matches_r_rake(stored):
    # R: r <- rake(dstrat, list(~stype, ~yr.rnd), list(stype totals, yr.rnd totals),
    # control = list(maxit = 200, epsilon = 1e-13)); svymean(~api00, r)
    margins = {
        "region": {"E": 4421.0, "H": 755.0, "M": 1018.0},
        "sex": {"No": 5600.0, "Yes": 594.0},
    }
    snapshot = load_snapshot(stored)
    names = {"api00": "institution:government"}
    rows = whole_wave_cells(
        snapshot.strata, snapshot.totals, snapshot.cells, names, Filters(**DELIVERED)
    )
    made = calibrated_sums(
        rows, {(SOURCE, WAVE): margins}, unit=["source", "wave"], totals=snapshot.totals
    )
    assert made.calibrated == ((SOURCE, WAVE),)
    out = combine(made.sums, ci="normal").row(0, named=True)
    assert close(out["estimate"], 667.1628, 1e-7)  # R's default stopping rule: 1e-7 apart
    assert close(out["se"], 9.15599218856805, 1e-6)
