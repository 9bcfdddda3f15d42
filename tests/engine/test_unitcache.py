"""Remembering a passed units check (engine/unitcache.py): a file that passed loads again
without the check; an edited file, or one that fails, is checked every time."""

from __future__ import annotations

import pytest
from test_units import good, with_

from simulator.engine import kernel, unitcache, units
from simulator.engine.load import load_model
from simulator.errors import InputError


@pytest.fixture
def checks(tmp_path, monkeypatch) -> list[str]:
    """A fresh cache folder; the names of the model files the units check ran on."""
    monkeypatch.setenv(kernel.ENV_CACHE, str(tmp_path / "cache"))
    ran: list[str] = []
    original = units.check_units
    monkeypatch.setattr(units, "check_units", lambda spec, trees: ran.append(spec.path.name) or original(spec, trees))
    return ran


def test_a_file_that_passed_is_not_checked_again_and_an_edited_one_is(write_model, checks, tmp_path):
    path = write_model(good())
    load_model(path)
    load_model(path)
    assert checks == [path.name]
    assert len(list((tmp_path / "cache" / "units").iterdir())) == 1
    bad = with_("auxiliaries.land_km2.unit", "m**2")  # the equation gives km**2
    edited = write_model(bad, "edited.yaml")
    for _ in range(2):  # a failure is never remembered
        with pytest.raises(InputError, match="land_km2"):
            load_model(edited)
    assert checks == [path.name, edited.name, edited.name]


def test_units_false_neither_checks_nor_remembers(write_model, checks, tmp_path):
    load_model(write_model(good()), units=False)
    assert checks == [] and not (tmp_path / "cache" / "units").exists()


def test_a_cache_folder_that_cannot_be_written_checks_every_time(write_model, checks, tmp_path, monkeypatch):
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv(kernel.ENV_CACHE, str(tmp_path / "file"))
    path = write_model(good())
    load_model(path)
    load_model(path)
    assert checks == [path.name, path.name]


def test_the_key_changes_with_the_model_and_with_pint(monkeypatch, tmp_path):
    first = unitcache._key("a" * 64)
    assert first == unitcache._key("a" * 64) and first != unitcache._key("b" * 64)
    fake = tmp_path / "pint.py"
    fake.write_text("")

    class Spec:
        origin = str(fake)

    monkeypatch.setattr(unitcache.importlib.util, "find_spec", lambda name: Spec)
    unitcache._code.cache_clear()  # read once per process: this test is another pint install
    try:
        assert unitcache._key("a" * 64) != first
    finally:
        unitcache._code.cache_clear()
