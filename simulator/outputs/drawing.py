"""Drawing several files at once: one forked process per core, each drawing its share.

`urbsd run` draws two charts (the urbanization chart and the county map: 0.34 and 1.31
CPU-seconds, `benchmarks/county_map.py`); they do not depend on each other, so on a machine with
two cores or more they are drawn side by side. `draw_all(jobs)` takes `(path, draw)` pairs, where
`draw(path)` writes the file (and maybe siblings, the SVG beside a PNG), and returns when all
are drawn. A process forked after the figures' inputs exist shares them without pickling;
an exception in a drawing process is sent back and raised here, as it would have been raised
in one process. Without `fork` (Windows, macOS spawn), with one core, one job, or other threads
running in this process, the files are drawn one after another in this process.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

Job = tuple[Path, Callable[[Path], object]]


def workers_for(n_jobs: int) -> int:
    """How many processes draw `n_jobs` files: one per usable core, at most one per job; one (this
    process) where forking is unsafe: no `fork`, or other threads running (a progress bar's
    monitor, a dask client), whose locks a forked process could inherit held."""
    if n_jobs < 2 or "fork" not in multiprocessing.get_all_start_methods() or threading.active_count() > 1:
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(n_jobs, cores))


def draw_all(jobs: Sequence[Job]) -> None:
    """Run every `draw(path)`; the first failure (in job order) is raised once all have stopped."""
    workers = workers_for(len(jobs))
    if workers == 1:
        for path, draw in jobs:
            draw(path)
        return
    context = multiprocessing.get_context("fork")
    sys.stdout.flush()  # a forked process flushes its copy of these buffers when it ends
    sys.stderr.flush()
    running = []
    try:
        for k in range(workers):
            receive, send = context.Pipe(duplex=False)
            share = list(jobs[k::workers])
            process = context.Process(target=_draw_share, args=(share, send, os.getpid()), daemon=True)
            process.start()
            send.close()
            running.append((process, receive))
        failures = [_outcome(process, receive) for process, receive in running]
    finally:  # an interrupt here: no drawing process outlives the call (and writes after it)
        for process, receive in running:
            if process.is_alive():
                process.terminate()
            process.join()
            receive.close()
    for failure in failures:
        if failure is not None:
            raise failure


def _draw_share(share: list[Job], send, parent: int) -> None:
    """In a drawing process: draw each job; send None, or the exception that stopped it."""
    from simulator.analysis.chunks import die_with_parent

    # the parent ends this process (terminate) when it is interrupted or fails, and a parent
    # killed outright takes it along: nothing is drawn into a staging folder after its owner
    die_with_parent(parent)
    try:
        for path, draw in share:
            draw(path)
        send.send_bytes(pickle.dumps(None))
    except BaseException as exc:  # noqa: BLE001 - raised again in the parent
        try:
            message = pickle.dumps(exc)
            pickle.loads(message)
        except Exception:  # noqa: BLE001 - an exception that does not pickle: its text
            message = pickle.dumps(RuntimeError(f"{type(exc).__name__}: {exc}"))
        send.send_bytes(message)
    finally:
        send.close()


def _outcome(process, receive) -> BaseException | None:
    """What a drawing process sent: None, its exception, or a RuntimeError if it died silently."""
    try:
        result = pickle.loads(receive.recv_bytes())
    except EOFError:
        process.join()
        return RuntimeError(f"a chart-drawing process stopped with exit status {process.exitcode}")
    process.join()
    return result
