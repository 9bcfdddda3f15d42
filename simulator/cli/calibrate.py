"""`urbsd calibrate`: fit constants to the 2010-2020 history; write the calibration scenario."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from simulator.errors import InputError


def add_parser(sub: Any) -> None:
    """The `calibrate` subcommand's options."""
    cal = sub.add_parser(
        "calibrate",
        help="fit uncertain constants to the 2010-2020 history; write scenarios/calibration.yaml",
        description="Derive data/history.csv from data/observed.csv (annual estimates rebased on "
        "the censuses), run the model 2010-2020, fit the migration, settlement, fertility, "
        "mortality and reclassification constants (Sobol search, then scipy least squares in "
        "the bounds) and write them as a scenario that scenarios/baseline.yaml extends. "
        "See docs/calibration.md.",
    )
    cal.add_argument("--model", default=None, metavar="FILE",
                     help="model file (default: the bundled pingliang model)")
    cal.add_argument("--out", default=None, metavar="FILE",
                     help="calibration scenario to write (default: the bundled scenarios/calibration.yaml)")
    cal.add_argument("--history", default=None, metavar="FILE",
                     help="derived history to write (default: data/history.csv)")
    cal.add_argument("--report", default=None, metavar="FILE",
                     help="also write the fit report as Markdown to FILE")
    cal.add_argument("--samples", type=int, default=2048, metavar="N",
                     help="runs of the coarse Sobol search (default: 2048)")
    cal.add_argument("--starts", type=int, default=3, metavar="K",
                     help="least-squares starts from the K best search points (default: 3)")
    cal.add_argument("--seed", type=int, default=0, metavar="S", help="search seed (default: 0)")


def handle(args: argparse.Namespace) -> int:
    if args.model is not None and not Path(args.model).is_file():
        raise InputError(args.model, "--model", "no such file")
    outcome = run_calibration(args.model, args.out, args.history, n_search=args.samples,
                              n_starts=args.starts, seed=args.seed, report=args.report)
    print_summary(outcome, sys.stdout)
    return 0


def run_calibration(model_path: str | Path | None = None, out: str | Path | None = None,
                    history_out: str | Path | None = None, observed: str | Path | None = None,
                    n_search: int = 2048, n_starts: int = 3, seed: int = 0,
                    report: str | Path | None = None) -> dict[str, Any]:
    """`urbsd calibrate`: derive the history, fit, write calibration.yaml (+ history, report).

    Everything is validated and computed before the first file is written. Constants not
    fitted keep the model file's values (baseline.yaml sets no lever). baseline.yaml extends
    calibration.yaml, so a plain run uses every fitted value; a constant the baseline lists
    under `uncertain:` keeps its fitted value in plain runs and is sampled in sweeps.
    """
    from simulator.analysis.calibrate import calibrate
    from simulator.analysis.comparator import HISTORY_CSV
    from simulator.analysis.history import OBSERVED_CSV
    from simulator.bundled import bundled_model_path, scenarios_dir
    from simulator.engine.compile import compile_model
    from simulator.engine.load import load_model
    from simulator.outputs.calibration import calibration_yaml, report_markdown
    from simulator.outputs.writers import atomic_write_text

    if n_search < 1:
        raise InputError("command line", "--samples", f"must be a positive number, not {n_search}")
    if n_starts < 1:
        raise InputError("command line", "--starts", f"must be a positive number, not {n_starts}")
    observed = Path(OBSERVED_CSV if observed is None else observed)
    if not observed.is_file():
        raise InputError(observed, "observed data", "no such file")
    out = Path(scenarios_dir() / "calibration.yaml" if out is None else out)
    history_out = Path(HISTORY_CSV if history_out is None else history_out)
    for path, what in ((out, "--out"), (history_out, "--history"), (report, "--report")):
        if path is None:
            continue
        if Path(path).is_dir():
            raise InputError(path, what, "is a folder, expected a file name")
        if not Path(path).parent.is_dir():
            raise InputError(path, what, f"no such folder {Path(path).parent}")

    spec = load_model(bundled_model_path() if model_path is None else model_path)
    model = compile_model(spec)
    found = calibrate(model, observed, n_search=n_search, n_starts=n_starts, seed=seed)
    result, problem, table, history_text = found.result, found.problem, found.table, found.history_text
    model_ref = "pingliang" if model_path is None else str(Path(model_path).resolve())
    text = calibration_yaml(result, problem, table, [_rel(observed), _rel(history_out)], model_ref)

    if not history_out.is_file() or history_out.read_text(encoding="utf-8") != history_text:
        atomic_write_text(history_out, history_text)
    atomic_write_text(out, text)
    if report is not None:
        atomic_write_text(report, report_markdown(result, problem, table))
    return {"result": result, "problem": problem, "table": table, "out": out,
            "history": history_out, "report": report}


def _rel(path: Path) -> str:
    """`path` relative to the checkout (data/history.csv), else as given."""
    from simulator.analysis.comparator import HISTORY_CSV

    try:
        return str(Path(path).resolve().relative_to(HISTORY_CSV.parent.parent))
    except ValueError:
        return str(path)


def print_summary(outcome: dict[str, Any], file: Any) -> None:
    """The screen report of `urbsd calibrate`."""
    from simulator.outputs.calibration import constant_text as _num
    from simulator.outputs.calibration import stat_text as _f

    result, problem, table = outcome["result"], outcome["problem"], outcome["table"]
    print(f"calibrated {len(problem.parameters)} parameter(s) on {len(problem.observations)} "
          f"point(s), {problem.start:.0f}-{problem.stop:.0f}: cost {result.cost:.4g} "
          f"(search best {result.search_cost:.4g})", file=file)
    for p in problem.parameters:
        se = result.std_errors.get(p.name, float("nan"))
        print(f"  {p.name:<36} {_num(result.values[p.name]):>11} +/- {_num(se):<10} "
              f"(estimate {_num(p.default)})", file=file)
    print(f"  {'series':<40}{'n':>3}{'MAPE':>8}{'R2':>7}{'UM':>7}{'US':>7}{'UC':>7}", file=file)
    for r in table:
        print(f"  {r['series']:<40}{r['n']:>3}{100 * r['mape']:>7.2f}%{_f(r['r2']):>7}"
              f"{_f(r['u_m']):>7}{_f(r['u_s']):>7}{_f(r['u_c']):>7}", file=file)
    if result.at_bound:
        print(f"  at a bound: {', '.join(result.at_bound)}", file=file)
    wrote = [outcome["out"], outcome["history"]] + ([outcome["report"]] if outcome["report"] else [])
    print(f"  wrote {', '.join(str(w) for w in wrote)}", file=file)
