"""Where the wall time of a warm `urbsd run` (the baseline) goes: a timeline of its processes.

Starts `urbsd run` N times, each in a fresh process with a warm kernel cache, through a launcher
that wraps four functions of simulator/outputs/drawing.py and the scenario loading with
timestamps (nothing else changes). Prints, per event, the median over the N starts of the wall
time since launch and of the CPU time the process had used by then:

  main     imports done, helper forked  -> scenario loaded -> results ready (draw_all)
           -> CSV/JSON written (meanwhile) -> end
  helper   warm-up (matplotlib, CJK font, county labels) start and end
  drawing  each chart: start and end, with its CPU seconds
  nested   a chart's files drawn side by side by processes of its own (the county map's PNG and SVG)

The critical path is read off it: the end follows the slower chart, which starts when both the
results and the helper's warm-up are ready. Run with the interpreter of a venv where urbsd is
installed: .venv/bin/python benchmarks/run_timeline.py [N]   (default 5)
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict

LOG = "URBSD_TIMELINE_LOG"
T0 = "URBSD_TIMELINE_T0"


def child(argv: list[str]) -> None:
    """In the launched process: wrap the functions, then run `urbsd <argv>`."""
    t0 = float(os.environ[T0])
    fd = os.open(os.environ[LOG], os.O_WRONLY | os.O_APPEND | os.O_CREAT)

    def log(role: str, what: str) -> None:
        os.write(fd, f"{time.time() - t0:.4f}\t{time.process_time():.4f}\t{os.getpid()}\t{role}\t{what}\n".encode())

    import simulator.cli as cli
    import simulator.cli.run as run
    from simulator.outputs import drawing

    load = run.load_distinct

    def load_distinct(*a, **k):
        log("main", "imports done, helper forked")
        try:
            return load(*a, **k)
        finally:
            log("main", "scenario loaded")

    helper = drawing._helper

    def _helper(conn, other_end, warm, parent):
        drawers.add(os.getpid())

        def timed_warm():
            log("helper", "warm-up start")
            warm()
            log("helper", "warm-up end")
        helper(conn, other_end, timed_warm, parent)

    share = drawing._draw_share

    def _draw_share(jobs, send, parent):
        names = "+".join(path.name for path, _ in jobs)
        role = "drawing" if parent in drawers else "  nested"  # forked by a drawing process itself
        log(role, f"{names} start")
        try:
            share(jobs, send, parent)
        finally:
            log(role, f"{names} end")

    draw_all = drawing.draw_all

    def timed_draw_all(jobs, meanwhile=drawing._nothing):
        if os.getpid() != main_pid:  # the helper's own call, with the jobs sent to it
            return draw_all(jobs, meanwhile)
        log("main", "results ready (draw_all)")

        def timed_meanwhile():
            meanwhile()
            log("main", "CSV/JSON written")
        return draw_all(jobs, timed_meanwhile)

    main_pid = os.getpid()
    drawers = {main_pid}  # the processes whose drawing processes are the first level: main, the helper
    run.load_distinct = load_distinct
    drawing._helper = _helper
    drawing._draw_share = _draw_share
    drawing.draw_all = timed_draw_all
    try:
        cli.main(argv)
    finally:
        log("main", "end")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    events: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, __file__, "--child", "run", "--out", os.path.join(tmp, "out")]
        env = dict(os.environ)
        subprocess.run(cmd, env={**env, LOG: os.devnull, T0: "0"}, check=True, stdout=subprocess.DEVNULL)
        load_before = os.getloadavg()[0]
        for k in range(n):
            log = os.path.join(tmp, f"log{k}")
            env[LOG] = log
            env[T0] = repr(time.time())
            subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
            with open(log) as fh:
                for line in fh:
                    wall, cpu, _, role, what = line.rstrip("\n").split("\t")
                    events[(role, what)].append((float(wall), float(cpu)))
        load_after = os.getloadavg()[0]
    print(f"warm `urbsd run` (baseline), median of {n} starts; load average {load_before:.2f} -> {load_after:.2f}")
    print(f"{'process':8s} {'event':40s} {'wall s':>7s} {'CPU s':>7s}")
    rows = sorted(events.items(), key=lambda item: statistics.median(w for w, _ in item[1]))
    for (role, what), times in rows:
        wall = statistics.median(w for w, _ in times)
        cpu = statistics.median(c for _, c in times)
        print(f"{role:8s} {what:40s} {wall:7.3f} {cpu:7.3f}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2:])
    else:
        main()
