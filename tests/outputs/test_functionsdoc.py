"""docs/functions.md is generated from the table of built-in functions; `urbsd docs --functions`
and `urbsd docs --generated` write what they say."""

from __future__ import annotations

import ast
from pathlib import Path

from simulator.cli import main
from simulator.engine.functions import BUILTINS_TABLE
from simulator.outputs.functionsdoc import functions_markdown, vensim_form, xmile_form

REPO = Path(__file__).resolve().parents[2]


def test_committed_docs_functions_md_is_what_the_table_generates():
    committed = REPO / "docs" / "functions.md"
    assert committed.read_text(encoding="utf-8") == functions_markdown(), (
        "docs/functions.md is out of date with simulator/engine/functions.py: run `urbsd docs --functions`"
    )


def test_every_function_is_documented_with_its_translations():
    text = functions_markdown()
    for b in BUILTINS_TABLE:
        assert f"## `{b.signature}`" in text
        assert b.meaning in text
    assert "| `sum(x, [dim])` | `SUM(x[dim!])` | `SUM(x[*])` |" in text
    assert vensim_form(next(b for b in BUILTINS_TABLE if b.name == "ramp")) == "RAMP(slope, t_start, t_end)"
    assert xmile_form(next(b for b in BUILTINS_TABLE if b.name == "ramp")) == "(RAMP(slope, t_start) - RAMP(slope, t_end))"
    # the hidden stocks of smooth and delay3, as a Vensim user would draw them
    assert "__smooth_owner = INTEG(__smooth_owner_change, __smooth_owner_in)" in text
    assert "__delay3_owner_3 = INTEG(outflow_2 - outflow_3, __delay3_owner_in * __delay3_owner_time / 3)" in text


def test_docs_functions_and_generated_commands(tmp_path, capsys):
    out = tmp_path / "functions.md"
    assert main(["docs", "--functions", "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == functions_markdown()
    code = tmp_path / "model.py"
    assert main(["docs", "--generated", "-o", str(code)]) == 0
    text = code.read_text(encoding="utf-8")
    ast.parse(text)  # valid Python
    lines = text.splitlines()
    # every assignment line is preceded by the comment naming its element and equation
    for i, line in enumerate(lines):
        if line.startswith("    v_") and " = C[" not in line and " = S[" not in line:
            assert lines[i - 1].lstrip().startswith("#"), line
    assert "    # urbanization_rate: urban_population / resident_population" in lines
    assert "    # __smooth_perceived_town_attractiveness_in[county] (input of smooth in " \
           "'perceived_town_attractiveness': town_attractiveness)" in lines
    for section in ("initial values", "rates", "outputs"):
        assert any(line.strip().startswith("# ====") and line.endswith(section) for line in lines), section
    assert main(["docs", "--generated"]) == 0
    assert capsys.readouterr().out.count("def rates(t, C, S, dt=0.0, side=0):") == 1
