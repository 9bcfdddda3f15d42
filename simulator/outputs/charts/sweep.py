"""Charts of a sweep: the fan of the urbanization rate across runs and the sensitivity
indices (`urbsd sweep`, `urbsd report`)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from simulator.outputs.charts.style import (
    add_source_line,
    house_rc,
    percent_ylim,
    save_chart,
    target_mark,
    text_for,
    year_axes,
)
from simulator.outputs.labels import probability_text

_SWEEP_TEXT = {
    "zh": {"median": "中位数", "band90": "5%–95% 区间", "band50": "25%–75% 区间",
           "target": "{year}年目标 {value:g}%（达成概率 {p}）", "target_only": "{year}年目标 {value:g}%", "year": "年份",
           "ylabel": "常住人口城镇化率（%）", "S1": "一阶指数 S1", "ST": "总效应指数 ST",
           "mu_star": "μ*（每单位分位数）", "sigma": "σ", "spearman_rho": "斯皮尔曼秩相关系数",
           "urbanization_rate": "常住人口城镇化率", "hukou_urbanization_rate": "户籍人口城镇化率",
           "output": "{name} {year}年"},
    "en": {"median": "Median", "band90": "5–95% band", "band50": "25–75% band",
           "target": "{year} target {value:g}% (probability {p})", "target_only": "{year} target {value:g}%", "year": "Year",
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
    sweep's dicts {indicator, year, target, probability, reached, runs} (urbanization_rate
    ones are drawn, the probability to its resolution; a probability of None, as for Morris
    screening, is not drawn).
    Writes `path` (PNG) and its .svg.
    """
    text_for(lang)
    text = _SWEEP_TEXT[lang]
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    pct = {k: [100.0 * v for v in vals] for k, vals in bands.items()}
    goals = [t for t in targets if t["indicator"] == "urbanization_rate"]
    with matplotlib.rc_context(house_rc()):
        fig = Figure(figsize=(8, 5), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        ax.fill_between(years, pct["p5"], pct["p95"], color="#e8a9a0", alpha=0.55, lw=0, label=text["band90"])
        ax.fill_between(years, pct["p25"], pct["p75"], color="#d0604f", alpha=0.6, lw=0, label=text["band50"])
        ax.plot(years, pct["p50"], color="#8e1f14", lw=2.2, label=text["median"])
        for t in goals:
            value = 100.0 * t["target"]
            label = (text["target_only"].format(year=t["year"], value=round(value, 2))
                     if t.get("probability") is None else
                     text["target"].format(year=t["year"], value=round(value, 2),
                                           p=_probability(t)))
            target_mark(ax, years[0], t["year"], value, label)
        percent_ylim(ax, pct["p5"] + [100.0 * t["target"] for t in goals],
                      pct["p95"] + [100.0 * t["target"] for t in goals])
        ax.set_xlim(years[0] - 0.5, years[-1] + 0.5)
        year_axes(ax, years, text["year"], text["ylabel"], title)
        ax.legend(loc="upper left", frameon=False, fontsize=9)
        add_source_line(fig, source_line)
        return save_chart(fig, path)


def _probability(t: dict) -> str:
    """The target's probability to the resolution of its runs (plain % when they are not given)."""
    if "runs" in t and "reached" in t:
        return probability_text(int(t["reached"]), int(t["runs"]))
    return f"{100 * t['probability']:.1f}%"


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
    text_for(lang)
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
    with matplotlib.rc_context(house_rc()):
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
        add_source_line(fig, source_line)
        return save_chart(fig, path)


# --------------------------------------------------------------------------- gap, counties, land, services
