"""simulator/outputs/charts/: every memo chart, in Chinese and English, as a 200 dpi PNG and an SVG with glyphs
as paths; no warnings (a missing CJK glyph is a UserWarning); reruns byte-identical; bad input
(a missing column, an unknown language) is refused before anything is written."""

from __future__ import annotations

import os
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from simulator.outputs.charts import style
from simulator.outputs.charts.compare import comparison_chart, frontier_chart
from simulator.outputs.charts.scenario import county_chart, gap_chart, land_chart, services_chart, urbanization_chart
from simulator.outputs.charts.style import cjk_font_path
from simulator.outputs.charts.sweep import fan_chart, indices_chart
from simulator.outputs.labels import LANGS

SVG = "{http://www.w3.org/2000/svg}"
SERVICES = ("school_adequacy", "hospital_adequacy", "affordable_housing_adequacy", "sewage_adequacy")
#: GB 50137-2011's band of planned urban construction land per person (the model's bounds of
#: planned_land_per_person); read from the model in the fixture, these are only for the check
GB_50137 = (65.0, 115.0)


@pytest.fixture(scope="module")
def base():
    """One baseline run: its column table, county labels, targets, and two levers' labels."""
    from simulator.analysis.results import timeseries_columns
    from simulator.api import load
    from simulator.engine.compile import compile_model
    from simulator.engine.integrate import simulate

    sc = load()
    frame = timeseries_columns(simulate(compile_model(sc.spec), sc.params))
    planned = sc.spec.constants["planned_land_per_person"]
    return {
        "frame": frame,
        "counties": dict(sc.spec.dimensions["county"].labels),
        "targets": list(sc.targets),
        "band": tuple(planned.bounds),
        "planned": float(planned.value),
        "levers": {n: sc.spec.constants[n].label for n in ("hukou_openness", "central_city_pull")},
    }


def _urbanization(b, path, lang):
    return urbanization_chart(b["frame"], b["targets"], path, title="平凉市城镇化率 — 基准情景",
                              source_line="情景/scenario baseline · sha256 0123456789ab", lang=lang,
                              comparator=(b["frame"]["time"], b["frame"]["urbanization_rate"] * 1.02))


def _comparison(b, path, lang):
    years, rate = list(b["frame"]["time"]), list(b["frame"]["urbanization_rate"])
    rates = {"baseline": (years, rate), "push": (years, [min(1.0, 1.05 * r) for r in rate])}
    labels = {"baseline": {"zh": "基准情景"}.get(lang, "Baseline"),
              "push": {"zh": "服务补短板"}.get(lang, "Services push")}
    goals = [(t.year, t.value) for t in b["targets"]]
    return comparison_chart(rates, labels, goals, path, title="情景比较", source_line="s", lang=lang)


def _frontier(b, path, lang):
    end = float(b["frame"]["urbanization_rate"][-1])
    values = [[end + 0.02 * (i + j) for j in range(3)] for i in range(3)]
    lab = {n: getattr(v, lang, n) for n, v in b["levers"].items()}
    return frontier_chart([0.5, 0.75, 1.0], [1.0, 2.0, 3.0], values, end + 0.05, path,
                          label_a=lab["hukou_openness"], label_b=lab["central_city_pull"],
                          title="2035年常住人口城镇化率", source_line="s", marker=(0.9, 1.0), lang=lang)


def _fan(b, path, lang):
    rate = np.asarray(b["frame"]["urbanization_rate"])
    bands = {f"p{q}": list(rate + (q - 50) / 1000) for q in (5, 25, 50, 75, 95)}
    targets = [{"indicator": "urbanization_rate", "year": t.year, "target": t.value, "probability": 0.25}
               for t in b["targets"]]
    return fan_chart(list(b["frame"]["time"]), bands, targets, path, title="不确定性",
                     source_line="s", lang=lang)


def _indices(b, path, lang):
    rows = [{"output": output, "parameter": p, "mu": 0.01, "mu_star": 0.02 * k, "mu_star_conf": 0.004,
             "sigma": 0.01 * k} for output in ("urbanization_rate@2035", "hukou_urbanization_rate@2035")
            for k, p in enumerate(b["levers"], start=1)]
    labels = {n: {"zh": v.zh, "en": v.en} for n, v in b["levers"].items()}
    return indices_chart(rows, "morris", path, title="参数敏感性", source_line="s", labels=labels,
                         lang=lang)


def _gap(b, path, lang):
    return gap_chart(b["frame"], path, title="常住与户籍人口城镇化率", source_line="s", lang=lang)


def _county(b, path, lang):
    return county_chart(b["frame"], b["counties"], b["targets"], path, title="各县（市、区）",
                        source_line="s", lang=lang)


def _land(b, path, lang):
    return land_chart(b["frame"], b["counties"], path, band=b["band"], planned=b["planned"],
                      title="人均城镇建设用地", source_line="s", lang=lang)


def _services(b, path, lang):
    return services_chart(b["frame"], b["counties"], path, title="公共服务充足度", source_line="s",
                          lang=lang)


CHARTS = {"urbanization": _urbanization, "comparison": _comparison, "frontier": _frontier,
          "fan": _fan, "indices": _indices, "gap": _gap, "county": _county, "land": _land,
          "services": _services}
CASES = [(name, lang) for name in CHARTS for lang in LANGS]


@pytest.fixture(scope="module")
def rendered(base, tmp_path_factory):
    """Every chart in every language, drawn once: {(chart, lang): (png path, warnings)}."""
    folder = tmp_path_factory.mktemp("charts")
    out = {}
    for name, lang in CASES:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            path = CHARTS[name](base, folder / lang / f"{name}.png", lang)
        out[name, lang] = (path, [f"{w.category.__name__}: {w.message}" for w in caught])
    return out


def test_font_is_bundled():
    assert cjk_font_path().name == "NotoSansCJKsc-Regular.otf"
    assert cjk_font_path().is_file()


def test_the_house_style_makes_svg_glyphs_paths_with_fixed_ids():
    rc = style.house_rc()
    assert rc["svg.fonttype"] == "path" and rc["svg.hashsalt"]


@pytest.mark.parametrize("name, lang", CASES)
def test_chart_renders_png_and_svg_without_warnings(rendered, name, lang):
    path, caught = rendered[name, lang]
    assert caught == []
    from PIL import Image

    with Image.open(path) as img:
        assert img.format == "PNG"
        assert img.info["dpi"] == pytest.approx((200, 200), abs=0.01)
        assert "Software" not in img.info
    svg = ET.parse(path.with_suffix(".svg")).getroot()
    assert svg.tag == f"{SVG}svg"
    assert not list(svg.iter(f"{SVG}text"))  # every glyph is a path
    assert list(svg.iter(f"{SVG}path"))
    assert b"<dc:date>" not in path.with_suffix(".svg").read_bytes()


def test_single_panel_chart_is_8_by_5_inches_at_200_dpi(rendered):
    from PIL import Image

    with Image.open(rendered["gap", "zh"][0]) as img:
        assert img.size == (1600, 1000)


# Byte-identity rests on the shared saver (no dates, fixed SVG id salt); these three cover its
# inputs: shared-axis panels with a legend cell, contours with a colour bar, filled bands.
@pytest.mark.parametrize("name", ["county", "frontier", "fan"])
def test_rendering_twice_gives_byte_identical_files(base, rendered, tmp_path, name):
    first = rendered[name, "zh"][0]
    again = CHARTS[name](base, tmp_path / first.name, "zh")
    for suffix in (".png", ".svg"):
        assert again.with_suffix(suffix).read_bytes() == first.with_suffix(suffix).read_bytes(), suffix


def constrained_figure():
    """A small chart with matplotlib's constrained layout, as the scenario charts have."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with matplotlib.rc_context(style.house_rc()):
        fig = Figure(figsize=(3, 2), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        ax.plot([2020, 2035], [44.77, 70.0])
        ax.set_ylabel("城镇化率（%）")
        fig.suptitle("常住人口城镇化率（%）")
    return fig


def test_the_layout_is_worked_out_once_for_both_files(monkeypatch):
    """render_chart runs the constrained layout once, at the PNG's dpi, for the PNG and the SVG:
    the PNG is the one matplotlib draws with its layout engine on, to the byte."""
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    reference = style.render_file(constrained_figure(), ".png")  # savefig runs the engine itself
    calls = []
    execute = ConstrainedLayoutEngine.execute
    monkeypatch.setattr(ConstrainedLayoutEngine, "execute", lambda self, fig: calls.append(fig) or execute(self, fig))
    fig = constrained_figure()
    files = style.render_chart(fig)
    assert calls == [fig]
    assert files[".png"] == reference
    assert b"<svg" in files[".svg"]


def test_a_chart_drawn_side_by_side_is_the_same_files(tmp_path, monkeypatch):
    """save_chart(side_by_side=True) (the county map's): the PNG and the SVG are drawn by two other
    processes, from the figure built here, and are the bytes of the two drawn one after another."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from simulator.outputs import drawing

    monkeypatch.setattr(drawing, "workers_for", lambda n: min(n, 2))  # whatever the machine's cores
    drawn_by = tmp_path / "pids"
    write = style._write_file

    def write_and_record(fig, suffix, target):
        with open(drawn_by, "a") as fh:
            fh.write(f"{os.getpid()}\n")
        write(fig, suffix, target)

    monkeypatch.setattr(style, "_write_file", write_and_record)
    style.save_chart(constrained_figure(), tmp_path / "side.png", side_by_side=True)
    style.save_chart(constrained_figure(), tmp_path / "here.png")
    pids = drawn_by.read_text().split()
    assert len(set(pids)) == 2 and str(os.getpid()) not in pids
    expected = style.render_chart(constrained_figure())  # a layout worked out the same way by each
    for suffix in (".png", ".svg"):
        assert (tmp_path / f"side{suffix}").read_bytes() == expected[suffix] == (tmp_path / f"here{suffix}").read_bytes()


@pytest.mark.parametrize("name", CHARTS)
def test_unknown_language_is_refused_before_anything_is_written(base, tmp_path, name):
    with pytest.raises(ValueError, match="fr"):
        CHARTS[name](base, tmp_path / "c.png", "fr")
    assert not list(tmp_path.iterdir())


def test_a_path_that_is_not_png_is_refused(base, tmp_path):
    with pytest.raises(ValueError, match=r"\.png"):
        _gap(base, tmp_path / "c.svg", "zh")


# --------------------------------------------------------------------------- content, without drawing


@pytest.fixture
def figures(monkeypatch):
    """Capture the figures instead of saving them (content checks need no pixels)."""
    captured = []

    def keep(fig, path):
        captured.append(fig)
        return Path(path)

    from simulator.outputs.charts import compare, scenario, sweep

    for family in (scenario, compare, sweep):  # each family module draws through save_chart
        monkeypatch.setattr(family, "save_chart", keep)
    return captured


def _texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text")) if t.get_text()]


def _without(frame, *names):
    return {k: v for k, v in frame.items() if k not in names}


def _trimmed(frame, last_year):
    keep = np.asarray(frame["time"]) <= last_year
    return {k: np.asarray(v)[keep] for k, v in frame.items()}


def test_gap_is_labelled_in_points_at_each_year_the_frame_has(base, figures):
    frame = _trimmed(base["frame"], 2030)
    gap_chart(frame, "g.png", title="t", source_line="s", lang="en")
    years = list(frame["time"])
    expected = [f"gap {100 * (frame['urbanization_rate'][years.index(y)] - frame['hukou_urbanization_rate'][years.index(y)]):.1f} pp"
                for y in (2020, 2025, 2030)]
    labels = [t for t in _texts(figures[0]) if t.startswith("gap ")]
    assert labels == expected  # 2035 is not in the frame: no label for it
    gap_chart(frame, "g.png", title="t", source_line="s", lang="zh", years=(2025,))
    assert [t for t in _texts(figures[1]) if t.startswith("差")] == [
        f"差 {100 * (frame['urbanization_rate'][i] - frame['hukou_urbanization_rate'][i]):.1f} 个百分点"
        for i in [years.index(2025)]]


def test_county_panels_are_titled_by_county_and_show_the_last_value(base, figures):
    county_chart(base["frame"], base["counties"], base["targets"], "c.png", title="t",
                 source_line="s", lang="en")
    fig = figures[0]
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in panels] == [v.en for v in base["counties"].values()]
    for ax, el in zip(panels, base["counties"]):
        last = 100 * base["frame"][f"county_urbanization_rate[{el}]"][-1]
        assert f"{last:.1f}%" in [t.get_text() for t in ax.texts]
        city = [ln for ln in ax.lines if ln.get_label() == "City-wide resident rate"]
        assert len(city) == 1 and np.allclose(city[0].get_ydata(), 100 * base["frame"]["urbanization_rate"])
        marks = {(int(x), round(float(y), 6)) for ln in ax.lines if ln.get_marker() == "D"
                 for x, y in zip(ln.get_xdata(), ln.get_ydata())}
        assert marks == {(t.year, round(100 * t.value, 6)) for t in base["targets"]}
    y_limits = {ax.get_ylim() for ax in panels}
    assert len(y_limits) == 1  # one shared y axis


def test_land_chart_shades_and_labels_the_standard_band(base, figures):
    assert base["band"] == GB_50137
    land_chart(base["frame"], base["counties"], "l.png", band=base["band"], planned=100.0,
               title="t", source_line="s", lang="zh")
    ax = figures[0].axes[0]
    assert "GB 50137-2011 规划人均城镇建设用地区间（65–115 平方米/人）" in _texts(figures[0])
    assert "人均城镇建设用地（平方米/人）" == ax.get_ylabel()
    spans = [p for p in ax.patches if p.get_height() == pytest.approx(50.0)]
    assert len(spans) == 1 and spans[0].get_y() == pytest.approx(65.0)
    dashed = [ln for ln in ax.lines if ln.get_linestyle() == "--"]
    assert len(dashed) == 1 and set(dashed[0].get_ydata()) == {100.0}
    assert len([ln for ln in ax.lines if ln.get_label() in {v.zh for v in base["counties"].values()}]) == 7


def test_services_chart_draws_the_panels_the_frame_has(base, figures):
    frame = _without(base["frame"], *(f"sewage_adequacy[{el}]" for el in base["counties"]))
    services_chart(frame, base["counties"], "s.png", title="t", source_line="s", lang="en")
    titles = [ax.get_title() for ax in figures[0].axes if ax.get_title()]
    assert titles == ["School places", "Hospital beds", "Affordable housing"]
    for ax in figures[0].axes:
        if ax.get_title():
            assert any(set(ln.get_ydata()) == {1.0} for ln in ax.lines)  # the standard
    assert figures[0].axes[0].get_ylabel() == "Adequacy (1 = standard met)"


def test_urbanization_chart_accepts_evaluated_targets_and_no_hukou_column(base, figures):
    evaluated = [{"indicator": "urbanization_rate", "year": 2025, "target": 0.55, "value": 0.52,
                  "reached": False}]
    urbanization_chart(_without(base["frame"], "hukou_urbanization_rate"), evaluated, "u.png",
                       title="t", source_line="s")
    ax = figures[0].axes[0]
    assert [ln.get_label() for ln in ax.lines if ln.get_label() == "户籍人口城镇化率"] == []
    assert any(t.get_text() == "2025年目标 55%" for t in ax.texts)


# --------------------------------------------------------------------------- missing columns


@pytest.mark.parametrize("name, drop", [
    ("urbanization", ["urbanization_rate"]),
    ("gap", ["hukou_urbanization_rate"]),
    ("county", ["county_urbanization_rate[jingning]"]),
    ("county", ["urbanization_rate"]),
    ("land", ["land_per_urban_resident[huating]"]),
    ("services", ["school_adequacy[lingtai]"]),
    ("services", ["school_adequacy[kongtong]", "all service columns"]),
])
def test_missing_column_is_a_key_error_naming_it(base, tmp_path, name, drop):
    if "all service columns" in drop:
        drop = [f"{v}[{el}]" for v in SERVICES for el in base["counties"]]
    b = {**base, "frame": _without(base["frame"], *drop)}
    with pytest.raises(KeyError, match=drop[0].replace("[", r"\[").replace("]", r"\]")):
        CHARTS[name](b, tmp_path / "c.png", "zh")
    assert not list(tmp_path.iterdir())


def test_fan_chart_states_probabilities_as_the_report_does(figures):
    """A 0.1% probability reads 0.1% on the chart, as in the report's text (not a rounded 0%)."""
    years = [2020, 2025, 2035]
    bands = {k: [0.45, 0.53, 0.64] for k in ("p5", "p25", "p50", "p75", "p95")}
    targets = [{"indicator": "urbanization_rate", "year": 2035, "target": 0.70, "probability": 0.001}]
    fan_chart(years, bands, targets, "f.png", title="t", source_line="s", lang="zh")
    assert "2035年目标 70%（达成概率 0.1%）" in _texts(figures[0])


# --------------------------------------------------------------------------- memo polish

HISTORY = [{"year": 2010, "value": 0.2991, "kind": "derived"}, {"year": 2014, "value": 0.3562, "kind": "rebased"},
           {"year": 2020, "value": 0.4477, "kind": "census"}, {"year": 2022, "value": 0.47, "kind": "bulletin"}]


def test_urbanization_chart_draws_the_published_history_by_kind(base, figures):
    urbanization_chart(base["frame"], base["targets"], "u.png", title="t", source_line="s", lang="en",
                       history=HISTORY)
    (fig,) = figures
    ax = fig.axes[0]
    assert ax.get_xlim()[0] < 2010  # the x axis reaches back to the first published year
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    for kind in ("census", "bulletin", "rebased", "derived"):
        label = style.TEXT["en"]["history"][kind]
        assert label in legend
        (line,) = [ln for ln in ax.get_lines() if ln.get_label() == label]
        (point,) = [h for h in HISTORY if h["kind"] == kind]
        assert list(line.get_xdata()) == [point["year"]] and list(line.get_ydata()) == [100 * point["value"]]
    # the plan targets are annotated beside their marks, not listed in the legend
    assert not any("target" in x.lower() for x in legend)
    assert "2035 target 70%" in _texts(fig)


def test_urbanization_chart_draws_the_bundled_history(base, figures):
    from simulator.analysis.published import published_rates

    points = published_rates()
    assert {p["kind"] for p in points} >= {"census", "rebased"} and min(p["year"] for p in points) <= 2010
    urbanization_chart(base["frame"], base["targets"], "u.png", title="t", source_line="s", lang="zh",
                       history=points)
    legend = [t.get_text() for t in figures[0].axes[0].get_legend().get_texts()]
    assert "历史：人口普查" in legend and "规划目标" not in legend


def test_county_chart_marks_the_estimated_counties(base, figures):
    county_chart(base["frame"], base["counties"], base["targets"], "c.png", title="t", source_line="s",
                 lang="en", estimated=["huating", "lingtai"])
    (fig,) = figures
    titles = {ax.get_title() for ax in fig.axes if ax.get_title()}
    marked = sorted(t for t in titles if t.endswith(" (2020 value estimated)"))
    names = sorted(base["counties"][el].en for el in ("huating", "lingtai"))
    assert marked == [f"{n} (2020 value estimated)" for n in names]
    styles = {ax.get_title(): ax.get_lines()[1].get_linestyle() for ax in fig.axes if ax.get_title()}
    assert sorted(styles.values()) == sorted(["--", "--"] + ["-"] * (len(styles) - 2))


def test_comparison_chart_stays_readable_with_ten_scenarios(base, figures):
    years, rate = list(base["frame"]["time"]), np.asarray(base["frame"]["urbanization_rate"])
    rates = {f"s{i}": (years, list(rate * (1 + 0.004 * i))) for i in range(10)}
    labels = {f"s{i}": f"情景{i}：2035年 {100 * rate[-1] * (1 + 0.004 * i):.1f}%" for i in range(10)}
    comparison_chart(rates, labels, [(2025, 0.55), (2035, 0.70)], "c.png", title="t", source_line="s", lang="zh")
    (fig,) = figures
    import matplotlib

    with matplotlib.rc_context(style.house_rc()):
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    lines = [ln for ln in ax.get_lines() if ln.get_label() in labels.values()]
    assert len(lines) == 10
    # each line differs from every other by colour and by marker
    assert len({ln.get_color() for ln in lines}) == 10 and len({ln.get_marker() for ln in lines}) == 10
    # one legend of the ten, beside the plot: it covers no line
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == list(labels.values())[::-1]  # top line first
    box, plot = legend.get_window_extent(renderer), ax.get_window_extent(renderer)
    assert box.x0 >= plot.x1 - 1


def test_probabilities_show_their_resolution():
    from simulator.outputs.labels import probability_text

    assert probability_text(0, 1000) == "<0.1%" and probability_text(1000, 1000) == ">99.9%"
    assert probability_text(36, 1000) == "3.6%" and probability_text(1, 1000) == "0.1%"
    assert probability_text(0, 100) == "<1%" and probability_text(0, 10_000) == "<0.01%"


def test_fan_chart_shows_a_zero_count_as_below_the_resolution(figures):
    bands = {k: [0.45, 0.53, 0.64] for k in ("p5", "p25", "p50", "p75", "p95")}
    targets = [{"indicator": "urbanization_rate", "year": 2035, "target": 0.70, "probability": 0.0,
                "reached": 0, "runs": 1000}]
    fan_chart([2020, 2025, 2035], bands, targets, "f.png", title="t", source_line="s", lang="en")
    assert "2035 target 70% (probability <0.1%)" in _texts(figures[0])
