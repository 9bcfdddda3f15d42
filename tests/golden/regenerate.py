"""Regenerate the golden files of tests/test_golden.py from the bundled baseline.

Run this ONLY when the model, the baseline scenario or the summary format changes on
purpose (never to make a failing golden test pass by accident):

    python tests/golden/regenerate.py

It runs `urbsd run` on the bundled baseline into a temporary folder and stores its
`timeseries.csv` byte for byte and its `summary.json` without the fields that depend on
where and when it ran (see `stable_summary`). Review the diff (`git diff tests/golden`)
and say in the commit why the numbers changed.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TIMESERIES = HERE / "baseline_timeseries.csv"
SUMMARY = HERE / "baseline_summary.json"


def stable_summary(summary: dict) -> dict:
    """summary.json less what varies between machines and releases: absolute paths and the
    package version. Everything else (hashes, targets, every number) must stay exactly equal."""
    out = json.loads(json.dumps(summary))
    out["scenario"].pop("path", None)
    out["model"].pop("path", None)
    out.pop("package_version", None)
    out.get("comparator", {}).pop("history_file", None)
    return out


def run_baseline(out: Path) -> Path:
    """`urbsd run --out OUT` on the bundled baseline; the folder of its outputs."""
    from simulator.cli import main

    status = main(["run", "--out", str(out)])
    if status != 0:
        raise RuntimeError(f"urbsd run exited with status {status}")
    return out / "baseline"


def main() -> None:
    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory() as tmp:
        folder = run_baseline(Path(tmp))
        TIMESERIES.write_bytes((folder / "timeseries.csv").read_bytes())
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        SUMMARY.write_text(json.dumps(stable_summary(summary), ensure_ascii=False, indent=2) + "\n",
                           encoding="utf-8")
    print(f"wrote {TIMESERIES.relative_to(ROOT)} and {SUMMARY.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
