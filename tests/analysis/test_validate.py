"""The validation battery: passes on the baseline, fails (naming the test) on deliberately
broken models, and each test measures what it says."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import element

from simulator.analysis import validate as V
from simulator.cli import main
from simulator.engine.compile import compile_model
from simulator.engine.integrate import simulate
from simulator.engine.load import load_model
from simulator.errors import InputError
from simulator.scenario.resolve import load_scenario

DATA = Path(__file__).resolve().parents[1] / "data"


def scenario_for(tmp_path: Path, model: Path, name: str = "v") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"name: {name}\nlabel: {{zh: 测试, en: test}}\nmodel: {model.resolve()}\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def baseline_checks():
    scenario = load_scenario(None)
    return V.run_battery(scenario)


def by_test(checks):
    return {c.test: c for c in checks}


# --------------------------------------------------------------------------- the baseline


def test_baseline_passes_every_test(baseline_checks):
    checks = by_test(baseline_checks)
    assert list(checks) == ["dimensional consistency", "people conserved", "non-negative stocks",
                            "extreme conditions", "integration error", "behaviour reproduction",
                            "2021-2022 bulletins", "Monte Carlo band"]
    assert {c.test: c.status for c in baseline_checks} == {t: V.PASS for t in checks}
    assert "max relative error" in checks["people conserved"].figure
    assert "pp in 2035" in checks["integration error"].figure
    assert "solve_ivp" in checks["integration error"].detail
    assert "2020" in checks["behaviour reproduction"].detail
    assert all(f"{name} {year}" in checks["2021-2022 bulletins"].detail
               for name in ("urbanization_rate", "resident_population", "crude_birth_rate", "crude_death_rate")
               for year in (2021, 2022))
    assert "2 of 2 published rates inside the 5-95% band" == checks["Monte Carlo band"].figure
    assert "2022: published 46.79%" in checks["Monte Carlo band"].detail


def test_cli_validate_baseline(tmp_path, capsys):
    assert main(["validate", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "all tests passed" in out and "people conserved" in out
    md = (tmp_path / "baseline-validate" / "validation.md").read_text(encoding="utf-8")
    assert "| test | figure | result |" in md and "**Result: pass.**" in md
    assert [p.name for p in (tmp_path / "baseline-validate").iterdir()] == ["validation.md"]


# --------------------------------------------------------------------------- broken models


@pytest.mark.parametrize("model,failing", [
    ("broken_leak.yaml", "people conserved"),
    ("broken_negative.yaml", "non-negative stocks"),
])
def test_cli_validate_fails_broken_model_naming_the_test(tmp_path, capsys, model, failing):
    path = scenario_for(tmp_path, DATA / model)
    assert main(["validate", str(path), "--out", str(tmp_path / "res")]) == 1
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.strip().startswith(failing))
    assert line.rstrip().endswith("FAIL")
    assert f"FAILED: {failing}" in out or f", {failing}" in out
    md = (tmp_path / "res" / "v-validate" / "validation.md").read_text(encoding="utf-8")
    assert f"| {failing} |" in md and "**FAIL**" in md and "Result: FAIL" in md


def test_leak_is_found_and_named(tmp_path):
    scenario = load_scenario(scenario_for(tmp_path, DATA / "broken_leak.yaml"))
    checks = by_test(V.run_battery(scenario))
    leak = checks["people conserved"]
    assert leak.failed and "internal flows not balanced" in leak.detail and "migration" in leak.detail
    assert not checks["non-negative stocks"].failed
    assert checks["behaviour reproduction"].status == V.NA  # a toy model is not compared with Pingliang data


def test_negative_stock_is_found(tmp_path):
    scenario = load_scenario(scenario_for(tmp_path, DATA / "broken_negative.yaml"))
    checks = by_test(V.run_battery(scenario))
    assert checks["non-negative stocks"].failed and "rural" in checks["non-negative stocks"].detail
    assert not checks["people conserved"].failed  # a boundary outflow, properly booked
    assert checks["extreme conditions"].failed and "< 0" in checks["extreme conditions"].detail


def test_toy_model_passes_conservation_and_sign(tmp_path):
    scenario = load_scenario(scenario_for(tmp_path, DATA / "toy_model.yaml"))
    scenario.spec.time.method = "rk4"  # the toy's Euler at dt 0.25 is 0.03 pp off in 2035
    checks = by_test(V.run_battery(scenario))
    for name in ("dimensional consistency", "people conserved", "non-negative stocks",
                 "extreme conditions", "integration error"):
        assert checks[name].status == V.PASS, checks[name]


# --------------------------------------------------------------------------- single tests


def test_solve_ivp_reference_matches_the_exact_solution(tmp_path):
    """Toy model: rural decays at rate m into the urban stocks, so the rate is analytic."""
    scenario = load_scenario(scenario_for(tmp_path, DATA / "toy_model.yaml"))
    model = compile_model(scenario.spec)
    times = np.arange(2020.0, 2036.0)
    got = V.solve_ivp_run(model, {}, times)["urbanization_rate"]
    c = model.default_constants()
    r0, u0 = c["initial_rural"].sum(), c["initial_urban"].sum()
    m = float(c["migration_rate"][0, 0])
    exact = (u0 + r0 * (1 - np.exp(-m * (times - 2020)))) / (u0 + r0)
    assert np.max(np.abs(got - exact)) < 1e-9


def test_integration_error_fails_with_a_coarse_step():
    """A fast first-order drain at dt = 1 is far from the exact solution: the test fails."""
    model = load_model(DATA / "toy_model.yaml")
    model.time.dt = 1.0
    compiled = compile_model(model)
    check = V.integration_error_test(compiled, {"migration_rate": 0.2})
    assert check.failed and "rk4" in check.detail
    fine = V.integration_error_test(compiled, {"migration_rate": 0.001})
    assert not fine.failed


def test_units_not_available_is_not_a_pass(monkeypatch):
    spec = load_model(DATA / "toy_model.yaml")
    monkeypatch.setitem(sys.modules, "simulator.engine.units", None)  # import fails
    check = V.check_units_test(spec)
    assert check.status == V.NA and "not available" in check.figure


def test_units_mismatch_fails(tmp_path):
    spec = load_model(DATA / "toy_model.yaml")
    spec.auxiliaries["urban_population"].unit = "person/year"  # after load: the battery's own check
    check = V.check_units_test(spec)
    assert check.failed and "urban_population" in check.detail


def test_people_conserved_uses_every_step(tmp_path):
    scenario = load_scenario(scenario_for(tmp_path, DATA / "toy_model.yaml"))
    model = compile_model(scenario.spec)
    fine = simulate(model, {}, saveper=scenario.spec.time.dt)
    assert len(fine.times) == 61
    ok = V.people_conserved_test(model, fine)
    assert ok.status == V.PASS
    fine.data["urban_hukou"][0, 30, 2] += 1.0  # one person appears at one step in one county
    bad = V.people_conserved_test(model, fine)
    assert bad.failed and "t=2027.5" in bad.detail


@pytest.mark.parametrize(("delay", "dt"), [(1.0, 0.5), (0.2, 0.25)])
def test_people_balance_run_halves_a_step_euler_cannot_take(write_model, delay, dt):
    """RK4 at dt 0.5 is stable for a smooth of 0.2 year, Euler is not (2 stage times at most):
    the balance's Euler run takes dt 0.25 then, and dt 0.5 where Euler is stable."""
    path = write_model({
        "time": {"start": 0, "stop": 5, "dt": 0.5, "saveper": 1, "method": "rk4"},
        "constants": {"delay": element(unit="year", value=delay)},
        "stocks": {"s": element(initial="0", inflows=["inflow"])},
        "flows": {"inflow": element(unit="1/year", equation="smooth(step(1, 2), delay)")},
    })
    model = compile_model(load_model(path, units=False))
    run = V._euler_every_step(model, {})
    assert run.method == "euler" and run.dt == dt and np.allclose(np.diff(run.times), dt)


def test_people_balance_refuses_a_yearly_run(tmp_path):
    """The Euler bookkeeping only holds step by step: a run saved yearly is refused."""
    scenario = load_scenario(scenario_for(tmp_path, DATA / "toy_model.yaml"))
    model = compile_model(scenario.spec)
    with pytest.raises(ValueError, match="every time step"):
        V.people_conserved_test(model, simulate(model, {}))


def test_bad_out_folder_writes_nothing(tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("x", encoding="utf-8")
    assert main(["validate", "--out", str(target)]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


# --------------------------------------------------------------------------- load-time errors

def _model(**over):
    m = {
        "dimensions": {"county": {"elements": ["a", "b"]}},
        "constants": {"k": element(value=0.1, unit="1/year")},
        "stocks": {"s": element(initial=100, unit="person", dims=["county"], outflows=["out"])},
        "flows": {"out": element(equation="s * k", unit="person/year", dims=["county"])},
        "auxiliaries": {},
    }
    for path, value in over.items():
        table, name, field = path.split(".")
        m[table].setdefault(name, {})[field] = value
    return m


@pytest.mark.parametrize("over,expected", [
    ({"flows.out.unit": "person"}, r"flows\.out\.unit: unit mismatch"),
    ({"flows.out.equation": "s * k * 2 + k"}, r"flows\.out\.equation: unit mismatch"),
    ({"flows.out.equation": "s * k[a]"}, r"'k' has no dimension to take 'a' from"),
    ({"flows.out.equation": "s * kk[a]"}, r"unknown name 'kk'"),
    ({"flows.out.equation": "s[z] * k"}, r"'z' is not an element of 'county'"),
    ({"flows.out.equation": "smooth3(s, k)"}, r"unknown function 'smooth3'"),
    ({"flows.out.dims": []}, r"stocks\.s\.outflows: flow 'out' has dims"),
    ({"auxiliaries.y.equation": "y2 * 2", "auxiliaries.y.unit": "person", "auxiliaries.y.label": {"zh": "a", "en": "b"},
      "auxiliaries.y2.equation": "y", "auxiliaries.y2.unit": "person", "auxiliaries.y2.label": {"zh": "a", "en": "b"}},
     r"algebraic loop.*y"),
])
def test_model_errors_are_caught_at_load_naming_the_element(write_model, over, expected):
    import re

    with pytest.raises(InputError) as info:
        compile_model(load_model(write_model(_model(**over))))
    assert re.search(expected, str(info.value)), str(info.value)
