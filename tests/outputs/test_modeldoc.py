"""docs/model.md is generated from the model file; the `loops:` section is validated; `urbsd docs`."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
from conftest import element, replaced

from simulator.bundled import bundled_model_path
from simulator.cli import main
from simulator.engine.load import load_model
from simulator.errors import InputError
from simulator.outputs.modeldoc import model_markdown

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "docs" / "model.md"


def small() -> dict:
    """Two person stocks, a flow between them, one from and one to the boundary, and two loops."""
    return {
        "doc": "A toy | model\nover two lines.",
        "version": "1.0",
        "constants": {
            "a0": element(value=1000, unit="person", source="estimate: round number", doc="Initial a."),
            "births_per_person": element(value=0.01, unit="1/year", bounds=[0, 0.1], lever=True,
                                         label={"zh": "出生率", "en": "Birth rate"}),
            "move_rate": element(value=0.05, unit="1/year"),
            "death_rate": element(value=0.02, unit="1/year"),
        },
        "lookups": {"pull": element(x=[0, 0.5, 1], y=[1.5, 1, 0.2], unit="dimensionless")},
        "stocks": {
            "rural": element(initial="a0", inflows=["births"], outflows=["moving"], unit="person",
                             label={"zh": "农村", "en": "Rural"}, source="estimate: toy"),
            "urban": element(initial=0, inflows=["moving"], outflows=["deaths"], unit="person",
                             label={"zh": "城镇", "en": "Urban \"town\""}),
        },
        "flows": {
            "births": element(equation="births_per_person * rural", unit="person/year"),
            "moving": element(equation="move_rate * rural * pull(urban_share)", unit="person/year",
                              doc="Rural people moving to town."),
            "deaths": element(equation="death_rate * urban", unit="person/year"),
        },
        "auxiliaries": {
            "urban_share": element(equation="urban / (rural + urban)", unit="dimensionless",
                                   label={"zh": "城镇化率", "en": "Urban share"}),
        },
        "loops": [
            {"name": "B1", "polarity": "-", "label": {"zh": "城镇拥挤", "en": "Urban crowding"},
             "elements": ["moving", "urban", "urban_share"], "doc": "More town people, less pull."},
            {"name": "B2", "polarity": "balancing", "label": {"zh": "农村流失", "en": "Rural drain"},
             "elements": ["rural", "moving", "rural"]},
            {"name": "R1", "polarity": "+", "label": {"zh": "人口增长", "en": "Growth"},
             "elements": ["rural", "births"]},
        ],
    }


def with_(path: str, value) -> dict:
    return replaced(small(), path, value)


# ----------------------------------------------------------------------------- the committed file


def test_committed_docs_model_md_is_what_the_current_model_generates():
    spec = load_model(bundled_model_path())
    assert COMMITTED.is_file(), "docs/model.md is missing: run `urbsd docs`"
    assert COMMITTED.read_text(encoding="utf-8") == model_markdown(spec), (
        "docs/model.md is out of date with models/pingliang.yaml: run `urbsd docs` and commit it"
    )


def test_generated_pingliang_docs_cover_every_element_and_equation():
    spec = load_model(bundled_model_path())
    text = model_markdown(spec)
    assert f"| sha256 | `{spec.sha256}` |" in text
    for name in spec.all_names():
        assert f'<a id="{name}"></a>' in text, name
    for name, el in {**spec.flows, **spec.auxiliaries}.items():
        if isinstance(el.equation, str):
            assert f"- equation: `{' '.join(el.equation.split())}`" in text, name
    for name in spec.stocks:
        assert f'S_{name}["' in text, name


def test_the_notes_rates_are_the_baseline_run():
    """models/pingliang.notes.md quotes the baseline's rates and populations; they must still be
    what the bundled baseline gives (to the notes' rounding), or the notes are stale."""
    import simulator

    notes = (REPO / "models" / "pingliang.notes.md").read_text(encoding="utf-8")
    frame = simulator.run(simulator.load()).set_index("time")
    rows = re.findall(r"^\| (20\d\d) resident (urbanization rate|population) \| [^|]+ \| ([\d.]+)(%|万) \|",
                      notes, flags=re.M)
    assert len(rows) >= 6
    for year, what, value, unit in rows:
        if what == "urbanization rate":
            assert float(value) == pytest.approx(100 * frame["urbanization_rate"][int(year)], abs=0.005), year
        else:
            assert float(value) == pytest.approx(frame["resident_population"][int(year)] / 1e4, abs=0.005), year


# ----------------------------------------------------------------------------- generation


def test_header_names_model_hash_and_time(write_model):
    spec = load_model(write_model(small()))
    text = model_markdown(spec)
    assert text.startswith("# Model `toy`\n")
    assert f"| sha256 | `{spec.sha256}` |" in text
    assert "| model file | `model.yaml` |" in text  # no machine-specific folder
    assert "| time | 0 to 10 (years); dt 0.25 year; saved every 1 year |" in text
    assert "| version | 1.0 |" in text
    assert "A toy \\| model over two lines." in text  # one line, pipe escaped
    assert "Policy levers (constants that scenario files usually set): [`births_per_person`](#births_per_person)." in text


def test_mermaid_diagram_has_stocks_flows_and_clouds(write_model):
    text = model_markdown(load_model(write_model(small())))
    block = re.search(r"```mermaid\n(.*?)```", text, re.S).group(1)
    lines = block.splitlines()
    assert lines[0] == "flowchart LR"
    assert '  S_rural["农村<br/>rural"]' in lines
    assert '  S_urban["城镇<br/>urban"]' in lines
    assert '  S_rural -->|"moving<br/>测试"| S_urban' in lines
    # births come from a cloud, deaths go to one; each boundary flow has its own cloud
    assert re.search(r'^  (C\d+) -->\|"births<br/>测试"\| S_rural$', block, re.M)
    assert re.search(r'^  S_urban -->\|"deaths<br/>测试"\| (C\d+)$', block, re.M)
    clouds = re.findall(r'^  (C\d+)\(\("☁"\)\)$', block, re.M)
    assert clouds == ["C1", "C2"]
    assert block.count("-->") == 3


def test_mermaid_labels_escape_quotes(write_model):
    model = with_("stocks.urban.label", {"zh": '城"镇', "en": "Urban"})
    text = model_markdown(load_model(write_model(model)))
    assert 'S_urban["城#quot;镇<br/>urban"]' in text


def test_loops_are_described_in_words(write_model):
    text = model_markdown(load_model(write_model(small())))
    assert "### B1: 城镇拥挤 / Urban crowding" in text
    assert ("*balancing (−)*: [`moving`](#moving) → [`urban`](#urban) → [`urban_share`](#urban_share) → "
            "[`moving`](#moving)") in text
    assert "More town people, less pull." in text
    assert "*balancing (−)*: [`rural`](#rural) → [`moving`](#moving) → [`rural`](#rural)" in text
    assert "### R1: 人口增长 / Growth" in text and "*reinforcing (+)*" in text
    assert "3. [`urban_share`](#urban_share) 城镇化率 / Urban share" in text


def test_no_loops_is_said_honestly(write_model):
    text = model_markdown(load_model(write_model(with_("loops", []))))
    section = text.split("## Feedback loops", 1)[1].split("\n## ", 1)[0]
    assert "declares no feedback loops yet" in section
    assert "###" not in section


def test_every_element_has_an_entry_a_vensim_user_can_follow(write_model):
    text = model_markdown(load_model(write_model(small())))
    assert "- d/dt = [`births`](#births) − [`moving`](#moving)" in text
    assert "- initial: `a0`" in text
    assert "- Vensim: `INTEG(births - moving, a0)`" in text
    assert "- Vensim: `INTEG(moving - deaths, 0)`" in text
    assert "- equation: `move_rate * rural * pull(urban_share)`" in text
    assert "- from [`rural`](#rural) to [`urban`](#urban)" in text
    assert "- from outside the model (cloud) to [`rural`](#rural)" in text
    assert "- points (x, y): (0, 1.5), (0.5, 1), (1, 0.2)" in text
    assert "- value: 0.01\n- bounds [0, 0.1] · **policy lever**" in text
    assert "- value: 1000\n" in text
    assert "- uses: [`move_rate`](#move_rate), [`pull`](#pull), [`rural`](#rural), [`urban_share`](#urban_share)" in text
    assert "- used by: [`moving`](#moving)" in text
    assert "- doc: Rural people moving to town." in text
    assert "- source: estimate: round number" in text
    assert "#### `urban` — 城镇 / Urban \"town\"" in text
    assert "| `sum(x, [dim])` | `SUM(x[dim!])` |" in text  # the guide reads the table of built-ins
    for heading in ("## Stocks", "## Flows", "## Auxiliaries", "## Lookups (graphical functions)", "## Constants"):
        assert heading in text


def test_subscripted_constants_list_every_element_and_sector_headings_group_entries(write_model, tmp_path):
    model = copy.deepcopy(small())
    model["dimensions"] = {"county": {"elements": ["x", "y"], "labels": {"x": {"zh": "甲", "en": "X"}}}}
    model["constants"]["weights"] = element(dims=["county"], value={"x": 0.25, "y": 3})
    path = write_model(model)
    # a '# ---- heading' comment in the file groups the entries that follow it
    text = path.read_text(encoding="utf-8").replace("  move_rate:", "  # ---------- migration (迁移)\n  move_rate:")
    path.write_text(text, encoding="utf-8")
    doc = model_markdown(load_model(path))
    assert "- value: x 甲: 0.25; y: 3" in doc
    consts = doc.split("## Constants", 1)[1]
    assert consts.index("### migration (迁移)") < consts.index('<a id="move_rate">')
    assert consts.index('<a id="births_per_person">') < consts.index("### migration (迁移)")


def test_docs_are_grouped_by_sector_when_the_model_names_sectors(write_model):
    model = copy.deepcopy(small())
    for table in ("stocks", "flows", "auxiliaries", "lookups", "constants"):
        for name, el in model[table].items():
            el["sector"] = "town" if name in ("urban", "deaths", "urban_share", "pull") else "village"
    model["constants"]["a0"].pop("sector")
    doc = model_markdown(load_model(write_model(model)))
    village, town, other = doc.index("## Sector `village`"), doc.index("## Sector `town`"), doc.index(
        "## Elements without a sector")
    assert village < town < other
    assert doc.index('<a id="rural">') < town < doc.index('<a id="urban">') < other < doc.index('<a id="a0">')
    assert "### Stocks" in doc[village:town] and "### Lookups (graphical functions)" in doc[town:other]
    assert "- unit: `person` · dims: - · sector: village" in doc
    assert '  subgraph sector_village["village"]\n    S_rural["农村<br/>rural"]\n  end' in doc
    assert "\n## Stocks\n" not in doc  # no kind sections outside the sectors


def test_per_element_equations_and_nested_values_are_listed():
    from simulator.engine.load import load_model as load

    doc = model_markdown(load(REPO / "tests" / "data" / "county_age.yaml"))
    assert "- equation: `rural / age_group_width`\n- at old: `0`" in doc
    assert "- at east, old: `0.5 * rural[east, old] * migration_rate * perceived_pull[east, old]`" in doc
    assert "- value: {north: [3000, 9000, 2000]; south: {young: 2500; working: 7000; old: 2600}; " in doc
    assert "- value: [1500, 6000, 900] (given over age, the same for every other element)" in doc
    assert "S_rural[\"农村人口<br/>rural [county, age]\"]" in doc


# ----------------------------------------------------------------------------- loops: validation


@pytest.mark.parametrize("path,value,field,pattern", [
    ("loops.0.elements", ["moving", "urbn", "urban_share"], "loops.B1.elements", r"unknown element 'urbn' \(did you mean 'urban'\?\)"),
    ("loops.0.elements", ["moving", "urban", "move_rate"], "loops.B1.elements", r"'move_rate' is a constant"),
    ("loops.0.elements", ["moving", "urban_share", "urban"], "loops.B1.elements",
     r"'moving' is not used in the equation of 'urban_share', so the loop is broken"),
    ("loops.0.elements", ["urban", "moving", "urban_share"], "loops.B1.elements",
     r"'urban' is not used in the equation of 'moving'"),
    ("loops.2.elements", ["births", "urban"], "loops.R1.elements", r"'births' is not an inflow or outflow of 'urban'"),
    ("loops.1.elements", ["rural", "deaths"], "loops.B2.elements", r"'rural' is not used in the equation of 'deaths'"),
    ("loops.1.elements", ["rural", "moving", "moving"], "loops.B2.elements", r"appears twice"),
    ("loops.1.name", "B1", "loops.1.name", r"a loop named 'B1' is declared twice"),
    ("loops.1.polarity", "positive", "loops.1.polarity", r"Input should be '\+', '-', 'reinforcing' or 'balancing'"),
    ("loops.1.elements", ["rural"], "loops.1.elements", r"at least 2 items"),
    ("loops.1.label", None, "loops.1.label", r"required field is missing"),
    ("loops.1.sign", "+", "loops.1.sign", r"unknown field"),
])
def test_bad_loops_are_one_line_errors(write_model, path, value, field, pattern):
    with pytest.raises(InputError) as info:
        load_model(write_model(with_(path, value)))
    err = info.value
    assert err.field == field, str(err)
    assert re.search(pattern, err.reason), err.reason
    assert "\n" not in str(err)


def test_loop_polarity_words_and_signs(write_model):
    spec = load_model(write_model(small()))
    assert [loop.reinforcing for loop in spec.loops] == [False, False, True]


# ----------------------------------------------------------------------------- urbsd docs


def test_urbsd_docs_writes_the_generated_file(write_model, tmp_path, capsys):
    path = write_model(small())
    out = tmp_path / "out" / "model.md"
    assert main(["docs", "--model", str(path), "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == model_markdown(load_model(path))
    said = capsys.readouterr().out
    assert said.startswith(f"wrote {out} (model toy sha256 ") and "3 feedback loop(s)" in said


def test_urbsd_docs_bad_model_is_one_line_and_writes_nothing(write_model, tmp_path, capsys):
    path = write_model(with_("flows.deaths.unit", "person"))
    out = tmp_path / "model.md"
    assert main(["docs", "--model", str(path), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "flows.deaths.unit: unit mismatch" in err
    assert not out.exists()
    assert main(["docs", "--model", str(tmp_path / "missing.yaml"), "-o", str(out)]) == 2
    assert "--model: no such file" in capsys.readouterr().err
    assert main(["docs", "--model", str(path), "-o", str(tmp_path)]) == 2
    assert "-o: is a folder" in capsys.readouterr().err
    assert not out.exists()
