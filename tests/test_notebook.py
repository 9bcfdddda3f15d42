"""The worked notebook (notebooks/pingliang_scenarios.ipynb) runs clean, is saved clean, prints the model's figures."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import simulator
from simulator import api

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "pingliang_scenarios.ipynb"
#: seconds per cell; the whole notebook takes a few seconds, this only stops a hung kernel
CELL_TIMEOUT = 300


def _kernel_env() -> dict[str, str]:
    """The environment for the kernel: it imports the same `simulator` as this test process.

    The folder holding the imported package goes first on PYTHONPATH: the checkout when run
    from the source tree, site-packages when installed (a harmless repeat there). jupyter_client
    starts a kernelspec whose command is `python` with sys.executable, so the interpreter is ours.
    """
    package_parent = str(Path(simulator.__file__).resolve().parent.parent)
    rest = os.environ.get("PYTHONPATH", "")
    return dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (package_parent, rest) if p))


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> tuple[nbformat.NotebookNode, Path]:
    """The notebook executed in an empty temporary working folder (raises if any cell raises)."""
    workdir = tmp_path_factory.mktemp("notebook-cwd")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                   resources={"metadata": {"path": str(workdir)}}).execute(env=_kernel_env())
    return nb, workdir


def _cell(nb: nbformat.NotebookNode, cell_id: str) -> nbformat.NotebookNode:
    return next(c for c in nb.cells if c.get("id") == cell_id)


def _stdout(cell: nbformat.NotebookNode) -> str:
    return "".join(o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")


def test_saved_notebook_is_clean():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    assert nb.nbformat == 4
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code
    assert all(c.outputs == [] and c.execution_count is None for c in code)


def test_every_cell_runs_without_error_or_warning_and_writes_nothing(executed):
    nb, workdir = executed
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        assert cell.execution_count is not None, cell.source
        kinds = [(o.output_type, o.get("name")) for o in cell.outputs]
        assert ("error", None) not in kinds, cell.source
        assert ("stream", "stderr") not in kinds, (cell.source, cell.outputs)
    assert list(workdir.iterdir()) == []


@pytest.fixture(scope="module")
def baseline() -> tuple[object, object]:
    """The bundled baseline and its run in this process: what the notebook must print."""
    base = api.load()
    return base, api.run(base).set_index("time")


def test_run_cell_prints_the_models_milestones_and_gaps(executed, baseline):
    nb, _ = executed
    base, frame = baseline
    targets = {t.year: t.value for t in base.targets if t.indicator == "urbanization_rate"}
    lines = {line.split()[0]: line for line in _stdout(_cell(nb, "run")).splitlines() if line.strip()}
    for year in (2025, 2035):
        resident = frame.loc[year, "urbanization_rate"]
        hukou = frame.loc[year, "hukou_urbanization_rate"]
        line = lines[str(year)]
        assert f"{100 * resident:.1f}%" in line and f"{100 * hukou:.1f}%" in line
        assert f"{100 * (resident - targets[year]):+.1f} pp" in line


def test_markdown_states_no_result(baseline):
    """The prose never types a model result: the milestone rates appear in no Markdown cell."""
    _, frame = baseline
    nb = nbformat.read(NOTEBOOK, as_version=4)
    prose = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for year in (2025, 2030, 2035):
        for column in ("urbanization_rate", "hukou_urbanization_rate"):
            assert f"{100 * frame.loc[year, column]:.1f}%" not in prose


def test_chart_cell_shows_both_charts(executed):
    nb, _ = executed
    images = [o for o in _cell(nb, "chart").outputs if "image/png" in o.get("data", {})]
    assert len(images) == 2


def test_goal_seek_cell_prints_the_answer_of_goal_seek(executed, baseline):
    nb, _ = executed
    base, _ = baseline
    goal = max((t for t in base.targets if t.indicator == "urbanization_rate"), key=lambda t: t.year)
    answer = api.goal_seek(base, "central_city_pull", "urbanization_rate", goal.value, goal.year)
    status_line, result_line = _stdout(_cell(nb, "goal")).splitlines()[:2]
    assert status_line.endswith(f": {answer.status}")
    shown = answer.value if answer.reached else answer.best_value
    assert f"{100 * shown:.2f}%" in result_line
