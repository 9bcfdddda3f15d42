"""The text of a calibration: scenarios/calibration.yaml and the fit report (Markdown).

`calibration_yaml(...)` is the scenario `urbsd calibrate` writes (a provenance header,
then `set:` the fitted constants); `report_markdown(...)` the fit report of --report and
docs/calibration.md (parameters, per-series statistics, every point).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from simulator.analysis.calibrate import INITIAL_RATE_PARAMETER, FitResult, Problem


def calibration_yaml(result: FitResult, problem: Problem, table: list[dict[str, Any]],
                     data_files: Sequence[str], model_ref: str = "pingliang") -> str:
    """scenarios/calibration.yaml: header comment (provenance, fit) and `set:` the constants."""
    spec = problem.model.spec
    today = _dt.datetime.now(_dt.timezone.utc).date().isoformat()
    lines = [
        "# Calibrated constants (历史校准参数), written by `urbsd calibrate` -- do not edit by hand.",
        f"# Date: {today}. Model: {spec.name} ({Path(spec.path).name}) sha256 {spec.sha256}.",
        f"# Data: {', '.join(data_files)} (2010-2020; annual estimates rebased, docs/calibration.md).",
        f"# Method: run {problem.start:.0f}-{problem.stop:.0f} from 2010 initial conditions; Sobol search "
        f"({result.n_search} runs) then scipy.optimize.least_squares in the bounds from {result.n_starts} starts;",
        f"# cost {result.cost:.4g} (search best {result.search_cost:.4g}); {result.message}",
        f"# Fitted 2010 urban share (initial condition, not written): "
        f"{result.values.get(INITIAL_RATE_PARAMETER, float('nan')):.4f}",
        "# Fit per series (MAPE, R2, Theil U^M/U^S/U^C; n = points):",
    ]
    for row in table:
        lines.append(f"#   {row['series']:<40} n={row['n']:<2} MAPE {100 * row['mape']:6.2f}%  "
                     f"R2 {stat_text(row['r2'])}  UM {stat_text(row['u_m'])}  US {stat_text(row['u_s'])}  UC {stat_text(row['u_c'])}")
    if result.at_bound:
        lines.append(f"# At a bound: {', '.join(result.at_bound)}")
    lines += [
        "",
        "name: calibration",
        "label: {zh: 历史校准参数（2010—2020）, en: Calibrated constants (2010-2020)}",
        f"model: {model_ref}",
        "set:",
    ]
    for p in problem.parameters:
        if p.name == INITIAL_RATE_PARAMETER:
            continue
        v = result.values[p.name]
        se = result.std_errors.get(p.name, float("nan"))
        lines.append(f"  {p.name}: {constant_text(v)}   # {p.group}; std. error {constant_text(se)}; model "
                     f"estimate {constant_text(p.default)}, bounds [{constant_text(p.low)}, {constant_text(p.high)}]")
    return "\n".join(lines) + "\n"


def stat_text(x: float) -> str:
    """A fit statistic in a 5-wide column (nan as '  nan')."""
    return "  nan" if x != x else f"{x:5.2f}"


def constant_text(x: float) -> str:
    """A fitted constant to 6 significant digits."""
    return f"{x:.6g}"


def fit_table_markdown(table: list[dict[str, Any]]) -> str:
    """The fit table as Markdown (for docs/calibration.md)."""
    out = ["| series | n | MAPE | R² | U^M | U^S | U^C |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in table:
        out.append(f"| {r['series']} | {r['n']} | {100 * r['mape']:.2f}% | {stat_text(r['r2']).strip()} | "
                   f"{stat_text(r['u_m']).strip()} | {stat_text(r['u_s']).strip()} | {stat_text(r['u_c']).strip()} |")
    return "\n".join(out) + "\n"


def points_markdown(table: list[dict[str, Any]]) -> str:
    """Every compared point, observed vs simulated, as Markdown."""
    out = ["| series | year | observed | simulated | kind |", "| --- | --- | --- | --- | --- |"]
    for r in table:
        for p in r["points"]:
            name = r["series"] if p["element"] is None or "[county]" not in r["series"] else \
                r["series"].replace("county", p["element"])
            out.append(f"| {name} | {p['year']} | {p['observed']:.6g} | {p['simulated']:.6g} | {p['kind']} |")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- the command


def parameters_markdown(result: FitResult, problem: Problem) -> str:
    """Fitted values beside the model's estimates, bounds, prior sd and standard errors."""
    out = ["| constant | group | model estimate | fitted | std. error | prior sd | bounds |",
           "| --- | --- | --- | --- | --- | --- | --- |"]
    for p in problem.parameters:
        se = result.std_errors.get(p.name, float("nan"))
        prior = "-" if p.prior_sd is None else constant_text(p.prior_sd)
        out.append(f"| {p.name} | {p.group} | {constant_text(p.default)} | {constant_text(result.values[p.name])} | "
                   f"{constant_text(se)} | {prior} | [{constant_text(p.low)}, {constant_text(p.high)}] |")
    return "\n".join(out) + "\n"


def report_markdown(result: FitResult, problem: Problem, table: list[dict[str, Any]]) -> str:
    """The fit report (Markdown): parameters, per-series statistics, every point."""
    spec = problem.model.spec
    return (
        f"Model {spec.name} sha256 `{spec.sha256[:12]}`; cost {result.cost:.4g} "
        f"(best of the search {result.search_cost:.4g}, {result.n_search} runs; "
        f"{result.n_starts} least-squares starts, {result.nfev} evaluations).\n\n"
        + parameters_markdown(result, problem) + "\n" + fit_table_markdown(table) + "\n"
        + points_markdown(table)
    )
