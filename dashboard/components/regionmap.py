"""The map of the 20 regions and cities, drawn fully offline (``choropleth_map`` on a white
background: no tiles to download), suppressed regions grey, the three cities as dots because
they are specks at country scale.

The geometry travels once per browser, not with every redraw: when Streamlit serves static
files (``server.enableStaticServing``, see .streamlit/config.toml) the traces name the URL of a
copy in dashboard/static/ (plotly.js fetches it once per page and the browser caches it; the
``?v=`` digest changes when the file does), so a rerun sends a few hundred bytes of map instead
of the polygons. The copies are written, or checked, by
``python -m dashboard.components.regionmap [--check]`` after
``python -m queries.reference.simplify``."""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import textwrap
from functools import cache, lru_cache
from pathlib import Path

import plotly.graph_objects as go
import polars as pl
import streamlit as st
from streamlit import runtime

from dashboard.components.theme import TRUST_SCALE, house_layout, merged, spec_figure
from dashboard.i18n import fmt_number, region_name, t
from queries.reference.geo import boundaries, boundaries_of
from queries.reference.reform import Vintage, vintage_of
from queries.reference.regions import reference_regions

NO_DATA = "#dddddd"  # regions with too few responses
STATIC_DIR = Path(__file__).resolve().parents[1] / "static"  # served at app/static/
STATIC_FILES = {
    Vintage.SINCE_2022: "kz_adm1_display.geojson",
    Vintage.BEFORE_2022: "kz_adm1_display_pre2022.geojson",
}


def region_map(
    frame: pl.DataFrame, *, value_title: str, title: str, wave: str | None = None
) -> go.Figure:
    """The units coloured by ``estimate`` (suppressed ones grey), offline base map: today's 20,
    or the 17 old units when ``wave`` lies before the 2022 reform (region-reform). Built as
    plain specs (see theme.spec_figure): validating it cost ~60 ms a rerun."""
    vintage = _vintage(wave)
    geojson = map_geometry(vintage)
    # twenty rows: out of polars once, then plain Python (issue 11)
    rows = frame.select(*_COLUMNS).rows()
    shown = [row for row in rows if _drawn(row)]
    codes = [feature["id"] for feature in boundaries_of(vintage)["features"]]
    base = {
        "type": "choroplethmap",
        "geojson": geojson,
        "locations": codes,
        "z": [0] * len(codes),
        "showscale": False,
        "colorscale": [[0, NO_DATA], [1, NO_DATA]],
        "marker": {"line": {"width": 0.6, "color": "white"}},
        "hoverinfo": "skip",
    }
    values = {
        "type": "choroplethmap",
        "geojson": geojson,
        "locations": [row[0] for row in shown],
        "z": [row[1] for row in shown],
        "coloraxis": "coloraxis",
        "marker": {"line": {"width": 0.6, "color": "white"}},
        "text": [region_name(row[0]) for row in shown],
        "customdata": [row[2:5] for row in shown],
        "hovertemplate": (
            f"<b>%{{text}}</b><br>%{{z:.2f}} ({t('charts.ci')} "
            f"%{{customdata[0]:.2f}}–%{{customdata[1]:.2f}})<br>n = %{{customdata[2]}}"
            "<extra></extra>"
        ),
    }
    notes = [*textwrap.wrap(t("charts.map_grey"), 34), t("charts.map_credit")]
    if vintage is Vintage.BEFORE_2022:  # region-reform
        notes = [*textwrap.wrap(t("reform.old_map_note"), 34), *notes]
    note = {
        "text": "<br>".join(notes),
        "xref": "paper",
        "yref": "paper",
        "x": 1,
        "y": -0.02,
        "showarrow": False,
        "font": {"size": 10, "color": "#666"},
        "xanchor": "right",
        "yanchor": "top",
        "align": "right",
    }
    layout = merged(
        house_layout(title=title, height=440),
        {
            "map": {"style": "white-bg", "center": {"lat": 48.2, "lon": 67.3}, "zoom": 2.4},
            "coloraxis": {
                "colorscale": TRUST_SCALE,
                # Under the map, not beside it: in a narrow column the country keeps the width.
                "colorbar": {
                    "title": {"text": value_title, "side": "top"},
                    "orientation": "h",
                    "thickness": 10,
                    "len": 0.45,
                    "x": 0,
                    "xanchor": "left",
                    "y": -0.02,
                    "yanchor": "top",
                },
            },
            "margin": {"b": 70},
            "annotations": [note],
        },
    )
    return spec_figure([base, values, *_city_markers(rows)], layout)


_COLUMNS = ("region", "estimate", "ci_low", "ci_high", "n", "suppressed")  # the rows' layout


def _drawn(row: tuple) -> bool:
    """A region with a shown estimate (not suppressed, not missing): coloured, not grey."""
    return row[5] is False and row[1] is not None


@lru_cache(maxsize=256)
def _vintage(wave: str | None) -> Vintage:
    """The boundaries ``wave`` is drawn on: parsed once per label (issue 11: a polars pass per
    redraw, slow on a busy machine), today's when the label is not a period."""
    return (vintage_of(wave) if wave else None) or Vintage.SINCE_2022


@cache
def _city_centres() -> dict[str, tuple[float, float]]:
    """Rough centres (lon, lat) of the three cities, which are specks at country scale."""
    cities = set(reference_regions().filter(pl.col("kind") == "city").get_column("code"))
    centres = {}
    for feature in boundaries()["features"]:
        if feature["id"] in cities:
            points = _points(feature["geometry"]["coordinates"])
            centres[feature["id"]] = (
                sum(p[0] for p in points) / len(points),
                sum(p[1] for p in points) / len(points),
            )
    return centres


def _points(coords) -> list:
    if isinstance(coords[0], (int, float)):
        return [coords]
    return [point for part in coords for point in _points(part)]


def _city_markers(rows: list[tuple]) -> list[dict]:
    """A dot on each city, in the map's colours (grey when suppressed), so it can be seen.
    ``rows``: the map's rows laid out as ``_COLUMNS``."""
    centres = _city_centres()
    cities = [row for row in rows if row[0] in centres]
    hidden = [row for row in cities if row[5] is True or row[1] is None]
    seen = [row for row in cities if _drawn(row)]
    traces = []
    for part, colour in ((hidden, NO_DATA), (seen, None)):
        if not part:
            continue
        codes = [row[0] for row in part]
        lon = [centres[c][0] for c in codes]
        lat = [centres[c][1] for c in codes]
        ring = {"size": 15, "color": "white"}
        traces.append({"type": "scattermap", "lon": lon, "lat": lat, "mode": "markers",
                       "marker": ring, "hoverinfo": "skip", "showlegend": False})  # fmt: skip
        values = [row[1] for row in part]
        marker = (
            {"size": 11, "color": colour}
            if colour
            else {"size": 11, "color": values, "coloraxis": "coloraxis"}
        )
        traces.append(
            {
                "type": "scattermap",
                "lon": lon,
                "lat": lat,
                "mode": "markers",
                "marker": marker,
                "text": [
                    f"<b>{region_name(c)}</b><br>"
                    + (fmt_number(v, 2) if colour is None else t("common.too_few"))
                    for c, v in zip(codes, values, strict=True)
                ],
                "hovertemplate": "%{text}<extra></extra>",
                "showlegend": False,
            }
        )
    return traces


def map_geometry(vintage: Vintage) -> dict | str:
    """What the map's traces get as ``geojson``: the static copy's URL when this app serves
    static files (fetched once, cached by the browser), else the GeoJSON itself."""
    url = _static_url(vintage)
    serving = runtime.exists() and bool(st.get_option("server.enableStaticServing"))
    return url if url is not None and serving else boundaries_of(vintage)


def load_geometry() -> None:
    """Read both vintages' boundaries and the cities' centres now (cached for the process), so
    they are part of the long-lived heap (``dashboard.heap``) rather than loaded by a later run."""
    for vintage in Vintage:
        boundaries_of(vintage)
    _city_centres()


PRELOAD_KEY = "senim_map_preload"


def preload_map() -> None:
    """An empty map drawn off screen, for the sign-in page: while the user types, the browser
    loads the chart code (a 4.7 MB script) and fetches the boundary file, so the Overview right
    after signing in draws sooner. Nothing when the geometry would come inline anyway."""
    geojson = map_geometry(Vintage.SINCE_2022)
    if not isinstance(geojson, str):
        return
    # Off screen but laid out (display:none would leave the chart unrendered and unfetched).
    st.html(f"<style>.st-key-{PRELOAD_KEY}{{position:fixed;left:-10000px;top:0;width:400px}}"
            "</style>")  # fmt: skip
    fig = go.Figure(go.Choroplethmap(geojson=geojson, locations=[], z=[], showscale=False))
    fig.update_layout(map={"style": "white-bg"}, height=100, margin=dict.fromkeys("lrtb", 0))
    with st.container(key=PRELOAD_KEY):
        st.plotly_chart(fig, key="map_preload", config={"staticPlot": True})


@cache
def _static_url(vintage: Vintage) -> str | None:
    path = STATIC_DIR / STATIC_FILES[vintage]
    if not path.exists():
        return None
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    # Relative: resolves under the page's base URL, also behind a proxy's path prefix.
    return f"app/static/{path.name}?v={digest}"


def static_text(vintage: Vintage) -> str:
    """The exact text of a static copy: the GeoJSON the map would otherwise send inline."""
    return json.dumps(boundaries_of(vintage), ensure_ascii=False, separators=(",", ":")) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the static copies, or with --check exit 1 when one is missing or stale."""
    parser = argparse.ArgumentParser(prog="python -m dashboard.components.regionmap")
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    stale = []
    for vintage, name in STATIC_FILES.items():
        path, text = STATIC_DIR / name, static_text(vintage)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
            continue
        STATIC_DIR.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path} ({len(text.encode()):,} bytes)")
    if stale:
        print(f"stale in {STATIC_DIR}: {', '.join(stale)}: run python -m {__spec__.name}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
