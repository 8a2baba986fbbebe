"""Every number on the Overview page for 1,000,000 synthetic responses, from memory: the polars
path the app uses (``overview_numbers``: cards, national trend per institution, the map, the
regions that moved, the register funnel) beside a plain pandas implementation of the same
design-based estimates (checked equal). Usage: python bench/bench_metrics.py [ROWS]"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import pandas as pd
import polars as pl
from scipy.stats import norm

from queries.demo.ngo import generate_ngo
from queries.demo.proposals import generate_proposals
from queries.demo.survey import generate_survey_frame
from queries.ingest.reading import read_table
from queries.ingest.validate import validate
from queries.metrics.filters import Filters
from queries.metrics.overview import overview_numbers
from queries.reference.regions import reference_regions

SOURCE = "public_trust_council"


def _clean(kind: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Demo rows through the real reader and validator, columns named as in Dataset."""
    clean = validate(kind, read_table(frame.write_csv().encode(), f"{kind}.csv")).clean
    return clean.drop("_row")


def dataset(rows: int) -> SimpleNamespace:
    """A Dataset-like object: responses (wide), proposals, ngo (with year and population)."""
    responses = _clean("survey", generate_survey_frame(rows, seed=11))
    trust = [c for c in responses.columns if c.startswith("trust_")]
    responses = responses.with_columns(
        pl.col(*trust, "state_listens", "response_satisfaction").cast(pl.Float64),
        stratum=pl.concat_str("source", "wave", "region", separator="|"),
    )
    population = reference_regions().select(pl.col("code").alias("region"), "population")
    ngo = _clean("ngo", generate_ngo(11)).with_columns(
        year=pl.col("period").str.slice(0, 4).cast(pl.Int32)
    )
    return SimpleNamespace(
        responses=responses,
        proposals=_clean("proposals", generate_proposals(11)),
        ngo=ngo.join(population, on="region", how="left"),
    )


def polars_overview(data: SimpleNamespace) -> dict[str, object]:
    """What the Overview page computes on each run."""
    return overview_numbers(data, Filters(), SOURCE)


# ---- the same numbers in plain pandas ---------------------------------------------------------


def pandas_mean_se(df: pd.DataFrame, value: str, by: list[str]) -> pd.DataFrame:
    """Ratio mean and Taylor-linearised stratified SE per ``by`` group, plainly in pandas.
    Missing answers stay in their stratum with a zero score (domain estimation, as R does)."""
    d = df[[*by, "stratum", "weight", value]]
    answered = d[value].notna()
    d = d.assign(w=d["weight"].where(answered, 0.0), wy=(d["weight"] * d[value]).fillna(0.0))
    totals = d.groupby(by).agg(W=("w", "sum"), WY=("wy", "sum"), n=(value, "count"))
    totals["estimate"] = totals["WY"] / totals["W"]
    d = d.join(totals[["W", "estimate"]], on=by)
    d["z"] = (d["w"] * (d[value] - d["estimate"]) / d["W"]).fillna(0.0)
    per = d.groupby([*by, "stratum"])["z"].agg(["size", "var"]).reset_index()
    per["contribution"] = np.where(per["size"] > 1, per["size"] * per["var"], 0.0)
    totals["se"] = np.sqrt(per.groupby(by)["contribution"].sum())
    return totals[["estimate", "se", "n"]]


def pandas_change(series: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """Change since the previous wave (independent waves), its SE and two-sided p-value."""
    s = series.loc[order]
    s = s.assign(change=s["estimate"].diff(), change_se=np.hypot(s["se"], s["se"].shift()))
    return s.assign(p_value=2 * norm.sf((s["change"] / s["change_se"]).abs()))


def pandas_overview(data: dict[str, pd.DataFrame]) -> dict[str, object]:
    df, proposals, ngo = data["responses"], data["proposals"], data["ngo"]
    own = df[df["source"] == SOURCE]
    trust = [c for c in own.columns if c.startswith("trust_")]
    own = own.assign(
        composite=own[trust].mean(axis=1),
        participation=own["participated_consultation"].astype("float"),
    )
    order = own[["wave", "period_start"]].drop_duplicates().sort_values(["period_start", "wave"])
    waves = order["wave"].tolist()
    out: dict[str, object] = {}
    for name in (*trust, "composite", "state_listens", "participation"):
        out[name] = pandas_change(pandas_mean_se(own, name, ["wave"]), waves)
    last, before = waves[-1], waves[-2]
    out["by_region"] = pandas_mean_se(own[own["wave"] == last], "composite", ["region"])
    pair = pandas_mean_se(own[own["wave"].isin([before, last])], "composite", ["region", "wave"])
    wide = pair.unstack("wave")
    moved = pd.DataFrame(
        {
            "change": wide[("estimate", last)] - wide[("estimate", before)],
            "change_se": np.hypot(wide[("se", last)], wide[("se", before)]),
        }
    )
    out["moved"] = moved.reindex(moved["change"].abs().sort_values(ascending=False).index)[:5]
    as_of = proposals["submitted_on"].max()
    for label, end in (("now", as_of), ("before", as_of - dt.timedelta(days=365))):
        start = end - dt.timedelta(days=395)
        window = proposals[
            (proposals["submitted_on"] <= end - dt.timedelta(days=30))
            & (proposals["submitted_on"] >= start)
        ]
        days = (window["answered_on"] - window["submitted_on"]).dt.days
        quick = (days <= 30) & (window["answered_on"] <= end)
        out[f"answered_30_{label}"] = quick.sum() / len(window)
    yearly = (
        ngo.sort_values("period")
        .groupby(["region", "year"])
        .agg(active=("active_ngos", "last"), population=("population", "first"))
    )
    national = yearly.groupby("year").sum()
    out["ngos_per_10k"] = (national["active"] / national["population"] * 10_000).iloc[-1]
    answered = proposals["answered_on"].notna() | proposals["status"].isin(
        ["answered", "accepted", "implemented", "rejected"]
    )
    out["funnel"] = [
        len(proposals),
        int(answered.sum()),
        int(proposals["status"].isin(["accepted", "implemented"]).sum()),
        int((proposals["status"] == "implemented").sum()),
    ]
    return out


def check_equal(ours: dict[str, object], theirs: dict[str, object]) -> None:
    """The two implementations must give the same numbers (else the timing means nothing)."""
    trend = ours["trend"]
    pairs = {
        "institution:government": "trust_government",
        "composite_trust": "composite",
        "participation": "participation",
    }
    for variable, name in pairs.items():
        mine = trend.filter(pl.col("variable") == variable).sort("period_start")
        other = theirs[name]
        assert np.allclose(mine["estimate"].to_numpy(), other["estimate"].to_numpy())
        assert np.allclose(mine["se"].to_numpy(), other["se"].to_numpy(), rtol=1e-6)
        assert np.allclose(mine["change_se"].to_numpy()[1:], other["change_se"].to_numpy()[1:])
        assert np.allclose(mine["p_value"].to_numpy()[1:], other["p_value"].to_numpy()[1:])
    by_region = ours["by_region"].sort("region")
    assert np.allclose(by_region["se"].to_numpy(), theirs["by_region"]["se"].to_numpy())
    assert ours["moved"]["region"].to_list() == theirs["moved"].index.tolist()
    cards = {row["card"]: row for row in ours["cards"].iter_rows(named=True)}
    assert np.isclose(cards["answered_30"]["estimate"], theirs["answered_30_now"])
    assert np.isclose(cards["answered_30"]["previous"], theirs["answered_30_before"])
    assert np.isclose(cards["ngos_per_10k"]["estimate"], theirs["ngos_per_10k"])
    assert ours["funnel"]["count"].to_list() == theirs["funnel"]


def timed_pair(data: SimpleNamespace, frames: dict, repeat: int = 7) -> tuple[float, float, dict]:
    """Median seconds of the polars and the pandas path, run alternately so that load from
    other processes on this shared machine falls on both alike."""
    polars_overview(data), pandas_overview(frames)  # warm-up
    ours_t, theirs_t = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        ours = polars_overview(data)
        ours_t.append(time.perf_counter() - started)
        started = time.perf_counter()
        theirs = pandas_overview(frames)
        theirs_t.append(time.perf_counter() - started)
    check_equal(ours, theirs)
    return statistics.median(ours_t), statistics.median(theirs_t), ours


def pandas_frames(data: SimpleNamespace) -> dict[str, pd.DataFrame]:
    dates = {c: "datetime64[ns]" for c in ("submitted_on", "answered_on", "implemented_on")}
    return {
        "responses": data.responses.to_pandas(),
        "proposals": data.proposals.to_pandas().astype(dates),
        "ngo": data.ngo.to_pandas(),
    }


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    data = dataset(rows)
    own = data.responses.filter(pl.col("source") == SOURCE)
    print(
        f"responses: {rows:,} ({own.height:,} of {SOURCE} in {own['wave'].n_unique()} waves), "
        f"{data.proposals.height:,} proposals, {data.ngo.height} NGO rows; the whole Overview "
        f"(cards, trend per institution, map, regions moved, funnel), median of 7 runs:"
    )
    orders = {
        "rows in upload order": data.responses,
        "rows in stratum order": data.responses.sort("stratum", maintain_order=True),
    }
    for label, responses in orders.items():
        data.responses = responses
        polars_s, pandas_s, _ = timed_pair(data, pandas_frames(data))
        print(
            f"  {label}: polars (the app's path) {polars_s * 1000:,.0f} ms (target < 100), "
            f"plain pandas {pandas_s * 1000:,.0f} ms, speed-up {pandas_s / polars_s:,.1f}x "
            f"(target >= 5x; numbers checked equal)"
        )


if __name__ == "__main__":
    main()
