"""simulator/outputs/drawing.py: files drawn side by side in forked processes, failures raised here."""

from __future__ import annotations

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

PARALLEL = workers_for(2) > 1


def write_pid(path: Path) -> None:
    path.write_text(str(os.getpid()))


def test_every_job_is_drawn(tmp_path):
    jobs = [(tmp_path / f"{i}.txt", write_pid) for i in range(5)]
    draw_all(jobs)
    assert all(path.is_file() for path, _ in jobs)


@pytest.mark.skipif(not PARALLEL, reason="one core or no fork: the files are drawn in this process")
def test_two_jobs_are_drawn_in_two_other_processes(tmp_path):
    jobs = [(tmp_path / "a.txt", write_pid), (tmp_path / "b.txt", write_pid)]
    draw_all(jobs)
    pids = {path.read_text() for path, _ in jobs}
    assert len(pids) == 2 and str(os.getpid()) not in pids


def test_one_job_is_drawn_here(tmp_path):
    draw_all([(tmp_path / "a.txt", write_pid)])
    assert (tmp_path / "a.txt").read_text() == str(os.getpid())


def test_an_exception_in_a_drawing_is_raised_with_its_type_and_message(tmp_path):
    def bad(path: Path) -> None:
        raise InputError(path.name, "label", "is too long")

    with pytest.raises(InputError, match="is too long"):
        draw_all([(tmp_path / "ok.txt", write_pid), (tmp_path / "bad.txt", bad)])


def test_an_exception_that_does_not_pickle_arrives_as_its_text(tmp_path):
    class Local(Exception):  # a local class cannot be pickled
        pass

    def bad(path: Path) -> None:
        raise Local("lost glyph")

    with pytest.raises(Exception, match="lost glyph"):
        draw_all([(tmp_path / "ok.txt", write_pid), (tmp_path / "bad.txt", bad)])


@pytest.mark.skipif(not PARALLEL, reason="a drawing that ends its process would end this one")
def test_a_drawing_process_that_dies_is_an_error(tmp_path):
    def die(path: Path) -> None:
        os._exit(3)

    with pytest.raises(RuntimeError, match="exit status 3"):
        draw_all([(tmp_path / "ok.txt", write_pid), (tmp_path / "die.txt", die)])


def test_a_process_with_other_threads_draws_here(tmp_path):
    """Forking a process with other threads running can inherit a lock held: it draws in itself."""
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert workers_for(2) == 1
        jobs = [(tmp_path / "a.txt", write_pid), (tmp_path / "b.txt", write_pid)]
        draw_all(jobs)
        assert {path.read_text() for path, _ in jobs} == {str(os.getpid())}
    finally:
        stop.set()
        thread.join()


@pytest.mark.skipif(not PARALLEL, reason="the files are drawn in this process")
def test_an_interrupt_stops_every_drawing_process(tmp_path, monkeypatch):
    """Ctrl-C while charts are drawn: the call raises it and no drawing process is left behind."""

    def slow(path: Path) -> None:
        path.write_text(str(os.getpid()))
        time.sleep(60)

    # the timer that sends Ctrl-C is a second thread, which would make draw_all draw here
    monkeypatch.setattr(drawing, "workers_for", lambda n: 2)
    timer = threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT))
    start = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            draw_all([(tmp_path / "a.txt", slow), (tmp_path / "b.txt", slow)])
    finally:
        timer.cancel()
    assert time.monotonic() - start < 30
    assert multiprocessing.active_children() == []
    for path in (tmp_path / "a.txt", tmp_path / "b.txt"):
        if path.exists():  # that process had started: it must be gone
            with pytest.raises(ProcessLookupError):
                os.kill(int(path.read_text()), 0)
