"""The charts' house style: CJK font, text tables zh/en, colours, axes, targets, rendering.

Every chart is written twice, atomically: `path` as a 200 dpi PNG and `path.with_suffix(".svg")`
with its glyphs as paths (Chinese shows on machines without the font). Neither file carries a
date, so rerunning a chart gives byte-identical files. Chinese text uses Noto Sans CJK SC, the
font file bundled in the `mplfonts` package, registered with matplotlib's font manager (no system
fonts needed). matplotlib is imported inside the functions so that `urbsd check` does not pay for it.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from simulator.outputs.labels import check_lang

FONT_FILE = ("fonts", "NotoSansCJKsc-Regular.otf")
DPI = 200

TEXT = {
    "zh": {
        "history": {"census": "历史：人口普查", "bulletin": "历史：统计公报",
                    "rebased": "历史：年度估计（按普查口径修正）", "derived": "历史：推算值"},
        "estimated": "（2020年值为估计）",
        "estimated_line": "虚线：2020年城镇化率未公布，\n初始值为估计",
        "resident": "常住人口城镇化率",
        "hukou": "户籍人口城镇化率",
        "target": "规划目标",
        "target_label": "{year}年目标 {value:g}%",
        "year": "年份",
        "ylabel": "城镇化率（%）",
        "value_label": "{value:.1f}%",
        "short_label": "{value:.1f}%，差{gap:.1f}个百分点",
        "gap_band": "两率之差",
        "gap_label": "差 {gap:.1f} 个百分点",
        "county_ylabel": "常住人口城镇化率（%）",
        "city": "全市常住人口城镇化率",
        "county_line": "县（市、区）常住人口城镇化率",
        "city_targets": "全市规划目标\n{items}",
        "city_target_item": "{year}年 {value:g}%",
        "list_sep": "，",
        "land_ylabel": "人均城镇建设用地（平方米/人）",
        "land_band": "GB 50137-2011 规划人均城镇建设用地区间（{low:g}–{high:g} 平方米/人）",
        "planned": "规划人均城镇建设用地 {value:g} 平方米/人",
        "adequacy_ylabel": "充足度（1 = 达标）",
        "standard_met": "达标线（1）",
    },
    "en": {
        "history": {"census": "history: census", "bulletin": "history: statistical bulletin",
                    "rebased": "history: annual estimate rebased on the census", "derived": "history: derived"},
        "estimated": " (2020 value estimated)",
        "estimated_line": "dashed: 2020 rate not published,\ninitial value estimated",
        "resident": "Resident urbanization rate",
        "hukou": "Hukou urbanization rate",
        "target": "Plan target",
        "target_label": "{year} target {value:g}%",
        "year": "Year",
        "ylabel": "Urbanization rate (%)",
        "value_label": "{value:.1f}%",
        "short_label": "{value:.1f}%, {gap:.1f} pp short",
        "gap_band": "Difference between the rates",
        "gap_label": "gap {gap:.1f} pp",
        "county_ylabel": "Resident urbanization rate (%)",
        "city": "City-wide resident rate",
        "county_line": "County resident rate",
        "city_targets": "City targets\n{items}",
        "city_target_item": "{value:g}% in {year}",
        "list_sep": ", ",
        "land_ylabel": "Urban construction land per urban resident (m² per person)",
        "land_band": "GB 50137-2011 planning range ({low:g}–{high:g} m² per person)",
        "planned": "Planned land per person {value:g} m²",
        "adequacy_ylabel": "Adequacy (1 = standard met)",
        "standard_met": "Standard met (1)",
    },
}

#: line colours of the multi-series charts (colour-blind-safe Tableau 10), cycled
SERIES_COLOURS = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948",
                   "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac")
#: markers of the per-county lines, so that the counties differ by more than colour
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h")

_font_name: str | None = None


def cjk_font_path() -> Path:
    """Path of the CJK font file bundled with mplfonts: found without importing mplfonts, whose
    import (its font tools) cost the chart-drawing helper 8 ms of its warm-up."""
    spec = importlib.util.find_spec("mplfonts")
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    path = Path(folders[0] if folders else "mplfonts").joinpath(*FONT_FILE)
    if not path.is_file():
        raise FileNotFoundError(f"mplfonts font file not found: {path}")
    return path


def register_cjk_font() -> str:
    """Add the bundled CJK font to matplotlib's font manager; return its family name."""
    global _font_name
    if _font_name is None:
        from matplotlib import font_manager

        path = cjk_font_path()
        font_manager.fontManager.addfont(str(path))
        _font_name = font_manager.FontProperties(fname=str(path)).get_name()
    return _font_name


#: salt of the ids in the SVG files (clip paths, glyphs); fixed so that reruns are byte-identical
SVG_HASH_SALT = "urbsd"


def house_rc() -> dict[str, Any]:
    """The house style's matplotlib settings: the CJK font, ASCII minus, SVG glyphs as paths."""
    font = register_cjk_font()
    # text.parse_math off: a label from an input file ('$\\foo$') is drawn as it is written,
    # never parsed as mathtext (which fails on unknown commands, or draws what it was not given)
    return {"font.family": "sans-serif", "font.sans-serif": [font, "DejaVu Sans"],
            "axes.unicode_minus": False, "svg.fonttype": "path", "svg.hashsalt": SVG_HASH_SALT,
            "text.parse_math": False}


def text_for(lang: str) -> dict[str, str]:
    """The memo text table of `lang`; ValueError for a language without one."""
    check_lang(lang)
    return TEXT[lang]


#: zlib level of the PNG files: 3 encodes the county map in 0.077 CPU-s against 0.110 at Pillow's default
#: (6), for a file 5% larger (718 KiB against 685 KiB; measured 2026-12-02, Intel Xeon)
PNG_COMPRESS_LEVEL = 3
#: the files of a chart: suffix -> savefig options (fonts and svg.* are read when the figure is drawn)
FORMATS = {".png": {"dpi": DPI, "metadata": {"Software": None}, "pil_kwargs": {"compress_level": PNG_COMPRESS_LEVEL}},
           ".svg": {"metadata": {"Date": None}}}


def render_file(fig: Any, suffix: str) -> bytes:
    """`fig` rendered in memory as one of `FORMATS` (".png": 200 dpi; ".svg": glyphs as paths), no dates."""
    import io

    import matplotlib

    buf = io.BytesIO()
    with matplotlib.rc_context(house_rc()):
        fig.savefig(buf, format=suffix[1:], **FORMATS[suffix])
    return buf.getvalue()


def render_chart(fig: Any) -> dict[str, bytes]:
    """`fig` rendered in memory: {".png": 200 dpi PNG, ".svg": SVG with glyphs as paths}, no dates."""
    keep_layout(fig)
    return {suffix: render_file(fig, suffix) for suffix in FORMATS}


def keep_layout(fig: Any) -> None:
    """Run `fig`'s layout engine (constrained layout) once, at the PNG's dpi, and keep its result.

    The PNG is then the one matplotlib draws, and the SVG reuses that layout instead of working it
    out again at 72 dpi (positions move by a fraction of a point): the urbanization chart's two
    files took 0.22 CPU-s instead of 0.25. The figure keeps no layout engine afterwards."""
    import matplotlib

    engine = fig.get_layout_engine()
    if engine is None or not fig.axes:  # what Figure.draw runs the engine on
        return
    dpi = fig.get_dpi()
    with matplotlib.rc_context(house_rc()):
        fig.set_dpi(DPI)
        try:
            engine.execute(fig)
        finally:
            fig.set_dpi(dpi)
    fig.set_layout_engine("none")


def save_chart(fig: Any, path: str | Path, side_by_side: bool = False) -> Path:
    """Write `fig` to `path` (PNG) and `path.with_suffix(".svg")`, each atomically; return `path`.

    `side_by_side`: the two files are drawn by two processes forked once the figure is built, where
    `simulator.outputs.drawing` would fork (else one after another here): for a chart whose
    drawing is the slow end of a command (the county map of `urbsd run`), written into a staging
    folder, as one file may then be written and not the other."""
    from simulator.outputs.writers import atomic_write_bytes

    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"chart path must end in .png, not {path.name!r}")
    if side_by_side:
        from simulator.outputs.drawing import background, draw_all

        keep_layout(fig)
        png, svg = (functools.partial(_write_file, fig, suffix) for suffix in (".png", ".svg"))
        draw_all([(path, png), (path.with_suffix(".svg"), background(svg))])  # the PNG is the slower
        return path
    files = render_chart(fig)  # both drawn before either is written
    for suffix, data in files.items():
        atomic_write_bytes(path.with_suffix(suffix), data)
    return path


def _write_file(fig: Any, suffix: str, target: Path) -> None:
    from simulator.outputs.writers import atomic_write_bytes

    atomic_write_bytes(target, render_file(fig, suffix))


def frame_column(frame: Any, name: str) -> Any:
    """Column `name` of a column table as floats; KeyError naming it if the frame lacks it."""
    import numpy as np

    if name not in frame:
        raise KeyError(f"the frame has no column {name!r}")
    return np.asarray(frame[name], dtype=float)


def years_of(frame: Any) -> list[int]:
    return [int(y) for y in frame_column(frame, "time")]


def label_of(label: Any, lang: str, default: str) -> str:
    """The `lang` text of a {zh, en} dict or a Label object, else `default`."""
    text = label.get(lang) if isinstance(label, Mapping) else getattr(label, lang, None)
    return text or default


def county_lines(ax: Any, years: list[int], frame: Any, var: str, counties: Mapping[str, Any],
                  lang: str) -> None:
    """One line per county of `var[<county>]`, colour and marker per county.

    The markers are staggered (every n-th year, county k starting at year k) so that counties
    whose lines coincide can still be told apart.
    """
    step = max(2, len(counties))
    for k, (el, label) in enumerate(counties.items()):
        ax.plot(years, frame_column(frame, f"{var}[{el}]"), color=SERIES_COLOURS[k % len(SERIES_COLOURS)],
                lw=1.6, marker=MARKERS[k % len(MARKERS)], ms=4.5, markevery=(k % step, step),
                label=label_of(label, lang, el))


def year_axes(ax: Any, years: list[int], xlabel: str, ylabel: str, title: str) -> None:
    """House style of a chart over the years: 5-year ticks, labels, light grid, open frame."""
    from matplotlib.ticker import MultipleLocator

    ax.xaxis.set_major_locator(MultipleLocator(5 if len(years) > 8 else 1))
    ax.xaxis.set_minor_locator(MultipleLocator(1))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, which="major", color="#dddddd", lw=0.8)
    ax.spines[["top", "right"]].set_visible(False)


def add_source_line(fig: Any, line: str) -> None:
    """The provenance line under the chart (supxlabel: constrained layout keeps it clear)."""
    fig.supxlabel(line, x=0.01, ha="left", fontsize=7, color="#555555")


def target_mark(ax: Any, x0: float, year: int, pct: float, text: str, *, label: str | None = None,
                 ls: str = "--", color: str | None = "#111111") -> None:
    """A plan target in %: a level line from `x0` to the target year, a hollow diamond at it,
    `text` above and to the left of it."""
    ax.hlines(pct, x0, year, colors="#7f7f7f", linestyles=ls, lw=1)
    ax.plot([year], [pct], marker="D", ms=8, mfc="none", mec="#111111", mew=1.5, ls="none", label=label,
            zorder=5)
    ax.annotate(text, (year, pct), xytext=(-6, 8), textcoords="offset points", ha="right", va="bottom",
                fontsize=9, color=color)


def percent_ylim(ax: Any, lows: Iterable[float], highs: Iterable[float]) -> None:
    """y axis in % from a multiple of 5 below the lowest value to one 10 above the highest,
    within 0-100 (NaN ignored)."""
    low = min([v for v in lows if v == v] or [0.0])
    high = max([v for v in highs if v == v] or [100.0])
    ax.set_ylim(max(0.0, 5 * (low // 5) - 5), min(100.0, 5 * (high // 5) + 10))


def targets_for(targets: Iterable[Any], indicator: str) -> list[tuple[int, float]]:
    out = []
    for t in targets:
        get = (lambda k: t[k]) if isinstance(t, dict) else (lambda k: getattr(t, k))
        if get("indicator") == indicator:
            # Target objects carry `value`; evaluated target dicts carry `target`.
            value = get("target") if isinstance(t, dict) and "target" in t else get("value")
            out.append((int(get("year")), float(value)))
    return sorted(out)
