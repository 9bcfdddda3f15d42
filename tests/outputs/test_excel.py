"""Excel workbooks (simulator/outputs/excel.py): the CSV tables with labels, units and provenance."""

from __future__ import annotations

import io
import json
import math
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from simulator.analysis.results import evaluate_targets, run_summary, timeseries_columns
from simulator.api import load
from simulator.engine.compile import compile_model
from simulator.engine.integrate import simulate
from simulator.outputs import excel
from simulator.outputs.writers import csv_text, json_text

CJK = re.compile(r"[\u4e00-\u9fff]")


def _read(data: bytes) -> dict[str, pd.DataFrame]:
    """Every sheet, the machine ids (row 3) as header, as a reader of the workbook would."""
    return pd.read_excel(io.BytesIO(data), sheet_name=None, header=2, engine="openpyxl")


def _rows(book, sheet: str, n: int = 3) -> list[list]:
    """The first `n` rows of a sheet of an openpyxl workbook (or of xlsx bytes)."""
    if isinstance(book, bytes):
        book = load_workbook(io.BytesIO(book))
    return [[c.value for c in row] for row in book[sheet].iter_rows(min_row=1, max_row=n)]


@pytest.fixture(scope="module")
def baseline():
    """One baseline run: its scenario, timeseries columns and summary.json dict."""
    scenario = load()
    run = simulate(compile_model(scenario.spec), scenario.params)
    frame = timeseries_columns(run)
    summary = run_summary(scenario, run, frame, evaluate_targets(frame, scenario.targets))
    return scenario, frame, json.loads(json_text(summary))  # as read back from summary.json


@pytest.fixture(scope="module")
def run_books(baseline):
    scenario, frame, summary = baseline
    return {lang: excel.run_workbook(scenario.spec, frame, summary, lang) for lang in ("zh", "en")}


@pytest.fixture(scope="module")
def run_sheets(run_books):
    """The run workbooks read back once: lang -> (pandas sheets, openpyxl workbook)."""
    return {lang: (_read(data), load_workbook(io.BytesIO(data))) for lang, data in run_books.items()}


@pytest.fixture(scope="module")
def comparison(baseline):
    """The comparison of baseline and hukou-open: table, comparison.json-like dict, CSV text."""
    from simulator import __version__
    from simulator.analysis.compare import compare_scenarios

    scenario = baseline[0]
    scenarios = [scenario, load(Path(scenario.path).parent / "hukou-open.yaml")]
    comp = compare_scenarios(scenarios)
    # what write_comparison writes to comparison.csv / comparison.json (without the chart)
    table = {c: ["" if v is None else v for v in col] for c, col in comp.table().items()}
    summary = {
        "scenarios": [{"name": s.name, "label": dict(s.label), "path": str(s.path),
                       "sha256": s.sha256} for s in scenarios],
        "model": {"name": scenario.spec.name, "sha256": scenario.spec.sha256},
        "package_version": __version__, "method": "euler", "dt": scenario.spec.time.dt,
        "indicators": comp.indicators, "notes": comp.notes, "table": comp.rows,
    }
    return scenario.spec, table, json.loads(json_text(summary)), csv_text(table)


# --------------------------------------------------------------------------- run workbook


def test_timeseries_sheet_equals_the_csv(baseline, run_sheets):
    _, frame, _ = baseline
    csv = pd.read_csv(io.StringIO(csv_text(frame)))
    for lang, name in (("zh", "时间序列"), ("en", "timeseries")):
        sheet = run_sheets[lang][0][name]
        assert list(sheet.columns) == list(csv.columns)
        assert len(sheet) == len(csv)
        for col in csv.columns:  # exact: floats are not rounded on the way
            assert np.array_equal(sheet[col].to_numpy(float), csv[col].to_numpy(float),
                                  equal_nan=True), col


def test_header_rows_are_labels_units_and_ids(baseline, run_sheets):
    _, frame, _ = baseline
    ids = list(frame)
    zh = _rows(run_sheets["zh"][1], "时间序列")
    en = _rows(run_sheets["en"][1], "timeseries")
    assert zh[2] == ids and en[2] == ids
    assert all(CJK.search(label) for label in zh[0]), "every zh label is Chinese"
    assert not any(CJK.search(label) for label in en[0]), "no en label is Chinese"
    kongtong = ids.index("county_urbanization_rate[kongtong]")
    assert zh[0][kongtong] == "各县常住人口城镇化率（崆峒区）"
    assert en[0][kongtong] == "Resident urbanization rate by county (Kongtong)"
    assert zh[1][kongtong] == "比例（0–1）" and en[1][kongtong] == "share (0–1)"
    people = ids.index("resident_population")
    assert (zh[1][0], zh[1][people]) == ("年", "人")
    assert (en[1][0], en[1][people]) == ("year", "persons")


def test_header_styles_and_frozen_panes(run_sheets):
    ws = run_sheets["zh"][1]["时间序列"]
    assert ws["B1"].font.b and ws["B2"].font.i and not ws["B3"].font.b
    assert ws["B3"].font.sz == excel.ID_FONT_SIZE
    assert ws.freeze_panes == "B4"
    # a Chinese label counts double: its column is wider than its character count
    label = ws["B1"].value
    chinese = sum(1 for ch in label if "\u4e00" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef")
    assert chinese >= 5
    assert ws.column_dimensions["B"].width >= len(label) + chinese


def test_targets_sheet_holds_the_summary_targets_and_gap(baseline, run_sheets):
    _, _, summary = baseline
    targets = summary["targets"]
    assert targets, "the baseline has targets"
    for lang, name in (("zh", "目标"), ("en", "targets")):
        sheet = run_sheets[lang][0][name]
        assert list(sheet["indicator"]) == [t["indicator"] for t in targets]
        assert list(sheet["year"]) == [t["year"] for t in targets]
        assert list(sheet["target"]) == [t["target"] for t in targets]
        assert list(sheet["value"]) == [t["value"] for t in targets]
        assert list(sheet["reached"]) == [t["reached"] for t in targets]
        assert list(sheet["gap"]) == [t["value"] - t["target"] for t in targets]
        never = {"zh": "2035年前未达到", "en": "not by 2035"}[lang]  # the baseline misses both
        assert list(sheet["first_year"]) == [never if t["first_year"] is None else t["first_year"]
                                             for t in targets]
    head = _rows(run_sheets["zh"][1], "目标")
    assert head[0][head[2].index("gap")].startswith("差距")
    assert head[1][head[2].index("value")] == "比例（0–1）"


def test_milestones_sheet_holds_the_summary_milestones(baseline, run_sheets):
    _, _, summary = baseline
    sheet = run_sheets["en"][0]["milestones"]
    assert [str(y) for y in sheet["year"]] == list(summary["milestones"])
    for i, year in enumerate(summary["milestones"]):
        for key, value in summary["milestones"][year].items():
            assert sheet[key][i] == value


def test_about_sheet_has_the_provenance(baseline, run_sheets):
    _, _, summary = baseline
    for lang, name in (("zh", "说明"), ("en", "About")):
        sheets = run_sheets[lang][0]
        assert list(sheets)[-1] == name
        values = [str(v) for v in sheets[name]["value"]]
        for needed in (summary["model"]["sha256"], summary["scenario_sha256"],
                       summary["scenario"]["path"], summary["model"]["path"],
                       summary["package_version"], summary["method"]):
            assert needed in values, needed
        assert summary["scenario"]["label"][lang] in values


def test_unknown_language_is_refused(baseline):
    scenario, frame, summary = baseline
    with pytest.raises(ValueError, match="lang"):
        excel.run_workbook(scenario.spec, frame, summary, "de")


# --------------------------------------------------------------------------- comparison


def test_comparison_sheet_equals_the_csv(comparison):
    spec, table, summary, csv_file = comparison
    csv = pd.read_csv(io.StringIO(csv_file))
    for lang, name in (("zh", "情景比较"), ("en", "comparison")):
        data = excel.comparison_workbook(spec, table, summary, lang)
        sheet = _read(data)[name]
        assert list(sheet.columns) == list(csv.columns)
        for col in csv.columns:
            if pd.api.types.is_numeric_dtype(csv[col]):
                assert np.array_equal(sheet[col].to_numpy(float), csv[col].to_numpy(float),
                                      equal_nan=True), col
            else:  # text, or a first-year column mixing years and 'not by 2035'
                assert [str(v) for v in sheet[col]] == [str(v) for v in csv[col]], col
        head = _rows(data, name)
        assert head[2] == list(csv.columns)
    zh = _rows(excel.comparison_workbook(spec, table, summary, "zh"), "情景比较")
    col = zh[2].index("urbanization_rate_2025")
    assert (zh[0][col], zh[1][col]) == ("常住人口城镇化率 2025年", "比例（0–1）")
    first = [i for i, c in enumerate(zh[2]) if c.startswith("first_year_")]
    assert first and all(zh[0][i].startswith("首次达到目标年份") and zh[1][i] == "年" for i in first)
    about = _read(excel.comparison_workbook(spec, table, summary, "en"))["About"]
    values = [str(v) for v in about["value"]]
    assert summary["model"]["sha256"] in values
    assert all(s["sha256"] in values for s in summary["scenarios"])


# --------------------------------------------------------------------------- the writer


def test_nan_inf_none_and_empty_text_are_empty_cells_and_floats_stay_exact():
    values = [0.1 + 0.2, math.nan, None, math.inf, "", 1 / 3, np.float64(2.5e-300), 7]
    data = excel.workbook_bytes([excel.Sheet("x", {"a": values}, ["A"], ["u"])])
    ws = load_workbook(io.BytesIO(data))["x"]
    got = [ws.cell(row=r, column=1).value for r in range(4, 4 + len(values))]
    assert got == [0.30000000000000004, None, None, None, None, 1 / 3, 2.5e-300, 7]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=5))
def test_every_finite_float_reads_back_identical(values):
    data = excel.workbook_bytes([excel.Sheet("x", {"a": values}, ["A"], [""])])
    ws = load_workbook(io.BytesIO(data))["x"]
    got = [ws.cell(row=r, column=1).value for r in range(4, 4 + len(values))]
    assert got == values  # == on floats: the same double (-0.0 == 0.0 aside)


def test_text_starting_with_equals_is_text_not_a_formula():
    data = excel.workbook_bytes([excel.Sheet("x", {"=a": ["=1+1"]}, ["=lab"], [""])])
    ws = load_workbook(io.BytesIO(data))["x"]
    assert ws["A4"].value == "=1+1" and ws["A4"].data_type == "s"
    assert ws["A3"].data_type == "s"


def test_output_is_deterministic():
    sheet = excel.Sheet("x", {"a": [1.5, 2.5]}, ["A"], ["u"])
    first = excel.workbook_bytes([sheet], notes=[("k", "v")])
    assert excel.workbook_bytes([sheet], notes=[("k", "v")]) == first
    with zipfile.ZipFile(io.BytesIO(first)) as z:
        assert {i.date_time for i in z.infolist()} == {excel.FIXED_TIME.timetuple()[:6]}
        core = z.read("docProps/core.xml").decode()
    assert core.count(excel.FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ")) == 2  # created, modified


def test_mismatched_labels_or_columns_are_refused():
    with pytest.raises(ValueError, match="labels"):
        excel.workbook_bytes([excel.Sheet("x", {"a": [1], "b": [2]}, ["A"], ["u", "v"])])
    with pytest.raises(ValueError, match="lengths"):
        excel.workbook_bytes([excel.Sheet("x", {"a": [1], "b": [2, 3]}, ["A", "B"], ["", ""])])


def test_sheet_names_are_sanitized_in_the_workbook():
    sheets = [excel.Sheet(n, {"a": [1]}, ["A"], [""])
              for n in ("a/b:c*d?[e]\\f", "x" * 40, "Data", "data")]
    names = load_workbook(io.BytesIO(excel.workbook_bytes(sheets, lang="en"))).sheetnames
    assert names == ["a_b_c_d__e__f", "x" * 31, "Data", "data~2"]
    assert excel.sanitize_sheet_name("'quoted'") == "quoted"
    assert excel.sanitize_sheet_name("") == "Sheet"
    assert excel.sanitize_sheet_name("History") == "History_"


@settings(max_examples=150, deadline=None)
@given(name=st.text(max_size=60), taken=st.lists(st.text(max_size=35), max_size=5))
def test_sanitized_sheet_names_follow_excels_rules(name, taken):
    out = excel.sanitize_sheet_name(name, taken)
    assert 1 <= len(out) <= 31
    assert not re.search(r"[\[\]:*?/\\]", out)
    assert not out.startswith("'") and not out.endswith("'")
    assert out.lower() not in {t.lower() for t in taken}
    assert out.lower() != "history"
