"""The page's settings saved as a scenario file that `urbsd run` reproduces exactly.

The file extends the scenario the page was started with and sets only the levers moved on
the page, so it is short and says what changed; its `uncertain:` and `targets:` are the
parent's. A bundled parent is named (`extends: baseline`, found on any machine with
urbsd, unless a `baseline.yaml` sits beside the saved file), any other by its absolute
path. Before the text is handed to the browser it is written to a temporary folder and
loaded back with the scenario loader, and run: its resolved-scenario sha256 is the one
`urbsd run` will print, and its numbers must equal the page's to the bit, or the save is
refused. The name and label typed on the page go into YAML values only (PyYAML's
`safe_dump` quotes them), never into comments or the file name unchecked.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulator.bundled import scenarios_dir
from simulator.errors import InputError
from simulator.explore.levers import REQUEST

#: a saved scenario's name: it is also its file name (letters, digits, '-', '_')
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
#: the longest label accepted
LABEL_MAX = 100


@dataclass(frozen=True)
class Saved:
    """A saved scenario: the file's text, its file name, and its resolved-scenario sha256."""

    text: str
    filename: str
    sha256: str

    def as_dict(self) -> dict[str, str]:
        """The JSON the page receives."""
        return {"yaml": self.text, "filename": self.filename, "sha256": self.sha256}


def check_name(name: Any) -> str:
    """The scenario name (and file stem), or an InputError."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise InputError(REQUEST, "name", "use 1-64 letters, digits, '-' or '_', starting with a letter or digit")
    return name


def check_label(label: Any, name: str) -> str:
    """The label (any text of one line, at most LABEL_MAX characters); the name if empty."""
    if label is None or label == "":
        return name
    if not isinstance(label, str):
        raise InputError(REQUEST, "label", "expected text")
    if len(label) > LABEL_MAX or any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 or c in "\u2028\u2029" for c in label):
        raise InputError(REQUEST, "label", f"one line of at most {LABEL_MAX} characters, without control characters")
    return label.strip() or name


def parent_reference(base: Any) -> str:
    """How the saved file names its parent: the bundled stem, or the absolute path."""
    path = Path(base.path).resolve()
    bundled = scenarios_dir().resolve()
    if path.parent == bundled and path.suffix == ".yaml":
        return path.stem
    return str(path)


def scenario_text(base: Any, raw: dict[str, Any], name: str, label: str) -> str:
    """The YAML of a scenario that extends `base` and sets `raw` (scenario-file values)."""
    import yaml

    changed = ", ".join(raw) if raw else "none"
    data: dict[str, Any] = {
        "name": name,
        "label": {"zh": label, "en": label},
        "extends": parent_reference(base),
        "doc": (f"Saved by urbsd explore from scenario {base.name!r} (file {Path(base.path).name}, resolved "
                f"sha256 {base.sha256[:12]}, model {base.spec.name} sha256 {base.spec.sha256[:12]}). "
                f"Levers changed on the page: {changed}."),
    }
    if raw:
        data["set"] = {k: ({int(y): v for y, v in value.items()} if isinstance(value, dict) else value)
                       for k, value in raw.items()}
    header = ("# A scenario saved by `urbsd explore`: the parent scenario (extends) with the levers moved on the\n"
              "# page. `urbsd run THIS_FILE` reproduces the page's numbers and prints the same scenario sha256.\n")
    return header + yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)


def save_settings(base: Any, raw: dict[str, Any], name: Any, label: Any,
                  answer: dict[str, Any], run: Any) -> Saved:
    """The scenario file of the page's settings, checked by loading and running it.

    `answer` is what the page shows for these settings; `run(scenario)` computes the same
    answer for a loaded scenario. A mismatch (which would be a bug) is refused.
    """
    from simulator.scenario.resolve import load_scenario

    name = check_name(name)
    label = check_label(label, name)
    text = scenario_text(base, raw, name, label)
    with tempfile.TemporaryDirectory(prefix="urbsd-explore-") as folder:
        path = Path(folder) / f"{name}.yaml"
        path.write_text(text, encoding="utf-8")
        loaded = load_scenario(path)
    if run(loaded) != answer:
        raise RuntimeError("the saved scenario does not reproduce the page's numbers")
    return Saved(text=text, filename=f"{name}.yaml", sha256=loaded.sha256)
