"""The Python API for notebooks: load, run, compare, goal-seek; pandas in, plain data out.

    import simulator as us
    base = us.load()                                   # the bundled baseline
    ts = us.run(base, hukou_openness=1.0)              # DataFrame, one row per year
    table = us.compare([base, us.load("scenarios/hukou-open.yaml")])
    answer = us.goal_seek(base, "urban_rural_income_ratio", "urbanization_rate", 0.70, 2035)

Overrides and levers are validated like a scenario's `set:` (a name the model does not
have, or a value outside the constant's bounds, raises `InputError`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any


if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from simulator.analysis.goalseek import GoalSeekResult
    from simulator.scenario.schema import Scenario

__all__ = ["compare", "goal_seek", "load", "run"]


def load(path: str | Path | None = None) -> "Scenario":
    """A validated scenario from a YAML file or a bundled scenario's name (`"central-pull"`;
    None: the bundled baseline)."""
    from simulator.scenario.resolve import load_scenario
    from simulator.scenario.schema import scenario_file

    return load_scenario(None if path is None else scenario_file(path))


def _as_scenario(scenario: "Scenario | str | Path | None") -> "Scenario":
    from simulator.scenario.schema import Scenario

    return scenario if isinstance(scenario, Scenario) else load(scenario)


def with_overrides(scenario: "Scenario", overrides: dict[str, Any]) -> "Scenario":
    """A copy of `scenario` with constants overridden (each checked like a `set:` entry)."""
    import copy

    from simulator.scenario.levers import resolve_set  # the same checks as a scenario file

    if not overrides:
        return scenario
    out = copy.copy(scenario)
    out.params = dict(scenario.params)
    for name, value in overrides.items():
        out.params[name], _ = resolve_set(name, value, scenario.spec, "run() overrides")
    out.uncertain = {k: v for k, v in scenario.uncertain.items() if k.split("[", 1)[0] not in overrides}
    return out


def run(scenario: "Scenario | str | Path | None" = None, *, dt: float | None = None,
        method: str | None = None, **overrides: Any) -> "pd.DataFrame":
    """Run a scenario (with `name=value` constant overrides) -> yearly timeseries DataFrame."""
    from simulator.analysis.results import timeseries_frame
    from simulator.engine.compile import compiled
    from simulator.engine.integrate import simulate

    sc = with_overrides(_as_scenario(scenario), overrides)
    result = simulate(compiled(sc.spec), sc.params, dt=dt, method=method)
    return timeseries_frame(result)


def compare(scenarios: list[Any], *, dt: float | None = None,
            method: str | None = None) -> "pd.DataFrame":
    """The comparison table of `urbsd compare`, one row per scenario (index: scenario name)."""
    import pandas as pd

    from simulator.analysis.compare import compare_scenarios

    loaded = [_as_scenario(s) for s in scenarios]
    comp = compare_scenarios(loaded, dt=dt, method=method)
    frame = pd.DataFrame(comp.table(), columns=comp.columns).set_index("scenario")
    frame.attrs["notes"] = list(comp.notes)
    frame.attrs["indicators"] = dict(comp.indicators)
    return frame


def goal_seek(scenario: Any, lever: str, indicator: str = "urbanization_rate",
              value: float = 0.70, year: int = 2035, *, low: float | None = None,
              high: float | None = None, dt: float | None = None,
              method: str | None = None) -> "GoalSeekResult":
    """The setting of `lever` at which `indicator` reaches `value` in `year` (a dataclass).

    `result.status` is "reached", "reached at every setting" or "unreachable";
    `result.setting`/`result.value` the answer; `result.best_setting`/`best_value` the
    best the lever's range allows; `result.as_dict()` plain data.
    """
    from simulator.analysis.goalseek import goal_seek as _goal_seek
    from simulator.analysis.goalseek import parse_target

    sc = _as_scenario(scenario)
    target = parse_target(f"{indicator}={float(value)!r}@{year}", sc.spec, "goal_seek()",
                          "indicator/value/year")
    return _goal_seek(sc, lever, target, low=low, high=high, dt=dt, method=method)
