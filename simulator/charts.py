"""Memo charts: the resident and hukou urbanization rates against the plan's targets.

Chinese text uses Noto Sans CJK SC, the font file bundled in the `mplfonts` package,
registered with matplotlib's font manager (no system fonts needed). matplotlib is
imported inside the functions so that `urbsd check` does not pay for it.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Iterable
from pathlib import Path
from typing import Any

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
    },
}

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
) -> Path:
    """Draw the urbanization-rate chart for one scenario and save it as a PNG (200 dpi).

    `frame` is a `timeseries_frame` (needs `time` and `urbanization_rate`; draws
    `hukou_urbanization_rate` too when present). `targets` are the scenario's targets
    (objects or dicts); those on `urbanization_rate` are drawn as dashed lines with a
    marker at the target year. `source_line` goes under the chart (provenance).
    """
    if lang not in _TEXT:
        raise ValueError(f"lang must be one of {sorted(_TEXT)}, not {lang!r}")
    text = _TEXT[lang]

    import matplotlib

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MultipleLocator

    font = register_cjk_font()
    rc = {
        "font.family": "sans-serif",
        "font.sans-serif": [font, "DejaVu Sans"],
        "axes.unicode_minus": False,
        "svg.fonttype": "none",
    }
    path = Path(path)
    years = [int(y) for y in frame["time"]]
    resident = [100.0 * float(v) for v in frame["urbanization_rate"]]
    hukou = (
        [100.0 * float(v) for v in frame["hukou_urbanization_rate"]]
        if "hukou_urbanization_rate" in frame
        else None
    )
    goals = _targets_for(targets, "urbanization_rate")

    with matplotlib.rc_context(rc):
        fig = Figure(figsize=(8, 5), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        ax.plot(years, resident, color="#c0392b", lw=2.2, marker="o", ms=3.5,
                label=text["resident"])
        if hukou is not None:
            ax.plot(years, hukou, color="#2c5d8a", lw=1.8, ls="-", marker="s", ms=3,
                    label=text["hukou"])

        # Plan targets: a dashed level line up to the target year, a hollow marker at it,
        # and the simulated value at that year labelled beside it.
        for i, (year, value) in enumerate(goals):
            pct = 100.0 * value
            ax.hlines(pct, years[0], year, colors="#7f7f7f", linestyles="--", lw=1)
            ax.plot([year], [pct], marker="D", ms=8, mfc="none", mec="#111111", mew=1.5,
                    ls="none", label=text["target"] if i == 0 else None, zorder=5)
            ax.annotate(text["target_label"].format(year=year, value=round(pct, 2)),
                        (year, pct), xytext=(-6, 8), textcoords="offset points",
                        ha="right", va="bottom", fontsize=9, color="#111111")
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

        lows = resident + (hukou or []) + [100.0 * v for _, v in goals]
        highs = resident + [100.0 * v for _, v in goals]
        ax.set_ylim(max(0.0, 5 * int(min(lows) // 5) - 5), min(100.0, 5 * int(max(highs) // 5) + 10))
        ax.set_xlim(years[0] - 0.5, years[-1] + 1.2)
        ax.xaxis.set_major_locator(MultipleLocator(5 if len(years) > 8 else 1))
        ax.xaxis.set_minor_locator(MultipleLocator(1))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set_xlabel(text["year"])
        ax.set_ylabel(text["ylabel"])
        ax.set_title(title)
        ax.grid(True, which="major", color="#dddddd", lw=0.8)
        ax.spines[["top", "right"]].set_visible(False)
        ax.legend(loc="upper left", frameon=False, fontsize=9)
        # supxlabel (not fig.text) so that constrained layout keeps it clear of the axis.
        fig.supxlabel(source_line, x=0.01, ha="left", fontsize=7, color="#555555")
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=DPI, format="png")
    return path
