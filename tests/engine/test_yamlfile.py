"""read_yaml on hostile files: bounded reading, alias bombs and recursive aliases refused fast,
one short line for every failure."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from simulator.engine import yamlfile
from simulator.engine.yamlfile import expanded_size, read_yaml
from simulator.errors import InputError


def _bomb(levels: int) -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def _error(tmp_path, text: str | bytes) -> InputError:
    path = tmp_path / "f.yaml"
    (path.write_bytes if isinstance(text, bytes) else path.write_text)(text)
    with pytest.raises(InputError) as info:
        read_yaml(path, "f.yaml", "scenario file")
    return info.value


def test_an_alias_bomb_is_refused_fast(tmp_path):
    t0 = time.perf_counter()
    err = _error(tmp_path, _bomb(12))  # 10^12 values once expanded
    assert time.perf_counter() - t0 < 2
    assert "expands (through aliases)" in err.reason and len(str(err)) < 300


def test_shared_aliases_within_the_budget_are_read(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text(_bomb(4) + "b: {x: &v [1, 2]}\nc: *v\n")
    data, _ = read_yaml(path, "ok.yaml", "scenario file")
    assert len(data["a3"]) == 10 and data["c"] == [1, 2]


def test_a_bomb_of_long_strings_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(yamlfile, "MAX_EXPANDED_CHARS", 10_000)
    text = "s: &s " + "y" * 2000 + "\nl: [" + ", ".join(["*s"] * 10) + "]\n"
    assert "expands (through aliases)" in _error(tmp_path, text).reason  # 11 nodes, 22,000 characters


@pytest.mark.parametrize("text, words", [
    ("a: &a [*a]\n", "recursive alias"),
    ("a: &a {b: *a}\n", "recursive alias"),
    ("x: " + "9" * 5000 + "\n", "4300 digits"),
    ("[" * 5000 + "]" * 5000, "malformed YAML"),
    ("a: 1\na: 2\n", "given twice"),
    (b"a: \xff\n", "not UTF-8"),
    ("a: b\x00c\n", "NUL"),
])
def test_hostile_documents_give_one_short_line(tmp_path, text, words):
    err = _error(tmp_path, text)
    assert words in str(err) and "\n" not in str(err) and len(str(err)) < 300


def test_files_too_large_or_not_regular_are_refused_without_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(yamlfile, "MAX_FILE_BYTES", 1000)
    assert "at most 1,000" in _error(tmp_path, "# " + "x" * 2000).reason
    fifo = tmp_path / "p.yaml"
    os.mkfifo(fifo)
    t0 = time.perf_counter()
    with pytest.raises(InputError, match="not a regular file"):
        read_yaml(fifo, "p.yaml", "scenario file")  # a FIFO with no writer would block a plain read
    assert time.perf_counter() - t0 < 2
    with pytest.raises(InputError, match="not a regular file"):
        read_yaml(Path("/dev/zero"), "/dev/zero", "model file")


def test_expanded_size_counts_every_copy():
    import yaml

    node = yaml.compose(_bomb(3), Loader=yaml.SafeLoader)
    nodes, chars = expanded_size(node)
    assert chars == 10 * 10 * 10 + 10 * 10 + 10 + 3 * 2  # scalars a0..a2 + values ('x' = 1 char)
    assert nodes > 1000
