"""Shared by the calibration tests: a toy model, its data and its calibration spec on disk."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import yaml
from conftest import element

TRUTH = {"migration_rate": 0.083, "death_rate": 0.021}


def toy_model(write_model) -> Path:
    """Two stocks (rural, urban); migration and deaths; births for a mean-over-the-year figure."""
    return write_model({
        "constants": {
            "migration_rate": element(value=0.05, bounds=[0, 0.3], unit="1/year"),
            "death_rate": element(value=0.01, bounds=[0, 0.05], unit="1/year"),
            "birth_rate": element(value=0.012, bounds=[0, 0.05], unit="1/year"),
            "initial_rural": element(value=1000.0, bounds=[0, 1e6], unit="person"),
            "initial_urban": element(value=100.0, bounds=[0, 1e6], unit="person"),
        },
        "stocks": {
            "rural": element(initial="initial_rural", inflows=["births"], outflows=["migration", "rural_deaths"],
                             unit="person"),
            "urban": element(initial="initial_urban", inflows=["migration"], outflows=["urban_deaths"], unit="person"),
        },
        "flows": {
            "births": element(equation="birth_rate * (rural + urban)", unit="person/year"),
            "migration": element(equation="migration_rate * rural", unit="person/year"),
            "rural_deaths": element(equation="death_rate * rural", unit="person/year"),
            "urban_deaths": element(equation="death_rate * urban", unit="person/year"),
        },
        "auxiliaries": {
            "total": element(equation="rural + urban", unit="person"),
            "share": element(equation="urban / total"),
        },
    })


def write_data(path: Path, rows: list[tuple[int, str, str, float, float]]) -> None:
    """A data file: year, area, indicator, value, sigma."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["year", "area", "indicator", "value", "sigma", "kind", "source"])
        for r in rows:
            w.writerow([*r, "synthetic", "test"])


def toy_spec(tmp_path: Path, write_model, truth: dict[str, float] | None = None, noise: float = 0.0,
             seed: int = 0, **extra) -> Path:
    """A spec fitting migration_rate and death_rate (flat priors) to data the model makes at `truth`
    (plus normal noise of `noise` times each sigma)."""
    from simulator.analysis.calibrate import simulate_observations, theta_of
    from simulator.analysis.calspec import load_calibration_spec

    truth = dict(TRUTH if truth is None else truth)
    toy_model(write_model)
    keys = [(y, "toy", ind) for y in (2, 5, 10) for ind in ("share", "total")] + [(10, "toy", "cbr")]
    sig = {"share": 0.01, "total": 10.0, "cbr": 0.001}
    write_data(tmp_path / "data.csv", [(*k, 0.5, sig[k[2]]) for k in keys]
               + [(0, "toy", "rural_count", 1000.0, 10.0)])
    spec = {
        "name": "toy", "model": "model.yaml", "data": "data.csv", "area": "toy",
        "run": {"start": 0, "stop": 10},
        "fit": {"search": 64, "starts": 2, "seed": 3},
        "posterior": {"walkers": 16, "steps": 400, "draws": 1000, "seed": 1},
        "parameters": {"migration_rate": {"group": "migration"}, "death_rate": {"group": "deaths"}},
        "observations": [{"row": [y, "toy", ind], "model": ind} for y, _, ind in keys if ind != "cbr"]
        + [{"row": [10, "toy", "cbr"], "model": "births / rural", "at": "mean"},
           {"row": [0, "toy", "rural_count"], "role": "initial", "sets": "initial_rural"}],
    }
    for key, value in extra.items():
        spec[key] = value
    path = tmp_path / "toy-calibration.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    problem = load_calibration_spec(path).problem()
    sim = simulate_observations(problem, theta_of(problem, {**{p.name: p.default for p in problem.parameters},
                                                             **truth}))[0]
    rng = np.random.default_rng(seed)
    values = [s + noise * o.sigma * rng.standard_normal() for o, s in zip(problem.observations, sim)]
    by_row = {o.row: v for o, v in zip(problem.observations, values)}
    write_data(tmp_path / "data.csv", [(*k, by_row[k], sig[k[2]]) for k in keys]
               + [(0, "toy", "rural_count", 1000.0, 10.0)])
    return path


def element_spec(tmp_path: Path, write_model) -> Path:
    """A spec fitting one element, rate[b], of a subscripted constant (lognormal prior)."""
    write_model({
        "dimensions": {"place": {"elements": ["a", "b"]}},
        "constants": {"rate": element(dims=["place"], value={"a": 0.1, "b": 0.2}, bounds=[0, 1], unit="1/year")},
        "stocks": {"x": element(dims=["place"], initial=100, outflows=["out"], unit="person")},
        "flows": {"out": element(dims=["place"], equation="rate * x", unit="person/year")},
        "auxiliaries": {"share_a": element(equation="x[a] / sum(x)")},
    })
    (tmp_path / "data.csv").write_text("year,area,indicator,value,sigma\n5,all,share_a,0.4,0.01\n", encoding="utf-8")
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump({
        "name": "el", "model": "model.yaml", "data": "data.csv", "run": {"start": 0, "stop": 5},
        "parameters": {"rate[b]": {"prior": {"dist": "lognormal", "median": 0.2, "sigma": 1.0}}},
        "observations": [{"row": [5, "all", "share_a"], "model": "x[a] / (x[a] + x[b])"}]}), encoding="utf-8")
    return path
