"""Boundaries of the 20 units for the map (data/kz_adm1_2024.geojson, geoBoundaries-style
ADM1 with KATO codes), keyed by our ISO code and lightened for the browser."""

from __future__ import annotations

import json
from functools import cache

from queries.reference.regions import reference_regions
from queries.settings import DATA_DIR

BOUNDARIES = DATA_DIR / "kz_adm1_2024.geojson"
DECIMALS = 2  # ~1 km: plenty for a national map, and small enough to send on every rerun
STEP = 0.04  # degrees between kept boundary points (~3-4 km)


def _round(coords):
    if isinstance(coords[0], (int, float)):
        return [round(coords[0], DECIMALS), round(coords[1], DECIMALS)]
    rounded = [_round(c) for c in coords]
    if rounded and isinstance(rounded[0][0], float):  # a ring: keep points ~3 km apart
        ring = [rounded[0]]
        for point in rounded[1:-1]:
            if abs(point[0] - ring[-1][0]) + abs(point[1] - ring[-1][1]) >= STEP:
                ring.append(point)
        ring.append(rounded[-1])
        return ring if len(ring) >= 4 else rounded
    return rounded


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
                "geometry": {
                    "type": geometry["type"],
                    "coordinates": _round(geometry["coordinates"]),
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}
