"""urbsd compare: the table equals the individual runs; first-year rule; files; bad input."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from simulator.analysis.compare import MILESTONE_YEARS, TABLE_INDICATORS, compare_scenarios, format_table
from simulator.analysis.results import first_year_reached, timeseries_columns
from simulator.cli import main
from simulator.engine.compile import compile_model
from simulator.engine.integrate import simulate
from simulator.scenario.resolve import load_scenario

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
POLICY = [p for p in SCENARIOS if p.stem not in ("baseline", "calibration")]


def _own_run(path: Path) -> dict:
    sc = load_scenario(path)
    return timeseries_columns(simulate(compile_model(sc.spec), sc.params))


def _value(frame: dict, name: str, year: int) -> float:
    return float(frame[name][list(frame["time"]).index(year)])


def test_first_year_is_the_first_saved_year_at_or_above_the_target():
    years = [2020, 2021, 2022, 2023]
    assert first_year_reached(years, [0.50, 0.5499999, 0.55, 0.56], 0.55) == 2022
    assert first_year_reached(years, [0.56, 0.50, 0.50, 0.50], 0.55) == 2020
    assert first_year_reached(years, [0.1, 0.2, 0.3, 0.4], 0.55) is None


def test_table_equals_the_individual_runs():
    paths = [ROOT / "scenarios" / "baseline.yaml"] + POLICY
    scenarios = [load_scenario(p) for p in paths]
    comp = compare_scenarios(scenarios)
    assert [r["scenario"] for r in comp.rows] == [s.name for s in scenarios]
    for path, row in zip(paths, comp.rows):
        frame = _own_run(path)
        for key, var in comp.indicators.items():
            if var not in frame:  # per-county: checked in the weighting test
                continue
            for y in MILESTONE_YEARS:
                assert row[f"{key}_{y}"] == _value(frame, var, y)
        county_cols = [c for c in comp.columns if c.startswith("county_urbanization_rate[")]
        assert len(county_cols) == 7
        for col in county_cols:
            name = col.rsplit("_", 1)[0]
            assert row[col] == _value(frame, name, 2035)
        for ind, value, _year in comp.targets:
            got = row[f"first_year_{ind}>={value:g}"]
            hits = [y for y, v in zip(frame["time"], frame[ind]) if v >= value]
            assert got == (int(hits[0]) if hits else "not by 2035")
        assert comp.rates[row["scenario"]][1] == [float(v) for v in frame["urbanization_rate"]]


def test_baseline_row_matches_the_readme_trend_and_misses_70_percent():
    comp = compare_scenarios([load_scenario()])
    row = comp.rows[0]
    assert row["urbanization_rate_2035"] < 0.70
    assert row["first_year_urbanization_rate>=0.7"] == "not by 2035"
    assert isinstance(row["first_year_urbanization_rate>=0.55"], int)
    text = format_table(comp)
    assert "not by 2035" in text and "baseline" in text


def test_indicators_present_are_used_and_absent_ones_noted():
    sc = load_scenario()
    comp = compare_scenarios([sc])
    spec = sc.spec
    dims = {n: list(v.dims or []) for n, v in {**spec.stocks, **spec.auxiliaries}.items()}
    for key, (_zh, _en, _unit, candidates) in TABLE_INDICATORS.items():
        present = [c for c in candidates if c in dims and dims[c] in ([], ["county"])]
        if present:
            assert comp.indicators[key] in present
        else:
            assert key not in comp.indicators
            assert any(n.startswith(key) for n in comp.notes)


def test_a_per_county_indicator_is_weighted_by_urban_population():
    sc = load_scenario()
    comp = compare_scenarios([sc])
    frame = _own_run(ROOT / "scenarios" / "baseline.yaml")
    county = [k for k, v in comp.indicators.items()
              if v not in frame and f"{v}[kongtong]" in frame]
    if not county:
        pytest.skip("the model has no per-county-only table indicator")
    counties = sc.spec.dimensions["county"].elements
    for key in county:
        var = comp.indicators[key]
        y = list(frame["time"]).index(2035)
        w = np.array([frame[f"county_urban_population[{c}]"][y] for c in counties])
        x = np.array([frame[f"{var}[{c}]"][y] for c in counties])
        assert comp.rows[0][f"{key}_2035"] == pytest.approx(float((w * x).sum() / w.sum()), rel=1e-12)
        assert any(n.startswith(key) and "weighted" in n for n in comp.notes)


def test_cli_compare_writes_chart_and_table(tmp_path, capsys):
    paths = [str(p) for p in SCENARIOS]
    assert main(["compare", *paths, "--out", str(tmp_path)]) == 0
    folder = tmp_path / "compare"
    png = (folder / "charts" / "urbanization.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert (folder / "charts" / "urbanization.svg").read_bytes().startswith(b"<?xml")
    with open(folder / "comparison.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    # support files (calibration.yaml: kind: support) are skipped, with a notice
    policy = [load_scenario(p) for p in SCENARIOS]
    assert [r["scenario"] for r in rows] == [s.name for s in policy if s.kind == "scenario"]
    assert "calibration" not in [r["scenario"] for r in rows]
    summary = json.loads((folder / "comparison.json").read_text(encoding="utf-8"))
    assert summary["table"][0]["scenario"] == rows[0]["scenario"]
    assert float(rows[0]["urbanization_rate_2035"]) == summary["table"][0]["urbanization_rate_2035"]
    captured = capsys.readouterr()
    out = captured.out
    assert "skipped" in captured.err and "calibration.yaml" in captured.err
    assert "first whole year at or above the target" in out and "wrote" in out
    assert "charts/urbanization.svg" in out
    assert not list(folder.glob(".*.tmp"))


def _fake_chart(calls: list):
    """A stand-in chart function: records its arguments, writes the PNG and its SVG."""

    def draw(*args, **kwargs):
        calls.append((args, kwargs))
        path = Path(args[3])
        path.write_bytes(b"png")
        path.with_suffix(".svg").write_bytes(b"svg")
        return path

    return draw


def test_write_comparison_in_english_writes_png_and_svg(tmp_path, monkeypatch):
    from simulator.outputs.charts import compare as charts
    from simulator.outputs.compare_files import write_comparison

    sc = load_scenario()
    comp = compare_scenarios([sc])
    calls: list = []
    monkeypatch.setattr(charts, "comparison_chart", _fake_chart(calls))
    paths = write_comparison(comp, [sc], tmp_path, lang="en")
    (args, kwargs), = calls
    assert kwargs["lang"] == "en" and kwargs["title"].startswith("Pingliang")
    assert args[1][sc.name] == f"Baseline (trend): {100 * comp.rates[sc.name][1][-1]:.1f}% in 2035"
    assert paths["chart"].read_bytes() == b"png" and paths["chart_svg"].read_bytes() == b"svg"
    assert paths["chart_svg"] == tmp_path / "charts" / "urbanization.svg"
    with pytest.raises(ValueError, match="fr"):
        write_comparison(comp, [sc], tmp_path / "fr", lang="fr")
    assert not (tmp_path / "fr").exists()


def test_cli_compare_bad_scenario_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("extends: baseline\nset: {hukou_opennes: 1}\n", encoding="utf-8")
    code = main(["compare", str(ROOT / "scenarios" / "baseline.yaml"), str(bad),
                 "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "hukou_openness" in err
    assert not (tmp_path / "out").exists()


def test_cli_compare_same_name_twice_is_an_error(tmp_path, capsys):
    base = str(ROOT / "scenarios" / "baseline.yaml")
    assert main(["compare", base, base, "--out", str(tmp_path / "o")]) == 2
    assert "distinct names" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_cli_compare_out_is_a_file_is_an_error(tmp_path, capsys):
    out = tmp_path / "taken"
    out.write_text("not a folder", encoding="utf-8")
    assert main(["compare", str(ROOT / "scenarios" / "baseline.yaml"), "--out", str(out)]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert out.read_text(encoding="utf-8") == "not a folder"


def test_cli_compare_xlsx_matches_the_csv(tmp_path):
    """--format xlsx: comparison.xlsx beside the CSV, same columns and values, English headers + units."""
    import pandas as pd

    paths = [str(p) for p in SCENARIOS[:2]]
    assert main(["compare", *paths, "--format", "xlsx", "--lang", "en", "--out", str(tmp_path)]) == 0
    folder = tmp_path / "compare"
    from_csv = pd.read_csv(folder / "comparison.csv")
    from_xlsx = pd.read_excel(folder / "comparison.xlsx", sheet_name=0, header=2, engine="openpyxl")
    pd.testing.assert_frame_equal(from_xlsx, from_csv, check_exact=True, check_dtype=False)
    heads = pd.read_excel(folder / "comparison.xlsx", sheet_name=0, header=None, nrows=3, engine="openpyxl")
    j = list(heads.iloc[2]).index("urbanization_rate_2025")
    assert heads.iloc[0, j].startswith("Resident urbanization rate") and "share" in str(heads.iloc[1, j])
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in "".join(map(str, heads.iloc[0])))


def test_a_scenario_whose_levers_do_not_move_the_rates_is_marked_inert(tmp_path):
    base = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    spec = base.spec
    lever = next(n for n, c in spec.constants.items() if c.lever and not c.dims)
    same = tmp_path / "same.yaml"  # sets a lever to its own value: moves nothing
    same.write_text(f"name: same\nlabel: {{zh: 同, en: Same}}\nmodel: pingliang\nextends: {ROOT / 'scenarios' / 'baseline.yaml'}\n"
                    f"set:\n  {lever}: {spec.constants[lever].value}\n", encoding="utf-8")
    moved = tmp_path / "moved.yaml"  # settles every migrant who wants to: moves the hukou rate
    moved.write_text(f"name: moved\nlabel: {{zh: 动, en: Moved}}\nmodel: pingliang\nextends: {ROOT / 'scenarios' / 'baseline.yaml'}\n"
                     "set:\n  hukou_openness: 1.0\n  residence_permit_access: 1.0\n", encoding="utf-8")
    comp = compare_scenarios([base, load_scenario(same), load_scenario(moved)])
    rows = {r["scenario"]: r for r in comp.rows}
    last = comp.years[-1]
    assert rows["baseline"]["inert"] is None and rows["baseline"][f"effect_urbanization_rate_{last}_pp"] is None
    assert rows["same"]["inert"] == "yes" and rows["same"][f"effect_urbanization_rate_{last}_pp"] == 0.0
    assert rows["moved"]["inert"] == "no"
    hukou = rows["moved"][f"effect_hukou_urbanization_rate_{last}_pp"]
    assert hukou == pytest.approx(100 * (rows["moved"][f"hukou_urbanization_rate_{last}"]
                                         - rows["baseline"][f"hukou_urbanization_rate_{last}"]))
    assert abs(hukou) >= 0.1
    text = format_table(comp)
    assert "inert" in text and "+0.00" in text
