"""`urbsd report`: the findings state the numbers of summary.json; HTML is self-contained."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from simulator.cli import main
from simulator.outputs.findings import (ReportItem, comparison_sentences, first_year_sentence, land_sentence, pp,
                                        rate_sentence)
from simulator.outputs.report import report_markdown

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = REPO / "scenarios"


@pytest.fixture(scope="module")
def zh(tmp_path_factory):
    """`urbsd run` and `urbsd report --lang zh` (small Monte Carlo) of the bundled baseline."""
    out = tmp_path_factory.mktemp("zh")
    assert main(["run", "--out", str(out)]) == 0
    assert main(["report", "--lang", "zh", "--samples", "200", "--out", str(out)]) == 0
    folder = out / "baseline-report-zh"
    return {
        "run": json.loads((out / "baseline" / "summary.json").read_text(encoding="utf-8")),
        "md": (folder / "report.md").read_text(encoding="utf-8"),
        "html": (folder / "report.html").read_text(encoding="utf-8"),
        "summary": json.loads((folder / "summaries" / "baseline.json").read_text(encoding="utf-8")),
        "mc": json.loads((folder / "summaries" / "baseline-montecarlo.json").read_text(encoding="utf-8")),
        "folder": folder,
    }


def _p(share: float) -> str:
    return f"{100 * share:.1f}"


def test_report_sentence_states_the_run_summary_numbers(zh):
    """The memo sentence of the issue: 2025 rate, gap to 55%, 2035 rate; equal to `urbsd run`'s summary.json."""
    targets = {t["year"]: t for t in zh["run"]["targets"] if t["indicator"] == "urbanization_rate"}
    m = re.search(r"基准情景（趋势延续）下，2025年常住人口城镇化率为(\d+\.\d)%，低于55%目标(\d+\.\d)个百分点；"
                  r"2035年为(\d+\.\d)%，低于70%目标(\d+\.\d)个百分点。", zh["md"])
    assert m, zh["md"][:800]
    assert m.group(1) == _p(targets[2025]["value"])
    assert m.group(2) == _p(targets[2025]["target"] - targets[2025]["value"])
    assert m.group(3) == _p(targets[2035]["value"])
    assert m.group(4) == _p(targets[2035]["target"] - targets[2035]["value"])


def test_report_summary_is_the_run_summary(zh):
    """The JSON beside the report holds the same figures as `urbsd run` (provenance included)."""
    for key in ("targets", "milestones", "final_year", "scenario_sha256", "model", "method", "dt"):
        assert zh["summary"][key] == zh["run"][key], key


def test_report_other_findings_match_the_json(zh):
    md, s, mc = zh["md"], zh["run"], zh["mc"]
    ms = s["milestones"]
    hukou = re.search(r"户籍人口城镇化率2035年为(\d+\.\d)%，比常住人口城镇化率低(\d+\.\d)个百分点", md)
    assert hukou.groups() == (_p(ms["2035"]["hukou_urbanization_rate"]),
                              _p(ms["2035"]["urbanization_rate"] - ms["2035"]["hukou_urbanization_rate"]))
    un = re.search(r"联合国城乡人口增长差法.*?2035年常住人口城镇化率为(\d+\.\d)%", md)
    assert un.group(1) == _p(s["comparator"]["projected"]["2035"])
    rates = s["final_year"]["county_urbanization_rate"]
    counties = re.search(r"(\S+?)常住人口城镇化率最高（(\d+\.\d)%），(\S+?)最低（(\d+\.\d)%）", md)
    assert counties.group(2) == _p(max(rates.values())) and counties.group(4) == _p(min(rates.values()))
    assert counties.group(1).endswith("崆峒区") or max(rates, key=rates.get) != "kongtong"
    land = s["final_year"]["land_per_urban_resident"]
    assert f"{min(land.values()):.1f}–{max(land.values()):.1f}平方米/人" in md
    for t in mc["targets"]:  # to the resolution of 200 runs: 0 of 200 reads '<0.5%', not '0.0%'
        p = (f"<{100 / t['runs']:.1f}%" if t["reached"] == 0 else f">{100 - 100 / t['runs']:.1f}%"
             if t["reached"] == t["runs"] else f"{100 * t['probability']:.1f}%")
        assert f"{t['year']}年达到{100 * t['target']:g}%目标的概率为{p}" in md
    assert mc["runs"] == 200 and "200次" in md
    # the target table repeats the same values
    for t in s["targets"]:
        assert f"| {t['year']} | {100 * t['target']:g}% | {_p(t['value'])}% |" in md


def test_report_folder_holds_the_charts_in_png_and_svg(zh):
    charts = zh["folder"] / "charts" / "baseline"
    for kind in ("urbanization", "gap", "counties", "county-map", "land", "services", "fan"):
        assert (charts / f"{kind}.png").stat().st_size > 10_000, kind
        assert (charts / f"{kind}.svg").is_file(), kind
        assert f"charts/baseline/{kind}.png" in zh["md"]


def test_report_shows_the_county_map_right_after_the_county_small_multiples(zh):
    images = re.findall(r"!\[([^\]]*)\]\(charts/baseline/([^)]+)\.png\)", zh["md"])
    kinds = [k for _, k in images]
    assert kinds[kinds.index("counties") + 1] == "county-map"
    caption = dict((k, c) for c, k in images)["county-map"]
    assert "地图" in caption and "斜线" in caption


def test_report_html_is_self_contained(zh):
    html = zh["html"]
    sources = re.findall(r'src="([^"]*)"', html)
    assert len(sources) == 7 and all(s.startswith("data:image/png;base64,") for s in sources)
    assert "<table>" in html and "<h1>" in html and 'charset="utf-8"' in html
    assert not re.search(r'(href|src)="https?:', html)
    assert "基准情景（趋势延续）下，2025年常住人口城镇化率为" in html


def test_english_report_without_monte_carlo(tmp_path, capsys):
    assert main(["report", "--lang", "en", "--samples", "0", "--out", str(tmp_path)]) == 0
    folder = tmp_path / "baseline-report-en"
    md = (folder / "report.md").read_text(encoding="utf-8")
    s = json.loads((folder / "summaries" / "baseline.json").read_text(encoding="utf-8"))
    t2025 = next(t for t in s["targets"] if t["year"] == 2025)
    assert (f"Under Baseline (trend), the resident urbanization rate is {_p(t2025['value'])}% in 2025, "
            f"{_p(t2025['target'] - t2025['value'])} pp below the 55% target") in md
    assert "Monte Carlo" not in md and not (folder / "summaries" / "baseline-montecarlo.json").exists()
    assert not re.search(r"[\u4e00-\u9fff]", md.split("## Sources")[0].replace(
        s["scenario"]["label"]["zh"], "")), "Chinese text in the English report body"
    assert "pp below the 55% target" in capsys.readouterr().out


def test_report_of_several_scenarios_compares_them(tmp_path):
    paths = [str(SCENARIOS / "baseline.yaml"), str(SCENARIOS / "hukou-open.yaml")]
    assert main(["report", *paths, "--samples", "0", "--out", str(tmp_path)]) == 0
    folder = tmp_path / "compare-report-zh"
    md = (folder / "report.md").read_text(encoding="utf-8")
    assert (folder / "charts" / "comparison.png").is_file() and (folder / "charts" / "comparison.svg").is_file()
    assert "## 情景比较" in md and "比较的2个情景中" in md
    summaries = [json.loads((folder / "summaries" / f"{n}.json").read_text(encoding="utf-8"))
                 for n in ("baseline", "hukou-open")]
    best = max(summaries, key=lambda s: s["milestones"]["2035"]["urbanization_rate"])
    assert f"最高的是{best['scenario']['label']['zh']}（{_p(best['milestones']['2035']['urbanization_rate'])}%）" in md


@pytest.mark.parametrize("argv, field", [
    (["report", "--samples", "-1"], "--samples"),
    (["report", "no-such-scenario.yaml"], "no such file"),
    (["report", "--dt", "0.3"], "--dt"),
    (["report", "--map-from", "2035"], "--map-from"),
])
def test_report_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys, argv, field):
    assert main([*argv, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and field in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_unknown_language_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["report", "--lang", "fr", "--out", str(tmp_path)])
    assert exc.value.code == 2 and "--lang" in capsys.readouterr().err


# --------------------------------------------------------------------------- sentences from numbers


def _summary(values: dict[int, float], targets: dict[int, float], first: dict[int, int | None]) -> dict:
    return {
        "scenario": {"name": "x", "label": {"zh": "测试情景", "en": "Test"}},
        "time": {"start": 2020, "stop": 2035},
        "targets": [{"indicator": "urbanization_rate", "year": y, "target": targets[y], "value": values[y],
                     "reached": values[y] >= targets[y], "first_year": first[y]} for y in targets],
        "milestones": {str(y): {"urbanization_rate": v} for y, v in values.items()},
        "final_year": {"year": 2035},
        "model": {"name": "m", "sha256": "0" * 64}, "package_version": "0",
    }


def test_reached_and_missed_targets_read_differently():
    s = _summary({2025: 0.5612, 2035: 0.6981}, {2025: 0.55, 2035: 0.70}, {2025: 2024, 2035: None})
    zh = rate_sentence(s, "zh")
    assert zh == ("测试情景下，2025年常住人口城镇化率为56.1%，达到55%目标（高出1.1个百分点）；"
                  "2035年为69.8%，低于70%目标0.2个百分点。")
    en = rate_sentence(s, "en")
    assert "56.1% in 2025, reaching the 55% target (1.1 pp above)" in en
    assert first_year_sentence(s, "zh") == "按此情景，常住人口城镇化率于2024年首次达到55%，比目标年份早1年；到2035年仍未达到70%。"


def test_a_near_miss_never_reads_as_zero():
    assert pp(0.0004) == "0.04" and pp(-0.0004) == "0.04"
    assert pp(0.018) == "1.8" and pp(0.0) == "0.0"
    s = _summary({2035: 0.6999}, {2035: 0.70}, {2035: None})
    assert "低于70%目标0.01个百分点" in rate_sentence(s, "zh")


def test_land_at_the_band_edge_reads_as_inside_it():
    """The sentence judges the figure it prints: 115.04 shows as 115.0 and is inside 65-115; 115.06 is not."""
    def item(**land):
        return ReportItem(summary={"final_year": {"year": 2035, "land_per_urban_resident": land}},
                          land_band=(65.0, 115.0), counties={e: {"zh": e, "en": e} for e in land})
    assert "均在" in land_sentence(item(a=115.04, b=100.0), "zh")
    said = land_sentence(item(a=115.06, b=64.9), "en")
    assert "outside" in said and "a, b" in said and "64.9-115.1" in said


def test_comparison_says_when_no_scenario_reaches_the_target():
    a = ReportItem(summary=_summary({2035: 0.66}, {2035: 0.70}, {2035: None}))
    b = ReportItem(summary=_summary({2035: 0.64}, {2035: 0.70}, {2035: None}))
    b.summary["scenario"]["label"] = {"zh": "乙", "en": "B"}
    text = comparison_sentences([a, b], "zh")
    assert text[0] == "比较的2个情景中，2035年常住人口城镇化率最高的是测试情景（66.0%），最低的是乙（64.0%）。"
    assert text[1] == "没有一个情景在2035年达到70%目标；最接近的测试情景差4.0个百分点。"
    c = ReportItem(summary=_summary({2035: 0.71}, {2035: 0.70}, {2035: 2034}))
    c.summary["scenario"]["label"] = {"zh": "丙", "en": "C"}
    assert comparison_sentences([a, c], "en")[1] == "Scenarios reaching the 70% target in 2035: C."


def test_report_markdown_refuses_unknown_language_and_empty_input():
    with pytest.raises(ValueError):
        report_markdown([], lang="zh", created="2026-01-01", command="urbsd report")
    with pytest.raises(ValueError):
        report_markdown([ReportItem(summary={})], lang="fr", created="2026-01-01", command="urbsd report")


def test_pdf_report_sets_the_chinese_text_in_the_bundled_font(tmp_path):
    from simulator.outputs.report import pdf_available

    missing = pdf_available()
    if missing:
        pytest.skip(missing)
    import pypdf

    assert main(["report", "--pdf", "--samples", "0", "--out", str(tmp_path)]) == 0
    folder = tmp_path / "baseline-report-zh"
    reader = pypdf.PdfReader(folder / "report.pdf")
    text = "".join(page.extract_text() for page in reader.pages).replace("\n", "")
    summary = json.loads((folder / "summaries" / "baseline.json").read_text(encoding="utf-8"))
    t2035 = next(t for t in summary["targets"] if t["year"] == 2035)
    assert f"2035年为{_p(t2035['value'])}%，低于70%目标{_p(t2035['target'] - t2035['value'])}个百分点" in text
    fonts = {str(f.get_object()["/BaseFont"]) for page in reader.pages
             for f in (page["/Resources"].get("/Font") or {}).values()}
    assert any("urbsd-cjk" in f for f in fonts), fonts
    assert len(reader.pages) >= 3  # findings and table, five charts, provenance


# --------------------------------------------------------------------------- inputs from strangers

HOSTILE_ZH = '<img src="/etc/passwd"><script>alert(1)</script>'
HOSTILE_EN = "![x](/etc/passwd) [click](javascript:alert(1)) <javascript:alert(2)> &lt;b&gt; `x` *y*"


def _hostile_folder(tmp_path: Path) -> Path:
    """A toy model whose county and model names carry HTML and Markdown, and a scenario whose
    label and name do."""
    toy = (REPO / "tests" / "data" / "toy_model.yaml").read_text(encoding="utf-8")
    toy = toy.replace("    elements: [kongtong, huating, jingchuan, lingtai, chongxin, zhuanglang, jingning]\n",
                      "    elements: [kongtong, huating, jingchuan, lingtai, chongxin, zhuanglang, jingning]\n"
                      "    labels:\n"
                      "      kongtong: {zh: '<iframe src=\"/etc/passwd\"></iframe>', en: '[a](javascript:b)'}\n")
    (tmp_path / "toy_model.yaml").write_text(toy, encoding="utf-8")
    (tmp_path / "hostile.yaml").write_text(
        "name: '<svg onload=alert(3)>'\n"
        f"label: {{zh: '{HOSTILE_ZH}', en: '{HOSTILE_EN}'}}\n"
        "model: toy_model.yaml\n"
        "targets: [{indicator: urbanization_rate, year: 2035, value: 0.7}]\n", encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_report_html_carries_no_html_from_inputs(tmp_path, monkeypatch, lang):
    """Labels, names and county labels holding HTML, Markdown images and links and javascript:
    URLs come out as text: no script, no element, no link, and no file read from disk."""
    monkeypatch.chdir(_hostile_folder(tmp_path))
    assert main(["report", "hostile.yaml", "--samples", "0", "--lang", lang, "--out", "out"]) == 0
    folder = tmp_path / "out" / f"hostile-report-{lang}"
    page = (folder / "report.html").read_text(encoding="utf-8")
    md = (folder / "report.md").read_text(encoding="utf-8")
    body = page.split("<body>", 1)[1]
    assert not re.search(r"<(script|iframe|svg|a|b|strong)\b", body, re.I)  # no element from an input
    assert "<em>y</em>" not in body
    assert not re.search(r"\son\w+=", body)
    assert "href=" not in body and "javascript:" not in re.sub(r"&[a-z]+;", "", " ".join(
        re.findall(r'(?:src|href)="([^"]*)"', body)))
    images = re.findall(r"<img\b[^>]*>", body)
    sources = [re.search(r'src="([^"]*)"', i).group(1) for i in images]
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    assert len(sources) == len(re.findall(r"!\[[^\]]*\]\(charts/", md))  # only the charts the report drew
    # the label is shown as the text it is
    shown = HOSTILE_ZH if lang == "zh" else HOSTILE_EN
    assert html_text(shown) in body
    # the provenance names files relative to the project: no absolute path of this machine
    assert str(tmp_path) not in md and str(tmp_path) not in page
    assert "`hostile.yaml`" in md and "`toy_model.yaml`" in md


def html_text(text: str) -> str:
    import html

    return html.escape(text, quote=True).replace("&#x27;", "'")


def test_report_html_embeds_only_the_files_it_is_given(tmp_path):
    """An image source in the Markdown is never looked up on disk: only the given charts are embedded."""
    from simulator.outputs.report import report_html

    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG secret bytes")
    md = (f"# t\n\n![a](charts/a.png)\n\n![b]({secret})\n\n![c](secret.png)\n\n<script>alert(1)</script>\n\n"
          "[x](javascript:alert(1))\n")
    page = report_html(md, {"charts/a.png": b"\x89PNG chart"}, lang="en", embed_font=False)
    import base64

    assert base64.b64encode(b"\x89PNG chart").decode() in page
    assert base64.b64encode(secret.read_bytes()).decode() not in page
    assert page.count('src=""') == 2 and "<script>" not in page and "&lt;script&gt;" in page
    assert 'href="javascript' not in page


def test_provenance_paths_are_relative_to_the_project(zh):
    md = zh["md"]
    assert "`scenarios/baseline.yaml`" in md and "`models/pingliang.yaml`" in md
    assert str(REPO) not in md and not re.search(r"`/(home|root|tmp|usr|work)/", md)
    assert re.search(r"`[0-9a-f]{64}`", md)  # with the hashes


def test_report_html_embeds_the_cjk_font_subset(zh):
    import base64

    from fontTools.ttLib import TTFont

    m = re.search(r"url\(data:font/woff2;base64,([A-Za-z0-9+/=]+)\)", zh["html"])
    assert m
    import io

    font = TTFont(io.BytesIO(base64.b64decode(m.group(1))))
    cmap = font.getBestCmap()
    used = set(re.sub(r"<[^>]*>", "", zh["html"].split("<body>", 1)[1]))
    for ch in "平凉市常住人口城镇化率基准情景":
        assert ord(ch) in cmap and ch in used
    assert len(m.group(1)) < 400_000  # a subset, not the 16 MB font
