"""charts.py: the memo chart renders Chinese text with the bundled font, no warnings."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from simulator.charts import cjk_font_path, urbanization_chart

TARGETS = [
    {"indicator": "urbanization_rate", "year": 2025, "value": 0.55},
    {"indicator": "urbanization_rate", "year": 2035, "value": 0.70},
]


def frame():
    years = np.arange(2020, 2036)
    return pd.DataFrame({
        "time": years,
        "urbanization_rate": np.linspace(0.4477, 0.66, len(years)),
        "hukou_urbanization_rate": np.linspace(0.30, 0.45, len(years)),
    })


def test_font_is_bundled():
    assert cjk_font_path().name == "NotoSansCJKsc-Regular.otf"
    assert cjk_font_path().is_file()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_chart_renders_without_warnings(tmp_path, lang):
    out = tmp_path / "charts" / "u.png"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing CJK glyph would be a UserWarning
        urbanization_chart(frame(), TARGETS, out, title="平凉市城镇化率 — 基线情景",
                           lang=lang, source_line="情景 baseline · 模型 sha256 0123456789ab")
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.image as mpimg

    img = mpimg.imread(out)
    assert img.shape[0] == 1000 and img.shape[1] == 1600  # 8x5 in at 200 dpi


def test_chart_accepts_evaluated_targets(tmp_path):
    evaluated = [{"indicator": "urbanization_rate", "year": 2025, "target": 0.55,
                  "value": 0.52, "reached": False}]
    out = urbanization_chart(frame(), evaluated, tmp_path / "c.png", title="t",
                             source_line="s")
    assert out.is_file()


def test_chart_without_hukou_column(tmp_path):
    f = frame().drop(columns=["hukou_urbanization_rate"])
    assert urbanization_chart(f, [], tmp_path / "c.png", title="t", source_line="s").is_file()


def test_chart_rejects_unknown_lang(tmp_path):
    with pytest.raises(ValueError):
        urbanization_chart(frame(), TARGETS, tmp_path / "c.png", title="t", lang="fr",
                           source_line="s")
