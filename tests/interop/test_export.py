"""Vensim and XMILE export, with PySD as the oracle: PySD runs the exported file and every
stock, flow and auxiliary must agree with urbsd's Euler run at the same DT to 1e-9
relative at every saved step. PySD translation is slow, so each exported model is
translated once per module (module-scoped fixtures).
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml

from pysd_compare import max_relative_error
from simulator.cli import main
from simulator.engine.atomic import atomic_write_text
from simulator.engine.compile import compile_model
from simulator.engine.integrate import simulate
from simulator.interop.vensim import expression, scenario_vensim, to_vensim, vensim_units
from simulator.interop.xmile import scenario_xmile, to_xmile
from simulator.scenario.resolve import load_scenario

DATA = Path(__file__).resolve().parents[1] / "data"
RTOL = 1e-9
#: DT of the Pingliang PySD runs. The model integrates by RK4 at DT 0.5, which PySD cannot:
#: both engines run it by Euler at the same DT. PySD runs the model about 100x slower than
#: urbsd (one run of 2010-2035 at DT 1 takes it ~30 s of CPU), so the tests compare at DT 1;
#: the small feature model below runs at DT 0.25. PySD lowers a DELAY3's order when its
#: delay is under 3 DT (see pysd_run), which DT 1 respects for the model's construction delay.
PINGLIANG_DT = 1.0
#: saved years of a Pingliang run, 2010 to 2035
PINGLIANG_YEARS = 26
COUNTY = ["a", "b", "c"]


def _el(unit: str, **fields):
    return {"unit": unit, "label": {"zh": "测试", "en": "test"}, **fields}


#: a small model that uses every builtin of the equation whitelist once at least
FEATURES = {
    "name": "features",
    "time": {"start": 2020, "stop": 2030, "dt": 0.25, "saveper": 1},
    "dimensions": {"county": {"elements": COUNTY}},
    "constants": {
        "k": _el("1/year", value=0.05, bounds=[0, 1], source="estimate: test value"),
        "t_on": _el("year", value=2024),
        "ramp_start": _el("year", value=2022),
        "ramp_end": _el("year", value=2027),
        "delay": _el("year", value=2),
        "one_year": _el("year", value=1),
        "lev": _el("dimensionless", value=0.5, bounds=[0, 1], lever=True),
        "w": _el("dimensionless", dims=["county"], value={"a": 1, "b": 2, "c": 3}, lever=True),
        "init_pop": _el("person", dims=["county"], value={"a": 1000, "b": 2500, "c": 400}),
    },
    "lookups": {
        "mult": _el("dimensionless", x=[0, 1, 2], y=[0.5, 1, 1.4], source="estimate: test curve"),
    },
    "stocks": {
        "pop": _el("person", dims=["county"], initial="init_pop", inflows=["growth"], outflows=["loss"]),
        "acc": _el("person", initial="sum(init_pop) * 0.1", inflows=["inflow_acc"]),
    },
    "flows": {
        "growth": _el("person/year", dims=["county"],
                      equation="k * pop * mult(lev * w) + step(k, t_on) * pop + ramped * k * pop"),
        "loss": _el("person/year", dims=["county"], equation="max(0, k * pop * (1 - exp(-rel)))"),
        "inflow_acc": _el("person/year",
                          equation="delay3(sum(growth), delay) + abs(-(pop[a]) * k) ** 1 + sqrt(pop[b] * pop[b]) * k"),
    },
    "auxiliaries": {
        "rel": _el("dimensionless", dims=["county"], equation="pop / sum(pop)"),
        "smoothed": _el("dimensionless", dims=["county"], equation="smooth(rel * w, delay)"),
        "gate": _el("dimensionless", equation=(
            "if_then_else(time >= t_on, 1, 0) + if_then_else(time < ramp_start, 1, 0)"
            " + if_then_else(lev == 0.5, 1, 0) + if_then_else(lev != 0.5, 2, 0)"
            " + if_then_else(time <= ramp_end, 1, 0) + if_then_else(time > ramp_end, 3, 0)")),
        "ramped": _el("dimensionless", equation="ramp(k, ramp_start, ramp_end)"),
        "mix": _el("dimensionless", dims=["county"],
                   equation="ln(rel) + exp(-rel) + min(rel, 0.3) + rel ** 2 - (-rel) + gate"),
        "beyond_lookup": _el("dimensionless", dims=["county"],
                             equation="mult(time / one_year - 2015) + mult(-1 * rel) + mult(smoothed)"),
        "pick": _el("dimensionless", equation="rel[c] * 2 + smoothed[a]"),
    },
}
FEATURES_SCENARIO = {
    "name": "features_levers",
    "label": {"zh": "测试", "en": "test"},
    "model": "features.yaml",
    "set": {
        "lev": {2022: 0.3, 2026: 0.8},
        "w": {2021: {"a": 1, "b": 2, "c": 3}, 2028: {"a": 3, "b": 1, "c": 0.5}},
    },
}


# --------------------------------------------------------------------------- helpers


def urbsd_run(scenario, dt=None):
    # PySD integrates by Euler: so does the run it is compared with
    return simulate(compile_model(scenario.spec), scenario.params, dt=dt, method="euler")


def pysd_run(path: Path, fmt: str, times):
    import pysd

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # PySD warns when a lookup holds its end value
        # PySD writes constant arrays and lookup points into its Python model with numpy's
        # array2string, which keeps 8 decimals by default (the model's 0.000469734 became
        # 0.00046973); the shortest round-tripping repr keeps what the export wrote
        with np.printoptions(floatmode="unique"):
            model = pysd.read_vensim(str(path)) if fmt == "vensim" else pysd.read_xmile(str(path))
        frame = model.run(return_timestamps=list(times))
    cast = [str(w.message) for w in caught if "casting delay order" in str(w.message)]
    assert not cast, f"PySD changed a DELAY3 order (a delay < 3 DT; Vensim would not): {cast[0]}"
    return frame


def export_and_run(tmp: Path, scenario, fmt: str, dt=None):
    if fmt == "vensim":
        path = atomic_write_text(tmp / f"{scenario.name}.mdl", scenario_vensim(scenario, dt=dt))
    else:  # PySD cannot parse XMILE's SUM(x[*]): the pysd spelling SUM(x[county!])
        path = atomic_write_text(tmp / f"{scenario.name}.xmile", scenario_xmile(scenario, dt=dt, array_sum="pysd"))
    run = urbsd_run(scenario, dt=dt)
    return run, pysd_run(path, fmt, run.times)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def features_scenario(tmp_path_factory):
    folder = tmp_path_factory.mktemp("features")
    (folder / "features.yaml").write_text(yaml.safe_dump(FEATURES, allow_unicode=True), encoding="utf-8")
    (folder / "levers.yaml").write_text(yaml.safe_dump(FEATURES_SCENARIO, allow_unicode=True), encoding="utf-8")
    return load_scenario(folder / "levers.yaml")


#: the Pingliang scenarios PySD runs. Each is the baseline with levers moved, so its agreement
#: covers every equation the baseline uses; a PySD run of the baseline itself would cost ~30 s
#: of CPU and test no equation these two do not.
SCENARIOS = {
    "hukou_push": DATA / "export_hukou_push.yaml",
    "county_levers": DATA / "export_county_levers.yaml",
}


@pytest.fixture(scope="module")
def pingliang_runs(tmp_path_factory):
    """urbsd and PySD runs of the Pingliang exports, each translated once per module."""
    cache: dict[tuple[str, str], tuple] = {}

    def get(key: str, fmt: str):
        if (key, fmt) not in cache:
            tmp = tmp_path_factory.mktemp(f"{key}-{fmt}")
            cache[(key, fmt)] = export_and_run(tmp, load_scenario(SCENARIOS[key]), fmt, dt=PINGLIANG_DT)
        return cache[(key, fmt)]

    return get


# --------------------------------------------------------------------------- PySD agreement


@pytest.mark.parametrize("fmt", ["vensim", "xmile"])
def test_features_model_agrees_with_pysd(features_scenario, tmp_path_factory, fmt):
    run, frame = export_and_run(tmp_path_factory.mktemp(f"feat-{fmt}"), features_scenario, fmt)
    err, where = max_relative_error(run, frame, fmt)
    assert err < RTOL, f"{fmt}: {where} differs by {err:.2e} relative"
    # the test model really moves: the levers change over time and the step switches on
    assert len(set(np.round(run.data["gate"][0], 9))) > 2
    assert run.data["pop"][0, -1, 0] != run.data["pop"][0, 0, 0]


@pytest.mark.parametrize("key", list(SCENARIOS))
def test_pingliang_vensim_agrees_with_pysd(pingliang_runs, key):
    run, frame = pingliang_runs(key, "vensim")
    err, where = max_relative_error(run, frame)
    assert err < RTOL, f"{key}: {where} differs by {err:.2e} relative"
    assert len(frame) == len(run.times) == PINGLIANG_YEARS and run.dt == PINGLIANG_DT
    assert run.times[0] == 2010 and run.times[-1] == 2035


@pytest.mark.parametrize("key", ["county_levers"])  # the baseline plus levers: one run (PySD is slow)
def test_pingliang_xmile_agrees_with_pysd(pingliang_runs, key):
    run, frame = pingliang_runs(key, "xmile")
    err, where = max_relative_error(run, frame, "xmile")
    assert err < RTOL, f"{key}: {where} differs by {err:.2e} relative"


def test_scenarios_differ_from_baseline(pingliang_runs):
    """The agreement tests would be weak if the levers changed nothing: each scenario moves the
    rate its levers act on by more than 0.1 pp in some year (and county). The hukou levers move
    the hukou rate (2.3 pp in 2035 at DT 1); the county levers send central-city arrivals to
    other counties and narrow the income gap, which moves the county rates (0.4 pp) more
    than the city's hukou rate (0.02 pp)."""
    base = urbsd_run(load_scenario(None), dt=PINGLIANG_DT).data
    for key, indicator in (("hukou_push", "hukou_urbanization_rate"), ("county_levers", "county_urbanization_rate")):
        other = pingliang_runs(key, "vensim")[0].data[indicator][0]
        assert np.max(np.abs(other - base[indicator][0])) > 1e-3, (key, indicator)


def test_comparison_catches_a_difference(features_scenario, tmp_path):
    """The oracle is not vacuous: a changed constant in the export shows up as an error."""
    text = to_vensim(features_scenario.spec, features_scenario.params)
    text = re.sub(r"^k =\n\t0\.05", "k =\n\t0.0500001", text, flags=re.M)
    path = tmp_path / "changed.mdl"
    path.write_text(text, encoding="utf-8")
    run = urbsd_run(features_scenario)
    err, _ = max_relative_error(run, pysd_run(path, "vensim", run.times))
    assert err > RTOL


# --------------------------------------------------------------------------- the text


def test_vensim_text_has_units_comments_subscripts_and_control(features_scenario):
    spec = features_scenario.spec
    text = to_vensim(spec, features_scenario.params, title="t")
    assert text.startswith("{UTF-8}\n")
    assert "county:\n\ta, b, c\n" in text
    assert "pop[county] =\n\tINTEG(growth[county] - loss[county], init_pop[county])" in text
    assert "init_pop[county] =\n\t1000, 2500, 400\n\t~\tperson\n" in text
    assert "k =\n\t0.05\n\t~\t1/year [0,1]\n\t~\t测试 / test. Source: estimate: test value" in text
    assert "lev =\n\tWITH LOOKUP(Time, ([(2022,0.3)-(2026,0.8)],(2022,0.3),(2026,0.8)))" in text
    assert "w[c] =\n\tWITH LOOKUP(Time, ([(2021,0.5)-(2028,3)],(2021,3),(2028,0.5)))" in text
    assert "mult(\n\t[(0,0.5)-(2,1.4)],(0,0.5),(1,1),(2,1.4))" in text
    for control in ("FINAL TIME  =\n\t2030", "INITIAL TIME  =\n\t2020", "SAVEPER  =\n\t1", "TIME STEP  =\n\t0.25"):
        assert control in text
    assert to_vensim(spec, {}, dt=0.125).count("TIME STEP  =\n\t0.125") == 1


@pytest.mark.parametrize("equation,vensim", [
    ("if_then_else(time >= t_on, 1, 0)", "IF THEN ELSE(Time >= t_on, 1, 0)"),
    ("if_then_else(lev != 0.5, 2, 0)", "IF THEN ELSE(lev <> 0.5, 2, 0)"),
    ("if_then_else(lev == 0.5, 2, 0)", "IF THEN ELSE(lev = 0.5, 2, 0)"),
    ("ln(rel) ** 2", "LN(rel[county]) ^ 2"),
    ("sum(pop * rel)", "SUM(pop[county!] * rel[county!])"),
    ("rel[c] + -k", "rel[c] + (-k)"),
    ("min(rel, 0.3) + max(rel, 1e-07)", "MIN(rel[county], 0.3) + MAX(rel[county], 1e-07)"),
    ("smooth(rel, delay) + delay3(rel, delay)", "SMOOTH(rel[county], delay) + DELAY3(rel[county], delay)"),
    ("step(k, t_on) + ramp(k, ramp_start, ramp_end)", "STEP(k, t_on) + RAMP(k, ramp_start, ramp_end)"),
    ("mult(abs(exp(sqrt(lev))))", "mult(ABS(EXP(SQRT(lev))))"),
    # parentheses only where precedence needs them; ^ and unary minus always explicit
    ("k - (lev - k) + k * (lev + k)", "k - (lev - k) + k * (lev + k)"),
    ("k / (lev * k) - k * lev / k", "k / (lev * k) - k * lev / k"),
    ("-(k ** 2) + (-k) ** 2 + k ** k ** lev", "(-(k ^ 2)) + (-k) ^ 2 + k ^ (k ^ lev)"),
    ("-(k + lev) * 2", "(-(k + lev)) * 2"),
])
def test_vensim_expression(features_scenario, equation, vensim):
    assert expression(equation, features_scenario.spec) == vensim


@pytest.mark.parametrize("unit,vensim", [
    ("dimensionless", "Dmnl"), ("person/year", "person/year"), ("1/year**2", "1/(year*year)"),
    ("m**2/person", "(m*m)/person"),
])
def test_vensim_units(unit, vensim):
    assert vensim_units(unit) == vensim


def test_xmile_text(features_scenario):
    import xml.etree.ElementTree as ET

    text = to_xmile(features_scenario.spec, features_scenario.params)
    root = ET.fromstring(text)
    ns = {"x": "http://docs.oasis-open.org/xmile/ns/XMILE/v1.0"}
    assert root.find("x:sim_specs/x:dt", ns).text == "0.25"
    assert [e.get("name") for e in root.findall("x:dimensions/x:dim/x:elem", ns)] == COUNTY
    flows = {f.get("name"): f.find("x:eqn", ns).text for f in root.findall(".//x:flow", ns)}
    assert "SUM(growth[*])" in flows["inflow_acc"] and "DELAY3(" in flows["inflow_acc"]
    auxes = {a.get("name"): a for a in root.findall(".//x:aux", ns)}
    assert auxes["smoothed"].find("x:eqn", ns).text == "SMTH1(rel[county] * w[county], delay)"
    assert "(RAMP(k, ramp_start) - RAMP(k, ramp_end))" == auxes["ramped"].find("x:eqn", ns).text
    assert "(IF TIME >= t_on THEN 1 ELSE 0)" in auxes["gate"].find("x:eqn", ns).text
    lev = auxes["lev"]
    assert lev.find("x:eqn", ns).text == "TIME" and lev.find("x:gf/x:xpts", ns).text == "2022,2026"
    assert [e.find("x:eqn", ns).text for e in auxes["w"].findall("x:element", ns)] == \
        ["w_series_a(TIME)", "w_series_b(TIME)", "w_series_c(TIME)"]
    assert auxes["k"].find("x:range", ns).attrib == {"min": "0", "max": "1"}
    assert "SUM(pop[county!])" in to_xmile(features_scenario.spec, {}, array_sum="pysd")
    with pytest.raises(ValueError):
        to_xmile(features_scenario.spec, {}, array_sum="stella")


# --------------------------------------------------------------------------- CLI


def test_cli_export_writes_both_formats(tmp_path, capsys):
    out = tmp_path / "sub" / "hukou.mdl"
    assert main(["export", str(DATA / "export_hukou_push.yaml"), "--format", "vensim", "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "hukou_openness =\n\tWITH LOOKUP(Time, ([(2020,0.9)-(2023,1)],(2020,0.9),(2023,1)))" in text
    assert "settlement_willingness =\n\t0.65\n" in text
    assert str(out) in capsys.readouterr().out
    xm = tmp_path / "baseline.xmile"
    assert main(["export", "--format", "xmile", "-o", str(xm)]) == 0
    xtext = xm.read_text(encoding="utf-8")
    assert re.search(r"SUM\(\w+\[\*\]\)", xtext) and "!]" not in xtext  # the standard XMILE sum
    assert sorted(p.name for p in tmp_path.iterdir()) == ["baseline.xmile", "sub"]  # no temp files


def test_cli_export_bad_input(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["export", "--format", "stella", "-o", str(tmp_path / "x")])
    assert info.value.code == 2
    capsys.readouterr()
    assert main(["export", str(tmp_path / "nope.yaml"), "--format", "vensim", "-o", str(tmp_path / "x.mdl")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nope.yaml" in err
    (tmp_path / "dir.mdl").mkdir()
    assert main(["export", "--format", "vensim", "-o", str(tmp_path / "dir.mdl")]) == 2
    assert "-o" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir.mdl"]


@pytest.mark.parametrize("name,fmt", [("time_step", "vensim"), ("saveper", "vensim"), ("dt", "xmile")])
def test_names_reserved_by_the_tool_are_refused(tmp_path, capsys, name, fmt):
    model = {"name": "r", "time": {"start": 0, "stop": 2, "dt": 0.5, "saveper": 1},
             "constants": {name: _el("dimensionless", value=1)},
             "auxiliaries": {"y": _el("dimensionless", equation=f"{name} * 2")}}
    (tmp_path / "r.yaml").write_text(yaml.safe_dump(model), encoding="utf-8")
    (tmp_path / "s.yaml").write_text("name: s\nmodel: r.yaml\n", encoding="utf-8")
    out = tmp_path / "out.file"
    assert main(["export", str(tmp_path / "s.yaml"), "--format", fmt, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"constants.{name}: '{name}' is a built-in name" in err and err.count("\n") == 1
    assert not out.exists()


def test_xmile_names_with_underscores(tmp_path):
    """XMILE spells `_` in a dimension or element name as a space in the XML attributes and as
    `_` in equations (the same name); PySD matches an element (the model's `a15_29`) only so."""
    import xml.etree.ElementTree as ET

    model = yaml.safe_load(yaml.safe_dump(FEATURES).replace("county", "home_county")
                           .replace("pop[a]", "pop[a_1]").replace("smoothed[a]", "smoothed[a_1]"))
    for name in ("w", "init_pop"):
        model["constants"][name]["value"]["a_1"] = model["constants"][name]["value"].pop("a")
    model["dimensions"]["home_county"]["elements"] = ["a_1", "b", "c"]
    (tmp_path / "features.yaml").write_text(yaml.safe_dump(model, allow_unicode=True), encoding="utf-8")
    (tmp_path / "s.yaml").write_text("name: s\nmodel: features.yaml\n", encoding="utf-8")
    spec = load_scenario(tmp_path / "s.yaml").spec
    ns = {"x": "http://docs.oasis-open.org/xmile/ns/XMILE/v1.0"}
    root = ET.fromstring(to_xmile(spec, {}))
    assert [d.get("name") for d in root.findall("x:dimensions/x:dim", ns)] == ["home county"]
    assert [e.get("name") for e in root.findall("x:dimensions/x:dim/x:elem", ns)] == ["a 1", "b", "c"]
    auxes = {a.get("name"): a for a in root.findall(".//x:aux", ns)}
    assert [e.get("subscript") for e in auxes["w"].findall("x:element", ns)] == ["a 1", "b", "c"]
    assert auxes["pick"].find("x:eqn", ns).text == "rel[c] * 2 + smoothed[a_1]"
    assert auxes["rel"].find("x:dimensions/x:dim", ns).get("name") == "home county"
    assert "pop[home_county]" in auxes["rel"].find("x:eqn", ns).text
