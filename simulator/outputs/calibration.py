"""The text of a calibration: the scenario, the posterior file and the Markdown reports.

`calibration_yaml(run, ...)` is the scenario `urbsd calibrate` writes (a provenance header,
then `set:` the fitted constants, MAP values); `posterior_csv(run, ...)` the posterior
draws (comment lines, then `draw`, one column per fitted constant, `log_prob`);
`report_markdown(run)` the fit report (parameters, statistics per series, every point
with its posterior band, out-of-sample checks, sampler diagnostics); `holdout_markdown(run)`
the out-of-sample table of `--holdout-after` that docs/calibration.md includes.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from simulator.analysis.calrun import CalibrationRun, posterior_table


def stat_text(x: float) -> str:
    """A fit statistic in a 5-wide column (nan as '  nan')."""
    return "  nan" if x != x else f"{x:5.2f}"


def constant_text(x: float) -> str:
    """A fitted constant to 6 significant digits."""
    return f"{x:.6g}"


def _full(x: float) -> str:
    """A number at full precision (round-trips)."""
    return repr(float(x))


def _post_by_name(run: CalibrationRun) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in run.posterior.summary()} if run.posterior is not None else {}


def _provenance(run: CalibrationRun, data_files: Sequence[str], dated: bool = True) -> list[str]:
    spec, problem, result = run.spec, run.problem, run.result
    mspec = problem.model.spec
    today = _dt.datetime.now(_dt.timezone.utc).date().isoformat()
    dt = problem.dt if problem.dt is not None else mspec.time.dt
    return [
        f"# {f'Date: {today}. ' if dated else ''}Model: {mspec.name} ({Path(mspec.path).name}) sha256 {mspec.sha256}.",
        f"# Specification: {spec.path.name} ({spec.name}) sha256 {spec.sha256}.",
        f"# Data: {', '.join(data_files)}.",
        f"# Method: run {problem.start:.0f}-{problem.stop:.0f} ({problem.method}, dt {dt:g}); MAP: Sobol search "
        f"({result.n_search} runs) then scipy.optimize.least_squares in the bounds from {result.n_starts} starts;",
        f"# cost {result.cost:.4g} (search best {result.search_cost:.4g}); {result.message}",
    ]


def _posterior_line(run: CalibrationRun, posterior_file: str | None) -> list[str]:
    post = run.posterior
    if post is None:
        return ["# Posterior: not sampled in this run (--no-posterior)."]
    import emcee

    return [
        f"# Posterior: emcee {emcee.__version__} EnsembleSampler (vectorized), {post.walkers} walkers x {post.steps} "
        f"steps, seed {post.seed}; acceptance {np.mean(post.acceptance):.2f}; autocorrelation time "
        f"{np.min(post.tau):.1f}-{np.max(post.tau):.1f} steps; burn-in {post.burn}, thin {post.thin}; "
        f"{len(post.draws)} draws" + (f" in {posterior_file}" if posterior_file else "") + "."
    ] + [f"# Note: {n}" for n in post.notes]


def _set_lines(run: CalibrationRun) -> list[str]:
    """`set:` entries: one per fitted constant; an element-wise constant as a mapping."""
    result, post = run.result, _post_by_name(run)
    defaults = run.spec.view.defaults()
    lines, done = [], set()
    for p in run.constant_parameters():
        se = result.std_errors.get(p.name, math.nan)
        pr = post.get(p.name)
        tail = f"; posterior {constant_text(pr['mean'])} +/- {constant_text(pr['sd'])}" if pr else ""
        note = (f"   # {p.group + '; ' if p.group else ''}std. error {constant_text(se)}{tail}; prior "
                f"{p.prior.describe() if p.prior else 'flat'}; "
                f"bounds [{constant_text(p.low)}, {constant_text(p.high)}]")
        if p.element is None:
            lines.append(f"  {p.constant}: {constant_text(result.values[p.name])}{note}")
            continue
        if p.constant in done:
            continue
        done.add(p.constant)
        spec = run.problem.model.spec
        dims = run.problem.model.dims[p.constant]
        if len(dims) != 1:
            raise ValueError(f"{p.constant}: a scenario sets one-dimensional constants only")
        fitted = {q.element[0]: result.values[q.name] for q in run.constant_parameters() if q.constant == p.constant}
        items = ", ".join(f"{e}: {constant_text(fitted.get(e, float(defaults[p.constant][0, i])))}"
                          for i, e in enumerate(spec.elements(dims[0])))
        lines.append(f"  {p.constant}: {{{items}}}   # fitted: {', '.join(fitted)}; the others keep the model's values")
    return lines


def calibration_yaml(run: CalibrationRun, data_files: Sequence[str], model_ref: str,
                     posterior_file: str | None) -> str:
    """The calibration scenario: provenance header, fit summary, `set:` the MAP values."""
    lines = ["# Calibrated constants (历史校准参数), written by `urbsd calibrate` -- do not edit by hand.",
             *_provenance(run, data_files)]
    free = [p for p in run.problem.parameters if p.constant is None]
    if free:
        lines.append("# Fitted, not written (they set the calibration run's initial values only): "
                     + ", ".join(f"{p.name} {run.result.values[p.name]:.4f}" for p in free))
    lines.append("# Fit per series (MAPE, R2, Theil U^M/U^S/U^C; n = points):")
    for row in run.table:
        lines.append(f"#   {row['series']:<40} n={row['n']:<2} MAPE {100 * row['mape']:6.2f}%  "
                     f"R2 {stat_text(row['r2'])}"
                     f"  UM {stat_text(row['u_m'])}  US {stat_text(row['u_s'])}  UC {stat_text(row['u_c'])}")
    for c in run.checks:
        lines.append(f"# Out of sample (not fitted): {c['series']} {c['year']}: observed {c['observed']:.6g}, "
                     f"simulated {c['simulated']:.6g} ({c['z']:+.1f} sigma)")
    for b in run.bounds:
        sign = ">=" if b["bound"] == "lower" else "<="
        lines.append(f"# Bound: {b['series']} {b['year']} {sign} {b['observed']:.6g}: "
                     f"simulated {b['simulated']:.6g} ({'holds' if b['holds'] else 'violated by %.3g, %.2f sigma' % (abs(b['error']), abs(b['z']))})")
    if run.result.at_bound:
        lines.append(f"# At a bound: {', '.join(run.result.at_bound)}")
    lines += _posterior_line(run, posterior_file)
    w = run.spec.write
    label = w.label.model_dump() if w.label is not None else {"zh": w.name, "en": w.name}
    lines += ["", f"name: {w.name}", "kind: support   # values other scenarios extend, not a policy (urbsd compare skips it)",
              f"label: {{zh: {label['zh']}, en: {label['en']}}}", f"model: {model_ref}", "set:"]
    lines += _set_lines(run)
    return "\n".join(lines) + "\n"


def posterior_csv(run: CalibrationRun, data_files: Sequence[str]) -> str:
    """The posterior draws: `#` comment lines (provenance), a header, one row per draw."""
    names, draws, log_prob = posterior_table(run)
    lines = [f"# Posterior draws of the calibration {run.spec.name}, written by `urbsd calibrate` -- "
             "do not edit by hand.",
             *_provenance(run, data_files, dated=False), *_posterior_line(run, None),
             "# Columns: draw; each fitted model constant (the value a scenario sets); log_prob (log posterior, "
             "up to a constant). Rows are joint draws: sample whole rows to keep the correlations.",
             ",".join(["draw", *names, "log_prob"])]
    for i, (row, lp) in enumerate(zip(draws, log_prob)):
        lines.append(",".join([str(i), *(_full(x) for x in row), _full(lp)]))
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- Markdown


def _band(b: dict[str, Any] | None) -> str:
    return f"{b['p5']:.6g} – {b['p95']:.6g}" if b else "–"


def parameters_markdown(run: CalibrationRun) -> str:
    """Fitted values beside the model's estimates, priors, bounds, standard errors and posterior."""
    post = _post_by_name(run)
    out = ["| parameter | group | prior | bounds | start | MAP | std. error | posterior mean ± sd "
           "| posterior 5–95% |",
           "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for p in run.problem.parameters:
        pr = post.get(p.name)
        out.append(f"| {p.name} | {p.group} | {p.prior.describe() if p.prior else 'flat'} | "
                   f"[{constant_text(p.low)}, {constant_text(p.high)}] | {constant_text(p.default)} | "
                   f"{constant_text(run.result.values[p.name])} | "
                   f"{constant_text(run.result.std_errors.get(p.name, math.nan))} | "
                   + (f"{constant_text(pr['mean'])} ± {constant_text(pr['sd'])} | {_band(pr)} |"
                      if pr else "– | – |"))
    return "\n".join(out) + "\n"


def fit_table_markdown(table: list[dict[str, Any]]) -> str:
    """Per-series statistics as Markdown."""
    out = ["| series | n | MAPE | R² | U^M | U^S | U^C |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in table:
        out.append(f"| {r['series']} | {r['n']} | {100 * r['mape']:.2f}% | {stat_text(r['r2']).strip()} | "
                   f"{stat_text(r['u_m']).strip()} | {stat_text(r['u_s']).strip()} | {stat_text(r['u_c']).strip()} |")
    return "\n".join(out) + "\n"


def _point_name(series: str, row: Sequence[Any]) -> str:
    """A series name that says which element a point is, e.g. 'share[county] (kongtong)'."""
    if not row or not series.endswith("]") or str(row[1]) in series:
        return series
    return f"{series} ({row[1]})"


def points_markdown(run: CalibrationRun) -> str:
    """Every observation: observed, sigma, MAP value, the 5–95% band of the simulated value over
    the posterior and the predictive band (with the observation error)."""
    from simulator.analysis.calibrate import simulate_observations, theta_of

    sim = simulate_observations(run.problem, theta_of(run.problem, run.result.values))[0]
    bands = run.bands or [None] * len(sim)
    out = ["| series | year | role | observed | sigma | MAP | model 5–95% | predictive 5–95% | kind |",
           "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for o, s, b in zip(run.problem.observations, sim, bands):
        role = o.role + (f" ({o.bound} bound)" if o.bound else "")
        name = _point_name(o.series, o.row)
        pred = f"{b['pred_p5']:.6g} – {b['pred_p95']:.6g}" if b else "–"
        out.append(f"| {name} | {o.year} | {role} | {o.value:.6g} | {o.sigma:.3g} | {s:.6g} | {_band(b)} | "
                   f"{pred} | {o.kind} |")
    return "\n".join(out) + "\n"


def diagnostics_markdown(run: CalibrationRun) -> str:
    """The sampler's diagnostics as a sentence list."""
    post = run.posterior
    if post is None:
        return "No posterior sampled (--no-posterior).\n"
    lines = [
        f"- emcee EnsembleSampler, differential-evolution moves (80% DE, 20% snooker), `vectorize=True`: "
        f"{post.walkers} walkers × {post.steps} steps, seed "
        f"{post.seed}; {post.batches} batch runs of the engine ({' or '.join(map(str, post.batch_runs))} runs each); "
        f"{post.seconds:.0f} s.",
        f"- Acceptance fraction {np.mean(post.acceptance):.2f} (walkers {np.min(post.acceptance):.2f}–"
        f"{np.max(post.acceptance):.2f}).",
        f"- Integrated autocorrelation time {np.min(post.tau):.1f}–{np.max(post.tau):.1f} steps "
        f"(chain {post.steps / np.max(post.tau):.0f} × the longest; reliable from 50 ×): "
        + ("**too short**." if post.too_short else "long enough."),
        f"- Burn-in {post.burn} steps, thinning {post.thin}: {len(post.draws)} draws kept; the chain after "
        f"burn-in holds about {post.effective_samples:.0f} independent samples (walkers × steps / tau).",
    ]
    lines += [f"- Note: {n}" for n in post.notes]
    return "\n".join(lines) + "\n"


def correlation_markdown(run: CalibrationRun, threshold: float = 0.3) -> str:
    """Posterior correlations stronger than `threshold` in absolute value."""
    post = run.posterior
    if post is None:
        return ""
    c = post.correlation()
    pairs = [(abs(c[i, j]), post.names[i], post.names[j], c[i, j])
             for i in range(len(post.names)) for j in range(i + 1, len(post.names)) if abs(c[i, j]) >= threshold]
    if not pairs:
        return f"No posterior correlation above {threshold:g} in absolute value.\n"
    out = ["| parameters | correlation |", "| --- | --- |"]
    out += [f"| {a} – {b} | {r:+.2f} |" for _, a, b, r in sorted(pairs, reverse=True)]
    return "\n".join(out) + "\n"


def _error_text(c: dict[str, Any]) -> str:
    """An error in the unit a reader expects: pp for shares and rates, per mille for small rates
    (crude birth and death rates), else absolute and relative."""
    if 0 < abs(c["observed"]) < 1 and ("rate" in c["series"] or "share" in c["series"]):
        small_rate = abs(c["observed"]) < 0.05 and "share" not in c["series"]
        return f"{1000 * c['error']:+.2f} ‰" if small_rate else f"{100 * c['error']:+.2f} pp"
    return f"{c['error']:+.4g} ({100 * c['relative_error']:+.2f}%)"


def checks_markdown(run: CalibrationRun) -> str:
    """The observations not fitted: observed, predicted (MAP), error, error / sigma, band."""
    if not run.checks:
        return "No out-of-sample observation.\n"
    bands = {(b["series"], b["year"]): b for b in (run.bands or []) if b["role"] == "check"}
    out = ["| series | year | observed | predicted (MAP) | error | error / sigma | model 5–95% "
           "| predictive 5–95% covers it |",
           "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for c in run.checks:
        b = bands.get((c["series"], c["year"]))
        out.append(f"| {_point_name(c['series'], c['row'])} | {c['year']} | {c['observed']:.6g} | "
                   f"{c['simulated']:.6g} | {_error_text(c)} | "
                   f"{c['z']:+.2f} | {_band(b)} | {('yes' if b['inside'] else 'no') if b else '–'} |")
    if run.check_table:
        out += ["", "Out of sample, per series:", "", fit_table_markdown(run.check_table).rstrip()]
    return "\n".join(out) + "\n"


def report_markdown(run: CalibrationRun) -> str:
    """The whole fit report."""
    r, spec = run.result, run.problem.model.spec
    head = (f"Model {spec.name} sha256 `{spec.sha256[:12]}`, specification `{run.spec.path.name}` sha256 "
            f"`{run.spec.sha256[:12]}`; MAP cost {r.cost:.4g} (best of the search {r.search_cost:.4g}, "
            f"{r.n_search} runs; "
            f"{r.n_starts} least-squares starts, {r.nfev} evaluations; {run.seconds.get('map', math.nan):.1f} s).\n")
    parts = [head, "### Parameters\n", parameters_markdown(run), "### Fit per series (MAP)\n",
             fit_table_markdown(run.table),
             "### Every point\n", points_markdown(run), "### Out of sample\n", checks_markdown(run)]
    if run.posterior is not None:
        parts += ["### Posterior sampler\n", diagnostics_markdown(run), "### Posterior correlations\n",
                  correlation_markdown(run)]
    return "\n".join(parts)


def holdout_markdown(run: CalibrationRun) -> str:
    """The out-of-sample table of `--holdout-after`: fitted up to the cutoff, predicted after it."""
    spec = run.problem.model.spec
    fitted = sum(1 for o in run.problem.observations if o.role == "fit")
    head = (f"Fitted on the {fitted} observations up to {run.holdout_after} only "
            f"(model {spec.name} sha256 `{spec.sha256[:12]}`, specification `{run.spec.path.name}` sha256 "
            f"`{run.spec.sha256[:12]}`), then run on; the later observations are predictions.\n")
    return head + "\n" + checks_markdown(run)
