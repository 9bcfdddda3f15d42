"""Drawing several files at once: one forked process per core, each drawing its share.

`urbsd run` draws two charts (the urbanization chart and the county map: 0.22 and 0.56
CPU-seconds, `benchmarks/county_map.py`); they do not depend on each other, so on a machine with
two cores or more they are drawn side by side. `draw_all(jobs)` takes `(path, draw)` pairs, where
`draw(path)` writes the file (and maybe siblings, the SVG beside a PNG), and returns when all
are drawn; `draw_all(jobs, meanwhile)` runs `meanwhile()` in this process while the files are
drawn elsewhere (`urbsd run` builds and writes its CSV and JSON then, instead of before the
charts start). A process forked after the figures' inputs exist shares them without pickling;
an exception in a drawing process is sent back and raised here, as it would have been raised
in one process. Without `fork` (Windows, macOS spawn), with one core, one job, or other threads
running in this process, the files are drawn one after another in this process.

A command that knows it will draw can start the drawing early: `early_drawing(warm)` forks one
helper process at once, which runs `warm()` (importing matplotlib, loading the CJK font, placing
the county labels: what every drawing process would otherwise do after the results exist) while
this process loads the scenario and runs the model; `draw_all` then sends its jobs to the helper
(pickled with cloudpickle: the jobs are closures), which draws them side by side as above, from
its warm state. A job that does not pickle, or a helper that has died, is drawn here as without it.

A job may itself call `draw_all`: the county map draws its PNG and its SVG side by side, from the
figure it has built (`charts.style.save_chart(..., side_by_side=True)`), in processes forked
from the one drawing it.

On two cores the drawing processes outnumber the cores, and the command ends with the slowest
file (the county map's PNG). A job wrapped in `background(draw)` (the urbanization chart, the
map's SVG) is drawn by a process that lowers its own scheduling priority (`BACKGROUND_NICE`),
so that the slow file gets a core of its own while the others share the other one; drawn in
this process (one core, no fork), it changes nothing.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

# imported here, not in the forked processes: the first thing a drawing process does is set
# its signals (die_with_parent), before a Ctrl-C or SIGTERM could reach the command's handlers
from simulator.analysis.chunks import die_with_parent
from simulator.analysis.limits import available_cpus

Job = tuple[Path, Callable[[Path], object]]

#: the helper started by `early_drawing`: (process, connection), or None
_HELPER: tuple[object, object] | None = None

#: niceness a drawing process adds to itself when all its jobs are `background` ones (Linux's CFS
#: then gives a process at the parent's priority about three times a background one's share of a core)
BACKGROUND_NICE = 5


class background:  # noqa: N801 - used as a wrapping function: background(draw)
    """A job's `draw` that yields the core to the others when drawn in a process of its own (see
    the module): for a file that is not the slow end of the command."""

    def __init__(self, draw: Callable[[Path], object]) -> None:
        self.draw = draw

    def __call__(self, path: Path) -> object:
        return self.draw(path)


def workers_for(n_jobs: int) -> int:
    """How many processes draw `n_jobs` files: one per usable core, at most one per job; one (this
    process) where forking is unsafe: no `fork`, or other threads running (a progress bar's
    monitor, a dask client), whose locks a forked process could inherit held."""
    if n_jobs < 2 or "fork" not in multiprocessing.get_all_start_methods() or threading.active_count() > 1:
        return 1
    return max(1, min(n_jobs, available_cpus()))


@contextlib.contextmanager
def early_drawing(warm: Callable[[], object]) -> Iterator[None]:
    """Within the block, `draw_all` hands its jobs to a helper process forked now, which runs
    `warm()` meanwhile. Nothing is started where `draw_all` would draw in one process anyway
    (no fork, one core, other threads running) or where a helper already runs."""
    global _HELPER
    if _HELPER is not None or workers_for(2) == 1:
        yield
        return
    context = multiprocessing.get_context("fork")
    sys.stdout.flush()
    sys.stderr.flush()
    here, there = context.Pipe(duplex=True)
    # not a daemon: a daemon may not fork, and the helper forks its drawing processes
    process = context.Process(target=_helper, args=(there, here, warm, os.getpid()), daemon=False)
    process.start()
    there.close()
    _HELPER = (process, here)
    try:
        yield
    finally:  # every batch sent has been answered: the helper is warming up or idle (or gone)
        _HELPER = None
        here.close()
        process.kill()  # SIGKILL: no handler runs, nothing is printed; it holds nothing to clean up
        process.join()


def _helper(conn, other_end, warm: Callable[[], object], parent: int) -> None:
    """The early drawing process: warm up, then draw each batch of jobs it is sent (forking per
    core, as `draw_all`), answering each with None or the exception; end when killed or when
    the pipe closes."""
    die_with_parent(parent)  # the parent stops this process with SIGKILL; Ctrl-C is the parent's
    other_end.close()  # the parent's end, inherited: open here, it would keep the pipe from closing
    try:
        warm()
    except Exception:  # noqa: BLE001 - only a head start: the drawing itself will raise what matters
        pass
    while True:
        try:
            message = conn.recv_bytes()
        except (EOFError, OSError):
            return
        try:
            jobs = pickle.loads(message)
            draw_all(jobs)
            answer = None
        except BaseException as exc:  # noqa: BLE001 - raised again in the parent
            answer = exc
        conn.send_bytes(_pickled_exception(answer) if answer is not None else pickle.dumps(None))


def _to_helper(jobs: Sequence[Job]) -> Callable[[], None] | None:
    """Send `jobs` to the early helper if there is one alive and the jobs pickle, and return the
    function that waits for its answer (raising the helper's failure); None if not (the caller
    draws them)."""
    if _HELPER is None:
        return None
    process, conn = _HELPER
    if not process.is_alive():  # type: ignore[attr-defined]
        return None
    import cloudpickle

    try:
        message = cloudpickle.dumps(list(jobs))
    except Exception:  # noqa: BLE001 - e.g. a job holding a lock or an open file: drawn here
        return None
    stopped = "the chart-drawing process stopped before it had drawn the charts"
    try:
        conn.send_bytes(message)  # type: ignore[attr-defined]
    except (EOFError, OSError):
        raise RuntimeError(stopped) from None

    def answer() -> None:
        try:
            got = pickle.loads(conn.recv_bytes())  # type: ignore[attr-defined]
        except (EOFError, OSError):
            raise RuntimeError(stopped) from None
        except BaseException:  # an interrupt: no drawing outlives the call (its processes die with the helper)
            process.kill()  # type: ignore[attr-defined]
            raise
        if got is not None:
            raise got

    return answer


def _nothing() -> None:
    pass


def draw_all(jobs: Sequence[Job], meanwhile: Callable[[], object] = _nothing) -> None:
    """Run every `draw(path)`, and `meanwhile()` in this process while they are drawn elsewhere;
    a failure of `meanwhile` stops the drawing and is raised, else the first failure of a job (in
    job order) once all have stopped."""
    workers = workers_for(len(jobs))
    answer = _to_helper(jobs) if workers > 1 else None
    if answer is not None:
        try:
            meanwhile()
        except BaseException:
            assert _HELPER is not None
            _HELPER[0].kill()  # type: ignore[attr-defined]  # its drawing processes die with it
            raise
        answer()
        return
    if workers == 1:
        meanwhile()
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
            # not a daemon: a job may draw its own files side by side (a daemon may not fork); it
            # cannot outlive this call, which joins or terminates it below
            process = context.Process(target=_draw_share, args=(share, send, os.getpid()), daemon=False)
            process.start()
            send.close()
            running.append((process, receive))
        meanwhile()
        failures = [_outcome(process, receive) for process, receive in running]
    finally:  # an interrupt or failure here: no drawing process outlives the call (and writes after it)
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
    # the parent ends this process (terminate) when it is interrupted or fails, and a parent
    # killed outright takes it along: nothing is drawn into a staging folder after its owner
    die_with_parent(parent)
    try:
        if all(isinstance(draw, background) for _, draw in share):
            with contextlib.suppress(OSError):  # a platform that refuses: drawn at the usual priority
                os.nice(BACKGROUND_NICE)
        for path, draw in share:
            draw(path)
        send.send_bytes(pickle.dumps(None))
    except BaseException as exc:  # noqa: BLE001 - raised again in the parent
        send.send_bytes(_pickled_exception(exc))
    finally:
        send.close()


def _pickled_exception(exc: BaseException) -> bytes:
    """`exc` pickled, or a RuntimeError with its text if it does not pickle and unpickle."""
    try:
        message = pickle.dumps(exc)
        pickle.loads(message)
    except Exception:  # noqa: BLE001 - an exception that does not pickle: its text
        message = pickle.dumps(RuntimeError(f"{type(exc).__name__}: {exc}"))
    return message


def _outcome(process, receive) -> BaseException | None:
    """What a drawing process sent: None, its exception, or a RuntimeError if it died silently."""
    try:
        result = pickle.loads(receive.recv_bytes())
    except EOFError:
        process.join()
        return RuntimeError(f"a chart-drawing process stopped with exit status {process.exitcode}")
    process.join()
    return result
