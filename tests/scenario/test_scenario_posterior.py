"""`uncertain: {posterior: FILE}`: joint draws from a posterior file in scenarios and sweeps.

The file is checked like every input (one line, the file and the field); its path may not
leave the scenario's folder; sweeps keep the correlations of its columns."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import yaml

from simulator.analysis.sampling import POSTERIOR_GROUP, sampling_groups, to_values, unit_samples
from simulator.analysis.sweep import run_sweep
from simulator.cli import main
from simulator.errors import InputError
from simulator.scenario.posterior import column_constant
from simulator.scenario.resolve import load_scenario

A, B = "rural_to_town_rate", "out_migration_rate"  # two constants the calibration fits
P = "county_town_pull"  # a county constant the calibration fits by element (county_town_pull[kongtong], ...)
RHO = 0.95


def _posterior(path: Path, n: int = 400, rho: float = RHO, seed: int = 0, extra: str = "") -> Path:
    rng = np.random.default_rng(seed)
    z = rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], size=n)
    a, b = 0.09 + 0.01 * z[:, 0], 0.035 + 0.005 * z[:, 1]
    lines = ["# a test posterior", f"draw,{A},{B},log_prob"]
    lines += [f"{i},{float(x)!r},{float(y)!r},-1.5" for i, (x, y) in enumerate(zip(a, b))]
    path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    return path


def _scenario(folder: Path, uncertain: dict, name: str = "probe", **extra) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"name": name, "extends": "baseline", "uncertain": uncertain, **extra}),
                    encoding="utf-8")
    return path


def _map_value(spec, params: dict, column: str) -> float:
    """The value `params` (a scenario's `set:`) gives a posterior column (`name` or `name[element]`)."""
    name, _, element = column.partition("[")
    if not element:
        return float(params[name])
    return float(np.asarray(params[name])[list(spec.elements(spec.constants[name].dims[0])).index(element[:-1])])


def test_the_bundled_baseline_draws_the_fitted_constants_jointly():
    base = load_scenario()
    calibrated = load_scenario(Path(base.chain[1])).params  # scenarios/calibration.yaml
    joint = {n: d for n, d in base.uncertain.items() if d.dist == "posterior"}
    # every fitted constant, from one file; a subscripted one (county_town_pull) by element
    assert {column_constant(n) for n in joint} == set(calibrated)
    for name, value in calibrated.items():
        if np.ndim(value):
            elements = base.spec.elements(base.spec.constants[name].dims[0])
            assert name not in joint and {f"{name}[{e}]" for e in elements} <= set(joint), name
    (sample,) = {id(d.joint) for d in joint.values()}
    assert base.resolved["uncertain"]["posterior"]["file"] == "calibration-posterior.csv"
    assert len(base.resolved["uncertain"]["posterior"]["sha256"]) == 64
    assert base.resolved["uncertain"]["posterior"]["columns"] == list(joint)
    # the draws spread around the fitted (MAP) values
    for name, d in joint.items():
        col = d.joint.values[:, d.column]
        lo, hi = np.percentile(col, [1, 99])
        assert lo < _map_value(base.spec, calibrated, name) < hi, name


def test_a_scenario_with_a_posterior_keeps_its_other_distributions(tmp_path):
    _posterior(tmp_path / "post.csv")
    s = load_scenario(_scenario(tmp_path, {"posterior": "post.csv"}))
    assert s.uncertain[A].dist == "posterior" and s.uncertain[B].dist == "posterior"
    # the baseline's posterior is replaced by the child's: only A and B are drawn from a file
    assert sorted(n for n, d in s.uncertain.items() if d.dist == "posterior") == sorted([A, B])
    assert s.uncertain["labour_productivity_growth"].dist == "uniform"
    assert s.resolved["uncertain"]["posterior"]["columns"] == [A, B]


@pytest.mark.parametrize("ref, reason", [
    ("../post.csv", "no '..'"),
    ("/etc/passwd", "no absolute path"),
    ("~/post.csv", "no absolute path"),
    ("missing.csv", "no such posterior file"),
    ("sub", "not a file"),
])
def test_paths_that_leave_the_scenario_folder_are_refused(tmp_path, ref, reason):
    folder = tmp_path / "scen"
    (folder / "sub").mkdir(parents=True)
    _posterior(tmp_path / "post.csv")
    with pytest.raises(InputError) as exc:
        load_scenario(_scenario(folder, {"posterior": ref}))
    assert exc.value.field == "uncertain.posterior" and reason in exc.value.reason
    assert "\n" not in str(exc.value)


def test_a_symlink_out_of_the_folder_is_refused(tmp_path):
    folder = tmp_path / "scen"
    folder.mkdir()
    _posterior(tmp_path / "secret.csv")
    os.symlink(tmp_path / "secret.csv", folder / "post.csv")
    with pytest.raises(InputError, match="leads outside the scenario's folder"):
        load_scenario(_scenario(folder, {"posterior": "post.csv"}))


@pytest.mark.parametrize("content, reason", [
    (f"draw,{A},rural_to_twn_rate\n0,0.02,0.02\n", "did you mean 'rural_to_town_rate'"),
    (f"draw,{A}\n0,0.5\n", "outside the bounds"),
    (f"draw,{A}\n0,abc\n", "not a number"),
    (f"draw,{A}\n0,nan\n", "not a finite number"),
    (f"draw,{A}\n", "no header and draws"),
    (f"draw,{A},{A}\n0,0.02,0.02\n", "appears twice"),
    (f"# comment\ndraw,{A}\n0,0.02,7\n", "line 3: 3 fields, the header has 2"),
    ("draw,log_prob\n0,1\n", "no constant columns"),
    ("draw,hukou_population\n0,1\n", "is an auxiliary"),
    # columns for one element of a subscripted constant: name[element]
    (f"draw,{P}[kongtang]\n0,1\n", "unknown county 'kongtang' (did you mean 'kongtong'"),
    (f"draw,{A}[kongtong]\n0,0.02\n", f"{A} is not subscripted"),
    ("draw,chain_county_share[kongtong]\n0,0.5\n", "multi-dimensional"),
    (f"draw,{P}[kongtong\n0,1\n", "is not a constant name or name[element]"),
    (f"draw,{P}[kongtong]\n0,9\n", "outside the bounds"),
    (f"draw,{P}[kongtong],{P}\n0,1,1\n", f"both give {P}"),
    (f"draw,{P},{P}[kongtong]\n0,1,1\n", f"both give {P}"),
])
def test_bad_posterior_files_are_one_line(tmp_path, content, reason):
    (tmp_path / "post.csv").write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as exc:
        load_scenario(_scenario(tmp_path, {"posterior": "post.csv"}))
    assert reason in exc.value.reason and "\n" not in str(exc.value)


def test_columns_can_be_chosen_and_the_same_file_may_not_give_a_constant_twice(tmp_path):
    _posterior(tmp_path / "post.csv")
    s = load_scenario(_scenario(tmp_path, {"posterior": {"file": "post.csv", "columns": [B]}}))
    assert s.uncertain[B].dist == "posterior" and A not in s.uncertain
    with pytest.raises(InputError, match="give it one source"):
        load_scenario(_scenario(tmp_path, {"posterior": "post.csv", A: {"dist": "uniform", "low": 0.01, "high": 0.03}}))
    with pytest.raises(InputError, match="either set or uncertain"):
        load_scenario(_scenario(tmp_path, {"posterior": "post.csv"}, set={A: 0.02}))


def test_a_child_that_sets_or_redistributes_a_posterior_constant_overrides_the_draws(tmp_path):
    _posterior(tmp_path / "post.csv")
    _scenario(tmp_path, {"posterior": "post.csv"}, name="parent")
    child = tmp_path / "child.yaml"
    child.write_text(yaml.safe_dump({"name": "child", "extends": "parent", "set": {A: 0.02},
                                     "uncertain": {B: {"dist": "uniform", "low": 0.01, "high": 0.03}}}),
                     encoding="utf-8")
    s = load_scenario(child)
    assert A not in s.uncertain and s.params[A] == 0.02
    assert s.uncertain[B].dist == "uniform"
    assert s.resolved["uncertain"]["posterior"]["columns"] == []


def test_the_mc_sweep_keeps_the_correlation_of_the_posterior_columns(tmp_path):
    _posterior(tmp_path / "post.csv")
    s = load_scenario(_scenario(tmp_path, {"posterior": "post.csv"}))
    result = run_sweep(s, "mc", 600, seed=3, progress=False)
    ia, ib = result.names.index(A), result.names.index(B)
    r = np.corrcoef(result.values[:, ia], result.values[:, ib])[0, 1]
    file_r = np.corrcoef(s.uncertain[A].joint.values, rowvar=False)[0, 1]
    assert file_r > 0.9 and abs(r - file_r) < 0.03
    # every sampled pair is a row of the file (joint draws, with replacement)
    rows = {tuple(x) for x in s.uncertain[A].joint.values}
    assert all((x, y) in rows for x, y in result.values[:, [ia, ib]])
    # independent draws of each column (its marginal) would have lost it
    u = unit_samples("mc", 600, 2, 3)
    indep = np.column_stack([s.uncertain[A].ppf(u[:, 0]), s.uncertain[B].ppf(u[:, 1])])
    assert abs(np.corrcoef(indep, rowvar=False)[0, 1]) < 0.15
    # a caller that draws one unit column per constant (Monte Carlo) still gets whole rows
    legacy = to_values(u, [s.uncertain[A], s.uncertain[B]])
    assert abs(np.corrcoef(legacy, rowvar=False)[0, 1] - file_r) < 0.05
    # rank correlations per constant (not per block) in the indices
    assert {A, B} <= {r["parameter"] for r in result.indices}


def test_sobol_treats_the_posterior_as_one_input_and_morris_refuses(tmp_path, capsys):
    _posterior(tmp_path / "post.csv")
    path = _scenario(tmp_path, {"posterior": "post.csv"})
    s = load_scenario(path)
    groups = sampling_groups(list(s.uncertain), list(s.uncertain.values()))
    assert [g for g, _ in groups].count(POSTERIOR_GROUP) == 1 and len(groups) == len(s.uncertain) - 1
    result = run_sweep(s, "sobol", 8, seed=0, progress=False)
    assert result.runs == 8 * (len(groups) + 2)
    assert POSTERIOR_GROUP in {r["parameter"] for r in result.indices}
    assert POSTERIOR_GROUP in result.provenance["labels"]
    code = main(["sweep", str(path), "--method", "morris", "--samples", "4", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "--method" in err and "no order" in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_the_same_seed_draws_the_same_rows(tmp_path):
    _posterior(tmp_path / "post.csv")
    s = load_scenario(_scenario(tmp_path, {"posterior": "post.csv"}))
    names, dists = list(s.uncertain), list(s.uncertain.values())
    groups = sampling_groups(names, dists)
    a = to_values(unit_samples("mc", 50, len(groups), 7), dists, None, groups)
    b = to_values(unit_samples("mc", 50, len(groups), 7), dists, None, groups)
    assert np.array_equal(a, b)


def _element_posterior(path: Path, n: int = 50, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    lines = [f"draw,{A},{P}[kongtong],{P}[jingning],log_prob"]
    lines += [f"{i},{0.09 + 0.01 * rng.standard_normal()!r},{1 + 0.2 * rng.standard_normal()!r},"
              f"{0.6 + 0.1 * rng.standard_normal()!r},-1" for i in range(n)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_column_draws_one_element_of_a_county_constant_and_the_others_keep_their_values(tmp_path):
    from simulator.analysis.sweep import ModelEvaluator

    _element_posterior(tmp_path / "post.csv")
    s = load_scenario(_scenario(tmp_path, {"posterior": "post.csv"}))
    cols = [A, f"{P}[kongtong]", f"{P}[jingning]"]
    assert sorted(n for n, d in s.uncertain.items() if d.dist == "posterior") == sorted(cols)
    assert P not in s.uncertain and s.resolved["uncertain"]["posterior"]["columns"] == cols
    assert [s.uncertain[c].column for c in cols] == [0, 1, 2]
    # a plain run uses the calibrated (MAP) value of every county; a sweep row with those values
    # is the same run, and changing one element changes the run
    counties = list(s.spec.elements(s.spec.constants[P].dims[0]))
    pull = np.asarray(s.params[P], dtype=float)
    at_map = [float(s.params[A]), pull[counties.index("kongtong")], pull[counties.index("jingning")]]
    assert len(set(pull.tolist())) > 1  # the calibrated counties differ, so one value for all would show
    plain = ModelEvaluator(s, ())(np.empty((1, 0)))
    rows = ModelEvaluator(s, tuple(cols))(np.array([at_map, [at_map[0], at_map[1] * 1.5, at_map[2]]]))
    assert np.allclose(rows[0], plain[0], rtol=1e-12, atol=0)
    assert not np.allclose(rows[1], plain[0])


def test_a_child_that_sets_a_county_constant_drops_its_element_columns(tmp_path):
    _element_posterior(tmp_path / "post.csv")
    _scenario(tmp_path, {"posterior": "post.csv"}, name="parent")
    child = tmp_path / "child.yaml"
    child.write_text(yaml.safe_dump({"name": "child", "extends": "parent", "set": {P: 1.0}}), encoding="utf-8")
    s = load_scenario(child)
    assert not any(column_constant(n) == P for n in s.uncertain) and np.all(np.asarray(s.params[P]) == 1.0)
    assert s.resolved["uncertain"]["posterior"]["columns"] == [A]
    # the file that names the posterior may not also set (or distribute) the constant
    with pytest.raises(InputError, match="either set or uncertain") as exc:
        load_scenario(_scenario(tmp_path, {"posterior": "post.csv"}, set={P: 1.0}))
    assert exc.value.field == f"set.{P}"
    with pytest.raises(InputError, match="give it one source"):
        load_scenario(_scenario(tmp_path, {"posterior": "post.csv", P: {"dist": "uniform", "low": 0.5, "high": 2}}))


def test_an_element_column_of_a_constant_set_as_a_time_series_is_refused(tmp_path):
    _element_posterior(tmp_path / "post.csv")
    (tmp_path / "parent.yaml").write_text(yaml.safe_dump({"name": "parent", "extends": "baseline",
                                                          "set": {P: {2010: 1.0, 2030: 1.2}}}), encoding="utf-8")
    path = tmp_path / "child.yaml"
    path.write_text(yaml.safe_dump({"name": "child", "extends": "parent.yaml", "uncertain": {"posterior": "post.csv"}}),
                    encoding="utf-8")
    with pytest.raises(InputError) as exc:
        load_scenario(path)
    assert exc.value.field == "uncertain.posterior" and f"column {P}[kongtong]" in exc.value.reason
    assert "time series" in exc.value.reason and "\n" not in str(exc.value)
    # a column for the whole constant replaces the series: allowed
    (tmp_path / "post.csv").write_text(f"draw,{P}\n0,1.1\n1,0.9\n", encoding="utf-8")
    assert load_scenario(path).uncertain[P].dist == "posterior"
