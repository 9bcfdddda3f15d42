"""Charts of one scenario's run: urbanization against the targets, the hukou gap, counties,
land per urban resident and service adequacy (`urbsd run`, `urbsd report`)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from simulator.outputs.charts.style import (
    SERIES_COLOURS,
    add_source_line,
    county_lines,
    frame_column,
    house_rc,
    label_of,
    percent_ylim,
    save_chart,
    target_mark,
    targets_for,
    text_for,
    year_axes,
    years_of,
)


def urbanization_chart(
    frame: Any,
    targets: Iterable[Any],
    path: str | Path,
    *,
    title: str,
    lang: str = "zh",
    source_line: str,
    comparator: tuple[Iterable[int], Iterable[float]] | None = None,
    history: Iterable[Mapping[str, Any]] = (),
) -> Path:
    """Draw the urbanization-rate chart for one scenario: `path` (PNG, 200 dpi) and its .svg.

    `comparator` (years, shares), optional: the UN growth-difference projection
    (simulator.analysis.comparator), drawn as a dashed grey line.

    `history`: published points {year, value (share), kind} (simulator.analysis.published),
    drawn as black markers, one shape per kind (census, bulletin, rebased, derived), the x
    axis extended to the left to the first of them.

    `frame` is a `timeseries_frame` (needs `time` and `urbanization_rate`; draws
    `hukou_urbanization_rate` too when present). `targets` are the scenario's targets
    (objects or dicts); those on `urbanization_rate` are drawn as dashed lines with a
    marker at the target year. `source_line` goes under the chart (provenance).
    """
    text = text_for(lang)

    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    years = years_of(frame)
    resident = [100.0 * float(v) for v in frame_column(frame, "urbanization_rate")]
    hukou = (
        [100.0 * float(v) for v in frame["hukou_urbanization_rate"]]
        if "hukou_urbanization_rate" in frame
        else None
    )
    goals = targets_for(targets, "urbanization_rate")
    un = ([int(y) for y in comparator[0]], [100.0 * float(v) for v in comparator[1]]) if comparator else None
    published: dict[str, list[tuple[int, float]]] = {}
    for h in history:
        published.setdefault(str(h["kind"]), []).append((int(h["year"]), 100.0 * float(h["value"])))
    past = [v for pts in published.values() for _, v in pts]
    x0 = min([years[0]] + [y for pts in published.values() for y, _ in pts])

    with matplotlib.rc_context(house_rc()):
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

        for kind, (marker, filled) in _HISTORY_MARKERS.items():
            if kind in published:
                xs, ys = zip(*sorted(published[kind]))
                ax.plot(xs, ys, ls="none", marker=marker, ms=6, mec="#111111", mew=1.2,
                        mfc="#111111" if filled else "white", zorder=6, label=text["history"][kind])

        # Plan targets: a dashed level line up to the target year, a hollow marker at it,
        # and the simulated value at that year labelled beside it (annotated, not in the legend).
        for year, value in goals:
            pct = 100.0 * value
            target_mark(ax, years[0], year, pct, text["target_label"].format(year=year, value=round(pct, 2)))
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

        percent_ylim(ax, resident + (hukou or []) + [100.0 * v for _, v in goals] + (un[1] if un else []) + past,
                      resident + [100.0 * v for _, v in goals] + (un[1] if un else []) + past)
        ax.set_xlim(x0 - 0.5, years[-1] + 1.2)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        year_axes(ax, list(range(x0, years[-1] + 1)), text["year"], text["ylabel"], title)
        ax.legend(loc="upper left", frameon=False, fontsize=9)
        add_source_line(fig, source_line)
        return save_chart(fig, path)


#: published points on the urbanization chart: kind -> (marker, filled)
_HISTORY_MARKERS = {"census": ("o", True), "bulletin": ("^", True), "rebased": ("s", False),
                    "derived": ("v", False)}

# --------------------------------------------------------------------------- comparison, frontier


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
    text = text_for(lang)
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    all_years = years_of(frame)
    resident = 100.0 * frame_column(frame, "urbanization_rate")
    hukou = 100.0 * frame_column(frame, "hukou_urbanization_rate")
    marked = [y for y in years if y in all_years]
    with matplotlib.rc_context(house_rc()):
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
        percent_ylim(ax, [float(min(hukou.min(), resident.min()))], [float(max(hukou.max(), resident.max()))])
        ax.set_xlim(all_years[0] - 0.5, all_years[-1] + 0.5)
        year_axes(ax, all_years, text["year"], text["ylabel"], title)
        ax.legend(loc="upper left", frameon=False, fontsize=9)
        add_source_line(fig, source_line)
        return save_chart(fig, path)


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
    estimated: Iterable[str] = (),
) -> Path:
    """Small multiples of the resident urbanization rate (%), one panel per county; PNG + SVG.

    Each panel has the city-wide rate as a thin grey reference line, the city's targets on
    `urbanization_rate` (objects or dicts, as for urbanization_chart) and the county's
    last-year value. `counties` maps a county element to its {zh, en} label. The counties in
    `estimated` (no published 2020 rate: simulator.analysis.published.estimated_counties)
    are drawn dashed, their panel titles saying the 2020 value is an estimate.
    """
    text = text_for(lang)
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    years = years_of(frame)
    city = 100.0 * frame_column(frame, "urbanization_rate")
    rates = {el: 100.0 * frame_column(frame, f"county_urbanization_rate[{el}]") for el in counties}
    goals = targets_for(targets, "urbanization_rate")
    guessed = set(estimated)
    if not rates:
        raise ValueError("county_chart needs at least one county")
    values = [v for r in rates.values() for v in r] + list(city) + [100.0 * g for _, g in goals]
    goal_text = text["list_sep"].join(
        text["city_target_item"].format(year=y, value=round(100.0 * g, 2)) for y, g in goals)
    with matplotlib.rc_context(house_rc()):
        fig = Figure(figsize=(10, 6), layout="constrained")
        FigureCanvasAgg(fig)
        axes, spare = _grid(fig, len(rates), 4, sharex=True, sharey=True)
        for k, (ax, (el, rate)) in enumerate(zip(axes, rates.items())):
            ax.plot(years, city, color="#9a9a9a", lw=1, label=text["city"])
            ax.plot(years, rate, color=SERIES_COLOURS[k % len(SERIES_COLOURS)], lw=2,
                    ls="--" if el in guessed else "-", label=text["county_line"])
            for i, (year, goal) in enumerate(goals):
                ax.plot([year], [100.0 * goal], marker="D", ms=6, mfc="none", mec="#111111", mew=1.2,
                        ls="none", zorder=5, label=text["city_targets"].format(items=goal_text) if i == 0 else None)
            below = rate[-1] < city[-1]  # write the value on the side away from the city line
            ax.annotate(text["value_label"].format(value=rate[-1]), (years[-1], rate[-1]),
                        xytext=(-2, -6 if below else 6), textcoords="offset points", ha="right",
                        va="top" if below else "bottom", fontsize=8,
                        color=SERIES_COLOURS[k % len(SERIES_COLOURS)])
            year_axes(ax, years, "", "", label_of(counties[el], lang, el) + (text["estimated"] if el in guessed else ""))
            ax.title.set_fontsize(10)
            ax.tick_params(labelsize=8)
        for ax in axes:
            if ax.get_subplotspec().is_first_col():
                ax.set_ylabel(text["county_ylabel"], fontsize=9)
            ax.xaxis.set_tick_params(labelbottom=True)  # panels above a spare cell need them
        axes[0].set_ylim(max(0.0, 5 * (min(values) // 5) - 5), min(100.0, 5 * (max(values) // 5) + 5))
        axes[0].set_xlim(years[0] - 0.5, years[-1] + 0.5)
        handles, labels = axes[0].get_legend_handles_labels()
        if guessed & set(rates):
            from matplotlib.lines import Line2D

            handles.append(Line2D([], [], color="#555555", lw=2, ls="--"))
            labels.append(text["estimated_line"])
        if spare:
            for ax in spare:
                ax.axis("off")
            spare[0].legend(handles, labels, loc="center", frameon=False, fontsize=9)
        else:
            fig.legend(handles, labels, loc="outside upper center", ncols=len(labels), frameon=False,
                       fontsize=9)
        fig.suptitle(title)
        add_source_line(fig, source_line)
        return save_chart(fig, path)


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
    text = text_for(lang)
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    years = years_of(frame)
    low, high = (float(v) for v in band)
    if not low < high:
        raise ValueError(f"band must be (low, high) with low < high, got {band!r}")
    series = [frame_column(frame, f"land_per_urban_resident[{el}]") for el in counties]
    finite = [float(v) for s in series for v in s if math.isfinite(v)]
    with matplotlib.rc_context(house_rc()):
        fig = Figure(figsize=(8, 5), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        ax.axhspan(low, high, color="#a6d4a0", alpha=0.35, lw=0)
        ax.text(years[0], low, text["land_band"].format(low=low, high=high), ha="left", va="bottom",
                fontsize=9, color="#2f6b2a")
        county_lines(ax, years, frame, "land_per_urban_resident", counties, lang)
        if planned is not None:
            ax.axhline(float(planned), color="#333333", ls="--", lw=1.2,
                       label=text["planned"].format(value=float(planned)))
        bottom, top = min(finite + [low]), max(finite + [high])
        margin = 0.05 * (top - bottom)
        ax.set_ylim(max(0.0, bottom - 2 * margin), top + margin)
        ax.set_xlim(years[0] - 0.5, years[-1] + 0.5)
        year_axes(ax, years, text["year"], text["land_ylabel"], title)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False, fontsize=9)
        add_source_line(fig, source_line)
        return save_chart(fig, path)


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
    text = text_for(lang)
    panels = _SERVICE_PANELS[lang]
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    years = years_of(frame)
    present = [v for v in panels if any(f"{v}[{el}]" in frame for el in counties)]
    if not present:
        first = next(iter(counties), "<county>")
        raise KeyError(f"the frame has none of {', '.join(panels)} (e.g. no column "
                       f"'{next(iter(panels))}[{first}]')")
    with matplotlib.rc_context(house_rc()):
        fig = Figure(figsize=(10, 6), layout="constrained")
        FigureCanvasAgg(fig)
        axes, spare = _grid(fig, len(present), 2, sharex=True, sharey=True)
        for ax, var in zip(axes, present):
            ax.axhline(1.0, color="#111111", ls="--", lw=1, label=text["standard_met"])
            county_lines(ax, years, frame, var, counties, lang)
            year_axes(ax, years, "", "", panels[var])
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
        add_source_line(fig, source_line)
        return save_chart(fig, path)
