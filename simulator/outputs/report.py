"""The memo report: findings as sentences built from the numbers, tables, charts, provenance.

`report_markdown(items, ...)` turns plain data (each scenario's `summary.json` content, the
paths of its charts, an optional Monte Carlo summary) into Markdown, in Chinese or English;
`report_html(markdown, folder)` makes a self-contained HTML file of it (CSS inline, charts
embedded as data URIs), via markdown-it-py. Every figure in the text is formatted from the
same dicts that are written beside the report as JSON, so report and JSON cannot disagree.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from simulator.outputs.findings import (
    TEXT,
    ReportItem,
    comparison_sentences,
    findings,
    number_text,
    pct,
    pp,
    scenario_label,
    target_pct,
)
from simulator.outputs.labels import check_lang, probability_text

#: where the numbers the report compares against come from (seed plan, standards, methods)
SOURCES = {
    "zh": [
        "目标：《平凉市新型城镇化规划（2021—2035年）》第二章（三）发展目标：2025年常住人口城镇化率55%，"
        "2035年70%左右（2020年44.77%）。",
        "2020年初始值：第七次全国人口普查（平凉市及各县（市、区）公报），见 data/observed.csv。",
        "人均城镇建设用地区间：《城市用地分类与规划建设用地标准》GB 50137-2011（65–115平方米/人）。",
        "参照预测：联合国城乡人口增长差法（Manual VIII），以 data/history.csv 的2010—2020年历史拟合。",
        "模型中估计值的来源与方法见 docs/model.md 与 docs/model-estimates.md。",
    ],
    "en": [
        "Targets: Pingliang New Urbanization Plan 2021-2035, chapter 2 (3) goals: resident urbanization "
        "rate 55% by 2025 and about 70% by 2035 (44.77% in 2020).",
        "2020 initial values: Seventh National Population Census (city and county bulletins), see "
        "data/observed.csv.",
        "Land per person band: GB 50137-2011 Code for classification of urban land use and planning "
        "standards of development land (65-115 m² per person).",
        "Comparator: UN urban-rural growth difference method (Manual VIII), fitted on the 2010-2020 "
        "history in data/history.csv.",
        "Sources and methods of the model's estimates: docs/model.md and docs/model-estimates.md.",
    ],
}

#: chart titles by kind ({label}: the scenario's label; {runs}: Monte Carlo runs)
CHART_TITLES = {
    "zh": {
        "urbanization": "平凉市常住人口城镇化率 — {label}",
        "gap": "常住人口与户籍人口城镇化率 — {label}",
        "counties": "各县（市、区）常住人口城镇化率 — {label}",
        "land": "各县（市、区）人均城镇建设用地 — {label}",
        "services": "各县（市、区）公共服务充足度 — {label}",
        "fan": "城镇化率的不确定性（蒙特卡洛{runs}次）— {label}",
    },
    "en": {
        "urbanization": "Pingliang resident urbanization rate — {label}",
        "gap": "Resident vs hukou urbanization rate — {label}",
        "counties": "Resident urbanization rate by county — {label}",
        "land": "Urban construction land per person by county — {label}",
        "services": "Public service adequacy by county — {label}",
        "fan": "Urbanization rate under uncertainty ({runs} Monte Carlo runs) — {label}",
    },
}

#: chart kinds in the order they appear in the report
CHART_ORDER = ("urbanization", "gap", "counties", "county_map", "land", "services", "fan")


# --------------------------------------------------------------------------- text from inputs

#: characters that start Markdown constructs (links, images, autolinks and HTML, emphasis,
#: code, tables, entities); backslash-escaped in any text that comes from an input file
_MD_ACTIVE = re.compile(r"([\\`*_\[\]<>!|&~#])")


def md_text(text: Any) -> str:
    """Text from an input (a label, a name, a path) as literal Markdown: one line, every
    character that could start a link, an image, HTML, code or emphasis escaped, a leading
    list or heading marker neutralised. Renders as exactly the text it was given."""
    flat = " ".join(str(text).split())
    flat = _MD_ACTIVE.sub(r"\\\1", flat)
    return re.sub(r"^(\d+)([.)])", r"\1\\\2", re.sub(r"^([-+=])", r"\\\1", flat))


def md_code(text: Any) -> str:
    """Text from an input as a Markdown code span (fenced with more backticks than it holds)."""
    flat = " ".join(str(text).split())
    longest = max((len(m) for m in re.findall(r"`+", flat)), default=0)
    fence = "`" * (longest + 1)
    return f"{fence} {flat} {fence}" if flat.startswith("`") or flat.endswith("`") else f"{fence}{flat}{fence}"


def project_path(path: Any) -> str:
    """A file for the provenance table, never as an absolute path of this machine: a bundled
    model or scenario as in the project (`models/pingliang.yaml`), a file below the working
    folder relative to it, any other file by its name alone."""
    import os

    from simulator.bundled import models_dir, scenarios_dir

    p = Path(os.path.abspath(str(path)))
    for folder, shown in ((scenarios_dir(), "scenarios"), (models_dir(), "models")):
        try:
            return f"{shown}/{p.relative_to(Path(os.path.abspath(folder))).as_posix()}"
        except ValueError:
            pass
    try:
        return p.relative_to(Path(os.path.abspath(Path.cwd()))).as_posix()
    except ValueError:
        return p.name


def _label_pair(label: Any) -> Any:
    return {k: md_text(v) for k, v in label.items()} if isinstance(label, dict) else label


def safe_item(item: ReportItem) -> ReportItem:
    """A copy of `item` whose texts from input files (scenario name and label, model name,
    county and indicator labels) are Markdown-escaped, for the report; the screen uses the
    item as it is."""
    import copy
    import dataclasses

    summary = copy.deepcopy(item.summary)
    scenario = summary.get("scenario") or {}
    if "label" in scenario:
        scenario["label"] = _label_pair(scenario["label"])
    if "name" in scenario:
        scenario["name"] = md_text(scenario["name"])
    if isinstance(summary.get("model"), dict) and "name" in summary["model"]:
        summary["model"]["name"] = md_text(summary["model"]["name"])
    for t in summary.get("targets", []):
        t["indicator_text"] = md_text(t["indicator"])
    return dataclasses.replace(
        item, summary=summary,
        counties={el: _label_pair(lab) for el, lab in item.counties.items()},
        indicator_labels={k: _label_pair(v) for k, v in item.indicator_labels.items()})

def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    def cell(text: Any) -> str:
        return str(text).replace("|", "\\|")

    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return lines


def target_table(item: ReportItem, lang: str) -> list[str]:
    """Markdown table of the targets: value, gap, reached, first year (and probability)."""
    t = TEXT[lang]
    probability = {(x["indicator"], x["year"], x["target"]): probability_text(x["reached"], x["runs"])
                   for x in (item.sweep or {}).get("targets", []) if x.get("probability") is not None}
    header = [t["col_indicator"], t["col_year"], t["col_target"], t["col_value"], t["col_gap"],
              t["col_reached"], t["col_first"]] + ([t["col_prob"]] if probability else [])
    rows = []
    last = item.summary["time"]["stop"]
    for x in item.summary["targets"]:
        is_rate = "rate" in x["indicator"]
        name = (t["rate_name"] if x["indicator"] == "urbanization_rate"
                else (item.indicator_labels.get(x["indicator"]) or {}).get(lang)
                or x.get("indicator_text") or md_text(x["indicator"]))
        gap = x["value"] - x["target"]
        sign = "+" if gap >= 0 else "−"
        row = [name, x["year"],
               f"{target_pct(x['target'])}%" if is_rate else number_text(x["target"]),
               f"{pct(x['value'])}%" if is_rate else number_text(x["value"]),
               f"{sign}{pp(gap)}" if is_rate else f"{sign}{number_text(abs(gap))}",
               t["yes"] if x["reached"] else t["no"],
               x.get("first_year") or t["never"].format(last=last)]
        if probability:
            p = probability.get((x["indicator"], x["year"], x["target"]))
            row.append("" if p is None else p)
        rows.append(row)
    return _table(header, rows)


def comparison_table(items: Sequence[ReportItem], lang: str) -> list[str]:
    """Markdown table: each scenario's resident rate in the milestone years, hukou rate, first years."""
    t = TEXT[lang]
    years = list(items[0].summary.get("milestones", {}))
    last = years[-1] if years else None
    goals = sorted({(x["year"], x["target"]) for x in items[0].summary["targets"]
                    if x["indicator"] == "urbanization_rate"})
    header = [t["col_scenario"]] + [f"{y}" for y in years] + ([f"{t['col_hukou']} {last}"] if last else [])
    header += [f"{t['col_first']} {target_pct(v)}%" for _, v in goals]
    rows = []
    for item in items:
        ms = item.summary.get("milestones", {})
        row = [scenario_label(item.summary, lang)]
        row += [f"{pct(ms[y]['urbanization_rate'])}%" if y in ms else "" for y in years]
        if last:
            h = ms.get(last, {}).get("hukou_urbanization_rate")
            row.append("" if h is None else f"{pct(h)}%")
        by_goal = {(x["year"], x["target"]): x.get("first_year") for x in item.summary["targets"]
                   if x["indicator"] == "urbanization_rate"}
        stop = item.summary["time"]["stop"]
        row += [by_goal.get(g) or t["never"].format(last=stop) for g in goals]
        rows.append(row)
    return _table(header, rows)


def provenance_table(item: ReportItem, lang: str, *, created: str, command: str) -> list[str]:
    t = TEXT[lang]
    s = item.summary
    rows = [
        [t["prov_scenario"], md_code(project_path(s["scenario"]["path"]))],
        [t["prov_scenario_sha"], md_code(s["scenario_sha256"])],
        [t["prov_model"], md_code(project_path(s["model"]["path"]))],
        [t["prov_model_sha"], md_code(s["model"]["sha256"])],
        [t["prov_method"], f"{s['method']}, dt = {s['dt']:g}"],
        [t["prov_version"], s["package_version"]],
        [t["prov_date"], created],
        [t["prov_command"], md_code(command)],
    ]
    rows += [[t["prov_numbers"], md_code(item.files["summary"])]] if "summary" in item.files else []
    rows += [[t["prov_sweep"], md_code(item.files["sweep"])]] if "sweep" in item.files else []
    return _table([t["col_item"], t["col_detail"]], rows)


# --------------------------------------------------------------------------- the document


def report_markdown(
    items: Sequence[ReportItem],
    *,
    lang: str = "zh",
    created: str,
    command: str,
    comparison_chart: str | None = None,
) -> str:
    """The report as Markdown: findings, target tables, charts, provenance; one section per scenario.

    Every text from an input file (labels, names, paths, the command) is escaped (`md_text`,
    `md_code`), so the Markdown holds no link, image or HTML that the report did not make.
    """
    check_lang(lang)
    if not items:
        raise ValueError("a report needs at least one scenario")
    items = [safe_item(item) for item in items]
    t = TEXT[lang]
    first = items[0].summary
    title = (t["title_one"].format(label=scenario_label(first, lang)) if len(items) == 1 else t["title_many"])
    out = [f"# {title}", "",
           t["generated"].format(date=created, version=first["package_version"], model=first["model"]["name"],
                                 sha=first["model"]["sha256"][:12]), ""]
    level = "##" if len(items) == 1 else "###"
    if len(items) > 1:
        out += [f"## {t['comparison']}", ""]
        out += [f"- {s}" for s in comparison_sentences(items, lang)] + [""]
        out += comparison_table(items, lang) + [""]
        if comparison_chart:
            out += [f"![{t['chart_comparison']}]({comparison_chart})", "", f"*{t['chart_comparison']}*", ""]
    for item in items:
        if len(items) > 1:
            out += [f"## {scenario_label(item.summary, lang)}", ""]
        out += [f"{level} {t['findings']}", ""]
        out += [f"- {s}" for s in findings(item, lang)] + [""]
        out += [f"{level} {t['targets']}", ""] + target_table(item, lang) + ["", t["units_note"], ""]
        charts = [k for k in CHART_ORDER if k in item.charts]
        if charts:
            out += [f"{level} {t['charts']}", ""]
            for kind in charts:
                caption = t[f"chart_{kind}"]
                out += [f"![{caption}]({item.charts[kind]})", "", f"*{caption}*", ""]
        out += [f"{level} {t['provenance']}", "", t["figures_note"], ""]
        out += provenance_table(item, lang, created=created, command=command) + [""]
    out += [f"## {t['sources']}", ""] + [f"- {s}" for s in SOURCES[lang]] + [""]
    return "\n".join(out)


_CSS = """
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei",
       "Helvetica Neue", Arial, sans-serif; max-width: 60em; margin: 2em auto; padding: 0 1em;
       line-height: 1.6; color: #222; }
h1 { font-size: 1.6em; border-bottom: 2px solid #c0392b; padding-bottom: .3em; }
h2 { font-size: 1.3em; margin-top: 1.8em; border-bottom: 1px solid #ddd; }
h3 { font-size: 1.1em; }
table { border-collapse: collapse; margin: 1em 0; font-size: .92em; }
th, td { border: 1px solid #ccc; padding: .3em .6em; text-align: left; }
th { background: #f4f4f4; }
img { max-width: 100%; height: auto; display: block; margin: 1em 0 .2em; }
em { color: #555; }
code { font-size: .85em; word-break: break-all; }
"""


def report_html(markdown_text: str, images: Mapping[str, bytes], *, lang: str = "zh",
                embed_font: bool = True) -> str:
    """A self-contained, inert HTML page of the report.

    `images` maps each chart path as written in the Markdown (relative to the report folder)
    to the PNG bytes the report drew: only those are embedded, as data URIs; any other image
    source is dropped, never looked up on disk. Raw HTML in the Markdown is shown as text
    (markdown-it with html off), so the page carries no script, style or element from an
    input. With `embed_font`, the subset of Noto Sans CJK SC the page uses is embedded
    (WOFF2 data URI), so the Chinese shows on a machine without a CJK font.
    """
    from urllib.parse import unquote

    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(markdown_text)

    def embed(match: re.Match[str]) -> str:
        src = unquote(html.unescape(match.group(1)))
        data = images.get(src)
        if data is None:
            return 'src=""'
        mime = {".png": "image/png", ".svg": "image/svg+xml"}.get(Path(src).suffix.lower(), "application/octet-stream")
        return f'src="data:{mime};base64,{base64.b64encode(data).decode("ascii")}"'

    body = re.sub(r'src="([^"]*)"', embed, body)
    title = next((line[2:] for line in markdown_text.splitlines() if line.startswith("# ")), "urbsd")
    title = re.sub(r"\\(.)", r"\1", title)  # the Markdown escapes of input text
    font = ""
    if embed_font:
        from simulator.outputs.webfont import FAMILY, font_face_css

        font = font_face_css(html.unescape(re.sub(r"<[^>]*>", "", body)) + title)
        css = _CSS.replace('font-family: "Noto Sans CJK SC"', f'font-family: "{FAMILY}", "Noto Sans CJK SC"')
    else:
        css = _CSS
    return (f'<!DOCTYPE html>\n<html lang="{"zh-CN" if lang == "zh" else "en"}">\n<head>\n<meta charset="utf-8">\n'
            f'<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data:; '
            f'font-src data:; style-src \'unsafe-inline\'">\n'
            f"<title>{html.escape(title)}</title>\n<style>{font}{css}</style>\n</head>\n<body>\n{body}</body>\n</html>\n")


def pdf_available() -> str | None:
    """None if a PDF can be made here, else why not (WeasyPrint or its Pango library missing)."""
    try:
        import weasyprint  # noqa: F401
    except ImportError:
        return "needs WeasyPrint: pip install 'urbsd[pdf]'"
    except OSError as exc:  # WeasyPrint is installed but the Pango library is not
        return f"WeasyPrint cannot load the Pango library it needs ({str(exc).splitlines()[0]})"
    return None


def report_pdf(html_text: str) -> bytes:
    """The HTML report as an A4 PDF via WeasyPrint, Chinese set in the CJK font bundled with mplfonts."""
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration

    from simulator.outputs.charts.style import cjk_font_path

    fonts = FontConfiguration()
    css = weasyprint.CSS(string=(
        f'@font-face {{ font-family: "urbsd-cjk"; src: url("{cjk_font_path().as_uri()}"); }}\n'
        'body { font-family: "urbsd-cjk", sans-serif; max-width: none; margin: 0; font-size: 10.5pt; }\n'
        "@page { size: A4; margin: 18mm 16mm; }\n"
        "img { page-break-inside: avoid; }\n"), font_config=fonts)
    return weasyprint.HTML(string=html_text).write_pdf(stylesheets=[css], font_config=fonts)
