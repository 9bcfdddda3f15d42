"""Excel workbooks of the results (`--format xlsx`): the CSV tables with labels and units.

Every data sheet has three header rows: row 1 the labels a planner reads (bold, Chinese
or English), row 2 the units (italic, grey), row 3 the machine column ids, exactly the
CSV header (small, grey); the data start on row 4, as numbers. So
`pandas.read_excel(path, sheet_name=None, header=2)` gives the same tables as the CSV
files. Floats are written at full precision (the shortest repr that reads back to the
same float), NaN, infinity and None as empty cells. A last sheet "说明" / "About" holds
the provenance (scenario, model and their sha256, method, dt, urbsd version).

The output is deterministic: the workbook's created/modified times and the zip entries'
times are a fixed value (`FIXED_TIME` unless given), so identical inputs give identical
bytes. openpyxl is imported inside the functions: the command line starts without it.
"""

from __future__ import annotations

import datetime as _dt
import io
import math
import re
import unicodedata
import zipfile
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from simulator.outputs.labels import (
    check_lang,
    column_label,
    column_unit,
    comparison_label,
    comparison_unit,
)

__all__ = [
    "FIXED_TIME",
    "Sheet",
    "comparison_workbook",
    "run_workbook",
    "sanitize_sheet_name",
    "workbook_bytes",
]

#: the workbook's created/modified time and its zip entries' time: fixed so that identical
#: inputs give identical bytes (the model's base year, 2020; the zip format needs >= 1980)
FIXED_TIME = _dt.datetime(2020, 1, 1)

#: Excel's rules for sheet names: at most 31 characters, none of []:*?/\, not starting or
#: ending with an apostrophe, unique ignoring case, and "History" is reserved
SHEET_NAME_MAX = 31
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")
_RESERVED_SHEET = "history"

GREY = "FF808080"
DEFAULT_FONT_SIZE = 11  # points: Excel's (and openpyxl's) default body font, Calibri 11
ID_FONT_SIZE = 8  # points: the machine ids are for programs, so they are set small
#: column widths in Excel's units (about one digit of the default font): the narrowest and
#: widest column, and the padding added to the widest text (estimates: a 4-digit year fits,
#: a long English label wraps rather than widening a column past about 60 characters)
MIN_WIDTH = 6
MAX_WIDTH = 60
PADDING = 2
#: significant digits Excel's General format shows in a column of default width (about 11
#: characters); a float's width is estimated from this, not from its full repr
GENERAL_DIGITS = 10

_SHEETS = {
    "timeseries": {"zh": "时间序列", "en": "timeseries"},
    "targets": {"zh": "目标", "en": "targets"},
    "milestones": {"zh": "里程碑", "en": "milestones"},
    "comparison": {"zh": "情景比较", "en": "comparison"},
    "about": {"zh": "说明", "en": "About"},
}
_ABOUT_HEAD = {"zh": (["项目", "内容"], ["", ""]), "en": (["Item", "Value"], ["", ""])}
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # XML 1.0 forbids these characters


@dataclass
class Sheet:
    """One worksheet: ordered columns (machine id -> values) with a label and a unit each.

    `freeze_first_column` also keeps column A in view (e.g. the year or scenario name).
    """

    name: str
    columns: dict[str, Sequence]
    labels: list[str]
    units: list[str]
    freeze_first_column: bool = False


def sanitize_sheet_name(name: str, taken: Collection[str] = ()) -> str:
    """`name` made a valid Excel sheet name, distinct (ignoring case) from `taken`.

    Forbidden characters become "_", leading/trailing apostrophes go, the name is cut to
    31 characters; an empty or reserved name becomes "Sheet"/"History_"; a clash gets
    "~2", "~3", ... at the end (cutting the name to make room).
    """
    clean = _SHEET_BAD.sub("_", _ILLEGAL.sub("", str(name))).strip("'")
    clean = clean[:SHEET_NAME_MAX].strip("'") or "Sheet"
    if clean.lower() == _RESERVED_SHEET:
        clean += "_"
    used = {t.lower() for t in taken}
    out, n = clean, 1
    while out.lower() in used:
        n += 1
        suffix = f"~{n}"
        out = clean[: SHEET_NAME_MAX - len(suffix)].rstrip("'") + suffix
    return out


def _cell_value(v: Any) -> Any:
    """A value as Excel stores it: numbers stay numbers; NaN, inf, None and "" are empty."""
    if v is None:
        return None
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        v = v.item()  # numpy scalar -> Python
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    text = _ILLEGAL.sub("", str(v))
    return text or None


def _values(column: Any) -> list[Any]:
    return column.tolist() if hasattr(column, "tolist") else list(column)


def _text_width(text: str) -> int:
    """Display width: CJK (wide and full-width) characters count double."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _shown_width(v: Any) -> int:
    if v is None:
        return 0
    if isinstance(v, float):
        return len(f"{v:.{GENERAL_DIGITS}g}")
    return _text_width(str(v))


def _set(ws: Any, row: int, col: int, value: Any, font: Any = None) -> None:
    cell = ws.cell(row=row, column=col, value=value)
    if isinstance(value, float):
        # openpyxl writes numbers with "%.16g", which can change the last digit; the
        # shortest repr reads back to the identical float (Excel keeps 17 digits too)
        cell._value = repr(value)
    elif isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"  # text, not a formula
    if font is not None:
        cell.font = font


def _write_sheet(ws: Any, sheet: Sheet, fonts: dict[str, Any]) -> None:
    from openpyxl.styles import Alignment
    from openpyxl.utils import get_column_letter

    ids = list(sheet.columns)
    wrap = Alignment(wrap_text=True, vertical="top")
    for j, cid in enumerate(ids, start=1):
        values = [_cell_value(v) for v in _values(sheet.columns[cid])]
        label, unit = str(sheet.labels[j - 1]), str(sheet.units[j - 1])
        _set(ws, 1, j, _cell_value(label), fonts["label"])
        ws.cell(row=1, column=j).alignment = wrap
        _set(ws, 2, j, _cell_value(unit), fonts["unit"])
        _set(ws, 3, j, _cell_value(cid), fonts["id"])
        for i, v in enumerate(values, start=4):
            if v is not None:
                _set(ws, i, j, v)
        id_width = math.ceil(_text_width(cid) * ID_FONT_SIZE / DEFAULT_FONT_SIZE)
        widest = max([_text_width(label), _text_width(unit), id_width]
                     + [_shown_width(v) for v in values])
        ws.column_dimensions[get_column_letter(j)].width = max(MIN_WIDTH, min(MAX_WIDTH, widest + PADDING))
    ws.freeze_panes = "B4" if sheet.freeze_first_column else "A4"


def _check_sheet(sheet: Sheet) -> None:
    n = len(sheet.columns)
    if len(sheet.labels) != n or len(sheet.units) != n:
        raise ValueError(f"sheet {sheet.name!r}: {n} columns but {len(sheet.labels)} labels "
                         f"and {len(sheet.units)} units")
    lengths = {cid: len(_values(col)) for cid, col in sheet.columns.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"sheet {sheet.name!r}: columns of different lengths {lengths}")


def _deterministic_zip(data: bytes, when: _dt.datetime) -> bytes:
    """The same zip with every entry's time set to `when` (zipfile stamps the current time)."""
    stamp = when.timetuple()[:6]
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=stamp)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = info.external_attr
            dst.writestr(entry, src.read(info.filename))
    return out.getvalue()


def workbook_bytes(sheets: Sequence[Sheet], *, notes: Sequence[tuple[str, Any]] = (),
                   lang: str = "zh", created: _dt.datetime | None = None) -> bytes:
    """An .xlsx file: one worksheet per Sheet, then the `notes` (key, value) on "说明"/"About".

    `lang` names the fixed sheet (and its header); `created` is the workbook's created and
    modified time (default `FIXED_TIME`, so identical inputs give identical bytes).
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.writer.excel import ExcelWriter

    check_lang(lang)
    for sheet in sheets:
        _check_sheet(sheet)
    if not sheets and not notes:
        raise ValueError("a workbook needs at least one sheet or note")
    fonts = {"label": Font(bold=True), "unit": Font(italic=True, color=GREY),
             "id": Font(size=ID_FONT_SIZE, color=GREY)}
    all_sheets = list(sheets)
    if notes:
        labels, units = _ABOUT_HEAD[lang]
        all_sheets.append(Sheet(
            name=_SHEETS["about"][lang],
            columns={"key": [k for k, _ in notes], "value": [v for _, v in notes]},
            labels=list(labels), units=list(units),
        ))
    wb = Workbook()
    wb.remove(wb.active)
    taken: list[str] = []
    for sheet in all_sheets:
        name = sanitize_sheet_name(sheet.name, taken)
        taken.append(name)
        _write_sheet(wb.create_sheet(title=name), sheet, fonts)
    when = created or FIXED_TIME
    wb.properties.creator = "urbsd"
    wb.properties.created = when
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        # ExcelWriter rather than Workbook.save, which stamps `modified` with the clock
        wb.properties.modified = when
        ExcelWriter(wb, archive).save()
    return _deterministic_zip(buf.getvalue(), when)


# --------------------------------------------------------------------------- run workbook

_TARGET_COLUMNS = {
    "indicator": ("指标", "Indicator"),
    "label": ("指标名称", "Indicator name"),
    "year": ("目标年份", "Target year"),
    "target": ("目标值", "Target"),
    "value": ("模拟值", "Simulated value"),
    "gap": ("差距（模拟值 − 目标值）", "Gap (simulated − target)"),
    "reached": ("是否达到", "Reached"),
    "first_year": ("首次达到年份", "First year reached"),
    "unit": ("单位", "Unit"),
}
_NOT_BY = {"zh": "{year}年前未达到", "en": "not by {year}"}
_SEE_UNIT = {"zh": "见“单位”列", "en": "see column Unit"}
_YEAR_UNIT = {"zh": "年", "en": "year"}


def _lang_text(pair: tuple[str, str], lang: str) -> str:
    return pair[0] if lang == "zh" else pair[1]


def _number(v: Any) -> float | None:
    if v is None or isinstance(v, bool):
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _targets_sheet(spec: Any, targets: Sequence[Mapping[str, Any]], last_year: Any,
                   lang: str) -> Sheet:
    """The summary's targets, one row each, with the gap value - target and unit texts.

    A `first_year` entry (the first saved year at or above the target, None if never) gets
    a column; never reads "not by <last_year>" as in the comparison table.
    """
    rows = list(targets)
    units = [column_unit(spec, str(t["indicator"]), lang) for t in rows]
    gaps = []
    for t in rows:
        value, target = _number(t.get("value")), _number(t.get("target"))
        gaps.append(None if value is None or target is None else value - target)
    columns = {
        "indicator": [t["indicator"] for t in rows],
        "label": [column_label(spec, str(t["indicator"]), lang) for t in rows],
        "year": [t["year"] for t in rows],
        "target": [t["target"] for t in rows],
        "value": [t["value"] for t in rows],
        "gap": gaps,
        "reached": [bool(t["reached"]) for t in rows],
    }
    if any("first_year" in t for t in rows):
        never = _NOT_BY[lang].format(year=last_year) if last_year is not None else None
        columns["first_year"] = [never if t.get("first_year") is None else t["first_year"]
                                 for t in rows]
    columns["unit"] = units
    common = units[0] if units and len(set(units)) == 1 else _SEE_UNIT[lang]
    unit_row = {"year": _YEAR_UNIT[lang], "first_year": _YEAR_UNIT[lang],
                "target": common, "value": common, "gap": common}
    return Sheet(
        name=_SHEETS["targets"][lang], columns=columns,
        labels=[_lang_text(_TARGET_COLUMNS[c], lang) for c in columns],
        units=[unit_row.get(c, "") for c in columns],
    )


def _milestones_sheet(spec: Any, milestones: Mapping[str, Mapping[str, Any]], lang: str) -> Sheet:
    """The summary's milestones: one row per year, one column per indicator."""
    years = list(milestones)
    names = list(dict.fromkeys(k for y in years for k in milestones[y]))
    columns: dict[str, list[Any]] = {"year": [int(y) for y in years]}
    for n in names:
        columns[n] = [milestones[y].get(n) for y in years]
    return Sheet(
        name=_SHEETS["milestones"][lang], columns=columns,
        labels=[column_label(spec, "time", lang)] + [column_label(spec, n, lang) for n in names],
        units=[column_unit(spec, "time", lang)] + [column_unit(spec, n, lang) for n in names],
        freeze_first_column=True,
    )


_RUN_NOTES = {
    "scenario": ("情景", "Scenario"),
    "scenario_label": ("情景名称", "Scenario name"),
    "scenario_path": ("情景文件", "Scenario file"),
    "scenario_sha256": ("情景 sha256（展开 extends 后）", "Scenario sha256 (after extends)"),
    "model": ("模型", "Model"),
    "model_path": ("模型文件", "Model file"),
    "model_sha256": ("模型文件 sha256", "Model file sha256"),
    "package_version": ("urbsd 版本", "urbsd version"),
    "method": ("积分方法", "Integration method"),
    "dt": ("时间步长 dt（年）", "Time step dt (years)"),
    "period": ("模拟时段", "Period"),
    "headers": ("表头", "Header rows"),
    "shares": ("比例", "Shares"),
}
_HEADERS_NOTE = {
    "zh": "第1行：名称；第2行：单位；第3行：CSV 文件中的列名；第4行起：数据",
    "en": "row 1: name; row 2: unit; row 3: the column id of the CSV file; data from row 4",
}
_SHARES_NOTE = {
    "zh": "城镇化率等比例为 0–1 之间的小数（0.55 = 55%）",
    "en": "urbanization rates and other shares are fractions between 0 and 1 (0.55 = 55%)",
}


def _run_notes(summary: Mapping[str, Any], lang: str) -> list[tuple[str, Any]]:
    """Provenance of one run from its summary.json dict; absent entries are left out."""
    sc = summary.get("scenario") or {}
    model = summary.get("model") or {}
    time = summary.get("time") or {}
    label = sc.get("label") or {}
    period = f"{time['start']}–{time['stop']}" if "start" in time and "stop" in time else None
    items = [
        ("scenario", sc.get("name")),
        ("scenario_label", label.get(lang) if isinstance(label, Mapping) else label),
        ("scenario_path", sc.get("path")),
        ("scenario_sha256", summary.get("scenario_sha256")),
        ("model", model.get("name")),
        ("model_path", model.get("path")),
        ("model_sha256", model.get("sha256")),
        ("package_version", summary.get("package_version")),
        ("method", summary.get("method")),
        ("dt", summary.get("dt")),
        ("period", period),
        ("headers", _HEADERS_NOTE[lang]),
        ("shares", _SHARES_NOTE[lang]),
    ]
    return [(_lang_text(_RUN_NOTES[k], lang), v) for k, v in items if v not in (None, "")]


def run_workbook(spec: Any, frame: Mapping[str, Sequence], summary: dict, lang: str) -> bytes:
    """The workbook of one `urbsd run` scenario: timeseries, targets, milestones, About.

    `frame` is the table written to timeseries.csv (same columns, order and values);
    `summary` the summary.json dict of the same run.
    """
    check_lang(lang)
    ids = list(frame.keys())
    sheets = [Sheet(
        name=_SHEETS["timeseries"][lang], columns={c: frame[c] for c in ids},
        labels=[column_label(spec, c, lang) for c in ids],
        units=[column_unit(spec, c, lang) for c in ids],
        freeze_first_column=True,
    )]
    last_year = (summary.get("time") or {}).get("stop")
    sheets.append(_targets_sheet(spec, summary.get("targets") or [], last_year, lang))
    sheets.append(_milestones_sheet(spec, summary.get("milestones") or {}, lang))
    return workbook_bytes(sheets, notes=_run_notes(summary, lang), lang=lang)


# --------------------------------------------------------------------------- comparison

_COMPARE_NOTES = {
    "model": ("模型", "Model"),
    "model_sha256": ("模型文件 sha256", "Model file sha256"),
    "package_version": ("urbsd 版本", "urbsd version"),
    "method": ("积分方法", "Integration method"),
    "dt": ("时间步长 dt（年）", "Time step dt (years)"),
    "scenario": ("情景 {i}", "Scenario {i}"),
    "scenario_label": ("情景 {i} 名称", "Scenario {i} name"),
    "scenario_path": ("情景 {i} 文件", "Scenario {i} file"),
    "scenario_sha256": ("情景 {i} sha256", "Scenario {i} sha256"),
    "indicator": ("指标 {key} 取自", "Indicator {key} from"),
    "first_year_rule": ("首次达到年份的规则", "First-year rule"),
    "note": ("注 {i}", "Note {i}"),
    "headers": _RUN_NOTES["headers"],
    "shares": _RUN_NOTES["shares"],
}
_FIRST_YEAR_RULE_ZH = ("第一个保存的整年数值 ≥ 目标值，年内不插值；到最后一年仍未达到则为 "
                       "“not by <最后一年>”")


def _comparison_notes(summary: Mapping[str, Any], lang: str) -> list[tuple[str, Any]]:
    """Provenance of a comparison from its comparison.json dict; absent entries left out."""
    def key(k: str, **fmt: Any) -> str:
        return _lang_text(_COMPARE_NOTES[k], lang).format(**fmt)

    model = summary.get("model") or {}
    items: list[tuple[str, Any]] = [
        (key("model"), model.get("name")),
        (key("model_sha256"), model.get("sha256")),
        (key("package_version"), summary.get("package_version")),
        (key("method"), summary.get("method")),
        (key("dt"), summary.get("dt")),
    ]
    for i, sc in enumerate(summary.get("scenarios") or [], start=1):
        label = sc.get("label") or {}
        items += [
            (key("scenario", i=i), sc.get("name")),
            (key("scenario_label", i=i), label.get(lang) if isinstance(label, Mapping) else label),
            (key("scenario_path", i=i), sc.get("path")),
            (key("scenario_sha256", i=i), sc.get("sha256")),
        ]
    for k, var in (summary.get("indicators") or {}).items():
        items.append((key("indicator", key=k), var))
    rule = summary.get("first_year_rule")
    if rule:
        items.append((key("first_year_rule"), _FIRST_YEAR_RULE_ZH if lang == "zh" else rule))
    for i, note in enumerate(summary.get("notes") or [], start=1):
        items.append((key("note", i=i), note))
    items += [(key("headers"), _HEADERS_NOTE[lang]), (key("shares"), _SHARES_NOTE[lang])]
    return [(k, v) for k, v in items if v not in (None, "")]


def comparison_workbook(spec: Any, table: Mapping[str, Sequence], summary: dict, lang: str) -> bytes:
    """The workbook of `urbsd compare`: the comparison table (as comparison.csv) and About.

    `table` is the column table written to comparison.csv; `summary` the comparison.json
    dict (its `indicators` say which model variable each indicator column comes from).
    """
    check_lang(lang)
    ids = list(table.keys())
    indicators = summary.get("indicators") or None
    sheet = Sheet(
        name=_SHEETS["comparison"][lang], columns={c: table[c] for c in ids},
        labels=[comparison_label(spec, c, lang, indicators) for c in ids],
        units=[comparison_unit(spec, c, lang, indicators) for c in ids],
        freeze_first_column=True,
    )
    return workbook_bytes([sheet], notes=_comparison_notes(summary, lang), lang=lang)
