"""What every `urbsd` command shares: the parser class, common options, loading scenarios, output folders."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any, NoReturn

from simulator.errors import InputError

PROG = "urbsd"


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{PROG}: error: {message} (see '{self.prog} --help')\n")


def integration_options(parser: argparse.ArgumentParser) -> None:
    """--dt and --method, shared by every command that runs the model."""
    parser.add_argument("--dt", type=float, default=None, metavar="DT",
                        help="time step in years; must divide one year into whole steps "
                        "(default: the model's)")
    parser.add_argument("--method", choices=("euler", "heun", "rk4"), default=None,  # engine.integrate.METHODS
                        help="integration method (default: the model's time.method, euler if it names none)")


def method_text(method: str | None, scenarios: list[Any]) -> str:
    """The integration method a command used, for its outputs: --method, else the models'."""
    if method is not None:
        return method
    return "/".join(sorted({s.spec.time.method for s in scenarios})) or "euler"


def lang_option(parser: argparse.ArgumentParser, what: str) -> None:
    """--lang zh|en, the language of `what` (every command that draws charts)."""
    parser.add_argument("--lang", choices=("zh", "en"), default="zh",
                        help=f"language of {what} (default: zh)")


def table_options(parser: argparse.ArgumentParser) -> None:
    """--lang and --format, shared by the commands that write tables and charts (run, compare)."""
    lang_option(parser, "the chart text and of the Excel headers")
    parser.add_argument("--format", choices=("csv", "xlsx"), default="csv",
                        help="xlsx: also write the tables as an Excel workbook, one sheet per table, "
                        "headers in --lang with a units row (default: csv only)")


def map_option(parser: argparse.ArgumentParser) -> None:
    """--map-from YEAR: the year the county map compares the last year with (run, report)."""
    parser.add_argument("--map-from", type=int, default=None, metavar="YEAR",
                        help="the year the county map compares the last year with (default: 2020, "
                        "or the first year of the run if later)")


def check_dt(dt: float | None) -> None:
    """--dt checked by the engine's own rule (`engine.timestep`), as the integrator will check it."""
    if dt is None:
        return
    from simulator.engine.timestep import steps_per_save

    try:
        steps_per_save(dt, 1.0)
    except ValueError as exc:
        raise InputError("command line", "--dt", str(exc)) from None


#: a scenario file's stem names its output folders, chart paths and report links: a letter,
#: digit or underscore (any script), then those, '-', '+' or '.'; never '..', a space or a slash
PLAIN_STEM = re.compile(r"[^\W][\w.+\-]*")


def scenario_path(arg: str) -> Path:
    """The file a SCENARIO argument names: a path, or a bundled scenario's name (`central-pull`)."""
    from simulator.scenario.schema import scenario_file

    return scenario_file(arg)


def check_stem(path: Path, shown: str) -> None:
    """Refuse a scenario file whose stem is not a plain name (e.g. `...yaml`, stem `..`):
    outputs are named by the stem and must never land outside --out."""
    stem = path.stem
    if not PLAIN_STEM.fullmatch(stem) or stem in (".", ".."):
        raise InputError(shown, "scenario", f"file name {stem!r} is not a plain name (letters, digits, '_', "
                         "'-', '+' or '.', not starting with '.' or '-'): its outputs are named by it; "
                         "rename the file")


def load_one(path: str | None) -> tuple[Any, Any]:
    """Load and compile one scenario (validation only; nothing runs or is written).

    The one validation path of every command (`check` as strict as `run`): the argument is
    a file or a bundled scenario's name, its stem a plain name, the scenario and its model valid.
    """
    from simulator.engine.compile import compiled
    from simulator.scenario.resolve import load_scenario

    file = None
    if path is not None:
        file = scenario_path(path)
        check_stem(file, path)
    scenario = load_scenario(file)
    model = compiled(scenario.spec)  # once per model file in this process
    return scenario, model


def load_distinct(paths: list[str], clash: str) -> list[tuple[Any, Any]]:
    """Load and compile each scenario (none given: the bundled baseline); two with the same
    file name are refused, since their outputs would share a folder (`clash` says why)."""
    paths = paths or [None]
    loaded = [load_one(p) for p in paths]
    seen: dict[str, str] = {}
    for (scenario, _), p in zip(loaded, paths):
        stem = file_stem(scenario)
        if stem in seen:
            raise InputError(p or scenario.path, "scenario", f"same file name '{stem}' as {seen[stem]}: {clash}")
        seen[stem] = str(p or scenario.path)
    return loaded


def policy_scenarios(loaded: list[tuple[Any, Any]], paths: list[str]) -> list[tuple[Any, Any]]:
    """The loaded scenarios that are policy scenarios: a support file (`kind: support`, e.g.
    calibration.yaml, which others extend) is skipped with a one-line notice on stderr."""
    import sys

    kept = []
    for item, p in zip(loaded, paths):
        if getattr(item[0], "kind", "scenario") == "support":
            print(f"{PROG}: note: skipped {p}: a support file (kind: support), not a policy scenario",
                  file=sys.stderr)
        else:
            kept.append(item)
    if not kept:
        raise InputError(paths[0], "kind", "every file given is a support file (kind: support); "
                         "give at least one policy scenario")
    return kept


def file_stem(scenario: Any) -> str:
    """The scenario file's name without .yaml: its output folders are named for it."""
    return Path(scenario.path).stem


def out_folder(out: str, sub: str) -> Path:
    """DIR/sub, refused (InputError) if DIR or DIR/sub exists and is not a folder."""
    root = Path(out)
    if root.exists() and not root.is_dir():
        raise InputError(out, "--out", "exists and is not a folder")
    if (root / sub).exists() and not (root / sub).is_dir():
        raise InputError(root / sub, "--out", "exists and is not a folder")
    return root / sub
