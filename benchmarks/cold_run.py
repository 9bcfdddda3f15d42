"""Cold start of `urbsd run` (the baseline), beside a bare Python start, in one run.

Prints wall times (best of N) and their ratio, and the load average before and after.
`urbsd run` is timed twice: with the compiled-kernel cache cold (a new, empty URBSD_CACHE_DIR
for every start: the kernel is compiled by the C compiler) and warm (the same folder, the
kernel already built; the units check's marker too, simulator/engine/unitcache.py). For each:
the time to the first result (the first line `urbsd run` prints, once the run is done and its
files are written) and to the end of the process. The warm start is timed three times more,
alternating: as shipped (a helper process forked at the start warms up while the model runs,
then draws the two charts side by side, one process per core: simulator/outputs/drawing.py),
with the drawing processes forked only once the results exist, with the CSV and JSON made and
written before the charts start (not while they are drawn), and with the charts drawn one after
another.
Run with the interpreter of a venv where urbsd is installed (`pip install .`: installed
modules are byte-compiled, as for a user): .venv/bin/python benchmarks/cold_run.py [N]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time


def start(cmd: list[str], cwd: str, env: dict[str, str] | None = None) -> tuple[float, float]:
    """Seconds to the first line on stdout and to the end of the process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    proc.stdout.readline()
    first = time.perf_counter() - t0
    proc.stdout.read()
    if proc.wait() != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited with status {proc.returncode}")
    return first, time.perf_counter() - t0


def best_of(cmd: list[str], n: int, cwd: str, cache: str | None = None) -> tuple[float, float]:
    """Best of n starts (first line, end); cache: URBSD_CACHE_DIR, or None for a new empty one each time."""
    times = []
    for _ in range(n):
        with tempfile.TemporaryDirectory() as fresh:
            env = {**os.environ, "URBSD_CACHE_DIR": cache or fresh}
            times.append(start(cmd, cwd, env))
    return min(t[0] for t in times), min(t[1] for t in times)


#: `urbsd` with the charts drawn one after another in its own process (as on one core)
SERIAL = ("import sys; import simulator.outputs.drawing as d; d.workers_for = lambda n: 1; "
          "from simulator.cli import entry; sys.argv[0] = 'urbsd'; entry()")
#: `urbsd` with the charts drawn side by side, but by processes forked only once the results
#: exist (no early helper warming up while the model runs)
LATE = ("import contextlib, sys; import simulator.outputs.drawing as d; "
        "d.early_drawing = lambda warm: contextlib.nullcontext(); "
        "from simulator.cli import entry; sys.argv[0] = 'urbsd'; entry()")

#: `urbsd` with its CSV and JSON made and written before the charts start (as before the charts
#: were drawn while they are written: simulator.outputs.drawing, `meanwhile`)
FILES_FIRST = ("import sys; import simulator.outputs.drawing as d; draw = d.draw_all; "
               "d.draw_all = lambda jobs, meanwhile=d._nothing: (meanwhile(), draw(jobs)) and None; "
               "from simulator.cli import entry; sys.argv[0] = 'urbsd'; entry()")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    load0 = os.getloadavg()
    run_cmd = [sys.executable, "-m", "simulator.cli", "run", "--out"]
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory() as cache:
        bare = best_of([sys.executable, "-c", "pass"], n, tmp)[1]
        cold = best_of(run_cmd + [os.path.join(tmp, "cold")], n, tmp)
        start(run_cmd + [os.path.join(tmp, "warm")], tmp, {**os.environ, "URBSD_CACHE_DIR": cache})  # fill the cache
        warm = best_of(run_cmd + [os.path.join(tmp, "warm")], n, tmp, cache)
        serial_cmd = [sys.executable, "-c", SERIAL, "run", "--out", os.path.join(tmp, "serial")]
        late_cmd = [sys.executable, "-c", LATE, "run", "--out", os.path.join(tmp, "late")]
        first_cmd = [sys.executable, "-c", FILES_FIRST, "run", "--out", os.path.join(tmp, "first")]
        side, late, serial, first = [], [], [], []
        for _ in range(n):  # alternated, so that all see the same load
            side.append(best_of(run_cmd + [os.path.join(tmp, "warm")], 1, tmp, cache)[1])
            first.append(best_of(first_cmd, 1, tmp, cache)[1])
            late.append(best_of(late_cmd, 1, tmp, cache)[1])
            serial.append(best_of(serial_cmd, 1, tmp, cache)[1])
        from simulator.scenario.schema import bundled_scenario_path

        baseline = str(bundled_scenario_path("baseline"))
        check = best_of([sys.executable, "-m", "simulator.cli", "check", baseline], n, tmp, cache)[1]
    load1 = os.getloadavg()
    print(f"load average before: {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}; after: "
          f"{load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}; best of {n}")
    print(f"python -c pass                  : {bare:6.3f} s")
    print(f"urbsd check baseline            : {check:6.3f} s")
    print(f"urbsd run, kernel cache cold    : first result {cold[0]:6.3f} s, end {cold[1]:6.3f} s")
    print(f"urbsd run, kernel cache warm    : first result {warm[0]:6.3f} s, end {warm[1]:6.3f} s  "
          f"({warm[1] / bare:.1f}x a bare interpreter start)")
    print(f"the cold cache costs            : {cold[1] - warm[1]:6.3f} s (the kernel's compile)")
    side_median, late_median, serial_median, first_median = (statistics.median_high(x) for x in (side, late, serial,
                                                                                                 first))
    print(f"warm, as shipped (early helper) : {min(side):6.3f} s best, {side_median:6.3f} s median")
    print(f"warm, CSV and JSON before charts: {min(first):6.3f} s best, {first_median:6.3f} s median"
          f"  ({first_median / side_median:.2f}x the median as shipped)")
    print(f"warm, drawers forked at the end : {min(late):6.3f} s best, {late_median:6.3f} s median"
          f"  ({late_median / side_median:.2f}x the median as shipped)")
    print(f"warm, charts one after another  : {min(serial):6.3f} s best, {serial_median:6.3f} s median"
          f"  ({serial_median / side_median:.2f}x the median as shipped)")


if __name__ == "__main__":
    main()
