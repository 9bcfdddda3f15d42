"""What a chart-drawing process can do before the charts' data exist (`drawing.early_drawing`):
import matplotlib and the chart modules, register the CJK font and load its glyphs by drawing
a small figure with Chinese text to PNG and SVG in memory, and place the label of every bundled
county outline (geo.interior_point remembers them per process). It changes no chart: a chart
drawn after it is the same to the byte (tests/outputs/test_drawing.py).
"""

from __future__ import annotations


def warm_up() -> None:
    """Load in this process what drawing `urbsd run`'s charts will need (see the module)."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from simulator.outputs import geo
    from simulator.outputs.charts import maps, scenario  # noqa: F401 - imported for their imports
    from simulator.outputs.charts.style import house_rc, render_chart

    with matplotlib.rc_context(house_rc()):
        fig = Figure(figsize=(2, 1))
        FigureCanvasAgg(fig)
        fig.text(0.1, 0.5, "常住人口城镇化率（%）2035年 Urbanization rate")
    render_chart(fig)
    shapes, scale = geo.county_outlines()
    for shape in shapes.values():
        geo.interior_point(shape, scale)
