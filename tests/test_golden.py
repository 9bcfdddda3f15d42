"""The bundled baseline's outputs, byte for byte: a refactoring must not move a number.

`urbsd run` on the bundled baseline must write exactly the `timeseries.csv` stored in
tests/golden/baseline_timeseries.csv, and a `summary.json` equal (every hash, string and
key) to tests/golden/baseline_summary.json, less the fields that depend on the machine
(absolute paths, package version). Its floats agree to 1e-13 relative, not to the bit: the
UN comparator goes through numpy's exp/log and OpenBLAS's least squares, which pick their
code by processor (an AMD EPYC and an Intel Xeon differ in the last bit of some projected
shares); a change a refactoring could make moves a number by far more than that.

When the model, the baseline scenario or the summary format changes ON PURPOSE,
regenerate the golden files and commit them with a word on why the numbers moved:

    python tests/golden/regenerate.py
    git diff --stat tests/golden
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent / "golden"


def _regenerate_module():
    spec = importlib.util.spec_from_file_location("golden_regenerate", GOLDEN / "regenerate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_baseline_outputs_match_golden(tmp_path: Path, capsys) -> None:
    regen = _regenerate_module()
    folder = regen.run_baseline(tmp_path)
    capsys.readouterr()

    csv = (folder / "timeseries.csv").read_bytes()
    assert csv == regen.TIMESERIES.read_bytes(), "timeseries.csv differs from tests/golden"

    summary = regen.stable_summary(json.loads((folder / "summary.json").read_text(encoding="utf-8")))
    golden = json.loads(regen.SUMMARY.read_text(encoding="utf-8"))
    assert _differences(summary, golden) == [], "summary.json differs from tests/golden"


#: relative tolerance of the summary's floats (see the module doc)
FLOAT_RTOL = 1e-13


def _differences(got: object, want: object, where: str = "") -> list[str]:
    """Where `got` and `want` differ: a key, a length, a type, a string or integer, or a float
    by more than FLOAT_RTOL relative."""
    if isinstance(want, dict) and isinstance(got, dict):
        if got.keys() != want.keys():
            return [f"{where}: keys {sorted(got.keys() ^ want.keys())}"]
        return [d for k in want for d in _differences(got[k], want[k], f"{where}/{k}")]
    if isinstance(want, list) and isinstance(got, list):
        if len(got) != len(want):
            return [f"{where}: {len(got)} items, golden {len(want)}"]
        return [d for i, (g, w) in enumerate(zip(got, want)) for d in _differences(g, w, f"{where}[{i}]")]
    if type(got) is float and type(want) is float:
        same = math.isclose(got, want, rel_tol=FLOAT_RTOL, abs_tol=0.0) or (math.isnan(got) and math.isnan(want))
        return [] if same else [f"{where}: {got!r}, golden {want!r}"]
    return [] if type(got) is type(want) and got == want else [f"{where}: {got!r}, golden {want!r}"]


def test_the_golden_comparison_tolerates_the_last_bit_only() -> None:
    golden = {"a": [0.5412326906620735, 3, "x"], "b": {"c": None}}
    assert _differences({"a": [0.5412326906620736, 3, "x"], "b": {"c": None}}, golden) == []
    assert _differences({"a": [0.54123269066, 3, "x"], "b": {"c": None}}, golden) == [
        "/a[0]: 0.54123269066, golden 0.5412326906620735"]
    assert _differences({"a": [0.5412326906620735, 3.0, "x"], "b": {"c": None}}, golden) != []
    assert _differences({"a": [0.5412326906620735, 3, "y"], "b": {}}, golden) != []
