"""simulator/outputs/drawing.py: files drawn side by side in forked processes, failures raised here.

The tests of the forked path set the number of drawing processes themselves (`forked`): what
`workers_for` would choose depends on the machine's cores and on the threads other tests left
running in this process, and is tested on its own with both held fixed.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from simulator.errors import InputError
from simulator.outputs import drawing
from simulator.outputs.drawing import draw_all, workers_for

needs_fork = pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(),
                                reason="no fork on this platform: the files are drawn in this process")


@pytest.fixture
def forked(monkeypatch):
    """draw_all with two drawing processes, whatever the machine and the threads running."""
    monkeypatch.setattr(drawing, "workers_for", lambda n: min(n, 2))


@pytest.fixture
def ctrl_c():
    """`ctrl_c(seconds)` starts a timer that interrupts this process's main thread as Ctrl-C does a
    command (SIGINT to the thread itself, with Python's own handler, unblocked: whatever an earlier
    test in this worker left; a signal sent to the process may go to the timer's thread instead,
    leaving the main thread blocked in its read)."""
    handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    blocked = signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    main = threading.main_thread().ident
    timers: list[threading.Timer] = []

    def start(seconds: float) -> threading.Timer:
        timer = threading.Timer(seconds, lambda: signal.pthread_kill(main, signal.SIGINT))
        timers.append(timer)
        timer.start()
        return timer

    yield start
    for timer in timers:
        timer.cancel()
    signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
    signal.signal(signal.SIGINT, handler)


def write_pid(path: Path) -> None:
    """Leave this process's pid in `path`, whole or not at all (a job stopped mid-write leaves none)."""
    part = path.with_name(path.name + ".part")
    part.write_text(str(os.getpid()))
    os.replace(part, path)


def slow(path: Path) -> None:
    """A job that leaves its pid, then takes a minute: it is still drawing when stopped."""
    write_pid(path)
    time.sleep(60)


@needs_fork
def test_workers_one_per_core_and_job_none_with_other_threads(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    assert (workers_for(0), workers_for(1), workers_for(2), workers_for(5)) == (1, 1, 2, 2)
    # a fork copies only the calling thread; a lock another thread holds would stay held
    monkeypatch.setattr(threading, "active_count", lambda: 2)
    assert workers_for(5) == 1


def test_every_job_is_drawn(tmp_path):
    jobs = [(tmp_path / f"{i}.txt", write_pid) for i in range(5)]
    draw_all(jobs)
    assert all(path.is_file() for path, _ in jobs)


@needs_fork
def test_every_job_is_drawn_by_the_drawing_processes(tmp_path, forked):
    jobs = [(tmp_path / f"{i}.txt", write_pid) for i in range(5)]
    draw_all(jobs)
    pids = {path.read_text() for path, _ in jobs}
    assert len(pids) == 2 and str(os.getpid()) not in pids


def draws_two_more(path: Path) -> None:
    """A job that draws its own two files side by side (as the county map draws its PNG and SVG)."""
    draw_all([(path.with_suffix(".a"), write_pid), (path.with_suffix(".b"), write_pid)])
    write_pid(path)


@needs_fork
def test_a_job_may_draw_its_own_files_side_by_side(tmp_path, forked):
    jobs = [(tmp_path / "map.txt", draws_two_more), (tmp_path / "chart.txt", write_pid)]
    draw_all(jobs)
    job = (tmp_path / "map.txt").read_text()
    inner = {(tmp_path / f"map{suffix}").read_text() for suffix in (".a", ".b")}
    assert len(inner) == 2 and not inner & {job, str(os.getpid())}
    assert job != str(os.getpid()) and (tmp_path / "chart.txt").read_text() != str(os.getpid())


def write_niceness(path: Path) -> None:
    """A job that leaves the scheduling niceness of the process it ran in."""
    path.write_text(str(os.nice(0)))


def lowered(niceness: int) -> int:
    return min(niceness + drawing.BACKGROUND_NICE, 19)  # 19: the lowest priority there is


@needs_fork
@pytest.mark.parametrize("helper", [False, True])
def test_a_background_job_yields_its_core_to_the_others(tmp_path, forked, helper):
    """The process drawing a `background` job lowers its priority, the one drawing the slow file
    keeps the command's; this process keeps its own (through the helper too: the wrapper pickles)."""
    here = os.nice(0)
    with drawing.early_drawing(lambda: None) if helper else contextlib.nullcontext():
        draw_all([(tmp_path / "slow.txt", write_niceness),
                  (tmp_path / "other.txt", drawing.background(write_niceness))])
    assert int((tmp_path / "slow.txt").read_text()) == here
    assert int((tmp_path / "other.txt").read_text()) == lowered(here)
    assert os.nice(0) == here


@needs_fork
def test_a_process_with_a_background_job_and_another_keeps_its_priority(tmp_path, monkeypatch):
    monkeypatch.setattr(drawing, "workers_for", lambda n: 2)  # three jobs, two processes: 0 and 2 share one
    here = os.nice(0)
    names = ["a.txt", "b.txt", "c.txt"]
    draw_all([(tmp_path / names[0], drawing.background(write_niceness)), (tmp_path / names[1], write_niceness),
              (tmp_path / names[2], write_niceness)])
    assert [int((tmp_path / n).read_text()) for n in names] == [here, here, here]


def test_a_background_job_drawn_here_changes_nothing(tmp_path):
    here = os.nice(0)
    draw_all([(tmp_path / "a.txt", drawing.background(write_niceness))])  # one job: drawn in this process
    assert int((tmp_path / "a.txt").read_text()) == here == os.nice(0)


def test_one_job_is_drawn_here(tmp_path):
    draw_all([(tmp_path / "a.txt", write_pid)])
    assert (tmp_path / "a.txt").read_text() == str(os.getpid())


def test_a_process_with_other_threads_draws_here(tmp_path):
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        jobs = [(tmp_path / "a.txt", write_pid), (tmp_path / "b.txt", write_pid)]
        draw_all(jobs)
        assert {path.read_text() for path, _ in jobs} == {str(os.getpid())}
    finally:
        stop.set()
        thread.join()


@needs_fork
def test_an_exception_in_a_drawing_is_raised_with_its_type_and_message(tmp_path, forked):
    def bad(path: Path) -> None:
        raise InputError(path.name, "label", "is too long")

    with pytest.raises(InputError, match="bad.txt: label: is too long"):
        draw_all([(tmp_path / "ok.txt", write_pid), (tmp_path / "bad.txt", bad)])
    assert (tmp_path / "ok.txt").is_file()  # the other drawing was not stopped by it


@needs_fork
def test_an_exception_that_does_not_pickle_arrives_as_its_text(tmp_path, forked):
    class Local(Exception):  # a local class cannot be pickled
        pass

    def bad(path: Path) -> None:
        raise Local("lost glyph")

    with pytest.raises(RuntimeError, match="Local: lost glyph"):
        draw_all([(tmp_path / "ok.txt", write_pid), (tmp_path / "bad.txt", bad)])


@needs_fork
def test_a_drawing_process_that_dies_is_an_error(tmp_path, forked):
    def die(path: Path) -> None:
        os._exit(3)

    with pytest.raises(RuntimeError, match="exit status 3"):
        draw_all([(tmp_path / "ok.txt", write_pid), (tmp_path / "die.txt", die)])


@needs_fork
def test_an_interrupt_stops_every_drawing_process(tmp_path, forked, ctrl_c):
    """Ctrl-C while charts are drawn: the call raises it and no drawing process is left behind."""

    start = time.monotonic()
    ctrl_c(1.0)
    with pytest.raises(KeyboardInterrupt):
        draw_all([(tmp_path / "a.txt", slow), (tmp_path / "b.txt", slow)])
    assert time.monotonic() - start < 30
    assert multiprocessing.active_children() == []
    for path in (tmp_path / "a.txt", tmp_path / "b.txt"):
        if path.exists():  # that process had started: it must be gone
            with pytest.raises(ProcessLookupError):
                os.kill(int(path.read_text()), 0)


# --------------------------------------------------------------------------- the early helper


def write_parent(path: Path) -> None:
    path.write_text(str(os.getppid()))


def warm_marker(folder: Path):
    """A warm-up that leaves the pid of the process it ran in."""
    return lambda: (folder / "warm.txt").write_text(str(os.getpid()))


@needs_fork
def test_an_early_helper_warms_up_then_draws_the_jobs(tmp_path, forked):
    with drawing.early_drawing(warm_marker(tmp_path)):
        helper = drawing._HELPER[0].pid
        jobs = [(tmp_path / f"{i}.txt", write_pid) for i in range(3)]
        draw_all(jobs)
        assert (tmp_path / "warm.txt").read_text() == str(helper)
        pids = {path.read_text() for path, _ in jobs}
        assert len(pids) == 2 and not pids & {str(os.getpid()), str(helper)}  # its own forks draw
        draw_all([(tmp_path / "again.txt", write_parent), (tmp_path / "more.txt", write_parent)])  # a second batch
        assert {(tmp_path / n).read_text() for n in ("again.txt", "more.txt")} == {str(helper)}
    assert drawing._HELPER is None and multiprocessing.active_children() == []


@needs_fork
def test_a_job_that_does_not_pickle_is_drawn_without_the_helper(tmp_path, forked):
    lock = threading.Lock()

    def locked(path: Path) -> None:
        with lock:
            write_parent(path)

    with drawing.early_drawing(lambda: None):
        draw_all([(tmp_path / "a.txt", locked), (tmp_path / "b.txt", locked)])
    assert {(tmp_path / n).read_text() for n in ("a.txt", "b.txt")} == {str(os.getpid())}  # forked here


@needs_fork
def test_a_failing_warm_up_still_draws_and_a_failing_job_is_raised_here(tmp_path, forked):
    def bad(path: Path) -> None:
        raise InputError(path.name, "label", "is too long")

    def broken_warm_up() -> None:
        raise ImportError("no such font")

    with drawing.early_drawing(broken_warm_up):
        draw_all([(tmp_path / "ok.txt", write_pid), (tmp_path / "ok2.txt", write_pid)])
        assert (tmp_path / "ok.txt").is_file()
        with pytest.raises(InputError, match="bad.txt: label: is too long"):
            draw_all([(tmp_path / "ok3.txt", write_pid), (tmp_path / "bad.txt", bad)])


@needs_fork
def test_a_helper_that_died_leaves_the_drawing_to_this_process(tmp_path, forked):
    with drawing.early_drawing(lambda: os._exit(4)):
        drawing._HELPER[0].join(10)
        draw_all([(tmp_path / "a.txt", write_parent), (tmp_path / "b.txt", write_parent)])
    assert {(tmp_path / n).read_text() for n in ("a.txt", "b.txt")} == {str(os.getpid())}


def test_no_helper_where_drawing_would_not_fork(tmp_path, monkeypatch):
    monkeypatch.setattr(drawing, "workers_for", lambda n: 1)
    with drawing.early_drawing(warm_marker(tmp_path)):
        assert drawing._HELPER is None
        draw_all([(tmp_path / "a.txt", write_pid), (tmp_path / "b.txt", write_pid)])
    assert not (tmp_path / "warm.txt").exists() and (tmp_path / "a.txt").read_text() == str(os.getpid())


@needs_fork
def test_an_interrupt_while_the_helper_draws_stops_it_and_its_drawing_processes(tmp_path, forked, ctrl_c):
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        with drawing.early_drawing(lambda: None):
            helper = drawing._HELPER[0].pid
            ctrl_c(1.0)
            draw_all([(tmp_path / "a.txt", slow), (tmp_path / "b.txt", slow)])
    assert time.monotonic() - start < 30 and multiprocessing.active_children() == []
    pids = [helper] + [int(p.read_text()) for p in (tmp_path / "a.txt", tmp_path / "b.txt") if p.exists()]
    assert _gone(pids)


def _gone(pids: list[int], wait: float = 10.0) -> bool:
    """True once none of `pids` runs (waiting up to `wait` seconds for them to be reaped)."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        time.sleep(0.05)
    return not any(_alive(pid) for pid in pids)


def _alive(pid: int) -> bool:
    """True if `pid` runs (not a zombie waiting to be reaped)."""
    if not os.path.isdir("/proc"):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


# --------------------------------------------------------------------------- work done meanwhile


def started_then_wait(path: Path) -> None:
    """A job that marks its start, then waits (up to 20 s) for `meanwhile` to answer."""
    path.with_suffix(".started").write_text(str(os.getpid()))
    deadline = time.monotonic() + 20
    while not path.with_suffix(".go").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    path.write_text(str(os.getpid()))


def meanwhile_sees_the_jobs_start(paths: list[Path], seen: list[str]):
    """`meanwhile`: runs here, waits until every job has started, then lets them finish."""
    def meanwhile() -> None:
        seen.append(str(os.getpid()))
        deadline = time.monotonic() + 20
        while not all(p.with_suffix(".started").exists() for p in paths) and time.monotonic() < deadline:
            time.sleep(0.01)
        seen.append("all started" if all(p.with_suffix(".started").exists() for p in paths) else "not started")
        for p in paths:
            p.with_suffix(".go").write_text("")
    return meanwhile


@needs_fork
@pytest.mark.parametrize("helper", [False, True])
def test_meanwhile_runs_here_while_the_jobs_are_drawn(tmp_path, forked, helper):
    paths = [tmp_path / "a.txt", tmp_path / "b.txt"]
    seen: list[str] = []
    with drawing.early_drawing(lambda: None) if helper else contextlib.nullcontext():
        draw_all([(p, started_then_wait) for p in paths], meanwhile=meanwhile_sees_the_jobs_start(paths, seen))
    assert seen == [str(os.getpid()), "all started"]  # the jobs were drawing while meanwhile ran
    assert all(p.is_file() and p.read_text() != str(os.getpid()) for p in paths)


def test_meanwhile_runs_too_where_the_jobs_are_drawn_here(tmp_path, monkeypatch):
    monkeypatch.setattr(drawing, "workers_for", lambda n: 1)
    ran: list[int] = []
    draw_all([(tmp_path / "a.txt", write_pid)], meanwhile=lambda: ran.append(os.getpid()))
    assert ran == [os.getpid()] and (tmp_path / "a.txt").read_text() == str(os.getpid())


@needs_fork
@pytest.mark.parametrize("helper", [False, True])
def test_a_failing_meanwhile_stops_the_drawing_and_is_raised(tmp_path, forked, helper):
    def bad() -> None:
        deadline = time.monotonic() + 20
        while not (tmp_path / "a.txt").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        raise OSError(28, "No space left on device")

    start = time.monotonic()
    with pytest.raises(OSError, match="No space left"):
        with drawing.early_drawing(lambda: None) if helper else contextlib.nullcontext():
            draw_all([(tmp_path / "a.txt", slow), (tmp_path / "b.txt", slow)], meanwhile=bad)
    assert time.monotonic() - start < 30 and multiprocessing.active_children() == []
    pids = [int(p.read_text()) for p in (tmp_path / "a.txt", tmp_path / "b.txt") if p.exists()]
    assert pids and _gone(pids)
