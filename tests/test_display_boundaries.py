"""The map's boundaries (issue 11, the browser's share): the shipped display file is what
queries.reference.simplify produces, small, valid, and neighbours still meet along their
borders (no gaps or overlaps a reader could see)."""

from __future__ import annotations

import itertools
import json

import pytest
from shapely import is_valid_reason
from shapely.geometry import shape
from shapely.ops import unary_union

from queries.reference.geo import boundaries
from queries.reference.regions import reference_regions
from queries.reference.simplify import DISPLAY, SOURCE, display_boundaries, main, serialise

MAX_BYTES = 300_000  # "a few hundred KB at most"
PIXEL_AREA = 1e-3  # square degrees, about one screen pixel at the map's zoom
# Pairs that share a long border (the cities inside their regions, and a few regions).
NEIGHBOURS = [
    ("KZ-75", "KZ-19"),  # Almaty city in Almaty Region
    ("KZ-71", "KZ-11"),  # Astana in Akmola
    ("KZ-79", "KZ-61"),  # Shymkent in Turkestan
    ("KZ-19", "KZ-33"),  # Almaty Region and Jetisu
    ("KZ-35", "KZ-62"),  # Karaganda and Ulytau
    ("KZ-15", "KZ-27"),  # Aktobe and West Kazakhstan
]


@pytest.fixture(scope="module")
def shipped() -> dict:
    return json.loads(DISPLAY.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def shapes(shipped: dict) -> dict:
    return {feature["id"]: shape(feature["geometry"]) for feature in shipped["features"]}


@pytest.fixture(scope="module")
def source_shapes() -> dict:
    by_kato = {str(k): c for k, c in reference_regions().select("kato", "code").iter_rows()}
    raw = json.loads(SOURCE.read_text(encoding="utf-8"))
    return {
        by_kato[str(f["properties"]["KATO"])[:2]]: shape(f["geometry"]) for f in raw["features"]
    }


@pytest.mark.slow  # the whole simplification runs again (a few seconds)
def test_shipped_file_is_what_the_simplification_produces(capsys):
    assert DISPLAY.read_text(encoding="utf-8") == serialise(display_boundaries())
    assert main(["--check"]) == 0
    assert "is current" in capsys.readouterr().out


def test_small_and_credited(shipped: dict):
    size = DISPLAY.stat().st_size
    assert size < MAX_BYTES
    assert size < SOURCE.stat().st_size / 5
    assert "geokz" in shipped["name"] and "CC BY 4.0" in shipped["name"]


def test_twenty_units_with_valid_polygons(shapes: dict):
    assert sorted(shapes) == sorted(reference_regions().get_column("code").to_list())
    for code, geometry in shapes.items():
        assert geometry.is_valid, (code, is_valid_reason(geometry))
        assert geometry.area > 0


def test_each_unit_keeps_its_shape(shapes: dict, source_shapes: dict):
    for code, geometry in shapes.items():
        source = source_shapes[code]
        changed = source.symmetric_difference(geometry).area / source.area
        assert changed < 0.08, (code, changed)  # cities are a few pixels: a few % is ~100 m


def test_neighbours_still_share_their_border(shapes: dict):
    for a, b in NEIGHBOURS:
        shared = shapes[a].boundary.intersection(shapes[b].boundary)
        assert shared.length > 0.3, (a, b, shared.length)  # a line, not a point or nothing
    for a, b in itertools.combinations(sorted(shapes), 2):
        overlap = shapes[a].intersection(shapes[b]).area
        assert overlap < PIXEL_AREA / 10, (a, b, overlap)


def test_no_gap_opens_between_units(shapes: dict):
    country = unary_union(list(shapes.values()))
    parts = getattr(country, "geoms", [country])
    holes = [hole for part in parts for hole in part.interiors]
    assert all(shape({"type": "Polygon", "coordinates": [h.coords]}).area < 1e-4 for h in holes)


def test_the_map_serves_the_display_geometry(shipped: dict):
    served = {feature["id"]: feature["geometry"] for feature in boundaries()["features"]}
    for feature in shipped["features"]:
        assert served[feature["id"]]["coordinates"] == feature["geometry"]["coordinates"]


def test_static_copies_for_the_browser_are_current():
    from dashboard.components.regionmap import STATIC_DIR, STATIC_FILES, main, static_text

    assert main(["--check"]) == 0
    for vintage, name in STATIC_FILES.items():
        served = json.loads((STATIC_DIR / name).read_text(encoding="utf-8"))
        assert served == json.loads(static_text(vintage))
        assert len(served["features"]) in {17, 20}
