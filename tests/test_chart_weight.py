"""No chart heavier than it needs to be (issue 11, the browser's share): the house template
carries plotly_white's look for the trace types we draw, not its defaults for every other one,
and the map outside a served app still carries its geometry (AppTest, static export)."""

from __future__ import annotations

import json

import plotly.io as pio
import polars as pl

from dashboard.components.theme import house_layout, spec_figure


def test_the_template_keeps_the_look_and_drops_the_rest():
    white = pio.templates["plotly_white"].to_plotly_json()
    scatter = {"type": "scatter", "x": [1, 2], "y": [3, 4], "error_y": {"array": [0.1, 0.2]}}
    fig = spec_figure([scatter], house_layout())  # as every chart of the app is made
    template = fig.to_plotly_json()["layout"]["template"]
    assert template["layout"]["xaxis"] == white["layout"]["xaxis"]
    assert template["layout"]["plot_bgcolor"] == white["layout"]["plot_bgcolor"]
    assert template["data"]["scatter"] == white["data"]["scatter"]
    assert not {"scene", "polar", "ternary", "geo"} & set(template["layout"])
    assert not {"surface", "mesh3d", "parcoords"} & set(template["data"])
    assert len(json.dumps(template)) < len(json.dumps(white)) / 4


def test_outside_a_served_app_the_map_carries_its_geometry():
    from dashboard.components.regionmap import region_map

    frame = pl.DataFrame(
        {"region": ["KZ-75"], "estimate": [6.0], "ci_low": [5.5], "ci_high": [6.5], "n": [100],
         "suppressed": [False]}
    )  # fmt: skip
    fig = region_map(frame, value_title="t", title="t")
    assert isinstance(fig.data[0].geojson, dict)
    assert len(fig.data[0].geojson["features"]) == 20
