"""County maps (choropleths) of one run: a quantity in a "from" year, in the last year, and its change.

`county_map_figure` draws one row of three maps per quantity (`MapQuantity`) from plain data:
the county outlines (`simulator.outputs.geo.Shape`), the values in display units, the counties
whose "from" figure is an estimate (hatched), and notes for the legend. One colour scale per
quantity for its two years, one for its change, each with its unit on the colour bar; a level
with a `centre` (the middle of the GB 50137 band, adequacy 1) gets a diverging scale centred
there, a change one centred on 0. The map is equirectangular with the aspect 1/cos(latitude)
(simulator.outputs.geo). `county_map_chart` writes it in the house style (PNG 200 dpi + SVG).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulator.outputs.charts.style import add_source_line, house_rc, save_chart, text_for

#: fill of a county with no number (NaN)
NO_DATA = "#d9d9d9"
#: the estimate hatch
HATCH = "////"
HATCH_COLOUR = "#3a3a3a"

MAP_TEXT = {
    "zh": {
        "change": "变化（{start}—{end}年）",
        "panel": "{name}，{year}年",
        "hatched": "斜线：{year}年数字未公布，为模型估计值（变化图同）",
        "no_data": "灰色：无数据",
    },
    "en": {
        "change": "Change {start}–{end}",
        "panel": "{name}, {year}",
        "hatched": "Hatched: {year} figure not published, a model estimate (also in the change)",
        "no_data": "Grey: no data",
    },
}


@dataclass(frozen=True)
class MapQuantity:
    """One row of the county map, in display units (e.g. % for a rate).

    `start`/`end` map county -> value in `years` (start, end); `unit` labels the level colour
    bar, `change_unit` the change's; `fmt`/`change_fmt` format the values written on the map.
    `centre`: the level scale diverges from this value (None: a sequential scale); `band`
    (low, high) is marked on the level colour bar; `estimated`: counties whose start figure is
    not published (hatched in the start and change maps).
    """

    key: str
    name: str
    years: tuple[int, int]
    start: Mapping[str, float]
    end: Mapping[str, float]
    unit: str
    change_unit: str
    fmt: str = "{:.1f}"
    change_fmt: str = "{:+.1f}"
    cmap: str = "YlGnBu"
    change_cmap: str = "PuOr"
    centre: float | None = None
    band: tuple[float, float] | None = None
    estimated: frozenset[str] = field(default_factory=frozenset)

    def change(self) -> dict[str, float]:
        return {k: self.end[k] - self.start[k] for k in self.start}


def _limits(values: Sequence[float], centre: float | None, band: tuple[float, float] | None
            ) -> tuple[float, float]:
    """Nice colour-scale limits: around `values` (sequential), or symmetric about `centre`
    wide enough for the values and the `band` (diverging)."""
    from matplotlib.ticker import MaxNLocator

    vals = [float(v) for v in values if math.isfinite(v)]
    if centre is None:
        low, high = (min(vals), max(vals)) if vals else (0.0, 1.0)
        if high - low < 1e-9:
            low, high = low - 1.0, high + 1.0
        ticks = MaxNLocator(5).tick_values(low, high)
        return float(ticks[0]), float(ticks[-1])
    half = max([abs(v - centre) for v in vals] + [abs(b - centre) for b in (band or ())] + [0.0])
    if half < 1e-9:
        half = 1.0
    ticks = MaxNLocator(4, symmetric=True).tick_values(-half, half)
    half = float(max(abs(ticks[0]), abs(ticks[-1])))
    return centre - half, centre + half


def _patch(shape: Any) -> Any:
    """A PathPatch of all the rings of `shape` (outer rings counter-clockwise, holes clockwise)."""
    import numpy as np
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as MplPath

    verts, codes = [], []
    for ring in shape.rings():
        verts.append(ring)
        codes += [MplPath.MOVETO] + [MplPath.LINETO] * (len(ring) - 2) + [MplPath.CLOSEPOLY]
    return PathPatch(MplPath(np.concatenate(verts), codes))


def _draw_map(ax: Any, shapes: Mapping[str, Any], outline: Any, values: Mapping[str, float], norm: Any,
              cmap: Any, estimated: frozenset[str], labels: Mapping[str, str], points: Mapping[str, Any],
              fmt: str, aspect: float) -> Any:
    """One choropleth in `ax`; returns the county fills: a PatchCollection (gid 'fill') in `shapes`
    order, coloured by `cmap` and `norm` from its array of values (NaN: NO_DATA), which the
    colour bar uses too. Then the estimate hatch (gid 'estimated:<names>'), the city outline,
    a name and value per county (gid 'label:<name>')."""
    import numpy as np
    from matplotlib.collections import PatchCollection

    names = list(shapes)
    fills = PatchCollection([_patch(shapes[n]) for n in names], cmap=cmap.with_extremes(bad=NO_DATA), norm=norm,
                            edgecolors="white", linewidths=0.6, zorder=1)
    fills.set_array(np.array([values[n] for n in names], dtype=float))
    fills.set_gid("fill")
    ax.add_collection(fills)
    hatched = [n for n in names if n in estimated]
    if hatched:
        import matplotlib

        with matplotlib.rc_context({"hatch.color": HATCH_COLOUR, "hatch.linewidth": 0.6}):
            over = PatchCollection([_patch(shapes[n]) for n in hatched], facecolors="none",
                                   edgecolors=HATCH_COLOUR, linewidths=0, hatch=HATCH, zorder=2)
        over.set_gid("estimated:" + ",".join(hatched))
        ax.add_collection(over)
    if outline is not None:
        border = _patch(outline)
        border.set(facecolor="none", edgecolor="#222222", linewidth=1.1, zorder=3)
        ax.add_artist(border)  # as add_patch, without its slow data-limit update: the limits are set below
    for n in names:
        v = values[n]
        text = labels.get(n, n) + ("\n" + fmt.format(v) if v == v else "")
        t = ax.text(*points[n], text, ha="center", va="center", fontsize=6.5, color="#111111", zorder=4,
                    linespacing=1.05, gid=f"label:{n}")
        t.set_bbox({"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.7})
    boxes = np.array([s.bounds() for s in shapes.values()])
    x0, y0 = boxes[:, :2].min(axis=0)
    x1, y1 = boxes[:, 2:].max(axis=0)
    pad = 0.02 * (x1 - x0)
    ax.set_xlim(x0 - pad, x1 + pad)
    ax.set_ylim(y0 - pad, y1 + pad)
    ax.set_aspect(aspect)
    ax.set_axis_off()
    return fills


def _legend_entries(quantities: Sequence[MapQuantity], notes: Sequence[str], text: Mapping[str, str]
                    ) -> list[tuple[Any, str]]:
    """(handle, text) of the key under the maps: the estimate hatch, no data, the notes."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    entries: list[tuple[Any, str]] = []
    for year in sorted({q.years[0] for q in quantities if q.estimated}):
        entries.append((Patch(facecolor="white", edgecolor=HATCH_COLOUR, hatch=HATCH, lw=0.6),
                        text["hatched"].format(year=year)))
    if any(v != v for q in quantities for d in (q.start, q.end) for v in d.values()):
        entries.append((Patch(facecolor=NO_DATA, edgecolor="white"), text["no_data"]))
    entries += [(Line2D([], [], ls="none"), note) for note in notes]
    return entries


#: the fixed layout, in inches: figure width, side margin, gap between maps, title above the
#: figure, panel title, gap map-colour bar, colour bar, its ticks and label, gap between rows, key
#: line, source line; the map height follows from the column width and the outlines' aspect
_LAYOUT = {"width": 10.0, "side": 0.15, "gap": 0.2, "top": 0.55, "title": 0.3, "bar_gap": 0.08,
           "bar": 0.11, "bar_text": 0.42, "row_gap": 0.22, "key_line": 0.17, "source": 0.35}


def _layout(n_rows: int, n_key: int, map_shape: float) -> dict[str, Any]:
    """Axes rectangles (figure fractions) of the fixed layout: `map_shape` is the maps' height over
    width. Fixed rather than matplotlib's constrained layout: with it, an earlier version of this
    figure took 4.1-4.3 CPU-s to draw against 2.5-2.8 s with the layout engine off."""
    lay = _LAYOUT
    col = (lay["width"] - 2 * lay["side"] - 2 * lay["gap"]) / 3
    map_h = min(col * map_shape, 3.0)
    row_h = lay["title"] + map_h + lay["bar_gap"] + lay["bar"] + lay["bar_text"] + lay["row_gap"]
    key_h = lay["key_line"] * n_key + (0.1 if n_key else 0.0)
    height = lay["top"] + n_rows * row_h + key_h + lay["source"]
    W, H = lay["width"], height

    def rect(x: float, y_top: float, w: float, h: float) -> list[float]:
        return [x / W, 1 - (y_top + h) / H, w / W, h / H]

    rows = []
    for r in range(n_rows):
        y = lay["top"] + r * row_h + lay["title"]
        maps = [rect(lay["side"] + c * (col + lay["gap"]), y, col, map_h) for c in range(3)]
        bar_y = y + map_h + lay["bar_gap"]
        two = 2 * col + lay["gap"]
        level_bar = rect(lay["side"] + 0.2 * two, bar_y, 0.6 * two, lay["bar"])
        change_bar = rect(lay["side"] + 2 * (col + lay["gap"]) + 0.05 * col, bar_y, 0.9 * col, lay["bar"])
        rows.append((maps, level_bar, change_bar))
    key_top = 1 - (lay["top"] + n_rows * row_h) / H
    return {"size": (W, H), "rows": rows, "key": (lay["side"] / W, key_top), "title_y": 1 - 0.2 / H}


def county_map_figure(
    quantities: Sequence[MapQuantity],
    shapes: Mapping[str, Any],
    labels: Mapping[str, str],
    *,
    title: str,
    source_line: str,
    lang: str = "zh",
    outline: Any = None,
    notes: Sequence[str] = (),
) -> Any:
    """The county map as a matplotlib Figure: one row per quantity (start year, end year, change).

    `shapes` maps each county to its `geo.Shape`, in drawing order; `labels` its name in
    `lang`; `outline` (a Shape) is drawn as the city border. Each map axes has the gid
    `map:<key>:<start|end|change>`, its county fills are the collection with gid 'fill'; the
    colour bars' axes have the gids `bar:<key>:<level|change>`.
    """
    text_for(lang)  # ValueError for a language without a text table
    text = MAP_TEXT[lang]
    if not quantities:
        raise ValueError("county_map_figure needs at least one quantity")
    import matplotlib
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    from simulator.outputs.geo import aspect as map_aspect
    from simulator.outputs.geo import interior_point

    ratio = map_aspect(shapes.values())
    points = {n: interior_point(s, 1.0 / ratio) for n, s in shapes.items()}
    boxes = np.array([s.bounds() for s in shapes.values()])
    (x0, y0), (x1, y1) = boxes[:, :2].min(axis=0), boxes[:, 2:].max(axis=0)
    entries = _legend_entries(quantities, notes, text)
    layout = _layout(len(quantities), len(entries), ratio * (y1 - y0 + 0.04 * (x1 - x0)) / (1.04 * (x1 - x0)))
    with matplotlib.rc_context(house_rc()):
        fig = Figure(figsize=layout["size"])
        FigureCanvasAgg(fig)
        for (maps, level_rect, change_rect), q in zip(layout["rows"], quantities):
            start, end = q.years
            change = q.change()
            level_norm = Normalize(*_limits(list(q.start.values()) + list(q.end.values()), q.centre, q.band))
            change_norm = Normalize(*_limits(list(change.values()), 0.0, None))
            level_cmap = matplotlib.colormaps[q.cmap]
            change_cmap = matplotlib.colormaps[q.change_cmap]
            panels = (("start", q.start, level_norm, level_cmap, q.estimated, q.fmt,
                       text["panel"].format(name=q.name, year=start)),
                      ("end", q.end, level_norm, level_cmap, frozenset(), q.fmt,
                       text["panel"].format(name=q.name, year=end)),
                      ("change", change, change_norm, change_cmap, q.estimated, q.change_fmt,
                       text["change"].format(start=start, end=end)))
            fills = []
            for box, (which, values, norm, cmap, estimated, fmt, panel_title) in zip(maps, panels):
                ax = fig.add_axes(box)
                fills.append(_draw_map(ax, shapes, outline, values, norm, cmap, estimated, labels, points, fmt,
                                       ratio))
                ax.set_title(panel_title, fontsize=9, y=1.02)  # a fixed y: no automatic placement (time)
                ax.set_gid(f"map:{q.key}:{which}")
            for which, mappable, box, label, marks in (("level", fills[0], level_rect, q.unit, q.band or ()),
                                                       ("change", fills[2], change_rect, q.change_unit, ())):
                bar = fig.colorbar(mappable, cax=fig.add_axes(box, gid=f"bar:{q.key}:{which}"),
                                   orientation="horizontal")
                bar.set_label(label, fontsize=8)
                bar.ax.tick_params(labelsize=7)
                if marks:  # the standard's band: its ends and middle are the ticks
                    low, high = mappable.norm.vmin, mappable.norm.vmax
                    bar.set_ticks(sorted({low, high, *marks, 0.5 * (marks[0] + marks[1])}))
                    for mark in marks:
                        bar.ax.axvline(mark, color="#111111", lw=1.2)
                else:  # few ticks: each one is text to lay out (the slow part of drawing)
                    bar.locator = MaxNLocator(6, steps=[1, 2, 5, 10])
                centre = q.centre if which == "level" else 0.0
                if centre is not None:
                    bar.ax.axvline(centre, color="#111111", lw=0.8, ls=":")
        if entries:
            fig.legend([h for h, _ in entries], [e for _, e in entries], loc="upper left",
                       bbox_to_anchor=layout["key"], frameon=False, fontsize=7.5, handlelength=1.6,
                       handleheight=1.1, borderaxespad=0, borderpad=0)
        fig.suptitle(title, y=layout["title_y"], va="top")
        add_source_line(fig, source_line)
    return fig


def county_map_chart(
    quantities: Sequence[MapQuantity],
    shapes: Mapping[str, Any],
    labels: Mapping[str, str],
    path: str | Path,
    *,
    title: str,
    source_line: str,
    lang: str = "zh",
    outline: Any = None,
    notes: Sequence[str] = (),
) -> Path:
    """Draw `county_map_figure` to `path` (PNG, 200 dpi) and its .svg, atomically; the two side by
    side where there are cores for it (the map is the slowest chart of `urbsd run`)."""
    fig = county_map_figure(quantities, shapes, labels, title=title, source_line=source_line, lang=lang,
                            outline=outline, notes=notes)
    return save_chart(fig, path, side_by_side=True)
