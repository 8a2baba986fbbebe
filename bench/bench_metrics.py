"""The Overview page's numbers on 1,000,000 responses, from memory: the polars path the app
uses, beside a plain pandas implementation of the same design-based estimates (checked equal).
Usage: python bench/bench_metrics.py [ROWS]"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import pandas as pd
import polars as pl

from queries.csvfile import read_table
from queries.demo.survey import generate_survey_frame
from queries.filters import Filters, apply_filters
from queries.metrics.overview import composite_by_region, headline_cards, survey_trend
from queries.validate import validate

SOURCE = "public_trust_council"


def responses_frame(rows: int) -> pl.DataFrame:
    """Demo respondents through the real reader and validator, shaped like Dataset.responses."""
    buffer = generate_survey_frame(rows, seed=11).write_csv().encode()
    clean = validate("survey", read_table(buffer, "bench.csv")).clean
    trust = [c for c in clean.columns if c.startswith("trust_")]
    return clean.rename({"region_code": "region"}).with_columns(
        pl.col(*trust, "state_listens", "response_satisfaction").cast(pl.Float64),
        stratum=pl.concat_str("source", "wave", "region", separator="|"),
    )


def polars_overview(responses: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """What the Overview computes on each run (survey side)."""
    own = apply_filters(responses, Filters()).filter(pl.col("source") == SOURCE)
    empty = pl.DataFrame()
    trend = survey_trend(own)
    cards = headline_cards(own, empty, empty, trend=trend)
    latest = own.sort("period_start").get_column("wave").last()
    by_region = composite_by_region(own.filter(pl.col("wave") == latest))
    return {"cards": cards, "trend": trend, "by_region": by_region}


def pandas_mean_se(df: pd.DataFrame, value: str, by: str) -> pd.DataFrame:
    """Ratio mean and Taylor-linearised stratified SE per ``by`` group, plainly in pandas.
    Missing answers stay in their stratum with a zero score (domain estimation, as R does)."""
    d = df[[by, "stratum", "weight", value]]
    answered = d[value].notna()
    d = d.assign(w=d["weight"].where(answered, 0.0), wy=(d["weight"] * d[value]).fillna(0.0))
    totals = d.groupby(by).agg(W=("w", "sum"), WY=("wy", "sum"), n=(value, "count"))
    totals["estimate"] = totals["WY"] / totals["W"]
    d = d.join(totals[["W", "estimate"]], on=by)
    d["z"] = (d["w"] * (d[value] - d["estimate"]) / d["W"]).fillna(0.0)
    per = d.groupby([by, "stratum"])["z"].agg(["size", "sum", "var"]).reset_index()
    per["contribution"] = np.where(per["size"] > 1, per["size"] * per["var"], 0.0)
    totals["se"] = np.sqrt(per.groupby(by)["contribution"].sum())
    return totals[["estimate", "se", "n"]]


def pandas_overview(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    own = df[df["source"] == SOURCE]
    trust = [c for c in own.columns if c.startswith("trust_")]
    own = own.assign(
        composite=own[trust].mean(axis=1),
        participation=own["participated_consultation"].astype("float"),
    )
    out = {}
    for name in (*trust, "composite", "state_listens", "participation"):
        out[name] = pandas_mean_se(own, name, "wave")
    latest = own.sort_values("period_start")["wave"].iloc[-1]
    out["by_region"] = pandas_mean_se(own[own["wave"] == latest], "composite", "region")
    return out


def timed(function, argument, repeat: int = 5) -> tuple[float, object]:
    function(argument)  # warm-up
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function(argument)
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    responses = responses_frame(rows)
    frame = responses.to_pandas()
    polars_s, ours = timed(polars_overview, responses)
    pandas_s, theirs = timed(pandas_overview, frame)
    check = ours["trend"].filter(pl.col("variable") == "institution:government")
    check = check.sort("period_start")
    mine = check.select("wave", "estimate", "se").to_pandas().set_index("wave")
    other = theirs["trust_government"].loc[mine.index]
    assert np.allclose(mine["estimate"], other["estimate"]), "pandas and polars disagree"
    assert np.allclose(mine["se"], other["se"], rtol=1e-6), "pandas and polars SEs disagree"
    print(
        f"responses: {rows:,} ({responses.get_column('wave').n_unique()} waves, "
        f"both sources); Overview survey metrics, median of 5 runs:"
    )
    print(f"  polars (the app's path): {polars_s * 1000:,.0f} ms")
    print(f"  plain pandas, same numbers: {pandas_s * 1000:,.0f} ms")
    print(f"  speed-up: {pandas_s / polars_s:,.1f}x (estimates and SEs checked equal)")


if __name__ == "__main__":
    main()
