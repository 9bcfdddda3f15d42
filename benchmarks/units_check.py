"""Cost of the units check: loading the bundled model with and without it, side by side, in one run.

Cold: a fresh interpreter per load (what `urbsd run` pays: pint import + registry + check).
Warm: the check alone, repeated in one process (registry cached), as sweeps and tests pay it.
Run from the repository root: python benchmarks/units_check.py [N]
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def best_of(codes: list[str], n: int) -> list[tuple[float, float]]:
    """Best (wall, CPU) seconds of each snippet in a fresh interpreter. The snippets take turns,
    so a busy machine slows them alike; CPU time (user + system) is the steadier figure there."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    walls: list[list[float]] = [[] for _ in codes]
    cpus: list[list[float]] = [[] for _ in codes]
    for _ in range(n):
        for i, code in enumerate(codes):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=REPO)
            walls[i].append(time.perf_counter() - t0)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus[i].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return [(min(w), min(c)) for w, c in zip(walls, cpus)]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    load = ("from simulator.bundled import bundled_model_path\nfrom simulator.engine.load import load_model\n"
            "load_model(bundled_model_path(), units={})")
    run = ("import contextlib, io, tempfile\nfrom simulator.cli import main\n"
           "with tempfile.TemporaryDirectory() as d, contextlib.redirect_stdout(io.StringIO()):\n"
           "    main(['run', '--out', d])")
    plain_pint = "import numpy, pydantic; import pint"
    hidden_dask = "import numpy, pydantic; from simulator.engine.units import _import_pint; _import_pint()"
    bare, without, with_units, run, plain, hidden = best_of(
        ["pass", load.format("False"), load.format("True"), run, plain_pint, hidden_dask], n)

    sys.path.insert(0, str(REPO))
    from simulator.bundled import bundled_model_path
    from simulator.engine.load import load_model
    from simulator.engine.units import check_units, registry

    spec = load_model(bundled_model_path(), units=False)
    t0 = time.perf_counter()
    registry()
    first = time.perf_counter() - t0
    reps = 20
    t0 = time.perf_counter()
    for _ in range(reps):
        check_units(spec)
    warm = (time.perf_counter() - t0) / reps

    print(f"model: {spec.path.name}, {len(spec.all_names())} elements; best of {n} cold starts (wall / CPU)")
    print(f"python -c pass                    : {bare[0]:6.3f} s / {bare[1]:6.3f} s")
    print(f"cold load_model(units=False)      : {without[0]:6.3f} s / {without[1]:6.3f} s")
    print(f"cold load_model() (units checked) : {with_units[0]:6.3f} s / {with_units[1]:6.3f} s  "
          f"(+{with_units[0] - without[0]:.3f} s / +{with_units[1] - without[1]:.3f} s, "
          f"{with_units[1] / without[1]:.2f}x CPU)")
    print(f"cold urbsd run (baseline)         : {run[0]:6.3f} s / {run[1]:6.3f} s  (units check = "
          f"{100 * (with_units[1] - without[1]) / run[1]:.0f}% of its CPU time)")
    print(f"import pint after numpy, pydantic : {plain[0]:6.3f} s / {plain[1]:6.3f} s; with dask hidden "
          f"(units._import_pint): {hidden[0]:6.3f} s / {hidden[1]:6.3f} s")
    print(f"in process: pint import + registry: {first * 1000:6.1f} ms; check_units warm: {warm * 1000:6.2f} ms")

if __name__ == "__main__":
    main()
