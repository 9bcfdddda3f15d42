"""The bundled baseline's outputs, byte for byte: a refactoring must not move a number.

`urbsd run` on the bundled baseline must write exactly the `timeseries.csv` stored in
tests/golden/baseline_timeseries.csv, and a `summary.json` equal (every number, hash and
string; `==` on floats, no tolerance) to tests/golden/baseline_summary.json, less the
fields that depend on the machine (absolute paths, package version).

When the model, the baseline scenario or the summary format changes ON PURPOSE,
regenerate the golden files and commit them with a word on why the numbers moved:

    python tests/golden/regenerate.py
    git diff --stat tests/golden
"""

from __future__ import annotations

import importlib.util
import json
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
    assert summary == golden, "summary.json differs from tests/golden"
