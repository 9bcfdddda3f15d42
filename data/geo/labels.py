"""Write data/geo/labels.json: where the memo maps put each county's label (geo.interior_point),
searched once here instead of in every process that draws a map. Run by hand after the outlines
change (tests/outputs/test_geo.py fails until then):

    python data/geo/labels.py
"""

from __future__ import annotations

import json
from pathlib import Path

from simulator.outputs.geo import LABELS_FILE, label_table

HERE = Path(__file__).resolve().parent

if __name__ == "__main__":
    table = label_table(HERE)
    (HERE / LABELS_FILE).write_text(json.dumps(table, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {len(table)} label points to {HERE / LABELS_FILE}")
