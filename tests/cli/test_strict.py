"""`urbsd check` is exactly as strict as `urbsd run`: a corpus of hostile and careless inputs
goes through both, which refuse the same set, each with ONE short line on stderr (exit 2,
no traceback, nothing written); the inputs both accept run and draw.

The inputs are those a stranger's scenario or model file can carry: YAML alias bombs (in a
scenario and in a model's `doc:`), recursive aliases, numbers of 400 and 5,000 digits, a
chain of 1,500 files that extend each other, paths in `extends:`/`model:` reaching other
kinds of files (/etc/passwd, a link named .yaml, a FIFO), huge files and fields, a file
name whose stem is not a plain name. All run in-process and are refused before any run.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from simulator.cli import main

TOY_MODEL = Path(__file__).resolve().parents[1] / "data" / "toy_model.yaml"
HEAD = "model: toy_model.yaml\n"


def _bomb(levels: int = 9) -> str:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    return "\n".join(lines)


def _model_with_doc_bomb(folder: Path) -> None:
    body = TOY_MODEL.read_text(encoding="utf-8")
    bomb = _bomb().replace("\n", "\n  ")
    (folder / "bomb_model.yaml").write_text(body + f"\nx_anchors:\n  {bomb}\ndoc: *a8\n", encoding="utf-8")


def _chain(folder: Path, n: int = 1500) -> None:
    for i in range(n - 1):
        (folder / f"c{i}.yaml").write_text(f"extends: c{i + 1}\n", encoding="utf-8")
    (folder / f"c{n - 1}.yaml").write_text(HEAD, encoding="utf-8")


def _fifo(folder: Path) -> None:
    os.mkfifo(folder / "pipe.yaml")


def _link(folder: Path) -> None:
    (folder / "secret.txt").write_text("name: leaked\n", encoding="utf-8")
    (folder / "parent.yaml").symlink_to(folder / "secret.txt")


#: name -> (file name, text, setup(folder) or None, words expected in the error line)
BAD = {
    "alias bomb in a scenario": ("bomb.yaml", HEAD + _bomb() + "\ndoc: *a8\n", None, ["bomb.yaml", "alias"]),
    "alias bomb in the model's doc": ("s.yaml", "model: bomb_model.yaml\n", _model_with_doc_bomb,
                                      ["bomb_model.yaml", "alias"]),
    "recursive alias": ("s.yaml", HEAD + "doc: &d [*d]\n", None, ["recursive alias"]),
    "chain of 1,500 extends": ("c0.yaml", None, _chain, ["extends", "longer than"]),
    "stem '..' (file ...yaml)": ("...yaml", HEAD, None, ["not a plain name"]),
    "stem with a space": ("my scenario.yaml", HEAD, None, ["not a plain name"]),
    "label of 10,000 characters": ("s.yaml", HEAD + "label: {zh: " + "长" * 10_000 + ", en: x}\n", None,
                                   ["label.zh", "too long"]),
    "name of 1,000 characters": ("s.yaml", HEAD + "name: " + "n" * 1000 + "\n", None, ["name", "too long"]),
    "400-digit number": ("s.yaml", HEAD + "set: {migration_rate: " + "9" * 400 + "}\n", None,
                         ["set.migration_rate", "400-digit"]),
    "5,000-digit number": ("s.yaml", HEAD + "set: {migration_rate: " + "9" * 5000 + "}\n", None,
                           ["4300 digits"]),
    "400-digit target year": ("s.yaml", HEAD + "targets: [{indicator: urbanization_rate, year: "
                              + "2" * 400 + ", value: 0.5}]\n", None, ["targets.0.year"]),
    "100,000 discrete values": ("s.yaml", HEAD + "uncertain: {migration_rate: {dist: discrete, values: ["
                                + ", ".join(["0.01"] * 100_000) + "]}}\n", None, ["values", "at most"]),
    "a 5 MB file": ("s.yaml", HEAD + "# " + "x" * (5 * 1024 * 1024) + "\n", None, ["bytes", "at most"]),
    "a NUL byte": ("s.yaml", HEAD + "name: a\x00b\n", None, ["NUL"]),
    "extends /etc/passwd": ("s.yaml", HEAD + "extends: /etc/passwd\n", None, ["extends", ".yaml"]),
    "model ../../etc/passwd": ("s.yaml", "model: ../../../../../../etc/passwd\n", None, ["model", ".yaml"]),
    "extends a link to a text file": ("s.yaml", HEAD + "extends: parent\n", _link, ["extends", "link"]),
    "extends a FIFO": ("s.yaml", HEAD + "extends: pipe.yaml\n", _fifo, ["extends"]),
    "kind neither scenario nor support": ("s.yaml", HEAD + "kind: policy\n", None, ["kind"]),
}

#: inputs both accept (and `run` draws): texts a chart must show as they are
GOOD = {
    "mathtext label": ("m.yaml", HEAD + "label: {zh: '$\\foo$ 情景', en: '$\\foo$ $x^2$'}\n"),
    "HTML label": ("h.yaml", HEAD + "label: {zh: '<b>粗</b>', en: '<script>alert(1)</script>'}\n"),
}


def _write(folder: Path, name: str, text: str | None, setup) -> str:
    shutil.copy(TOY_MODEL, folder / "toy_model.yaml")
    if setup is not None:
        setup(folder)
    if text is not None:
        (folder / name).write_text(text, encoding="utf-8")
    return name


def _refused(argv: list[str], capsys) -> tuple[bool, str]:
    t0 = time.perf_counter()
    code = main(argv)
    elapsed = time.perf_counter() - t0
    err = capsys.readouterr().err
    if code == 0:
        return False, err
    assert code == 2, (argv, code, err)
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("urbsd: error: "), err[:2000]
    assert len(lines[0]) <= 800, f"{len(lines[0])} characters: {lines[0][:300]}..."
    assert elapsed < 20, f"{argv} took {elapsed:.1f} s to refuse"
    return True, lines[0]


@pytest.mark.parametrize("case", sorted(BAD))
def test_check_and_run_refuse_the_same_bad_input_in_one_line(case, tmp_path, monkeypatch, capsys):
    name, text, setup, words = BAD[case]
    monkeypatch.chdir(tmp_path)
    arg = _write(tmp_path, name, text, setup)
    refused_check, line_check = _refused(["check", arg], capsys)
    refused_run, line_run = _refused(["run", arg, "--out", "results"], capsys)
    assert refused_check and refused_run, (case, line_check, line_run)
    assert line_check == line_run  # one validation path: the same reason
    for w in words:
        assert w in line_run, (w, line_run)
    assert not (tmp_path / "results").exists()
    assert not list(tmp_path.glob(".*.tmp"))


def test_check_and_run_accept_the_same_set(tmp_path, monkeypatch, capsys):
    """Over the whole corpus (bad and good), the inputs `check` refuses are those `run` refuses."""
    monkeypatch.chdir(tmp_path)
    by_check, by_run = set(), set()
    for case, (name, text) in GOOD.items():
        folder = tmp_path / case.replace(" ", "_")
        folder.mkdir()
        monkeypatch.chdir(folder)
        _write(folder, name, text, None)
        if _refused(["check", name], capsys)[0]:
            by_check.add(case)
        if _refused(["run", name, "--out", "results", "--lang", "en"], capsys)[0]:
            by_run.add(case)
        else:
            assert (folder / "results" / Path(name).stem / "charts" / "urbanization.png").is_file()
    for case in ("stem '..' (file ...yaml)", "a NUL byte", "recursive alias"):
        name, text, setup, _ = BAD[case]
        folder = tmp_path / str(len(by_check) + len(by_run) + hash(case) % 1000)
        folder.mkdir()
        monkeypatch.chdir(folder)
        _write(folder, name, text, setup)
        if _refused(["check", name], capsys)[0]:
            by_check.add(case)
        if _refused(["run", name, "--out", "results"], capsys)[0]:
            by_run.add(case)
    assert by_check == by_run
    assert not (by_check & set(GOOD))


def test_a_mathtext_label_is_drawn_as_written(tmp_path):
    """matplotlib would parse '$\\foo$' as mathtext (and fail on the unknown command): the house
    style turns mathtext off, so the title holds the text as written."""
    import matplotlib
    from matplotlib.figure import Figure

    from simulator.outputs.charts.style import house_rc

    with matplotlib.rc_context(house_rc()):
        fig = Figure()
        ax = fig.add_subplot()
        ax.set_title("$\\foo$ 情景")
        fig.savefig(tmp_path / "t.png")
    assert ax.title.get_text() == "$\\foo$ 情景"
