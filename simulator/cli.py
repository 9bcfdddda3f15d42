"""The `urbsd` command.

    urbsd run [SCENARIO ...] [--out DIR] [--dt DT] [--method euler|rk4]
    urbsd check SCENARIO

Bad input (an `InputError` from the scenario or model loaders, or a bad option) is
printed as ONE line `urbsd: error: <file>: <field>: <reason>` on stderr, exit status 2,
and nothing is written: every scenario is loaded and compiled, and every run finished,
before the first file is written.

Heavy libraries stay off the `run` path: no pandas, and matplotlib only when the chart
is drawn.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import sys
from pathlib import Path
from typing import Any, NoReturn

from simulator import __version__
from simulator.errors import InputError

MILESTONES = (2020, 2025, 2030, 2035)
PROG = "urbsd"


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{PROG}: error: {message} (see '{self.prog} --help')\n")


def _build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog=PROG,
        description="System-dynamics scenarios for the urbanization of Pingliang City "
        "(平凉市), 2020-2035.",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    run = sub.add_parser(
        "run",
        help="run scenarios; write timeseries.csv, summary.json and a chart per scenario",
        description="Run each SCENARIO (default: the bundled baseline) and write "
        "DIR/<scenario file stem>/{timeseries.csv, summary.json, charts/urbanization.png}.",
    )
    run.add_argument("scenarios", nargs="*", metavar="SCENARIO",
                     help="scenario YAML file(s); none: the bundled baseline")
    run.add_argument("--out", default="results", metavar="DIR",
                     help="output folder (default: ./results)")
    run.add_argument("--dt", type=float, default=None, metavar="DT",
                     help="time step in years; must divide one year into whole steps "
                     "(default: the model's)")
    run.add_argument("--method", choices=("euler", "rk4"), default="euler",
                     help="integration method (default: euler)")

    check = sub.add_parser(
        "check",
        help="validate a scenario and its model without running",
        description="Load SCENARIO, resolve `extends`, and compile its model; print OK.",
    )
    check.add_argument("scenario", metavar="SCENARIO", help="scenario YAML file")

    # Further subcommands: each adds its parser in its own block below (one block per
    # command, in the order of DESIGN.md's command list) and its handler to HANDLERS.
    # [parsers: compare, goal-seek]
    # [parsers: sweep]
    # [parsers: calibrate]
    # [parsers: validate, export]
    # [parsers: report]
    return p


# --------------------------------------------------------------------------- helpers


def _check_dt(dt: float | None) -> None:
    if dt is None:
        return
    if not dt > 0 or dt != dt or dt == float("inf"):
        raise InputError("command line", "--dt", f"must be a positive number of years, not {dt:g}")
    steps = 1.0 / dt
    if abs(steps - round(steps)) > 1e-9 * max(1.0, steps):
        raise InputError(
            "command line", "--dt",
            f"must divide one year into whole steps (e.g. 1, 0.5, 0.25, 0.125), not {dt:g}",
        )


def _load(path: str | None) -> tuple[Any, Any]:
    """Load and compile one scenario (validation only; nothing runs or is written)."""
    from simulator.compile import compile_model
    from simulator.scenario import load_scenario

    if path is not None and not Path(path).is_file():
        reason = "no such file" if not Path(path).exists() else "not a file"
        raise InputError(path, "scenario", reason)
    scenario = load_scenario(path)
    model = compile_model(scenario.spec)
    return scenario, model


def _stem(scenario: Any) -> str:
    return Path(scenario.path).stem


def _label(scenario: Any, lang: str) -> str:
    label = getattr(scenario, "label", None)
    if isinstance(label, dict):
        return label.get(lang) or label.get("en") or label.get("zh") or ""
    return getattr(label, lang, None) or "" if label is not None else ""


def _label_dict(scenario: Any) -> dict[str, str]:
    label = getattr(scenario, "label", None)
    if label is None:
        return {}
    if isinstance(label, dict):
        return dict(label)
    if hasattr(label, "model_dump"):
        return label.model_dump()
    return {k: getattr(label, k) for k in ("zh", "en") if hasattr(label, k)}


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _num(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.4g}"


def _target_text(t: dict) -> str:
    """'reached: 56.1% vs 55% target, +1.1 pp' / 'not reached: 52.7% vs 55% target, -2.3 pp'."""
    target = f"{100 * t['target']:g}%"
    gap = 100 * (t["value"] - t["target"])
    if gap != gap:
        return f"not reached: the run gave no number (NaN) vs {target} target"
    if abs(gap) >= 0.05 or gap == 0:
        value, gap_text = _pct(t["value"]), f"{gap:+.1f}"
    else:  # a near miss must not read as '55.0% vs 55%, -0.0 pp'
        value, gap_text = f"{100 * t['value']:.3f}%", f"{gap:+.1g}"
    status = "reached" if t["reached"] else "not reached"
    return f"{status}: {value} vs {target} target, {gap_text} pp"


def _summary(scenario: Any, run: Any, frame: Any, targets: list[dict]) -> dict:
    from simulator.results import key_figures, value_at

    spec = scenario.spec
    milestones = {
        str(y): {
            k: value_at(frame, k, y)
            for k in ("urbanization_rate", "hukou_urbanization_rate")
            if value_at(frame, k, y) is not None
        }
        for y in MILESTONES
        if value_at(frame, "urbanization_rate", y) is not None
    }
    return {
        "scenario": {
            "name": scenario.name,
            "label": _label_dict(scenario),
            "path": str(Path(scenario.path).resolve()),
        },
        "model": {
            "name": spec.name,
            "path": str(Path(spec.path).resolve()),
            "sha256": spec.sha256,
        },
        "scenario_sha256": scenario.sha256,
        "package_version": __version__,
        "method": run.method,
        "dt": float(run.dt),
        "time": {"start": int(frame["time"][0]), "stop": int(frame["time"][-1])},
        "targets": targets,
        "final_year": key_figures(frame),
        "milestones": milestones,
    }


def _source_line(scenario: Any, run: Any) -> str:
    today = _dt.datetime.now(_dt.timezone.utc).date().isoformat()
    return (
        f"情景/scenario: {scenario.name} · 模型/model: {scenario.spec.name} "
        f"sha256 {scenario.spec.sha256[:12]} · 情景/scenario sha256 {scenario.sha256[:12]} · "
        f"{run.method} dt={run.dt:g} · urbsd {__version__} · {today}"
    )


def _report(scenario: Any, run: Any, frame: Any, targets: list[dict], paths: dict,
            out: Any) -> None:
    from simulator.results import value_at

    label = _label(scenario, "zh")
    en = _label(scenario, "en")
    head = f"{scenario.name}"
    shown = [x for x in dict.fromkeys((label, en)) if x and x != scenario.name]
    if shown:
        head += f" — {' / '.join(shown)}"
    print(head, file=out)
    print(
        f"  model {scenario.spec.name} sha256 {scenario.spec.sha256[:12]}, "
        f"scenario sha256 {scenario.sha256[:12]}, {run.method} dt={run.dt:g}",
        file=out,
    )
    by_year: dict[int, list[dict]] = {}
    other: list[dict] = []
    for t in targets:
        if t["indicator"] == "urbanization_rate":
            by_year.setdefault(t["year"], []).append(t)
        else:
            other.append(t)
    years = sorted(
        {y for y in MILESTONES if value_at(frame, "urbanization_rate", y) is not None}
        | set(by_year)
    )
    print(f"  {'year':<6}{'resident':>9}{'hukou':>9}   target", file=out)
    for y in years:
        r = value_at(frame, "urbanization_rate", y)
        h = value_at(frame, "hukou_urbanization_rate", y)
        line = f"  {y:<6}{_pct(r):>9}{_pct(h) if h is not None else '-':>9}"
        ts = by_year.get(y, [])
        line += "   " + ("; ".join(_target_text(t) for t in ts) if ts else "-")
        print(line.rstrip(), file=out)
    for t in other:
        if "rate" in t["indicator"]:
            text = _target_text(t)
        else:
            status = "reached" if t["reached"] else "not reached"
            text = (f"{status}: {_num(t['value'])} vs {_num(t['target'])} target, "
                    f"{'+' if t['value'] >= t['target'] else '-'}"
                    f"{_num(abs(t['value'] - t['target']))}")
        print(f"  target {t['indicator']} {t['year']}: {text}", file=out)
    folder = Path(paths["summary"]).parent
    files = ", ".join(str(Path(p).relative_to(folder)) for p in paths.values())
    print(f"  wrote {folder}/{{{files}}}", file=out)


# --------------------------------------------------------------------------- commands


def _cmd_check(args: argparse.Namespace) -> int:
    scenario, _model = _load(args.scenario)
    spec = scenario.spec
    print(
        f"OK {args.scenario}: scenario '{scenario.name}' "
        f"({len(scenario.params)} lever(s) set, {len(scenario.targets)} target(s)); "
        f"model '{spec.name}' {spec.path} sha256 {spec.sha256[:12]}; "
        f"scenario sha256 {scenario.sha256[:12]}"
    )
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    # 1. Validate everything before running or writing anything.
    _check_dt(args.dt)
    out_root = Path(args.out)
    if out_root.exists() and not out_root.is_dir():
        raise InputError(args.out, "--out", "exists and is not a folder")
    paths = args.scenarios or [None]
    loaded = [_load(p) for p in paths]
    seen: dict[str, str] = {}
    for (scenario, _), p in zip(loaded, paths):
        stem = _stem(scenario)
        if stem in seen:
            raise InputError(
                p or scenario.path, "scenario",
                f"same file name '{stem}' as {seen[stem]}: both would write {out_root / stem}",
            )
        seen[stem] = str(p or scenario.path)
        if (out_root / stem).exists() and not (out_root / stem).is_dir():
            raise InputError(out_root / stem, "--out", "exists and is not a folder")

    # 2. Run all scenarios.
    from simulator.integrate import simulate
    from simulator.results import evaluate_targets, timeseries_columns

    finished = []
    for scenario, model in loaded:
        run = simulate(model, scenario.params, dt=args.dt, method=args.method)
        frame = timeseries_columns(run)
        targets = evaluate_targets(frame, scenario.targets)
        finished.append((scenario, run, frame, targets))

    # 3. Write, one scenario folder at a time (each all-or-nothing).
    from simulator.charts import urbanization_chart
    from simulator.writers import write_run_outputs

    reports = []
    for scenario, run, frame, targets in finished:
        title = f"平凉市城镇化率 — {_label(scenario, 'zh') or scenario.name}"

        def chart(path: Path, scenario=scenario, run=run, frame=frame, targets=targets,
                  title=title) -> None:
            urbanization_chart(frame, targets, path, title=title, lang="zh",
                               source_line=_source_line(scenario, run))

        written = write_run_outputs(
            out_root / _stem(scenario), frame, _summary(scenario, run, frame, targets), chart
        )
        reports.append((scenario, run, frame, targets, written))

    # 4. The screen, once everything is written.
    for i, report in enumerate(reports):
        if i:
            print(file=sys.stdout)
        _report(*report, sys.stdout)
    return 0


# [handlers: compare, goal-seek]
# [handlers: sweep]
# [handlers: calibrate]
# [handlers: validate, export]
# [handlers: report]


HANDLERS = {
    "run": _cmd_run,
    "check": _cmd_check,
}


def main(argv: list[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    try:
        return HANDLERS[args.command](args)
    except InputError as exc:
        msg = " ".join(str(exc).split())  # guarantee one line
        print(f"{PROG}: error: {msg}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `urbsd run | head`: the files are written already
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:  # e.g. the output folder is not writable
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        print(f"{PROG}: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
