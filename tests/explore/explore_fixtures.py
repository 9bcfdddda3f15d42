"""Fixtures of the explore tests: Explorers of bundled scenarios (compiled once) and an HTTP client.

Imported by each test module (`from explore_fixtures import ...`) rather than kept in a
conftest.py: the suite's modules import the root tests/conftest.py as `conftest`, which a second
conftest.py on the path would shadow."""

from __future__ import annotations

import functools

import pytest

from simulator.bundled import scenarios_dir


@functools.lru_cache(maxsize=None)
def explorer_of(stem: str, band_runs: int):
    """An Explorer of a bundled scenario, made once per test process (each module imports the
    fixtures, so each has its own fixture; they share this one Explorer)."""
    from simulator.cli.common import load_one
    from simulator.explore.session import Explorer

    scenario, model = load_one(str(scenarios_dir() / f"{stem}.yaml"))
    return Explorer(scenario, model, band_runs=band_runs)


@pytest.fixture(scope="session")
def baseline_explorer():
    """The bundled baseline, with a small Monte Carlo band (50 runs) to keep the tests quick."""
    return explorer_of("baseline", 50)


@pytest.fixture(scope="session")
def hukou_explorer():
    """hukou-open: two levers given as time series {2020: ..., 2025: ...}."""
    return explorer_of("hukou-open", 50)


@pytest.fixture(scope="session")
def client(baseline_explorer):
    """An in-process HTTP client of the app (Host 127.0.0.1, as a browser on this computer sends)."""
    from starlette.testclient import TestClient

    from simulator.explore.app import create_app

    return TestClient(create_app(baseline_explorer), base_url="http://127.0.0.1:8765")
