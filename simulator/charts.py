"""Memo charts: urbanization rates against the plan's targets, counties, land, services, sweeps.

Every chart is written twice, atomically: `path` as a 200 dpi PNG and `path.with_suffix(".svg")`
with its glyphs as paths (Chinese shows on machines without the font). Neither file carries a
date, so rerunning a chart gives byte-identical files. Chinese text uses Noto Sans CJK SC, the
font file bundled in the `mplfonts` package, registered with matplotlib's font manager (no system
fonts needed). matplotlib is imported inside the functions so that `urbsd check` does not pay for it.
"""

from __future__ import annotations

import importlib.resources
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from simulator.labels import check_lang

FONT_FILE = ("fonts", "NotoSansCJKsc-Regular.otf")
DPI = 200

_TEXT = {
    "zh": {
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
_SERIES_COLOURS = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948",
                   "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac")
#: markers of the per-county lines, so that the counties differ by more than colour
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h")

_font_name: str | None = None


def cjk_font_path() -> Path:
    """Path of the CJK font file bundled with mplfonts."""
    res = importlib.resources.files("mplfonts").joinpath(*FONT_FILE)
    path = Path(str(res))
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


def _rc() -> dict[str, Any]:
    """The house style's matplotlib settings: the CJK font, ASCII minus, SVG glyphs as paths."""
    font = register_cjk_font()
    return {"font.family": "sans-serif", "font.sans-serif": [font, "DejaVu Sans"],
            "axes.unicode_minus": False, "svg.fonttype": "path", "svg.hashsalt": SVG_HASH_SALT}


def _check_lang(lang: str) -> dict[str, str]:
    """The memo text table of `lang`; ValueError for a language without one."""
    check_lang(lang)
    return _TEXT[lang]


def render_chart(fig: Any) -> dict[str, bytes]:
    """`fig` rendered in memory: {".png": 200 dpi PNG, ".svg": SVG with glyphs as paths}, no dates."""
    import io

    import matplotlib

    out = {}
    with matplotlib.rc_context(_rc()):  # fonts and svg.* are read when the figure is drawn
        for suffix, kwargs in ((".png", {"dpi": DPI, "metadata": {"Software": None}}),
                               (".svg", {"metadata": {"Date": None}})):
            buf = io.BytesIO()
            fig.savefig(buf, format=suffix[1:], **kwargs)
            out[suffix] = buf.getvalue()
    return out


def _save_atomic(fig: Any, path: str | Path) -> Path:
    """Write `fig` to `path` (PNG) and `path.with_suffix(".svg")`, each atomically; return `path`."""
    from simulator.writers import atomic_write_bytes

    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"chart path must end in .png, not {path.name!r}")
    files = render_chart(fig)
    atomic_write_bytes(path, files[".png"])
    atomic_write_bytes(path.with_suffix(".svg"), files[".svg"])
    return path


def _column(frame: Any, name: str) -> Any:
    """Column `name` of a column table as floats; KeyError naming it if the frame lacks it."""
    import numpy as np

    if name not in frame:
        raise KeyError(f"the frame has no column {name!r}")
    return np.asarray(frame[name], dtype=float)


def _years(frame: Any) -> list[int]:
    return [int(y) for y in _column(frame, "time")]


def _label_of(label: Any, lang: str, default: str) -> str:
    """The `lang` text of a {zh, en} dict or a Label object, else `default`."""
    text = label.get(lang) if isinstance(label, Mapping) else getattr(label, lang, None)
    return text or default


def _county_lines(ax: Any, years: list[int], frame: Any, var: str, counties: Mapping[str, Any],
                  lang: str) -> None:
    """One line per county of `var[<county>]`, colour and marker per county.

    The markers are staggered (every n-th year, county k starting at year k) so that counties
    whose lines coincide can still be told apart.
    """
    step = max(2, len(counties))
    for k, (el, label) in enumerate(counties.items()):
        ax.plot(years, _column(frame, f"{var}[{el}]"), color=_SERIES_COLOURS[k % len(_SERIES_COLOURS)],
                lw=1.6, marker=_MARKERS[k % len(_MARKERS)], ms=4.5, markevery=(k % step, step),
                label=_label_of(label, lang, el))


def _year_axes(ax: Any, years: list[int], xlabel: str, ylabel: str, title: str) -> None:
    """House style of a chart over the years: 5-year ticks, labels, light grid, open frame."""
    from matplotlib.ticker import MultipleLocator

    ax.xaxis.set_major_locator(MultipleLocator(5 if len(years) > 8 else 1))
    ax.xaxis.set_minor_locator(MultipleLocator(1))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, which="major", color="#dddddd", lw=0.8)
    ax.spines[["top", "right"]].set_visible(False)


def _source(fig: Any, line: str) -> None:
    """The provenance line under the chart (supxlabel: constrained layout keeps it clear)."""
    fig.supxlabel(line, x=0.01, ha="left", fontsize=7, color="#555555")


def _target_mark(ax: Any, x0: float, year: int, pct: float, text: str, *, label: str | None = None,
                 ls: str = "--", color: str | None = "#111111") -> None:
    """A plan target in %: a level line from `x0` to the target year, a hollow diamond at it,
    `text` above and to the left of it."""
    ax.hlines(pct, x0, year, colors="#7f7f7f", linestyles=ls, lw=1)
    ax.plot([year], [pct], marker="D", ms=8, mfc="none", mec="#111111", mew=1.5, ls="none", label=label,
            zorder=5)
    ax.annotate(text, (year, pct), xytext=(-6, 8), textcoords="offset points", ha="right", va="bottom",
                fontsize=9, color=color)


def _percent_ylim(ax: Any, lows: Iterable[float], highs: Iterable[float]) -> None:
    """y axis in % from a multiple of 5 below the lowest value to one 10 above the highest,
    within 0-100 (NaN ignored)."""
    low = min([v for v in lows if v == v] or [0.0])
    high = max([v for v in highs if v == v] or [100.0])
    ax.set_ylim(max(0.0, 5 * (low // 5) - 5), min(100.0, 5 * (high // 5) + 10))


def _targets_for(targets: Iterable[Any], indicator: str) -> list[tuple[int, float]]:
    out = []
    for t in targets:
        get = (lambda k: t[k]) if isinstance(t, dict) else (lambda k: getattr(t, k))
        if get("indicator") == indicator:
            # Target objects carry `value`; evaluated target dicts carry `target`.
            value = get("target") if isinstance(t, dict) and "target" in t else get("value")
            out.append((int(get("year")), float(value)))
    return sorted(out)


def urbanization_chart(
    frame: Any,
    targets: Iterable[Any],
    path: str | Path,
    *,
    title: str,
    lang: str = "zh",
    source_line: str,
    comparator: tuple[Iterable[int], Iterable[float]] | None = None,
) -> Path:
    """Draw the urbanization-rate chart for one scenario: `path` (PNG, 200 dpi) and its .svg.

    `comparator` (years, shares), optional: the UN growth-difference projection
    (simulator.comparator), drawn as a dashed grey line.

    `frame` is a `timeseries_frame` (needs `time` and `urbanization_rate`; draws
    `hukou_urbanization_rate` too when present). `targets` are the scenario's targets
    (objects or dicts); those on `urbanization_rate` are drawn as dashed lines with a
    marker at the target year. `source_line` goes under the chart (provenance).
    """
    text = _check_lang(lang)

    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    years = _years(frame)
    resident = [100.0 * float(v) for v in _column(frame, "urbanization_rate")]
    hukou = (
        [100.0 * float(v) for v in frame["hukou_urbanization_rate"]]
        if "hukou_urbanization_rate" in frame
        else None
    )
    goals = _targets_for(targets, "urbanization_rate")
    un = ([int(y) for y in comparator[0]], [100.0 * float(v) for v in comparator[1]]) if comparator else None

    with matplotlib.rc_context(_rc()):
        fig = Figure(figsize=(8, 5), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        ax.plot(years, resident, color="#c0392b", lw=2.2, marker="o", ms=3.5,
                label=text["resident"])
        if hukou is not None:
            ax.plot(years, hukou, color="#2c5d8a", lw=1.8, ls="-", marker="s", ms=3,
                    label=text["hukou"])
        if un is not None:
            ax.plot(*un, color="#8c8c8c", lw=1.6, ls="--",
                    label={"zh": "联合国城乡增长差法预测", "en": "UN urban-rural growth difference"}[lang])

        # Plan targets: a dashed level line up to the target year, a hollow marker at it,
        # and the simulated value at that year labelled beside it.
        for i, (year, value) in enumerate(goals):
            pct = 100.0 * value
            _target_mark(ax, years[0], year, pct, text["target_label"].format(year=year, value=round(pct, 2)),
                         label=text["target"] if i == 0 else None)
            if year in years:
                sim = resident[years.index(year)]
                gap = pct - sim
                label = (text["short_label"].format(value=sim, gap=gap) if gap > 0
                         else text["value_label"].format(value=sim))
                ax.annotate(label, (year, sim),
                            xytext=(6, -12) if year < years[-1] else (8, -22),
                            textcoords="offset points",
                            ha="left" if year < years[-1] else "right",
                            va="top", fontsize=9, color="#c0392b")

        _percent_ylim(ax, resident + (hukou or []) + [100.0 * v for _, v in goals] + (un[1] if un else []),
                      resident + [100.0 * v for _, v in goals] + (un[1] if un else []))
        ax.set_xlim(years[0] - 0.5, years[-1] + 1.2)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        _year_axes(ax, years, text["year"], text["ylabel"], title)
        ax.legend(loc="upper left", frameon=False, fontsize=9)
        _source(fig, source_line)
        return _save_atomic(fig, path)


# --------------------------------------------------------------------------- comparison, frontier


def comparison_chart(
    rates: dict[str, tuple[list[int], list[float]]],
    labels: dict[str, str],
    targets: Iterable[tuple[int, float]],
    path: str | Path,
    *,
    title: str,
    source_line: str,
    lang: str = "zh",
) -> Path:
    """All scenarios' resident urbanization rates (%) on one chart, the targets marked; PNG + SVG.

    `rates` maps a scenario name to (years, rates as shares), `labels` the name to the
    legend text, `targets` are (year, share) pairs drawn as dashed levels with a marker.
    """
    text = _check_lang(lang)
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    goals = sorted((int(y), float(v)) for y, v in targets)
    with matplotlib.rc_context(_rc()):
        fig = Figure(figsize=(9, 6.5), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        all_pct: list[float] = []
        years = sorted({int(y) for ys, _ in rates.values() for y in ys})
        for k, (name, (ys, series)) in enumerate(rates.items()):
            pct = [100.0 * float(v) for v in series]
            all_pct += pct
            style = "-" if k < len(_SERIES_COLOURS) else "--"
            ax.plot(ys, pct, color=_SERIES_COLOURS[k % len(_SERIES_COLOURS)], ls=style,
                    lw=2.4 if k == 0 else 1.6, label=labels.get(name, name))
        for i, (year, value) in enumerate(goals):
            pct = 100.0 * value
            all_pct.append(pct)
            _target_mark(ax, years[0], year, pct, text["target_label"].format(year=year, value=round(pct, 2)),
                         label=text["target"] if i == 0 else None, ls=":", color=None)
        _percent_ylim(ax, all_pct, all_pct)
        ax.set_xlim(years[0] - 0.5, years[-1] + 0.5)
        _year_axes(ax, years, text["year"],
                   text["ylabel"].replace("城镇化率", text["resident"]) if lang == "zh"
                   else f"{text['resident']} (%)", title)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.11), ncol=2, frameon=False,
                  fontsize=8)
        _source(fig, source_line)
        return _save_atomic(fig, path)


def frontier_chart(
    grid_a: list[float],
    grid_b: list[float],
    values: list[list[float]],
    target: float,
    path: str | Path,
    *,
    label_a: str,
    label_b: str,
    title: str,
    source_line: str,
    percent: bool = True,
    marker: tuple[float, float] | None = None,
    lang: str = "zh",
) -> Path:
    """Filled contours of an indicator over two levers, the target's contour drawn bold; PNG + SVG.

    `values[i][j]` is the indicator at (grid_a[j], grid_b[i]); with `percent` the values
    (shares) are shown in %. `marker` marks the scenario's own setting of the two levers.
    """
    import matplotlib
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    scale = 100.0 if percent else 1.0
    z = scale * np.asarray(values, dtype=float)
    level = scale * float(target)
    names = {"zh": ("目标线 {v:g}%", "情景当前设定"), "en": ("target {v:g}%", "scenario setting")}
    if lang not in names:
        raise ValueError(f"lang must be one of {sorted(names)}, not {lang!r}")
    target_text, marker_text = names[lang]
    if not percent:
        target_text = target_text.replace("%", "")
    with matplotlib.rc_context(_rc()):
        fig = Figure(figsize=(7.5, 6), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        cf = ax.contourf(grid_a, grid_b, z, levels=14, cmap="viridis")
        cbar = fig.colorbar(cf, ax=ax)
        cbar.set_label(("城镇化率（%）" if lang == "zh" else "Urbanization rate (%)") if percent
                       else ("指标值" if lang == "zh" else "Indicator"))
        if np.nanmin(z) <= level <= np.nanmax(z):
            cs = ax.contour(grid_a, grid_b, z, levels=[level], colors="#e15759", linewidths=2.5)
            ax.clabel(cs, fmt=lambda v: target_text.format(v=round(v, 2)), fontsize=9)
        else:
            ax.text(0.5, 0.5, target_text.format(v=round(level, 2)) +
                    ("：网格内无法达到" if lang == "zh" else ": not reached on this grid"),
                    transform=ax.transAxes, ha="center", va="center", color="white",
                    fontsize=11, bbox={"facecolor": "#e15759", "alpha": 0.8, "lw": 0})
        if marker is not None:
            ax.plot([marker[0]], [marker[1]], marker="*", ms=14, color="white", mec="black",
                    ls="none", label=marker_text)
            ax.legend(loc="upper left", fontsize=8)
        ax.set_xlabel(label_a)
        ax.set_ylabel(label_b)
        ax.set_title(title)
        _source(fig, source_line)
        return _save_atomic(fig, path)


# --------------------------------------------------------------------------- sweep charts

_SWEEP_TEXT = {
    "zh": {"median": "中位数", "band90": "5%–95% 区间", "band50": "25%–75% 区间",
           "target": "{year}年目标 {value:g}%（达成概率 {p:.1%}）", "year": "年份",
           "ylabel": "常住人口城镇化率（%）", "S1": "一阶指数 S1", "ST": "总效应指数 ST",
           "mu_star": "μ*（每单位分位数）", "sigma": "σ", "spearman_rho": "斯皮尔曼秩相关系数",
           "urbanization_rate": "常住人口城镇化率", "hukou_urbanization_rate": "户籍人口城镇化率",
           "output": "{name} {year}年"},
    "en": {"median": "Median", "band90": "5–95% band", "band50": "25–75% band",
           "target": "{year} target {value:g}% (probability {p:.1%})", "year": "Year",
           "ylabel": "Resident urbanization rate (%)", "S1": "First order S1", "ST": "Total order ST",
           "mu_star": "mu* (per unit quantile)", "sigma": "sigma", "spearman_rho": "Spearman rank correlation",
           "urbanization_rate": "Resident urbanization rate", "hukou_urbanization_rate": "Hukou urbanization rate",
           "output": "{name} {year}"},
}


def fan_chart(
    years: list[int],
    bands: dict[str, list[float]],
    targets: Iterable[dict],
    path: str | Path,
    *,
    title: str,
    source_line: str,
    lang: str = "zh",
) -> Path:
    """Fan chart of a sweep: 5-95% and 25-75% bands and the median of the urbanization rate.

    `bands` holds shares per year under keys p5, p25, p50, p75, p95; `targets` are the
    sweep's dicts {indicator, year, target, probability} (urbanization_rate ones are drawn).
    Writes `path` (PNG) and its .svg.
    """
    _check_lang(lang)
    text = _SWEEP_TEXT[lang]
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    pct = {k: [100.0 * v for v in vals] for k, vals in bands.items()}
    goals = [t for t in targets if t["indicator"] == "urbanization_rate"]
    with matplotlib.rc_context(_rc()):
        fig = Figure(figsize=(8, 5), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        ax.fill_between(years, pct["p5"], pct["p95"], color="#e8a9a0", alpha=0.55, lw=0, label=text["band90"])
        ax.fill_between(years, pct["p25"], pct["p75"], color="#d0604f", alpha=0.6, lw=0, label=text["band50"])
        ax.plot(years, pct["p50"], color="#8e1f14", lw=2.2, label=text["median"])
        for t in goals:
            value = 100.0 * t["target"]
            _target_mark(ax, years[0], t["year"], value,
                         text["target"].format(year=t["year"], value=round(value, 2), p=t["probability"]))
        _percent_ylim(ax, pct["p5"] + [100.0 * t["target"] for t in goals],
                      pct["p95"] + [100.0 * t["target"] for t in goals])
        ax.set_xlim(years[0] - 0.5, years[-1] + 0.5)
        _year_axes(ax, years, text["year"], text["ylabel"], title)
        ax.legend(loc="upper left", frameon=False, fontsize=9)
        _source(fig, source_line)
        return _save_atomic(fig, path)


def _output_label(output: str, text: dict[str, str]) -> str:
    name, _, year = output.partition("@")
    return text["output"].format(name=text.get(name, name), year=year) if year else text.get(name, name)


def indices_chart(
    rows: list[dict],
    method: str,
    path: str | Path,
    *,
    title: str,
    source_line: str,
    labels: dict[str, dict[str, str]] | None = None,
    lang: str = "zh",
) -> Path:
    """Bar chart of sensitivity indices, one panel per analysed output.

    sobol: S1 and ST with their confidence intervals; morris: mu* (with CI) and sigma;
    mc: Spearman rank correlation. `labels` maps a parameter to {zh, en} labels.
    Writes `path` (PNG) and its .svg.
    """
    _check_lang(lang)
    text = _SWEEP_TEXT[lang]
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    outputs = list(dict.fromkeys(r["output"] for r in rows))
    params = list(dict.fromkeys(r["parameter"] for r in rows))
    names = [(labels or {}).get(p, {}).get(lang, p) for p in params]
    series = {"sobol": [("S1", "S1_conf", "#2c5d8a"), ("ST", "ST_conf", "#c0392b")],
              "morris": [("mu_star", "mu_star_conf", "#2c5d8a"), ("sigma", None, "#c0392b")],
              "mc": [("spearman_rho", None, "#2c5d8a")]}[method]
    with matplotlib.rc_context(_rc()):
        fig = Figure(figsize=(4.2 * max(1, len(outputs)) + 2.5, 0.45 * len(params) + 2.2), layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(1, max(1, len(outputs)), sharey=True, squeeze=False)[0]
        height = 0.8 / len(series)
        for ax, output in zip(axes, outputs):
            by_param = {r["parameter"]: r for r in rows if r["output"] == output}
            for s, (key, conf, color) in enumerate(series):
                ys = [i - 0.4 + height * (s + 0.5) for i in range(len(params))]
                vals = [by_param[p].get(key, float("nan")) for p in params]
                err = [by_param[p].get(conf, 0.0) for p in params] if conf else None
                ax.barh(ys, vals, height=height, xerr=err, color=color, label=text[key],
                        error_kw={"lw": 0.8, "capsize": 2})
            ax.axvline(0, color="#555555", lw=0.8)
            ax.set_title(_output_label(output, text), fontsize=10)
            ax.grid(True, axis="x", color="#dddddd", lw=0.8)
            ax.spines[["top", "right"]].set_visible(False)
        axes[0].set_yticks(range(len(params)), names, fontsize=9)
        axes[0].invert_yaxis()
        axes[0].legend(loc="lower right", frameon=False, fontsize=8)
        fig.suptitle(title)
        _source(fig, source_line)
        return _save_atomic(fig, path)


# --------------------------------------------------------------------------- gap, counties, land, services

#: the four service panels of services_chart: variable -> panel title
_SERVICE_PANELS = {
    "zh": {"school_adequacy": "学位", "hospital_adequacy": "医院床位",
           "affordable_housing_adequacy": "保障性住房", "sewage_adequacy": "污水处理能力"},
    "en": {"school_adequacy": "School places", "hospital_adequacy": "Hospital beds",
           "affordable_housing_adequacy": "Affordable housing", "sewage_adequacy": "Sewage treatment"},
}


def gap_chart(
    frame: Any,
    path: str | Path,
    *,
    title: str,
    source_line: str,
    lang: str = "zh",
    years: Iterable[int] = (2020, 2025, 2030, 2035),
) -> Path:
    """Resident and hukou urbanization rates (%) with the band between them shaded; PNG + SVG.

    The gap in percentage points is written at each of `years` that the frame has: it is the
    plan's measure of how many residents live in towns without a town hukou.
    """
    text = _check_lang(lang)
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    all_years = _years(frame)
    resident = 100.0 * _column(frame, "urbanization_rate")
    hukou = 100.0 * _column(frame, "hukou_urbanization_rate")
    marked = [y for y in years if y in all_years]
    with matplotlib.rc_context(_rc()):
        fig = Figure(figsize=(8, 5), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        ax.fill_between(all_years, hukou, resident, color="#bdbdbd", alpha=0.45, lw=0,
                        label=text["gap_band"])
        ax.plot(all_years, resident, color="#c0392b", lw=2.2, marker="o", ms=3.5, label=text["resident"])
        ax.plot(all_years, hukou, color="#2c5d8a", lw=1.8, marker="s", ms=3, label=text["hukou"])
        for year in marked:
            i = all_years.index(year)
            ax.vlines(year, hukou[i], resident[i], colors="#555555", lw=0.8)
            first = i == 0  # left of the first year there is no room: write it on the right
            ax.annotate(text["gap_label"].format(gap=resident[i] - hukou[i]),
                        (year, (resident[i] + hukou[i]) / 2), xytext=(4 if first else -4, 0),
                        textcoords="offset points", ha="left" if first else "right", va="center",
                        fontsize=9, color="#111111")
        _percent_ylim(ax, [float(min(hukou.min(), resident.min()))], [float(max(hukou.max(), resident.max()))])
        ax.set_xlim(all_years[0] - 0.5, all_years[-1] + 0.5)
        _year_axes(ax, all_years, text["year"], text["ylabel"], title)
        ax.legend(loc="upper left", frameon=False, fontsize=9)
        _source(fig, source_line)
        return _save_atomic(fig, path)


def _grid(fig: Any, n: int, ncols: int, **kwargs: Any) -> tuple[list[Any], list[Any]]:
    """`n` panels on a grid of `ncols` columns: (used axes, spare axes of the last row)."""
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    axes = list(fig.subplots(nrows, ncols, squeeze=False, **kwargs).flat)
    return axes[:n], axes[n:]


def county_chart(
    frame: Any,
    counties: Mapping[str, Any],
    targets: Iterable[Any],
    path: str | Path,
    *,
    title: str,
    source_line: str,
    lang: str = "zh",
) -> Path:
    """Small multiples of the resident urbanization rate (%), one panel per county; PNG + SVG.

    Each panel has the city-wide rate as a thin grey reference line, the city's targets on
    `urbanization_rate` (objects or dicts, as for urbanization_chart) and the county's
    last-year value. `counties` maps a county element to its {zh, en} label.
    """
    text = _check_lang(lang)
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    years = _years(frame)
    city = 100.0 * _column(frame, "urbanization_rate")
    rates = {el: 100.0 * _column(frame, f"county_urbanization_rate[{el}]") for el in counties}
    goals = _targets_for(targets, "urbanization_rate")
    if not rates:
        raise ValueError("county_chart needs at least one county")
    values = [v for r in rates.values() for v in r] + list(city) + [100.0 * g for _, g in goals]
    goal_text = text["list_sep"].join(
        text["city_target_item"].format(year=y, value=round(100.0 * g, 2)) for y, g in goals)
    with matplotlib.rc_context(_rc()):
        fig = Figure(figsize=(10, 6), layout="constrained")
        FigureCanvasAgg(fig)
        axes, spare = _grid(fig, len(rates), 4, sharex=True, sharey=True)
        for k, (ax, (el, rate)) in enumerate(zip(axes, rates.items())):
            ax.plot(years, city, color="#9a9a9a", lw=1, label=text["city"])
            ax.plot(years, rate, color=_SERIES_COLOURS[k % len(_SERIES_COLOURS)], lw=2,
                    label=text["county_line"])
            for i, (year, goal) in enumerate(goals):
                ax.plot([year], [100.0 * goal], marker="D", ms=6, mfc="none", mec="#111111", mew=1.2,
                        ls="none", zorder=5, label=text["city_targets"].format(items=goal_text) if i == 0 else None)
            below = rate[-1] < city[-1]  # write the value on the side away from the city line
            ax.annotate(text["value_label"].format(value=rate[-1]), (years[-1], rate[-1]),
                        xytext=(-2, -6 if below else 6), textcoords="offset points", ha="right",
                        va="top" if below else "bottom", fontsize=8,
                        color=_SERIES_COLOURS[k % len(_SERIES_COLOURS)])
            _year_axes(ax, years, "", "", _label_of(counties[el], lang, el))
            ax.title.set_fontsize(10)
            ax.tick_params(labelsize=8)
        for ax in axes:
            if ax.get_subplotspec().is_first_col():
                ax.set_ylabel(text["county_ylabel"], fontsize=9)
            ax.xaxis.set_tick_params(labelbottom=True)  # panels above a spare cell need them
        axes[0].set_ylim(max(0.0, 5 * (min(values) // 5) - 5), min(100.0, 5 * (max(values) // 5) + 5))
        axes[0].set_xlim(years[0] - 0.5, years[-1] + 0.5)
        handles, labels = axes[0].get_legend_handles_labels()
        if spare:
            for ax in spare:
                ax.axis("off")
            spare[0].legend(handles, labels, loc="center", frameon=False, fontsize=9)
        else:
            fig.legend(handles, labels, loc="outside upper center", ncols=len(labels), frameon=False,
                       fontsize=9)
        fig.suptitle(title)
        _source(fig, source_line)
        return _save_atomic(fig, path)


def land_chart(
    frame: Any,
    counties: Mapping[str, Any],
    path: str | Path,
    *,
    band: tuple[float, float],
    title: str,
    source_line: str,
    lang: str = "zh",
    planned: float | None = None,
) -> Path:
    """Urban construction land per urban resident (m² per person) per county; PNG + SVG.

    `band` (low, high) is the standard's range, shaded and labelled (the caller passes
    GB 50137-2011's 65-115 from the model); `planned` is drawn as a dashed line.
    """
    text = _check_lang(lang)
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    years = _years(frame)
    low, high = (float(v) for v in band)
    if not low < high:
        raise ValueError(f"band must be (low, high) with low < high, got {band!r}")
    series = [_column(frame, f"land_per_urban_resident[{el}]") for el in counties]
    finite = [float(v) for s in series for v in s if math.isfinite(v)]
    with matplotlib.rc_context(_rc()):
        fig = Figure(figsize=(8, 5), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        ax.axhspan(low, high, color="#a6d4a0", alpha=0.35, lw=0)
        ax.text(years[0], low, text["land_band"].format(low=low, high=high), ha="left", va="bottom",
                fontsize=9, color="#2f6b2a")
        _county_lines(ax, years, frame, "land_per_urban_resident", counties, lang)
        if planned is not None:
            ax.axhline(float(planned), color="#333333", ls="--", lw=1.2,
                       label=text["planned"].format(value=float(planned)))
        bottom, top = min(finite + [low]), max(finite + [high])
        margin = 0.05 * (top - bottom)
        ax.set_ylim(max(0.0, bottom - 2 * margin), top + margin)
        ax.set_xlim(years[0] - 0.5, years[-1] + 0.5)
        _year_axes(ax, years, text["year"], text["land_ylabel"], title)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False, fontsize=9)
        _source(fig, source_line)
        return _save_atomic(fig, path)


def services_chart(
    frame: Any,
    counties: Mapping[str, Any],
    path: str | Path,
    *,
    title: str,
    source_line: str,
    lang: str = "zh",
) -> Path:
    """Service adequacy per county (1 = standard met): schools, hospital beds, affordable
    housing, sewage, one panel each; a panel whose variable the frame lacks is left out.

    KeyError if none of the four is in the frame, or if one is there for only some counties.
    """
    text = _check_lang(lang)
    panels = _SERVICE_PANELS[lang]
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    years = _years(frame)
    present = [v for v in panels if any(f"{v}[{el}]" in frame for el in counties)]
    if not present:
        first = next(iter(counties), "<county>")
        raise KeyError(f"the frame has none of {', '.join(panels)} (e.g. no column "
                       f"'{next(iter(panels))}[{first}]')")
    with matplotlib.rc_context(_rc()):
        fig = Figure(figsize=(10, 6), layout="constrained")
        FigureCanvasAgg(fig)
        axes, spare = _grid(fig, len(present), 2, sharex=True, sharey=True)
        for ax, var in zip(axes, present):
            ax.axhline(1.0, color="#111111", ls="--", lw=1, label=text["standard_met"])
            _county_lines(ax, years, frame, var, counties, lang)
            _year_axes(ax, years, "", "", panels[var])
            ax.title.set_fontsize(10)
            ax.tick_params(labelsize=8)
            if ax.get_subplotspec().is_first_col():
                ax.set_ylabel(text["adequacy_ylabel"], fontsize=9)
        for ax in spare:
            ax.axis("off")
        for ax in axes:
            ax.xaxis.set_tick_params(labelbottom=True)
        axes[0].set_xlim(years[0] - 0.5, years[-1] + 0.5)
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside right upper", frameon=False, fontsize=9)
        fig.suptitle(title)
        _source(fig, source_line)
        return _save_atomic(fig, path)
