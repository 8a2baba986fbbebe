"""Display boundaries: data/kz_adm1_2024.geojson (geokz, ~1 MB) simplified ONCE into a small
file the browser can fetch and cache (data/kz_adm1_display.geojson).

Topology-preserving: every ring is cut into arcs at the points where the set of units meeting
changes (TopoJSON's junctions); each arc is simplified once (Douglas-Peucker, endpoints kept)
and put back into every ring that uses it, so neighbours keep exactly the same shared line and
no gap or overlap opens between them. Islands and exclaves smaller than a few pixels are
dropped together with the hole they fill in the surrounding unit.

Regenerate (and check the shipped file is what this produces) with:
    python -m queries.reference.simplify [--check]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from shapely import LineString, STRtree, get_coordinates

from queries.reference.regions import reference_regions
from queries.settings import DATA_DIR

SOURCE = DATA_DIR / "kz_adm1_2024.geojson"
DISPLAY = DATA_DIR / "kz_adm1_display.geojson"
SNAP = 7  # decimals the source is snapped to before arcs are found (~1 cm): joins twin points
TOLERANCE = 0.01  # degrees a simplified line may stray (~1 km; a pixel is ~3 km at zoom 2.4)
DECIMALS = 3  # decimals written for simplified points (~100 m); junctions keep SNAP
MIN_ISLAND = 0.002  # square degrees (~15 km²): smaller islands/exclaves are not drawn

Point = tuple[float, float]


@dataclass(frozen=True)
class ArcRef:
    """One arc of a ring: its index in the shared arc list, and whether it runs backwards."""

    arc: int
    reverse: bool


def display_boundaries(*, source: Path = SOURCE, tolerance: float = TOLERANCE) -> dict:
    """The simplified FeatureCollection: one feature per unit, ``id`` = ISO code (KZ-75 ...)."""
    raw = json.loads(source.read_text(encoding="utf-8"))
    by_kato = {str(k): c for k, c in reference_regions().select("kato", "code").iter_rows()}
    units: list[tuple[str, str, list[list[list[Point]]]]] = []
    for feature in raw["features"]:
        kato = str(feature["properties"]["KATO"])
        code = by_kato.get(kato[:2])
        if code is None:
            continue
        geometry = feature["geometry"]
        polygons = geometry["coordinates"]
        if geometry["type"] == "Polygon":
            polygons = [polygons]
        parts = [
            [ring for ring in map(_ring, polygon) if len(set(ring)) >= 3] for polygon in polygons
        ]
        # A ring of fewer than three distinct points has no area; without its outer ring a
        # polygon's holes mean nothing either.
        parts = [
            rings
            for rings, polygon in zip(parts, polygons, strict=True)
            if rings and len(set(_ring(polygon[0]))) >= 3
        ]
        units.append((code, kato, parts))
    rings = [ring for _code, _kato, polygons in units for polygon in polygons for ring in polygon]
    topology = _Topology(rings)
    arcs = _simplify_without_crossings(topology.arcs(), tolerance)
    features = []
    for code, kato, polygons in sorted(units):
        parts = []
        for polygon in polygons:
            drawn = [_assemble(topology.refs(ring), arcs) for ring in polygon]
            if drawn[0] is None:  # the outer ring is too small to see: drop its holes too
                continue
            parts.append([ring for ring in drawn if ring is not None])
        features.append(
            {
                "type": "Feature",
                "id": code,
                "properties": {"code": code, "KATO": kato},
                "geometry": {"type": "MultiPolygon", "coordinates": parts},
            }
        )
    return {"type": "FeatureCollection", "name": _credit(raw), "features": features}


def serialise(collection: dict) -> str:
    """The file's exact text (compact, stable), so a regenerated file compares equal."""
    return json.dumps(collection, ensure_ascii=False, separators=(",", ":")) + "\n"


def _credit(raw: dict) -> str:
    # geokz is CC BY 4.0: the credit travels with the derived file.
    return f"{raw.get('name', 'geokz')}; simplified for display by queries.reference.simplify"


def _ring(coordinates: list) -> list[Point]:
    """A ring as snapped points, without the closing repeat and without consecutive twins."""
    points: list[Point] = []
    for x, y in coordinates:
        point = (round(x, SNAP), round(y, SNAP))
        if not points or points[-1] != point:
            points.append(point)
    if len(points) > 1 and points[0] == points[-1]:
        points.pop()
    return _without_spikes(points)


class _Topology:
    """Rings cut into shared arcs: an arc used by two units is stored once."""

    def __init__(self, rings: list[list[Point]]) -> None:
        neighbours: dict[Point, set[frozenset[Point]]] = defaultdict(set)
        for ring in rings:
            for i, point in enumerate(ring):
                neighbours[point].add(frozenset((ring[i - 1], ring[(i + 1) % len(ring)])))
        # A junction: a point where the line continues differently in different rings
        # (three units meet, or a shared border ends and a unit's own coast begins).
        self._junctions = {p for p, pairs in neighbours.items() if len(pairs) > 1}
        self._arcs: list[tuple[list[Point], bool]] = []
        self._index: dict[tuple[Point, ...], ArcRef] = {}
        self._refs: dict[int, list[ArcRef]] = {id(ring): self._cut(ring) for ring in rings}

    def arcs(self) -> list[tuple[list[Point], bool]]:
        """Each distinct arc's points and whether it is a closed ring of its own."""
        return self._arcs

    def refs(self, ring: list[Point]) -> list[ArcRef]:
        """The arcs that make up ``ring``, in order."""
        return self._refs[id(ring)]

    def _cut(self, ring: list[Point]) -> list[ArcRef]:
        cuts = [i for i, point in enumerate(ring) if point in self._junctions]
        if not cuts:  # no junction: the whole ring is one closed arc, from a canonical start
            start = min(range(len(ring)), key=ring.__getitem__)
            rotated = ring[start:] + ring[:start]
            return [self._add([*rotated, rotated[0]], closed=True)]
        rotated = ring[cuts[0] :] + ring[: cuts[0]]
        offsets = [c - cuts[0] for c in cuts] + [len(ring)]
        closed_ring = [*rotated, rotated[0]]
        return [
            self._add(closed_ring[a : b + 1], closed=False) for a, b in itertools.pairwise(offsets)
        ]

    def _add(self, points: list[Point], *, closed: bool) -> ArcRef:
        key = tuple(points)
        if key in self._index:
            return self._index[key]
        # Reversed, a closed arc still starts on its canonical (smallest) point.
        backwards = tuple(reversed(points))
        if backwards in self._index:
            ref = self._index[backwards]
            return ArcRef(ref.arc, not ref.reverse)
        ref = ArcRef(len(self._arcs), False)
        self._arcs.append((points, closed))
        self._index[key] = ref
        return ref


def _simplify_without_crossings(
    arcs: list[tuple[list[Point], bool]], tolerance: float
) -> list[list[Point] | None]:
    """Every arc simplified; where a simplified arc meets another away from their shared
    ends, the original points nearest the meeting are kept too, and an arc that crosses
    itself gets half the tolerance (down to its original points): every ring stays valid."""
    tolerances = [tolerance] * len(arcs)
    forced: list[set[int]] = [set() for _ in arcs]
    simplified = [_simplify_arc(arc, tolerance, closed) for arc, closed in arcs]
    # Arcs back at their original points (tolerance 0) are as the valid source drew them.
    while crossing := {
        i: where for i, where in _crossing_arcs(simplified).items() if tolerances[i] > 0
    }:
        for i, where in crossing.items():
            original = np.asarray(arcs[i][0], dtype=float)
            nearest = {
                int(j)
                for point in where
                for j in np.argsort(((original - point) ** 2).sum(axis=1))[:2]
            }
            if where and not nearest <= forced[i]:
                forced[i] |= nearest
            else:
                tolerances[i] = tolerances[i] / 2 if tolerances[i] > tolerance / 64 else 0.0
            simplified[i] = _simplify_arc(
                arcs[i][0], tolerances[i], arcs[i][1], forced=frozenset(forced[i])
            )
    return simplified


def _crossing_arcs(arcs: list[list[Point] | None]) -> dict[int, list[Point]]:
    """Arcs that cross themselves (no points given) or meet another arc anywhere but at a
    shared end (the meeting points)."""
    index = [i for i, arc in enumerate(arcs) if arc is not None and len(arc) > 1]
    lines = [LineString(arcs[i]) for i in index]
    bad: dict[int, list[Point]] = {
        i: [] for i, line in zip(index, lines, strict=True) if not line.is_simple
    }
    left, right = STRtree(lines).query(lines, predicate="intersects")
    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        if a >= b:
            continue
        first, second = arcs[index[a]], arcs[index[b]]
        ends = {first[0], first[-1]} & {second[0], second[-1]}
        meeting = lines[a].intersection(lines[b])
        points = [tuple(p) for p in get_coordinates(meeting).tolist()]
        stray = [p for p in points if p not in ends]
        if meeting.geom_type not in {"Point", "MultiPoint"} or stray:
            for arc in (index[a], index[b]):
                bad.setdefault(arc, []).extend(stray or points)
    return bad


def _simplify_arc(
    points: list[Point], tolerance: float, closed: bool, *, forced: frozenset[int] = frozenset()
) -> list[Point] | None:
    """Douglas-Peucker keeping both ends and the ``forced`` points; a loop is also cut at its
    farthest point so it keeps at least a triangle; a closed arc enclosing less than
    MIN_ISLAND is dropped (None)."""
    array = np.asarray(points, dtype=float)
    if tolerance == 0:
        return points
    if closed and abs(_area(array)) < MIN_ISLAND:
        return None
    anchors = {0, len(array) - 1} | forced
    loop = points[0] == points[-1]  # a ring with one junction, or none
    if loop:
        far = int(np.argmax(((array - array[0]) ** 2).sum(axis=1)))
        anchors.add(far)
    keep = _keep(array, tolerance, sorted(anchors))
    if loop and keep.sum() < 4:  # a triangle needs 3 corners + the closing point
        # the point farthest from the line through the two kept corners
        keep[1 + int(np.argmax(_distances(array, 0, len(array) - 1, chord_to=far)))] = True
    # Inner points rounded; the ends stay exact, so every arc meeting there still meets.
    inner = np.round(array[keep][1:-1], DECIMALS).tolist()
    out: list[Point] = [points[0]]
    for x, y in [*inner, points[-1]]:
        if out[-1] != (x, y):
            out.append((x, y))
    return out


def _keep(array: np.ndarray, tolerance: float, anchors: list[int]) -> np.ndarray:
    """Which points Douglas-Peucker keeps between consecutive anchors (iterative, so long
    arcs do not recurse deeply)."""
    keep = np.zeros(len(array), dtype=bool)
    keep[anchors] = True
    stack = list(itertools.pairwise(anchors))
    while stack:
        first, last = stack.pop()
        if last - first < 2:
            continue
        distances = _distances(array, first, last)
        worst = int(np.argmax(distances))
        if distances[worst] > tolerance:
            middle = first + 1 + worst
            keep[middle] = True
            stack += [(first, middle), (middle, last)]
    return keep


def _distances(
    array: np.ndarray, first: int, last: int, *, chord_to: int | None = None
) -> np.ndarray:
    """Distances of the points strictly between ``first`` and ``last`` to the chord from
    ``first`` to ``last`` (or to ``chord_to``)."""
    inner = array[first + 1 : last]
    start, end = array[first], array[last if chord_to is None else chord_to]
    chord = end - start
    length = float(np.hypot(*chord))
    if length == 0:  # a closed stretch: distance to the point itself
        return np.hypot(*(inner - start).T)
    return np.abs(chord[0] * (inner[:, 1] - start[1]) - chord[1] * (inner[:, 0] - start[0])) / (
        length
    )


def _area(array: np.ndarray) -> float:
    x, y = array[:, 0], array[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def _assemble(refs: list[ArcRef], arcs: list[list[Point] | None]) -> list[list[float]] | None:
    """A closed GeoJSON ring from its simplified arcs (None when dropped or collapsed)."""
    points: list[Point] = []
    for ref in refs:
        arc = arcs[ref.arc]
        if arc is None:
            return None
        arc = arc[::-1] if ref.reverse else arc
        points.extend(arc if not points else arc[1:])
    ring = _without_spikes(points[:-1])
    # Collapsed to a line, or a sliver of a few metres (two holes sharing an edge are
    # invalid): not drawn; what it leaves is far below a pixel.
    if len(set(ring)) < 3 or abs(_area(np.asarray(ring))) < MIN_ISLAND / 100:
        return None
    return [list(p) for p in [*ring, ring[0]]]


def _without_spikes(ring: list[Point]) -> list[Point]:
    """An open ring without back-and-forth spikes (a, b, a -> a) and repeated points: the
    source has a few and rounding can make more; either makes a ring invalid."""
    ring = list(ring)
    changed = True
    while changed and len(ring) >= 3:
        changed = False
        for i in range(len(ring)):
            if ring[i - 1] == ring[(i + 1) % len(ring)] or ring[i] == ring[i - 1]:
                del ring[i]
                changed = True
                break
    return ring


def main(argv: list[str] | None = None) -> int:
    """Write the display file, or with --check exit 1 when the shipped one is not current."""
    parser = argparse.ArgumentParser(prog="python -m queries.reference.simplify")
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    text = serialise(display_boundaries())
    if args.check:
        current = DISPLAY.read_text(encoding="utf-8") if DISPLAY.exists() else ""
        if current != text:
            print(f"{DISPLAY} is not what the simplification produces: regenerate it")
            return 1
        print(f"{DISPLAY} is current ({len(text.encode()):,} bytes)")
        return 0
    DISPLAY.write_text(text, encoding="utf-8")
    print(f"wrote {DISPLAY} ({len(text.encode()):,} bytes, from {SOURCE.stat().st_size:,})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
