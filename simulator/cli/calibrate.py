"""`urbsd calibrate`: fit a model to history from a calibration spec; write the calibration
scenario and its posterior draws (or, with --holdout-after, an out-of-sample table)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from simulator.errors import InputError

#: the out-of-sample table's file name (in --out, default results/)
HOLDOUT_FILE = "calibration-holdout.md"


def add_parser(sub: Any) -> None:
    """The `calibrate` subcommand's options."""
    cal = sub.add_parser(
        "calibrate",
        help="fit model constants to history (MAP + Bayesian posterior); write scenarios/calibration.yaml",
        description="Read a calibration specification (default: the bundled models/pingliang-calibration.yaml), "
        "derive data/history.csv from data/observed.csv, fit the specified constants by maximum a posteriori "
        "(Sobol search, then scipy least squares in the bounds), sample the posterior with emcee (walkers run as "
        "one batch of the engine), and write the calibration scenario (MAP values; scenarios/baseline.yaml "
        "extends it) and the posterior draws beside it. See docs/calibration.md.",
    )
    cal.add_argument("--spec", default=None, metavar="FILE",
                     help="calibration specification (default: the bundled models/pingliang-calibration.yaml)")
    cal.add_argument("--out", default=None, metavar="DIR",
                     help="folder to write into (default: the checkout's scenarios/; with --holdout-after: results/)")
    cal.add_argument("--holdout-after", type=int, default=None, metavar="YEAR",
                     help="fit only the observations up to YEAR, predict the later ones, and write the "
                     f"out-of-sample table DIR/{HOLDOUT_FILE} (no scenario is written)")
    cal.add_argument("--walkers", type=int, default=None, metavar="N", help="emcee walkers (default: the spec's posterior.walkers; 32 if unset)")
    cal.add_argument("--steps", type=int, default=None, metavar="N", help="emcee steps (default: the spec's posterior.steps; 2000 if unset)")
    cal.add_argument("--draws", type=int, default=None, metavar="N",
                     help="posterior draws kept after burn-in and thinning (default: the spec's posterior.draws; 2000 if unset)")
    cal.add_argument("--seed", type=int, default=None, metavar="S",
                     help="seed of the search and the sampler (default: the spec's; 0 if unset)")
    cal.add_argument("--no-posterior", action="store_true",
                     help="MAP fit only; the posterior file is not written")
    cal.add_argument("--samples", type=int, default=None, metavar="N",
                     help="runs of the coarse Sobol search (default: the spec's fit.search; 2048 if unset)")
    cal.add_argument("--starts", type=int, default=None, metavar="K",
                     help="least-squares starts from the K best search points (default: the spec's fit.starts; 3 if unset)")
    cal.add_argument("--report", default=None, metavar="FILE", help="also write the fit report as Markdown to FILE")
    cal.add_argument("--progress", action="store_true", help="show the sampler's progress bar")


def handle(args: argparse.Namespace) -> int:
    outcome = calibrate_command(args)
    print_summary(outcome, sys.stdout)
    return 0


def installed_folder(folder: Path) -> bool:
    """True if `folder` is inside an installed package (site-packages), not a checkout."""
    folder = Path(folder).resolve()
    return any(p in ("site-packages", "dist-packages") for p in folder.parts) or \
        not (folder.parent / "pyproject.toml").is_file()


def _check_options(args: argparse.Namespace) -> None:
    for flag, value, least in (("--walkers", args.walkers, 4), ("--steps", args.steps, 10),
                               ("--draws", args.draws, 10), ("--samples", args.samples, 1),
                               ("--starts", args.starts, 1), ("--seed", args.seed, 0)):
        if value is not None and value < least:
            raise InputError("command line", flag, f"must be at least {least}, not {value}")
    if args.report is not None:
        rep = Path(args.report)
        if rep.is_dir():
            raise InputError(args.report, "--report", "is a folder, expected a file name")
        if not rep.parent.is_dir():
            raise InputError(args.report, "--report", f"no such folder {rep.parent}")


def _out_dir(args: argparse.Namespace) -> Path:
    from simulator.bundled import scenarios_dir

    if args.out is not None:
        out = Path(args.out)
        if out.exists() and not out.is_dir():
            raise InputError(args.out, "--out", "exists and is not a folder")
        return out
    if args.holdout_after is not None:
        return Path("results")
    folder = scenarios_dir()
    if installed_folder(folder):
        raise InputError(folder, "--out", "the bundled scenarios are inside an installed package, not a checkout; "
                         "use an editable install (pip install -e .) or --out DIR")
    return folder


def _history(spec_path: Path) -> tuple[Path | None, str | None]:
    """(data file, derived text) if the spec's data is a history.csv derived from an observed.csv beside it."""
    from simulator.analysis.history import derive_history, history_csv_text, read_observed
    from simulator.engine.yamlfile import read_yaml

    raw = read_yaml(spec_path, str(spec_path), "calibration specification")[0]
    data = raw.get("data") if isinstance(raw, dict) else None
    if not isinstance(data, str):
        return None, None  # load_calibration_spec will say what is wrong
    path = Path(data) if Path(data).is_absolute() else spec_path.resolve().parent / data
    observed = path.parent / "observed.csv"
    if path.name != "history.csv" or not observed.is_file():
        return None, None
    try:
        return path, history_csv_text(derive_history(read_observed(observed)))
    except (KeyError, ValueError) as exc:
        raise InputError(observed, "rows", str(exc.args[0] if exc.args else exc)) from None


def _rel(path: Path) -> str:
    """`path` relative to the checkout (e.g. data/history.csv), else its name."""
    from simulator.bundled import models_dir

    try:
        return Path(path).resolve().relative_to(models_dir().resolve().parent).as_posix()
    except ValueError:
        return Path(path).name


def calibrate_command(args: argparse.Namespace) -> dict[str, Any]:
    """Validate, compute, then write (everything is computed before the first file is written)."""
    from simulator.analysis.calrun import default_spec_path, run_calibration
    from simulator.analysis.calspec import load_calibration_spec
    from simulator.outputs.calibration import calibration_yaml, holdout_markdown, posterior_csv, report_markdown
    from simulator.outputs.writers import atomic_write_text, write_folder

    _check_options(args)
    spec_path = Path(args.spec) if args.spec is not None else default_spec_path()
    if not spec_path.is_file():
        raise InputError(args.spec or spec_path, "--spec", "no such file" if not spec_path.exists() else "not a file")
    out = _out_dir(args)
    data_path, history_text = _history(spec_path)
    spec = load_calibration_spec(spec_path, data_text=history_text)
    run = run_calibration(spec, holdout_after=args.holdout_after, posterior=not args.no_posterior,
                          walkers=args.walkers, steps=args.steps, seed=args.seed, draws=args.draws,
                          n_search=args.samples, n_starts=args.starts, progress=args.progress)

    written: list[Path] = []
    report_text = report_markdown(run) if args.report is not None else None
    if args.holdout_after is not None:
        written += write_folder(out, {HOLDOUT_FILE: holdout_markdown(run).encode("utf-8")}).values()
    else:
        data_files = [_rel(spec.data_path)] + ([_rel(data_path.parent / "observed.csv")] if data_path else [])
        w = spec.write
        model_ref = w.model or (spec.model_ref if "/" not in spec.model_ref and not spec.model_ref.endswith(
            (".yaml", ".yml")) else os.path.relpath(Path(spec.model.spec.path).resolve(), out.resolve()))
        files = {w.scenario: calibration_yaml(run, data_files, model_ref,
                                              None if run.posterior is None else w.posterior).encode("utf-8")}
        if run.posterior is not None:
            files[w.posterior] = posterior_csv(run, data_files).encode("utf-8")
        history_target = None
        if data_path is not None and data_path.read_text(encoding="utf-8") != history_text:
            history_target = (out / "history.csv") if args.out is not None else data_path
            if args.out is None and installed_folder(data_path.parent):
                raise InputError(data_path, "--out", "the data folder is inside an installed package; use an "
                                 "editable install (pip install -e .) or --out DIR")
        written += write_folder(out, files).values()
        if history_target is not None:
            written.append(atomic_write_text(history_target, history_text))
    if report_text is not None:
        written.append(atomic_write_text(args.report, report_text))
    return {"run": run, "written": written, "out": out}


def print_summary(outcome: dict[str, Any], file: Any) -> None:
    """The screen report of `urbsd calibrate`."""
    import numpy as np

    from simulator.outputs.calibration import constant_text as _num
    from simulator.outputs.calibration import stat_text as _f

    run = outcome["run"]
    problem, result, post = run.problem, run.result, run.posterior
    fitted = int(problem.fitted().sum())
    head = f" (fitted up to {run.holdout_after})" if run.holdout_after is not None else ""
    print(f"calibrated {len(problem.parameters)} parameter(s) on {fitted} point(s){head}, run "
          f"{problem.start:.0f}-{problem.stop:.0f}: MAP cost {result.cost:.4g} (search best {result.search_cost:.4g}; "
          f"{run.seconds['map']:.1f} s)", file=file)
    summary = {r["name"]: r for r in post.summary()} if post is not None else {}
    for p in problem.parameters:
        se = result.std_errors.get(p.name, float("nan"))
        s = summary.get(p.name)
        band = f"  posterior 5-95% {_num(s['p5'])}-{_num(s['p95'])}" if s else ""
        print(f"  {p.name:<36} {_num(result.values[p.name]):>11} +/- {_num(se):<10}{band}", file=file)
    print(f"  {'series':<40}{'n':>3}{'MAPE':>8}{'R2':>7}{'UM':>7}{'US':>7}{'UC':>7}", file=file)
    for r in run.table:
        print(f"  {r['series']:<40}{r['n']:>3}{100 * r['mape']:>7.2f}%{_f(r['r2']):>7}"
              f"{_f(r['u_m']):>7}{_f(r['u_s']):>7}{_f(r['u_c']):>7}", file=file)
    for c in run.checks:
        print(f"  out of sample {c['series']} {c['year']}: observed {c['observed']:.6g}, predicted "
              f"{c['simulated']:.6g} ({c['z']:+.2f} sigma)", file=file)
    for b in run.bounds:
        sign = ">=" if b["bound"] == "lower" else "<="
        verdict = "holds" if b["holds"] else f"violated by {abs(b['error']):.3g} ({abs(b['z']):.2f} sigma)"
        print(f"  bound {b['series']} {b['year']} {sign} {b['observed']:.6g}: {b['simulated']:.6g} {verdict}",
              file=file)
    if result.at_bound:
        print(f"  at a bound: {', '.join(result.at_bound)}", file=file)
    if post is not None:
        print(f"  posterior: {post.walkers} walkers x {post.steps} steps in {post.seconds:.0f} s; acceptance "
              f"{np.mean(post.acceptance):.2f}; autocorrelation time {np.max(post.tau):.1f} steps"
              f"{' (chain too short)' if post.too_short else ''}; burn-in {post.burn}, thin {post.thin}; "
              f"{len(post.draws)} draws", file=file)
        for n in post.notes:
            print(f"  note: {n}", file=file)
    print(f"  wrote {', '.join(str(w) for w in outcome['written'])}", file=file)
