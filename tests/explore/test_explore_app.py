"""The app's endpoints: the same numbers as `simulator.run` and `urbsd sweep`; hostile requests refused
with one line; the security headers on every response."""

from __future__ import annotations

import json

import numpy as np
import pytest
from explore_fixtures import baseline_explorer, client, hukou_explorer  # noqa: F401 (pytest fixtures)

import simulator
from simulator.errors import InputError
from simulator.explore.app import CSP, create_app, host_name
from simulator.scenario.resolve import load_scenario

#: the levers of the bundled baseline's model, counted from the model file
N_LEVERS = sum(1 for c in load_scenario(None).spec.constants.values() if c.lever)

SETTINGS = [
    {},
    {"central_city_pull": 2.0},
    {"hukou_openness": 1, "settlement_willingness": 0.8, "land_per_settled_person": 90.5,
     "industrial_chain_target_attainment": 1.2},
]


def _same_as_frame(got: dict, frame) -> None:
    """Every number of a /api/run answer equals the DataFrame of simulator.run, to the bit."""
    assert got["times"] == frame["time"].astype(float).tolist()
    for name in ("urbanization_rate", "hukou_urbanization_rate"):
        assert got["paths"][name] == frame[name].tolist()
    counties = [c for c in frame.columns if c.startswith("county_urbanization_rate[")]
    assert sorted(f"county_urbanization_rate[{e}]" for e in got["counties"]) == sorted(counties)
    for element, values in got["counties"].items():
        assert values == frame[f"county_urbanization_rate[{element}]"].tolist()
    years = frame["time"].to_numpy()
    for row in got["targets"]:
        column = frame[row["indicator"]].to_numpy()
        value = float(column[years == row["year"]][0])
        assert row["value"] == value
        assert row["gap_pp"] == (value - row["target"]) * 100
        assert row["reached"] == (value >= row["target"])
        hits = years[column >= row["target"]]
        assert row["first_year"] == (int(hits[0]) if hits.size else None)


@pytest.mark.parametrize("settings", SETTINGS, ids=["scenario", "one-lever", "four-levers"])
def test_run_endpoint_gives_the_numbers_of_simulator_run(client, baseline_explorer, settings):
    response = client.post("/api/run", json={"set": settings})
    assert response.status_code == 200, response.text
    got = response.json()
    _same_as_frame(got, simulator.run(baseline_explorer.scenario, **settings))
    assert [t["year"] for t in got["targets"]] == [2025, 2035]
    assert "model;dur=" in response.headers["server-timing"]


def test_series_lever_is_a_start_and_an_end_value(hukou_explorer):
    from starlette.testclient import TestClient

    client = TestClient(create_app(hukou_explorer), base_url="http://localhost:8765")
    response = client.post("/api/run", json={"set": {"hukou_openness": {"start": 0.95, "end": 0.99}}})
    assert response.status_code == 200, response.text
    expected = simulator.run(hukou_explorer.scenario, hukou_openness={2020: 0.95, 2025: 0.99})
    _same_as_frame(response.json(), expected)
    # and the moved lever does change the answer (the test above could not fail otherwise)
    unchanged = simulator.run(hukou_explorer.scenario)
    assert response.json()["paths"]["hukou_urbanization_rate"] != unchanged["hukou_urbanization_rate"].tolist()


def test_band_is_the_monte_carlo_of_urbsd_sweep(client, baseline_explorer):
    from simulator.analysis.sweep import run_sweep
    from simulator.explore.levers import apply_settings

    settings = {"central_city_pull": 1.5}
    response = client.post("/api/band", json={"set": settings})
    assert response.status_code == 200, response.text
    band = response.json()
    scenario, _ = apply_settings(baseline_explorer.scenario, settings)
    sweep = run_sweep(scenario, "mc", baseline_explorer.band_runs, seed=0)
    assert band["runs"] == 50 and band["seed"] == 0
    assert band["names"] == list(scenario.uncertain)
    assert band["bands"]["urbanization_rate"] == sweep.percentiles("urbanization_rate")
    assert [(t["indicator"], t["year"], t["probability"]) for t in band["targets"]] == \
        [(t["indicator"], t["year"], t["probability"]) for t in sweep.targets]
    p5, p95 = (np.array(band["bands"]["urbanization_rate"][k]) for k in ("p5", "p95"))
    assert (p5 <= p95).all() and (p95 - p5)[-1] > 0.005  # a real spread by 2035


def test_band_without_uncertain_constants_says_so(tmp_path):
    from starlette.testclient import TestClient

    from simulator.cli.common import load_one
    from simulator.explore.session import Explorer

    path = tmp_path / "plain.yaml"
    path.write_text("name: plain\nmodel: pingliang\ntargets:\n  - {indicator: urbanization_rate, year: 2035, value: 0.7}\n",
                    encoding="utf-8")
    explorer = Explorer(*load_one(str(path)), band_runs=10)
    band = TestClient(create_app(explorer), base_url="http://127.0.0.1").post("/api/band", json={"set": {}}).json()
    assert band["available"] is False and band["runs"] == 0


def _scenario_file_reason(tmp_path, name: str, value) -> str:
    """The reason the scenario loader gives for `set: {name: value}` in a file."""
    from simulator.scenario.resolve import load_scenario

    path = tmp_path / "bad.yaml"
    path.write_text(f"extends: baseline\nset:\n  {name}: {json.dumps(value)}\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_scenario(path)
    return info.value.reason


@pytest.mark.parametrize("name, value", [("hukou_openness", 1.5), ("central_city_pull", -0.1),
                                          ("land_per_settled_person", 1e9)])
def test_values_are_checked_like_a_scenario_set(client, tmp_path, name, value):
    response = client.post("/api/run", json={"set": {name: value}})
    assert response.status_code == 400
    message = response.json()["error"]
    assert message == f"explore request: set.{name}: {_scenario_file_reason(tmp_path, name, value)}"
    assert "outside the bounds" in message


BAD = [
    ({"set": {"hukou_openess": 1}}, "set.hukou_openess: not a lever of this scenario (did you mean 'hukou_openness'?)"),
    ({"set": {"initial_resident_population": 1848600}}, "not a lever of this scenario"),
    ({"set": {"hukou_openness": "1"}}, "set.hukou_openness: expected a number, got str"),
    ({"set": {"hukou_openness": True}}, "expected a number, got bool"),
    ({"set": {"hukou_openness": None}}, "expected a number, got NoneType"),
    ({"set": {"hukou_openness": {"2020": 1}}}, "expected a number, got dict"),
    ({"set": {"hukou_openness": [1]}}, "expected a number, got list"),
    ({"set": [1, 2]}, "set: expected an object {lever: value}"),
    ({"sett": {}}, "sett: unknown key; expected set"),
    ([1], "(top level): expected a JSON object"),
    ({"set": {f"x{i}": 1 for i in range(20)}}, f"20 entries, but the scenario has {N_LEVERS} levers"),
    ({"set": {"../../etc/passwd": 1}}, "set.../../etc/passwd: not a lever"),
]


@pytest.mark.parametrize("body, expected", BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_requests_are_one_line_400s(client, body, expected):
    response = client.post("/api/run", json=body)
    assert response.status_code == 400
    message = response.json()["error"]
    assert expected in message
    assert "\n" not in message and "Traceback" not in response.text


@pytest.mark.parametrize("content, kind, expected", [
    (b'{"set": {"hukou_openness": NaN}}', "application/json", "not valid JSON"),
    (b'{"set": {"hukou_openness": Infinity}}', "application/json", "not valid JSON"),
    (b'{"set": ', "application/json", "not valid JSON"),
    (b"\xff\xfe", "application/json", "not valid JSON"),
    (b'{"set": {}}', "text/plain", "content-type: expected application/json"),
    (b'{"set": {}}', "application/x-www-form-urlencoded", "content-type: expected application/json"),
    (b'{"set": {}, "pad": "' + b"x" * 70000 + b'"}', "application/json", "larger than 65536 bytes"),
])
def test_bodies_must_be_small_strict_json(client, content, kind, expected):
    response = client.post("/api/run", content=content, headers={"content-type": kind})
    assert response.status_code == 400
    assert expected in response.json()["error"]


def test_unexpected_errors_are_one_line_without_a_traceback(baseline_explorer, monkeypatch, capsys):
    from starlette.testclient import TestClient

    def broken(body):
        raise ZeroDivisionError("secret detail\nTraceback (most recent call last)")

    monkeypatch.setattr(baseline_explorer, "run", broken)
    client = TestClient(create_app(baseline_explorer), base_url="http://127.0.0.1")
    response = client.post("/api/run", json={"set": {}})
    assert response.status_code == 500
    assert response.json() == {"error": "internal error (ZeroDivisionError); the terminal running urbsd explore "
                                        "has details"}
    assert "ZeroDivisionError: secret detail" in capsys.readouterr().err  # the terminal gets the traceback


def test_only_the_hosts_and_origin_of_the_page_are_answered(client):
    assert client.get("/api/meta").status_code == 200
    for host in ("evil.example", "evil.example:8765", "127.0.0.1.evil.example", "[::2]:80"):
        response = client.get("/api/meta", headers={"host": host})
        assert response.status_code == 403, host
    assert client.get("/", headers={"host": "localhost:8765"}).status_code == 200
    assert client.get("/", headers={"host": "[::1]:8765"}).status_code == 200
    other = client.post("/api/run", json={"set": {}}, headers={"origin": "http://evil.example"})
    assert other.status_code == 403 and other.json() == {"error": "cross-origin request refused"}
    same = client.post("/api/run", json={"set": {}}, headers={"origin": "http://127.0.0.1:8765"})
    assert same.status_code == 200


def test_host_name_strips_the_port():
    assert host_name("127.0.0.1:8765") == "127.0.0.1"
    assert host_name("[::1]:8765") == "::1"
    assert host_name("LOCALHOST") == "localhost"
    assert host_name("::1") == "::1"


@pytest.mark.parametrize("path, status", [("/", 200), ("/static/explore.js", 200), ("/static/vendor/uPlot.min.css", 200),
                                          ("/static/%2e%2e/app.py", 404), ("/static/../session.py", 404),
                                          ("/static//etc/passwd", 404), ("/nothing", 404), ("/api/run", 405),
                                          ("/favicon.ico", 204), ("/font/cjk.woff2", 200)])
def test_every_response_carries_the_security_headers(client, path, status):
    response = client.get(path)
    assert response.status_code == status
    assert response.headers["content-security-policy"] == CSP
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "Traceback" not in response.text if status != 200 or path != "/font/cjk.woff2" else True


def test_csp_allows_this_origin_only():
    directives = dict(d.strip().split(" ", 1) for d in CSP.split(";"))
    assert directives["default-src"] == "'none'"
    for name in ("script-src", "style-src", "font-src", "connect-src"):
        assert directives[name] == "'self'", name
    assert "unsafe" not in CSP and "http" not in CSP and "*" not in CSP and "data:" not in CSP


def test_meta_describes_the_page(client, baseline_explorer):
    meta = client.get("/api/meta").json()
    spec = baseline_explorer.scenario.spec
    assert [lv["name"] for lv in meta["levers"]] == [n for n, c in spec.constants.items() if c.lever]
    assert meta["scenario"]["sha256"] == baseline_explorer.scenario.sha256
    assert meta["targets"] == [{"indicator": "urbanization_rate", "year": 2025, "value": 0.55},
                               {"indicator": "urbanization_rate", "year": 2035, "value": 0.7}]
    assert meta["counties"]["elements"] == list(spec.elements("county"))
    assert meta["counties"]["labels"]["kongtong"] == {"zh": "崆峒区", "en": "Kongtong"}
    assert meta["band"]["runs"] == 50 and len(meta["band"]["uncertain"]) == len(baseline_explorer.scenario.uncertain)
    assert "/" not in meta["scenario"]["file"]  # the file's name, not where it lives
    assert set("常住人口城镇化率崆峒区落户开放度") <= set(meta["font_chars"])


def test_font_is_a_woff2_subset_with_the_page_characters(client):
    from io import BytesIO

    from fontTools.ttLib import TTFont

    response = client.get("/font/cjk.woff2")
    assert response.headers["content-type"] == "font/woff2"
    font = TTFont(BytesIO(response.content))
    cmap = font.getBestCmap()
    for char in "城镇化率基准情景崆峒区静宁县目标%0123456789":
        assert ord(char) in cmap, char
    assert ord("龘") not in cmap  # a subset, not the 16 MB font
    assert len(response.content) < 400_000


def test_extra_font_covers_typed_text(client):
    from io import BytesIO

    from fontTools.ttLib import TTFont

    response = client.post("/api/font", json={"text": "强拉动方案"})
    assert response.status_code == 200 and response.headers["content-type"] == "font/woff2"
    cmap = TTFont(BytesIO(response.content)).getBestCmap()
    assert {ord(c) for c in "强拉"} <= set(cmap)  # (方 and 案 may be in the page subset already)
    for bad in ({"text": "x" * 10 + "".join(chr(0x4E00 + i) for i in range(500))}, {"text": 3}, {"txt": "a"}):
        assert client.post("/api/font", json=bad).status_code == 400


def test_answers_are_kept_for_settings_seen_before(client):
    settings = {"central_city_pull": 0.37}
    first = client.post("/api/run", json={"set": settings}).json()
    again = client.post("/api/run", json={"set": settings}).json()
    other = client.post("/api/run", json={"set": {"central_city_pull": 0.39}}).json()
    assert first["cached"] is False and again["cached"] is True and other["cached"] is False
    assert {k: v for k, v in again.items() if k != "cached"} == {k: v for k, v in first.items() if k != "cached"}
    assert other["paths"] != first["paths"]


def test_font_subset_is_kept_on_disk_between_starts(tmp_path):
    from simulator.explore.fontcache import cached_subset

    made: list[str] = []

    def make(text: str) -> bytes:
        made.append(text)
        return b"wOF2" + text.encode()

    assert cached_subset("城镇", make, tmp_path) == "wOF2城镇".encode()
    assert cached_subset("镇城", make, tmp_path) == "wOF2城镇".encode()  # the same characters: read back
    assert made == ["城镇"] and len(list(tmp_path.glob("cjk-*.woff2"))) == 1
    assert cached_subset("城乡", make, tmp_path) == "wOF2城乡".encode() and len(made) == 2
    (tmp_path / "blocked").write_text("a file where the folder should be")
    assert cached_subset("城", make, tmp_path / "blocked" / "fonts") == "wOF2城".encode()  # not writable: made
    assert cached_subset("城", make, None) == "wOF2城".encode() and len(made) == 4
