"""The architecture holds (docs/architecture.md): stages by subpackage, one-way imports, no
import cycle, no module over 600 lines, no private name imported from another module.

The import rules are import-linter contracts in pyproject.toml (`[tool.importlinter]`):
the layers `cli | api` > `explore` > `outputs` > `analysis` > `interop` > `scenario` > `engine` >
`bundled | errors`, the engine importing nothing but `simulator.errors`, and no cycle
between sibling subpackages; `lint-imports` runs the same check by hand. Every import
counts, including those inside functions and under `if TYPE_CHECKING:`.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "simulator"
MAX_LINES = 600


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_import_linter_contracts_are_kept(monkeypatch, capsys) -> None:
    from importlinter.cli import lint_imports

    monkeypatch.chdir(ROOT)
    status = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True)
    out = capsys.readouterr().out
    assert status == 0, f"import-linter contracts broken:\n{out}"
    assert "3 kept, 0 broken" in out


def _graph():
    import grimp

    return grimp.build_graph("simulator", cache_dir=None)


def test_no_import_cycle_between_modules() -> None:
    """Depth-first search over every module's direct imports (function-level ones too)."""
    graph = _graph()
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        path.append(m)
        for n in edges.get(m, []):
            if state.get(n) == 1:
                return path[path.index(n):] + [n]
            if n not in state:
                found = visit(n)
                if found:
                    return found
        path.pop()
        state[m] = 2
        return None

    for module in sorted(edges):
        if module not in state:
            cycle = visit(module)
            assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_stages_are_the_subpackages_of_simulator() -> None:
    stages = sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py"))
    assert stages == ["analysis", "cli", "engine", "explore", "interop", "outputs", "scenario"]
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert top == ["__init__.py", "api.py", "bundled.py", "errors.py"]


@pytest.mark.parametrize("init", sorted(PACKAGE.glob("**/__init__.py"))[1:], ids=lambda p: p.parent.name)
def test_each_subpackage_says_what_it_holds_and_may_import(init: Path) -> None:
    doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")), clean=False)
    assert doc and len(doc.strip().splitlines()) == 2, f"{init}: a docstring of two lines"
    assert "may import" in doc.lower(), f"{init}: the second line says what it may import"


def test_no_module_is_over_600_lines() -> None:
    long = {str(p.relative_to(ROOT)): n for p in _modules()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"over {MAX_LINES} lines (split along a seam): {long}"


def test_no_private_name_is_imported_from_another_module() -> None:
    """`from simulator.x import _name` is refused: a helper another module needs is public."""
    found = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("simulator"):
                found += [f"{path.relative_to(ROOT)}:{node.lineno}: {node.module}.{a.name}"
                          for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
    assert not found, "private names imported across modules:\n" + "\n".join(found)


def test_every_subpackage_is_installed() -> None:
    """pyproject.toml lists each package of simulator/, so a non-editable install has them all."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"])
    packages = {".".join(p.parent.relative_to(ROOT).parts) for p in PACKAGE.glob("**/__init__.py")}
    assert packages <= listed, f"missing from [tool.setuptools] packages: {sorted(packages - listed)}"
