"""Saving the page's settings: a scenario file that `urbsd run` reproduces exactly (same resolved
sha256, same numbers), with the typed name and label kept out of harm's way."""

from __future__ import annotations

import csv
import json

import pytest
import yaml
from explore_fixtures import baseline_explorer, client, hukou_explorer  # noqa: F401 (pytest fixtures)

from simulator.cli import main
from simulator.scenario.resolve import load_scenario


def _run_cli(path, out):
    assert main(["run", str(path), "--out", str(out)]) == 0
    folder = out / path.stem
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    with open(folder / "timeseries.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return summary, rows


@pytest.mark.parametrize("fixture, settings", [
    ("baseline_explorer", {"central_city_pull": 2.5, "hukou_openness": 1, "service_investment_multiplier": 1.75}),
    ("baseline_explorer", {}),
    ("hukou_explorer", {"residence_permit_access": {"start": 0.75, "end": 0.95}, "settlement_willingness": 0.62}),
], ids=["three-levers", "unchanged", "series-lever"])
def test_saved_scenario_reproduces_through_urbsd_run(request, tmp_path, fixture, settings):
    from starlette.testclient import TestClient

    from simulator.explore.app import create_app

    explorer = request.getfixturevalue(fixture)
    client = TestClient(create_app(explorer), base_url="http://127.0.0.1:8765")
    answer = client.post("/api/run", json={"set": settings}).json()
    response = client.post("/api/save", json={"set": settings, "name": "workshop-a", "label": "研讨会方案A: 户籍#1"})
    assert response.status_code == 200, response.text
    saved = response.json()
    assert saved["filename"] == "workshop-a.yaml"
    path = tmp_path / saved["filename"]
    path.write_text(saved["yaml"], encoding="utf-8")

    summary, rows = _run_cli(path, tmp_path / "results")
    assert summary["scenario_sha256"] == saved["sha256"]
    assert summary["scenario"]["label"] == {"zh": "研讨会方案A: 户籍#1", "en": "研讨会方案A: 户籍#1"}
    assert [float(r["time"]) for r in rows] == answer["times"]
    for name, values in answer["paths"].items():
        assert [float(r[name]) for r in rows] == values, name
    for county, values in answer["counties"].items():
        assert [float(r[f"county_urbanization_rate[{county}]"]) for r in rows] == values, county
    assert [(t["indicator"], t["year"], t["value"]) for t in summary["targets"]] == \
        [(t["indicator"], t["year"], t["value"]) for t in answer["targets"]]

    data = yaml.safe_load(saved["yaml"])
    assert data["extends"] == explorer.scenario.name  # a bundled parent, named
    assert sorted(data.get("set", {})) == sorted(settings)
    assert saved["yaml"].startswith("# A scenario saved by `urbsd explore`")


def test_saved_series_lever_is_a_ramp_between_the_series_years(hukou_explorer):
    from simulator.explore.levers import raw_settings

    raw = raw_settings(hukou_explorer.levers, {"hukou_openness": {"start": 0.8, "end": 1}})
    assert raw == {"hukou_openness": {2020: 0.8, 2025: 1}}


def test_a_parent_that_is_not_bundled_is_named_by_its_path(tmp_path):
    from simulator.cli.common import load_one
    from simulator.explore.saving import parent_reference, scenario_text
    from simulator.explore.session import Explorer

    own = tmp_path / "own" / "mine.yaml"
    own.parent.mkdir()
    own.write_text("name: mine\nextends: baseline\nset: {central_city_pull: 1.4}\n", encoding="utf-8")
    explorer = Explorer(*load_one(str(own)))
    assert parent_reference(explorer.scenario) == str(own.resolve())
    saved = explorer.save({"set": {"central_city_pull": 1.6}, "name": "mine-2", "label": ""})
    elsewhere = tmp_path / "elsewhere" / "mine-2.yaml"
    elsewhere.parent.mkdir()
    elsewhere.write_text(saved["yaml"], encoding="utf-8")
    loaded = load_scenario(elsewhere)
    assert loaded.sha256 == saved["sha256"]
    assert loaded.resolved["set"]["central_city_pull"] == 1.6
    assert loaded.label == {"zh": "mine-2", "en": "mine-2"}
    assert "central_city_pull" in scenario_text(explorer.scenario, {"central_city_pull": 1.6}, "x", "x")


@pytest.mark.parametrize("body, expected", [
    ({"set": {}, "name": "../etc/passwd"}, "name: use 1-64 letters"),
    ({"set": {}, "name": ""}, "name: use 1-64 letters"),
    ({"set": {}, "name": "a b"}, "name: use 1-64 letters"),
    ({"set": {}, "name": "x" * 65}, "name: use 1-64 letters"),
    ({"set": {}, "name": 7}, "name: use 1-64 letters"),
    ({"set": {}}, "name: use 1-64 letters"),
    ({"set": {}, "name": "ok", "label": "two\nlines"}, "label: one line of at most 100 characters"),
    ({"set": {}, "name": "ok", "label": "x" * 101}, "label: one line"),
    ({"set": {}, "name": "ok", "label": ["x"]}, "label: expected text"),
    ({"set": {"hukou_openness": 3}, "name": "ok"}, "outside the bounds"),
    ({"set": {}, "name": "ok", "path": "/tmp/x.yaml"}, "path: unknown key"),
])
def test_bad_save_requests_are_refused(client, body, expected):
    response = client.post("/api/save", json=body)
    assert response.status_code == 400
    assert expected in response.json()["error"]


def test_a_mismatch_between_page_and_file_is_refused(baseline_explorer):
    from simulator.explore.saving import save_settings

    with pytest.raises(RuntimeError, match="does not reproduce"):
        save_settings(baseline_explorer.scenario, {"central_city_pull": 2.0}, "x", "", {"not": "the answer"},
                      baseline_explorer.answer)
