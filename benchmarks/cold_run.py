"""Cold start of `urbsd run` (the baseline), beside a bare Python start, in one run.

Prints wall times (best of N) and their ratio. Run with the interpreter of a venv where
urbsd is installed (`pip install .`: installed modules are byte-compiled, as for a user):
.venv/bin/python benchmarks/cold_run.py [N]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time


def best_of(cmd: list[str], n: int, cwd: str) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    with tempfile.TemporaryDirectory() as tmp:
        bare = best_of([sys.executable, "-c", "pass"], n, tmp)
        run = best_of([sys.executable, "-m", "simulator.cli", "run", "--out", tmp], n, tmp)
        from simulator.scenario.schema import bundled_scenario_path

        baseline = str(bundled_scenario_path("baseline"))
        check = best_of([sys.executable, "-m", "simulator.cli", "check", baseline], n, tmp)
    print(f"python -c pass      : {bare:6.3f} s")
    print(f"urbsd check baseline: {check:6.3f} s")
    print(f"urbsd run (baseline): {run:6.3f} s  ({run / bare:.1f}x a bare interpreter start; target < 2 s)")


if __name__ == "__main__":
    main()
