"""Cost of the county map in `urbsd run`, side by side with the urbanization chart, in one process.

Draws the bundled baseline's charts as `urbsd run` does (PNG 200 dpi + SVG, in memory) and prints
the best of N CPU seconds (time.process_time, so other load on the machine counts less than in
wall time) of the urbanization chart and of the county map, with their ratio, and of the label
points (geo.interior_point, once per process: read from data/geo/labels.json for the bundled
outlines, and the same search done anew); and the sizes of the files.
Run: python benchmarks/county_map.py [N]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path


def best_cpu(fn, n: int) -> float:
    times = []
    for _ in range(n):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return min(times)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    from simulator.analysis.results import timeseries_columns
    from simulator.api import load
    from simulator.engine.compile import compile_model
    from simulator.engine.integrate import simulate
    from simulator.outputs import geo
    from simulator.outputs.charts import maps, scenario, style
    from simulator.outputs.county_map import map_content

    sc = load()
    frame = timeseries_columns(simulate(compile_model(sc.spec), sc.params))
    content = map_content(sc.spec, frame)

    t0 = time.process_time()
    scale = 1 / geo.aspect(content.shapes.values())
    for shape in content.shapes.values():
        geo.interior_point(shape, scale)
    labels = time.process_time() - t0
    t0 = time.process_time()
    geo.label_table()  # the same points searched anew, as for outlines data/geo/labels.json lacks
    search = time.process_time() - t0

    def urbanization() -> dict:
        captured = {}
        original = scenario.save_chart
        scenario.save_chart = lambda fig, path: captured.update(style.render_chart(fig)) or Path(path)
        try:
            scenario.urbanization_chart(frame, sc.targets, "u.png", title="x", source_line="s")
        finally:
            scenario.save_chart = original
        return captured

    def county_map() -> dict:
        fig = maps.county_map_figure(content.quantities, content.shapes, content.names, title="x",
                                     source_line="s", outline=content.outline, notes=content.notes)
        return style.render_chart(fig)

    files = {"urbanization": urbanization(), "county map": county_map()}  # warm up: imports, fonts
    chart = best_cpu(urbanization, n)
    fixed = best_cpu(county_map, n)
    print(f"best of {n}, CPU seconds (PNG 200 dpi + SVG, in memory):")
    print(f"  urbanization chart              {chart:6.2f} s")
    print(f"  county map (three rows)         {fixed:6.2f} s  ({fixed / chart:.1f}x the urbanization chart)")
    print(f"  label points, once per process  {labels:6.2f} s  (from data/geo/labels.json; searched anew "
          f"{search:.2f} s)")
    for name, out in files.items():
        print(f"  {name}: PNG {len(out['.png']) / 1024:.0f} KiB, SVG {len(out['.svg']) / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
