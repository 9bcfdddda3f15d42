"""The report's findings: sentences built from the numbers, in Chinese or English.

`findings(item, lang)` turns one scenario's plain data (`ReportItem`: its summary.json
content, chart paths, county labels, an optional Monte Carlo summary) into sentences;
`comparison_sentences(items, lang)` compares several. `TEXT` is the report's text table
(zh/en), shared with `simulator.outputs.report`, which lays the sentences out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from simulator.outputs.labels import probability_text

TEXT = {
    "zh": {
        "title_one": "平凉市新型城镇化情景报告：{label}",
        "title_many": "平凉市新型城镇化情景比较报告",
        "generated": "生成于 {date} · urbsd {version} · 模型 {model} sha256 {sha}",
        "findings": "主要结论",
        "targets": "目标达成情况",
        "charts": "图表",
        "comparison": "情景比较",
        "provenance": "数据来源与可追溯性",
        "sources": "来源",
        "rate_reached": "{year}年常住人口城镇化率为{value}%，达到{target}%目标（高出{gap}个百分点）",
        "rate_short": "{year}年常住人口城镇化率为{value}%，低于{target}%目标{gap}个百分点",
        "rate_reached_next": "{year}年为{value}%，达到{target}%目标（高出{gap}个百分点）",
        "rate_short_next": "{year}年为{value}%，低于{target}%目标{gap}个百分点",
        "rate_lead": "{label}下，",
        "join": "；",
        "end": "。",
        "first_early": "常住人口城镇化率于{first}年首次达到{target}%，比目标年份早{early}",
        "first_on_time": "常住人口城镇化率于{first}年达到{target}%，与目标年份一致",
        "first_late": "常住人口城镇化率于{first}年首次达到{target}%，比目标年份晚{late}",
        "first_never": "到{last}年仍未达到{target}%",
        "first_lead": "按此情景，",
        "other_target": "{indicator}{year}年为{value}，目标{target}，{status}",
        "reached": "已达到",
        "not_reached": "未达到",
        "hukou": "户籍人口城镇化率{year}年为{hukou}%，比常住人口城镇化率低{gap}个百分点（{base}年相差{base_gap}个百分点）。",
        "comparator": "作为参照，联合国城乡人口增长差法按历史趋势外推，{year}年常住人口城镇化率为{value}%（本情景{sim}%）。",
        "counties": "{year}年各县（市、区）中，{top}常住人口城镇化率最高（{top_v}%），{low}最低（{low_v}%）。",
        "land_in": "{year}年各县（市、区）人均城镇建设用地为{low}–{high}平方米/人，均在GB 50137-2011规划区间（{b0}–{b1}平方米/人）内。",
        "land_out": "{year}年各县（市、区）人均城镇建设用地为{low}–{high}平方米/人；{names}超出GB 50137-2011规划区间（{b0}–{b1}平方米/人）。",
        "services": "{year}年公共服务充足度最低的是{name}（{value}；1表示达到配置标准），{n_short}个县（市、区）低于1。",
        "sweep": "不确定性：对{k}个估计参数做蒙特卡洛抽样（{runs}次，随机种子{seed}），{probs}；{year}年常住人口城镇化率的5%–95%区间为{p5}%–{p95}%（只反映这些参数的不确定性，不含模型结构的不确定性）。",
        "sweep_prob": "{year}年达到{target}%目标的概率为{p}",
        "sweep_join": "，",
        "cmp_best": "比较的{n}个情景中，{year}年常住人口城镇化率最高的是{best}（{best_v}%），最低的是{worst}（{worst_v}%）。",
        "cmp_none": "没有一个情景在{year}年达到{target}%目标；最接近的{best}差{gap}个百分点。",
        "cmp_some": "{year}年达到{target}%目标的情景：{names}。",
        "col_indicator": "指标", "col_year": "年份", "col_target": "目标", "col_value": "模拟值",
        "col_gap": "差距（百分点）", "col_reached": "是否达到", "col_first": "首次达到年份",
        "col_prob": "达成概率", "yes": "是", "no": "否", "never": "到{last}年未达到",
        "col_item": "项目", "col_detail": "内容",
        "col_scenario": "情景", "col_hukou": "户籍人口城镇化率", "col_file": "数值文件",
        "rate_name": "常住人口城镇化率",
        "chart_urbanization": "常住人口与户籍人口城镇化率、规划目标及联合国方法参照预测",
        "chart_gap": "常住人口与户籍人口城镇化率之差",
        "chart_counties": "各县（市、区）常住人口城镇化率",
        "chart_county_map": "各县（市、区）地图：常住人口城镇化率、人均城镇建设用地与公共服务充足度，起始年、末年及变化（斜线为未公布的估计值）",
        "chart_land": "各县（市、区）人均城镇建设用地与GB 50137-2011区间",
        "chart_services": "各县（市、区）公共服务充足度",
        "chart_fan": "蒙特卡洛抽样下的城镇化率区间",
        "chart_comparison": "各情景常住人口城镇化率",
        "prov_scenario": "情景文件", "prov_scenario_sha": "情景 sha256", "prov_model": "模型文件",
        "prov_model_sha": "模型 sha256", "prov_method": "积分方法与步长", "prov_version": "urbsd 版本",
        "prov_date": "生成日期", "prov_command": "命令", "prov_numbers": "数值文件",
        "prov_sweep": "蒙特卡洛结果",
        "figures_note": "报告中的所有数值均取自同一文件夹中的 JSON 文件（见下表），图下方注明情景、模型 sha256 与生成日期。",
        "units_note": "城镇化率以百分比表示，保留一位小数；差距以百分点表示。",
    },
    "en": {
        "title_one": "Pingliang new urbanization scenario report: {label}",
        "title_many": "Pingliang new urbanization scenario comparison",
        "generated": "Generated {date} · urbsd {version} · model {model} sha256 {sha}",
        "findings": "Findings",
        "targets": "Targets",
        "charts": "Charts",
        "comparison": "Scenario comparison",
        "provenance": "Sources and provenance",
        "sources": "Sources",
        "rate_reached": "the resident urbanization rate is {value}% in {year}, reaching the {target}% target ({gap} pp above)",
        "rate_short": "the resident urbanization rate is {value}% in {year}, {gap} pp below the {target}% target",
        "rate_reached_next": "in {year} it is {value}%, reaching the {target}% target ({gap} pp above)",
        "rate_short_next": "in {year} it is {value}%, {gap} pp below the {target}% target",
        "rate_lead": "Under {label}, ",
        "join": "; ",
        "end": ".",
        "first_early": "the resident urbanization rate first reaches {target}% in {first}, {early} before the target year",
        "first_on_time": "the resident urbanization rate reaches {target}% in {first}, the target year",
        "first_late": "the resident urbanization rate first reaches {target}% in {first}, {late} after the target year",
        "first_never": "it does not reach {target}% by {last}",
        "first_lead": "In this scenario ",
        "other_target": "{indicator} is {value} in {year} against a target of {target}: {status}",
        "reached": "reached",
        "not_reached": "not reached",
        "hukou": "The hukou urbanization rate is {hukou}% in {year}, {gap} pp below the resident rate (a gap of {base_gap} pp in {base}).",
        "comparator": "For reference, the UN urban-rural growth difference method, extrapolating the history, gives {value}% in {year} (this scenario: {sim}%).",
        "counties": "In {year}, {top} has the highest resident urbanization rate among the counties ({top_v}%), {low} the lowest ({low_v}%).",
        "land_in": "In {year}, urban construction land per urban resident is {low}-{high} m² per person in the counties, all inside the GB 50137-2011 planning band ({b0}-{b1} m²).",
        "land_out": "In {year}, urban construction land per urban resident is {low}-{high} m² per person in the counties; outside the GB 50137-2011 planning band ({b0}-{b1} m²): {names}.",
        "services": "In {year}, public service adequacy is lowest in {name} ({value}; 1 = standard met); {n_short} of the counties are below 1.",
        "sweep": "Uncertainty: in a Monte Carlo sample of {k} estimated constants ({runs} runs, seed {seed}), {probs}; the 5-95% range of the resident urbanization rate in {year} is {p5}%-{p95}% (the uncertainty of these constants only, not of the model structure).",
        "sweep_prob": "the probability of reaching the {target}% target in {year} is {p}",
        "sweep_join": ", ",
        "cmp_best": "Of the {n} scenarios compared, {best} has the highest resident urbanization rate in {year} ({best_v}%), {worst} the lowest ({worst_v}%).",
        "cmp_none": "No scenario reaches the {target}% target in {year}; the closest, {best}, falls {gap} pp short.",
        "cmp_some": "Scenarios reaching the {target}% target in {year}: {names}.",
        "col_indicator": "Indicator", "col_year": "Year", "col_target": "Target", "col_value": "Simulated",
        "col_gap": "Gap (pp)", "col_reached": "Reached", "col_first": "First year reached",
        "col_prob": "Probability", "yes": "yes", "no": "no", "never": "not by {last}",
        "col_item": "Item", "col_detail": "Value",
        "col_scenario": "Scenario", "col_hukou": "Hukou urbanization rate", "col_file": "Figures file",
        "rate_name": "Resident urbanization rate",
        "chart_urbanization": "Resident and hukou urbanization rates, plan targets and the UN-method comparator",
        "chart_gap": "Gap between the resident and the hukou urbanization rate",
        "chart_counties": "Resident urbanization rate by county",
        "chart_county_map": "County map: resident urbanization rate, urban construction land per urban resident "
                            "and public service adequacy in the first and last year and the change (hatched: "
                            "estimates, no published figure)",
        "chart_land": "Urban construction land per person by county against GB 50137-2011",
        "chart_services": "Public service adequacy by county",
        "chart_fan": "Range of the urbanization rate in the Monte Carlo sample",
        "chart_comparison": "Resident urbanization rate by scenario",
        "prov_scenario": "Scenario file", "prov_scenario_sha": "Scenario sha256", "prov_model": "Model file",
        "prov_model_sha": "Model sha256", "prov_method": "Integration method and step", "prov_version": "urbsd version",
        "prov_date": "Generated", "prov_command": "Command", "prov_numbers": "Figures file",
        "prov_sweep": "Monte Carlo results",
        "figures_note": "Every figure in this report is taken from the JSON files in this folder (table below); "
                        "each chart names its scenario, model sha256 and date under it.",
        "units_note": "Urbanization rates in percent to one decimal; gaps in percentage points (pp).",
    },
}


@dataclass
class ReportItem:
    """One scenario's material for the report (all plain data).

    `summary` is the scenario's summary.json content (simulator.analysis.results.run_summary);
    `charts` maps a chart kind (CHART_ORDER) to its PNG path relative to the report folder;
    `counties` maps a county element to {zh, en} labels; `land_band` is the GB 50137 range;
    `indicator_labels` gives {zh, en} names of non-rate target indicators; `sweep` is a Monte Carlo summary (simulator.outputs.sweep_files.summary) or None; `files` maps
    "summary"/"sweep" to the JSON files (relative) the figures were taken from.
    """

    summary: dict[str, Any]
    charts: dict[str, str] = field(default_factory=dict)
    counties: dict[str, dict[str, str]] = field(default_factory=dict)
    land_band: tuple[float, float] | None = None
    indicator_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    sweep: dict[str, Any] | None = None
    files: dict[str, str] = field(default_factory=dict)


def pct(share: float) -> str:
    """A share as a percentage with one decimal ('53.2')."""
    return f"{100.0 * share:.1f}"


def pp(diff: float) -> str:
    """The size of a difference of shares in percentage points, one decimal; a near miss
    that would round to 0.0 gets the decimals it needs ('0.03')."""
    size = abs(100.0 * diff)
    if size == 0 or round(size, 1) > 0:
        return f"{size:.1f}"
    return f"{size:.2g}" if size >= 1e-3 else f"{size:.1e}"


def target_pct(share: float) -> str:
    """A target share as a percentage without trailing zeros ('55')."""
    return f"{100.0 * share:g}"


def scenario_label(summary: Mapping[str, Any], lang: str) -> str:
    label = summary["scenario"].get("label") or {}
    return label.get(lang) or label.get("zh" if lang == "en" else "en") or summary["scenario"]["name"]


def _county(item: ReportItem, element: str, lang: str) -> str:
    return (item.counties.get(element) or {}).get(lang) or element


def number_text(x: float) -> str:
    """A count with thousands separators, a small number to 3 significant digits."""
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"


# --------------------------------------------------------------------------- findings


def rate_sentence(summary: Mapping[str, Any], lang: str) -> str | None:
    """'基准情景下，2025年常住人口城镇化率为53.2%，低于55%目标1.8个百分点；…' from the targets."""
    t = TEXT[lang]
    parts = []
    for target in sorted((x for x in summary["targets"] if x["indicator"] == "urbanization_rate"),
                         key=lambda x: x["year"]):
        gap = target["value"] - target["target"]
        key = ("rate_reached" if target["reached"] else "rate_short") + ("_next" if parts else "")
        parts.append(t[key].format(year=target["year"], value=pct(target["value"]),
                                   target=target_pct(target["target"]), gap=pp(gap)))
    if not parts:
        return None
    return t["rate_lead"].format(label=scenario_label(summary, lang)) + t["join"].join(parts) + t["end"]


def _years(n: int, lang: str) -> str:
    return f"{n}年" if lang == "zh" else f"{n} year" + ("" if n == 1 else "s")


def first_year_sentence(summary: Mapping[str, Any], lang: str) -> str | None:
    """When each urbanization-rate target is first reached (or that it is not, by the last year)."""
    t = TEXT[lang]
    last = summary["time"]["stop"]
    parts = []
    for target in sorted((x for x in summary["targets"] if x["indicator"] == "urbanization_rate"),
                         key=lambda x: x["year"]):
        first = target.get("first_year")
        goal = target_pct(target["target"])
        if first is None:
            parts.append(t["first_never"].format(target=goal, last=last))
        elif first < target["year"]:
            parts.append(t["first_early"].format(first=first, target=goal, early=_years(target["year"] - first, lang)))
        elif first == target["year"]:
            parts.append(t["first_on_time"].format(first=first, target=goal))
        else:
            parts.append(t["first_late"].format(first=first, target=goal, late=_years(first - target["year"], lang)))
    if not parts:
        return None
    return t["first_lead"] + t["join"].join(parts) + t["end"]


def other_targets_sentence(item: ReportItem, lang: str) -> str | None:
    t = TEXT[lang]
    parts = []
    for target in item.summary["targets"]:
        if target["indicator"] == "urbanization_rate":
            continue
        name = (item.indicator_labels.get(target["indicator"]) or {}).get(lang) or target["indicator"]
        is_rate = "rate" in target["indicator"]
        value = f"{pct(target['value'])}%" if is_rate else number_text(target["value"])
        goal = f"{target_pct(target['target'])}%" if is_rate else number_text(target["target"])
        parts.append(t["other_target"].format(indicator=name, year=target["year"], value=value, target=goal,
                                              status=t["reached"] if target["reached"] else t["not_reached"]))
    return (t["join"].join(parts) + t["end"]) if parts else None


def hukou_sentence(summary: Mapping[str, Any], lang: str) -> str | None:
    ms = summary.get("milestones") or {}
    years = [y for y in ms if "hukou_urbanization_rate" in ms[y]]
    if len(years) < 2:
        return None
    base, last = years[0], years[-1]
    gap = ms[last]["urbanization_rate"] - ms[last]["hukou_urbanization_rate"]
    base_gap = ms[base]["urbanization_rate"] - ms[base]["hukou_urbanization_rate"]
    return TEXT[lang]["hukou"].format(year=last, hukou=pct(ms[last]["hukou_urbanization_rate"]), gap=pp(gap),
                                    base=base, base_gap=pp(base_gap))


def comparator_sentence(summary: Mapping[str, Any], lang: str) -> str | None:
    comp = summary.get("comparator") or {}
    if not comp.get("available"):
        return None
    year = str(summary["time"]["stop"])
    value = (comp.get("projected") or {}).get(year)
    sim = (summary.get("milestones") or {}).get(year, {}).get("urbanization_rate")
    if value is None or sim is None:
        return None
    return TEXT[lang]["comparator"].format(year=year, value=pct(value), sim=pct(sim))


def counties_sentence(item: ReportItem, lang: str) -> str | None:
    final = item.summary["final_year"]
    rates = final.get("county_urbanization_rate") or {}
    if len(rates) < 2:
        return None
    top = max(rates, key=rates.get)
    low = min(rates, key=rates.get)
    return TEXT[lang]["counties"].format(year=final["year"], top=_county(item, top, lang), top_v=pct(rates[top]),
                                       low=_county(item, low, lang), low_v=pct(rates[low]))


def land_sentence(item: ReportItem, lang: str) -> str | None:
    final = item.summary["final_year"]
    land = final.get("land_per_urban_resident") or {}
    if not land or item.land_band is None:
        return None
    b0, b1 = item.land_band
    # judged on the figure as printed, so the sentence never calls 115.0 outside a band ending at 115
    outside = [e for e, v in land.items() if not b0 <= round(v, 1) <= b1]
    sep = "、" if lang == "zh" else ", "
    key = "land_out" if outside else "land_in"
    return TEXT[lang][key].format(year=final["year"], low=f"{min(land.values()):.1f}", high=f"{max(land.values()):.1f}",
                                b0=f"{b0:g}", b1=f"{b1:g}", names=sep.join(_county(item, e, lang) for e in outside))


def services_sentence(item: ReportItem, lang: str) -> str | None:
    final = item.summary["final_year"]
    adequacy = final.get("service_adequacy") or {}
    if not adequacy:
        return None
    low = min(adequacy, key=adequacy.get)
    return TEXT[lang]["services"].format(year=final["year"], name=_county(item, low, lang),
                                       value=f"{adequacy[low]:.2f}", n_short=sum(v < 1 for v in adequacy.values()))


def sweep_sentence(sweep: Mapping[str, Any] | None, lang: str) -> str | None:
    """The probability of each target and the 5-95% range in the last year, from a sweep summary."""
    if not sweep:
        return None
    t = TEXT[lang]
    probs = [t["sweep_prob"].format(year=x["year"], target=target_pct(x["target"]),
                                    p=probability_text(x["reached"], x["runs"]))
             for x in sorted(sweep["targets"], key=lambda x: x["year"])
             if x["indicator"] == "urbanization_rate" and x.get("probability") is not None]
    bands = sweep["urbanization_rate_percentiles"]
    i = len(bands["years"]) - 1
    return t["sweep"].format(k=len(sweep["uncertain"]), runs=sweep["runs"], seed=sweep["seed"],
                             probs=t["sweep_join"].join(probs), year=bands["years"][i],
                             p5=pct(bands["p5"][i]), p95=pct(bands["p95"][i]))


def findings(item: ReportItem, lang: str) -> list[str]:
    """The findings of one scenario, each a sentence built from its numbers."""
    makers = (
        lambda: rate_sentence(item.summary, lang),
        lambda: first_year_sentence(item.summary, lang),
        lambda: other_targets_sentence(item, lang),
        lambda: hukou_sentence(item.summary, lang),
        lambda: comparator_sentence(item.summary, lang),
        lambda: counties_sentence(item, lang),
        lambda: land_sentence(item, lang),
        lambda: services_sentence(item, lang),
        lambda: sweep_sentence(item.sweep, lang),
    )
    return [s for s in (m() for m in makers) if s]


def comparison_sentences(items: Sequence[ReportItem], lang: str) -> list[str]:
    """Which scenario leads in the last year, and which (if any) reach the last target."""
    t = TEXT[lang]
    last = str(items[0].summary["time"]["stop"])
    rates = {scenario_label(i.summary, lang): i.summary["milestones"][last]["urbanization_rate"]
             for i in items if last in i.summary.get("milestones", {})}
    if len(rates) < 2:
        return []
    best = max(rates, key=rates.get)
    worst = min(rates, key=rates.get)
    out = [t["cmp_best"].format(n=len(rates), year=last, best=best, best_v=pct(rates[best]), worst=worst,
                                worst_v=pct(rates[worst]))]
    goals = [x for x in items[0].summary["targets"] if x["indicator"] == "urbanization_rate" and str(x["year"]) == last]
    if goals:
        goal = goals[0]["target"]
        reaching = [n for n, v in rates.items() if v >= goal]
        if reaching:
            out.append(t["cmp_some"].format(year=last, target=target_pct(goal),
                                            names=("、" if lang == "zh" else ", ").join(reaching)))
        else:
            out.append(t["cmp_none"].format(year=last, target=target_pct(goal), best=best,
                                            gap=pp(goal - rates[best])))
    return out
