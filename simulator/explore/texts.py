"""The page's own words, in Chinese and English (the model's labels come from the model file).

The page picks `TEXT[key][lang]` and fills `{name}` placeholders itself; the same strings
decide which characters the page's CJK font subset holds (`page_characters`).
"""

from __future__ import annotations

import string
from collections.abc import Iterable

TEXT: dict[str, dict[str, str]] = {
    "title": {"zh": "城镇化情景探索", "en": "Urbanization scenario explorer"},
    "levers": {"zh": "政策杠杆", "en": "Policy levers"},
    "reset": {"zh": "恢复", "en": "Reset"},
    "reset_all": {"zh": "全部恢复为情景值", "en": "Reset all to the scenario"},
    "start": {"zh": "起点（{year}年）", "en": "Start ({year})"},
    "end": {"zh": "终点（{year}年）", "en": "End ({year})"},
    "scenario_value": {"zh": "情景值 {value}", "en": "scenario value {value}"},
    "changed": {"zh": "已改变 {n} 个杠杆", "en": "{n} lever(s) changed"},
    "unchanged": {"zh": "与情景相同", "en": "as in the scenario"},
    "paths": {"zh": "常住人口与户籍人口城镇化率", "en": "Resident and hukou urbanization rates"},
    "published": {"zh": "{label}（公布值）", "en": "{label} (published)"},
    "target": {"zh": "规划目标", "en": "Plan target"},
    "target_label": {"zh": "{year}年目标 {value}%", "en": "{year} target {value}%"},
    "year": {"zh": "年份", "en": "Year"},
    "rate_axis": {"zh": "城镇化率（%）", "en": "Urbanization rate (%)"},
    "figures": {"zh": "目标与差距", "en": "Targets and gaps"},
    "indicator": {"zh": "指标", "en": "Indicator"},
    "target_value": {"zh": "目标", "en": "Target"},
    "value": {"zh": "模拟值", "en": "Value"},
    "gap": {"zh": "差距（百分点）", "en": "Gap (pp)"},
    "reached": {"zh": "是否达到", "en": "Reached"},
    "first_year": {"zh": "首次达到", "en": "First reached"},
    "probability": {"zh": "达到概率", "en": "Probability"},
    "yes": {"zh": "达到", "en": "yes"},
    "no": {"zh": "未达到", "en": "no"},
    "not_by": {"zh": "{year}年前未达到", "en": "not by {year}"},
    "year_value": {"zh": "{year}年", "en": "{year}"},
    "band": {"zh": "显示不确定性区间（蒙特卡洛 {runs} 次）", "en": "Show the uncertainty band ({runs} Monte Carlo runs)"},
    "percentile": {"zh": "{p}%分位数", "en": "{p}th percentile"},
    "band_busy": {"zh": "正在计算蒙特卡洛区间……", "en": "Computing the Monte Carlo band…"},
    "band_done": {"zh": "蒙特卡洛：{runs} 次运行，随机种子 {seed}，抽样 {k} 个不确定参数（情景的 uncertain:），用时 {ms} 毫秒",
                  "en": "Monte Carlo: {runs} runs, seed {seed}, {k} uncertain constants sampled (the scenario's "
                        "uncertain:), {ms} ms"},
    "band_none": {"zh": "此情景没有 uncertain: 参数，无法计算区间", "en": "This scenario has no uncertain: constants"},
    "counties": {"zh": "各县（市、区）常住人口城镇化率", "en": "Resident urbanization rate by county"},
    "history": {"zh": "历史数据点（data/observed.csv）", "en": "History points (data/observed.csv)"},
    "pins": {"zh": "固定与比较", "en": "Pin and compare"},
    "pin_name": {"zh": "名称", "en": "Name"},
    "pin": {"zh": "固定当前设置", "en": "Pin these settings"},
    "pin_default": {"zh": "设置{n}", "en": "Setting {n}"},
    "current": {"zh": "当前设置", "en": "Current settings"},
    "apply": {"zh": "用这组设置", "en": "Use"},
    "remove": {"zh": "删除", "en": "Remove"},
    "no_pins": {"zh": "尚未固定任何设置：固定后可与当前设置并列比较。",
                "en": "Nothing pinned yet: pinned settings are shown side by side with the current ones."},
    "save": {"zh": "保存为情景文件", "en": "Save as a scenario file"},
    "save_name": {"zh": "文件名（字母、数字、-、_）", "en": "File name (letters, digits, -, _)"},
    "save_label": {"zh": "情景名称", "en": "Scenario label"},
    "save_button": {"zh": "保存 YAML", "en": "Save YAML"},
    "saved": {"zh": "已保存 {file}（情景 sha256 {sha}）。运行 urbsd run {file} 可重现这些结果。",
              "en": "Saved {file} (scenario sha256 {sha}). `urbsd run {file}` reproduces these numbers."},
    "provenance": {"zh": "模型 {model}（sha256 {msha}）· 情景 {scenario}（sha256 {ssha}）",
                   "en": "model {model} (sha256 {msha}) · scenario {scenario} (sha256 {ssha})"},
    "timing": {"zh": "运行并重绘用时 {ms} 毫秒", "en": "run and redraw took {ms} ms"},
    "error": {"zh": "错误：{message}", "en": "Error: {message}"},
    "loading": {"zh": "正在载入……", "en": "Loading…"},
    "lang_zh": {"zh": "中文", "en": "中文"},
    "lang_en": {"zh": "English", "en": "English"},
}

#: characters every page may show besides its words: ASCII, digits and the punctuation of numbers
EXTRA = string.printable.strip() + " –—…·×≥≤±%‰²³（）：，、。；！？“”‘’《》【】—"


def page_characters(more: Iterable[str] = ()) -> str:
    """Every character of the page's words, both languages, plus `more` (e.g. the model's labels)."""
    chars = set(EXTRA)
    for entry in TEXT.values():
        for text in entry.values():
            chars.update(text)
    for text in more:
        chars.update(str(text))
    return "".join(sorted(chars - set("\r\n\t\x0b\x0c")))
