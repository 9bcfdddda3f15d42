"""Charts across runs: scenarios compared (`urbsd compare`, `urbsd report`) and the
two-lever goal-seek frontier (`urbsd goal-seek`)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from simulator.outputs.charts.style import (
    MARKERS,
    SERIES_COLOURS,
    add_source_line,
    house_rc,
    percent_ylim,
    save_chart,
    target_mark,
    text_for,
    year_axes,
)


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
    legend text, `targets` are (year, share) pairs drawn as dotted levels with a marker
    (annotated, not in the legend). Readable with ten scenarios: each line has its own
    colour and marker (markers staggered so coinciding lines still show), and from five
    scenarios on the legend is one column beside the plot, where it cannot cover a line,
    listed in the order of the lines' last values (top first).
    """
    text = text_for(lang)
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    goals = sorted((int(y), float(v)) for y, v in targets)
    with matplotlib.rc_context(house_rc()):
        fig = Figure(figsize=(9, 6.5), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        all_pct: list[float] = []
        years = sorted({int(y) for ys, _ in rates.values() for y in ys})
        step = max(2, min(len(rates), 5))
        for k, (name, (ys, series)) in enumerate(rates.items()):
            pct = [100.0 * float(v) for v in series]
            all_pct += pct
            style = ("-", "--", "-.", ":")[(k // len(SERIES_COLOURS)) % 4]
            ax.plot(ys, pct, color=SERIES_COLOURS[k % len(SERIES_COLOURS)], ls=style,
                    lw=2.4 if k == 0 else 1.6, marker=MARKERS[k % len(MARKERS)], ms=4.5,
                    markevery=(k % step, step), label=labels.get(name, name))
        for year, value in goals:
            pct = 100.0 * value
            all_pct.append(pct)
            target_mark(ax, years[0], year, pct, text["target_label"].format(year=year, value=round(pct, 2)),
                         ls=":", color=None)
        percent_ylim(ax, all_pct, all_pct)
        ax.set_xlim(years[0] - 0.5, years[-1] + 0.5)
        year_axes(ax, years, text["year"],
                   text["ylabel"].replace("城镇化率", text["resident"]) if lang == "zh"
                   else f"{text['resident']} (%)", title)
        if len(rates) >= 5:  # beside the plot, in the order of the lines' ends, top first
            fig.set_figwidth(12)
            handles, texts = ax.get_legend_handles_labels()
            ends = {labels.get(n, n): float(series[-1]) for n, (_, series) in rates.items()}
            def end(i: int) -> float:
                v = ends.get(texts[i], float("nan"))
                return -v if v == v else float("inf")  # NaN last

            order = sorted(range(len(texts)), key=end)
            fig.legend([handles[i] for i in order], [texts[i] for i in order], loc="outside right upper",
                       ncols=1, frameon=False, fontsize=8)
        else:
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.11), ncol=2, frameon=False,
                      fontsize=8)
        add_source_line(fig, source_line)
        return save_chart(fig, path)


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
    with matplotlib.rc_context(house_rc()):
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
        add_source_line(fig, source_line)
        return save_chart(fig, path)


# --------------------------------------------------------------------------- sweep charts
