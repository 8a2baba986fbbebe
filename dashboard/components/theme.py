"""Colours and chart styling, in one place so every chart agrees (Okabe-Ito: colour-blind safe)."""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio

from dashboard.i18n import language

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
INSTITUTION_COLOURS = {
    "composite": "#000000",
    "government": "#0072B2",
    "parliament": "#E69F00",
    "akimat": "#009E73",
    "courts": "#D55E00",
    "police": "#CC79A7",
    "ngos": "#56B4E9",
    "media": "#999933",
}
SOURCE_COLOURS = {
    "public_trust_council": "#0072B2",
    "kurultai": "#E69F00",
    "eotinish": "#009E73",
    "other": "#999999",
}
SIGNIFICANT_UP, SIGNIFICANT_DOWN, NEUTRAL = "#009E73", "#D55E00", "#777777"
MONEY_COLOUR = "#009E73"  # grants, tenge
# Light-to-dark blue that never reaches white, so a low region still stands out from the page.
TRUST_SCALE = [[0.0, "#c6dbef"], [0.5, "#4292c6"], [1.0, "#08306b"]]
FONT = "Noto Sans, Segoe UI, Arial, sans-serif"


def institution_colour(institution: str) -> str:
    """A stable colour per institution; unknown ones get one from the palette by name."""
    if institution in INSTITUTION_COLOURS:
        return INSTITUTION_COLOURS[institution]
    return OKABE_ITO[sum(map(ord, institution)) % len(OKABE_ITO)]


def rgba(hex_colour: str, alpha: float) -> str:
    """A hex colour with transparency (for CI bands)."""
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


# --- slim template (scale helper, issue 11): plotly_white is embedded whole in every chart's
# JSON (~7 KB, mostly defaults for 3D, polar, ternary and trace types we never draw), and sent
# again on every rerun; this keeps exactly what our trace types and 2D axes read from it.
_DRAWN = {"scatter", "bar", "funnel", "histogram", "choroplethmap", "scattermap"}
_UNUSED_LAYOUT = {"polar", "ternary", "scene", "geo", "colorscale"}


def _slim_white() -> go.layout.Template:
    full = pio.templates["plotly_white"].to_plotly_json()
    return go.layout.Template(
        layout={k: v for k, v in full["layout"].items() if k not in _UNUSED_LAYOUT},
        data={k: v for k, v in full["data"].items() if k in _DRAWN},
    )


WHITE = _slim_white()
# --- end slim template


# --- figures as plain specs (scale helper, issue 11): plotly's validation of a go.Figure built
# trace by trace and update by update was most of a rerun's server time (a Regions rerun built
# seven figures in ~180 ms); a figure written as data in the form validation would give it
# (titles as {"text": ...}, no None values), wrapped once without validation, costs ~2 ms.
WHITE_SPEC = WHITE.to_plotly_json()


def house_layout(*, height: int = 380, title: str | None = None) -> dict:
    """The house style as layout data: white (plotly_white, slimmed), quiet grid, legend under
    the plot, readable fonts (the JSON ``update_layout`` with these settings would send)."""
    layout = {
        "template": WHITE_SPEC,
        "height": height,
        "font": {"family": FONT, "size": 13},
        "margin": {"l": 10, "r": 10, "t": 50 if title else 20, "b": 40},
        "legend": {"orientation": "h", "yanchor": "top", "y": -0.32, "x": 0, "title": {}},
        "hoverlabel": {"font": {"family": FONT}},
        "separators": separators(),
    }
    # no title: an empty one, as validation leaves a None title
    layout["title"] = {"text": title, "x": 0, "font": {"size": 16}} if title else {}
    return layout


def merged(base: dict, extra: dict) -> dict:
    """``base`` updated by ``extra`` as ``update_layout`` does (nested dicts merged, not replaced);
    neither input is changed."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


class SpecFigure(go.Figure):
    """A figure whose spec is already in validated form. ``st.plotly_chart`` asks a figure
    only for ``to_dict()``, which here hands the spec over as it is: building plotly's trace
    objects and deep-copying them back into a dict was a third of an Overview rerun's server
    time (issue 11). Anything else a ``go.Figure`` offers (``.layout``, ``.data``, updates)
    builds the figure, unvalidated, on first use. test_chart_specs.py checks that validating
    the spec changes nothing."""

    def __init__(self, spec: dict) -> None:  # plotly's own init runs on demand
        object.__setattr__(self, "_senim_spec", spec)
        object.__setattr__(self, "_senim_built", False)

    def __getattr__(self, name: str):
        # only for names the instance does not have yet: plotly's own state, built now
        if name.startswith("_senim") or object.__getattribute__(self, "_senim_built"):
            raise AttributeError(name)
        object.__setattr__(self, "_senim_built", True)
        go.Figure.__init__(self, self._senim_spec, _validate=False)
        return getattr(self, name)

    def to_dict(self) -> dict:
        if self._senim_built:  # it may have been changed through plotly's API since
            return super().to_dict()
        spec = self._senim_spec
        return {"data": spec["data"], "layout": spec["layout"]}


def spec_figure(data: list[dict], layout: dict) -> go.Figure:
    """A figure from specs already in validated form, without validating them again."""
    return SpecFigure({"data": data, "layout": layout})


# --- end figures as plain specs


def separators(lang: str | None = None) -> str:
    """Plotly's decimal and thousands marks, as fmt_number writes them (kk/ru: 12 345,6)."""
    return ".," if (lang or language()) == "en" else ",\u00a0"


CHART_CONFIG = {
    "displaylogo": False,
    "toImageButtonOptions": {"format": "png", "scale": 2, "filename": "senim-chart"},
    "modeBarButtonsToRemove": ["lasso2d", "select2d"],
}
