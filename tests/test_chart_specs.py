"""Charts written as plain specs (issue 11: plotly's validation was most of a rerun's server
time) are exactly what validation would make of them: validating a chart again changes nothing
in the JSON sent to the browser, in every branch (suppressed dots, empty plots, the reform line,
both map vintages, house style with and without a title)."""

from __future__ import annotations

import json

import plotly.graph_objects as go
import polars as pl
import pytest

from dashboard.components.charts import (
    bar_ci,
    bar_values,
    coefficient_plot,
    funnel_chart,
    histogram,
    scatter_fit,
    trend_chart,
)
from dashboard.components.regionmap import region_map
from dashboard.components.theme import FONT, WHITE, house_layout, separators, spec_figure

TREND_SCHEMA = {"wave": pl.String, "period_start": pl.String, "variable": pl.String,
                "estimate": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64,
                "n": pl.Int64}  # fmt: skip
TREND = pl.DataFrame(
    {
        "wave": ["2021-Q2", "2023-Q2", "2021-Q2", "2023-Q2"],
        "period_start": ["2021-04-01", "2023-04-01"] * 2,
        "variable": ["police", "police", "courts", "courts"],
        "estimate": [5.1, 5.4, None, 4.2],
        "ci_low": [4.8, 5.0, None, 3.9],
        "ci_high": [5.4, 5.8, None, 4.5],
        "n": [120, 130, 3, 90],
    },
    schema=TREND_SCHEMA,
)
UNITS = pl.DataFrame(
    {
        "region": ["KZ-75", "KZ-11", "KZ-71", "KZ-15"],
        "estimate": [6.1, None, 5.2, 4.9],
        "ci_low": [5.8, None, 4.9, 4.4],
        "ci_high": [6.4, None, 5.5, 5.4],
        "n": [300, 4, 250, 180],
        "suppressed": [False, True, False, False],
        "group": ["above", None, "same", "below"],
    }
)
TREND_ARGS = {"series": "variable", "label": str.upper, "colour": lambda _: "#0072B2",
              "y_title": "trust", "title": "Trend"}  # fmt: skip
BAR_ARGS = {"category": "region", "label": str.lower, "x_title": "trust"}


def _json(fig: go.Figure) -> dict:
    return json.loads(fig.to_json())


def _pruned(value):
    """Without empty objects (``"title": {}``, which validating a dict drops and a chart
    built by ``update_layout`` keeps; plotly.js reads both alike)."""
    if isinstance(value, dict):
        return {k: _pruned(v) for k, v in value.items() if v != {}}
    if isinstance(value, list):
        return [_pruned(v) for v in value]
    return value


CHARTS = {
    "trend": lambda: trend_chart(TREND, **TREND_ARGS),
    "trend_reform_percent": lambda: trend_chart(
        TREND, reform_break=True, percent=True, **TREND_ARGS
    ),
    "trend_empty": lambda: trend_chart(TREND.clear(), **TREND_ARGS),
    "bar_hidden_coloured": lambda: bar_ci(
        UNITS, title="By region", **BAR_ARGS, colours={"above": "#000000"}
    ),
    "bar_untitled_ordered": lambda: bar_ci(
        UNITS, title="", order=["KZ-71", "KZ-75"], height=260, percent=True, **BAR_ARGS
    ),
    "bar_all_hidden": lambda: bar_ci(UNITS.with_columns(suppressed=True), title="x", **BAR_ARGS),
    "funnel": lambda: funnel_chart(
        pl.DataFrame({"stage": ["received", "answered"], "count": [10, 4]}), title="Funnel"
    ),
    "bar_values": lambda: bar_values(
        UNITS, category="region", value="n", label=str, title="Count", x_title="n"
    ),
    "scatter_fit": lambda: scatter_fit(
        UNITS.drop_nulls().select(
            "region", x="n", y="estimate", y_low="ci_low", y_high="ci_high", fitted="estimate"
        ),
        title="Fit",
        x_title="x",
        y_title="y",
    ),
    "coefficients": lambda: coefficient_plot(
        UNITS.drop_nulls().select(
            "estimate", "ci_low", "ci_high", key="region", significant=pl.col("n") > 200
        ),
        label=str,
        title="Terms",
        x_title="change",
    ),
    "histogram_target": lambda: histogram(
        pl.DataFrame({"days": [1, 4, 45], "n": [2, 1, 1]}), title="Days", x_title="d", cutoff=30
    ),
    "histogram_empty": lambda: histogram(
        pl.DataFrame(schema={"days": pl.Int64, "n": pl.Int64}), title="", x_title="d"
    ),
    "map": lambda: region_map(UNITS, value_title="trust", title="Map"),
    "map_before_reform": lambda: region_map(UNITS, value_title="t", title="", wave="2021-Q2"),
}


@pytest.mark.parametrize("name", CHARTS)
def test_a_spec_chart_is_already_in_validated_form(name):
    fig = CHARTS[name]()
    validated = go.Figure(fig.to_dict())  # raises on a property plotly does not know
    assert _pruned(_json(validated)) == _pruned(_json(fig))  # and changes nothing


def _styled(fig: go.Figure, *, height: int, title: str | None) -> go.Figure:
    """The house style through plotly's validating ``update_layout`` (the oracle)."""
    return fig.update_layout(
        template=WHITE,
        height=height,
        title={"text": title, "x": 0, "font": {"size": 16}} if title else None,
        font={"family": FONT, "size": 13},
        margin={"l": 10, "r": 10, "t": 50 if title else 20, "b": 40},
        legend={"orientation": "h", "yanchor": "top", "y": -0.32, "x": 0, "title": None},
        hoverlabel={"font": {"family": FONT}},
        separators=separators(),
    )


@pytest.mark.parametrize("title", ["A title", None])
def test_the_house_layout_is_style_as_data(title):
    spec = spec_figure([], house_layout(title=title, height=300))
    assert _json(spec) == _json(_styled(go.Figure(), title=title, height=300))  # byte for byte


def test_a_spec_figure_changed_through_plotly_sends_the_change():
    """``spec_figure`` hands its spec to Streamlit as it is, unless plotly's API changed it."""
    spec = house_layout(title="A", height=300)
    fig = spec_figure([{"type": "bar", "x": ["a"], "y": [1]}], spec)
    assert fig.to_dict()["layout"] is spec  # as written: no copy, no plotly objects
    fig.update_layout(height=123)
    assert fig.to_dict()["layout"]["height"] == 123
    assert json.loads(fig.to_json())["layout"]["height"] == 123
    assert fig.data[0].x == ("a",)
