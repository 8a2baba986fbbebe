"""Boundaries of the 20 units for the map (data/kz_adm1_display.geojson: geokz's ADM1 with
KATO codes, simplified once for display by queries.reference.simplify), keyed by our ISO
code; and the 17 units before the 2022 reform, each old unit the union of today's polygons
inside it."""

from __future__ import annotations

import json
from functools import cache

from queries.reference.reform import Vintage, old_unit
from queries.reference.regions import reference_regions
from queries.settings import DATA_DIR

# --- display boundaries (scale helper, issue 11): the file simplified once, topology kept
# (python -m queries.reference.simplify); nothing is thinned here, so neighbours still meet.
BOUNDARIES = DATA_DIR / "kz_adm1_display.geojson"
# --- end display boundaries


@cache
def boundaries() -> dict:
    """GeoJSON FeatureCollection whose feature ``id`` is the unit's ISO code (KZ-75...)."""
    with BOUNDARIES.open(encoding="utf-8") as handle:
        raw = json.load(handle)
    by_kato = {str(k): c for k, c in reference_regions().select("kato", "code").iter_rows()}
    features = []
    for feature in raw["features"]:
        code = by_kato.get(str(feature["properties"]["KATO"])[:2])
        if code is None:
            continue
        geometry = feature["geometry"]
        features.append(
            {
                "type": "Feature",
                "id": code,
                "properties": {"code": code},
                "geometry": {"type": geometry["type"], "coordinates": geometry["coordinates"]},
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _polygons(geometry: dict) -> list:
    """The polygons of a Polygon or MultiPolygon geometry (MultiPolygon coordinates)."""
    coords = geometry["coordinates"]
    return [coords] if geometry["type"] == "Polygon" else list(coords)


@cache
def old_boundaries() -> dict:
    """The 17 units before 8 June 2022, ``id`` = the code pre-reform data use (KZ-19 is Almaty
    Region with today's Jetisu). Union as a MultiPolygon of today's polygons: no geometry
    library is needed, and the shared border inside shows only as a thin line."""
    merged: dict[str, list] = {}
    for feature in boundaries()["features"]:
        merged.setdefault(old_unit(feature["id"]), []).extend(_polygons(feature["geometry"]))
    features = [
        {
            "type": "Feature",
            "id": code,
            "properties": {"code": code},
            "geometry": {"type": "MultiPolygon", "coordinates": polygons}
            if len(polygons) > 1
            else {"type": "Polygon", "coordinates": polygons[0]},
        }
        for code, polygons in merged.items()
    ]
    return {"type": "FeatureCollection", "features": features}


def boundaries_of(vintage: Vintage) -> dict:
    """The map's units for data of ``vintage``: 17 old ones before the reform, else 20."""
    return old_boundaries() if vintage is Vintage.BEFORE_2022 else boundaries()
