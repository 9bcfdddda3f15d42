"""Sweep step 3, running: an evaluator over many runs, chunk by chunk, resumable.

`evaluate_chunks(evaluator, X, ...)`: the evaluator (a picklable callable, X (n, k) ->
Y (n, m)) runs chunk by chunk, in-process, in local worker processes, or on a
dask.distributed cluster. Finished chunks are saved atomically (`simulator.engine.atomic`)
to a chunk folder keyed by a hash of everything that determines them, so an interrupted
sweep resumes.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from simulator.errors import InputError

#: runs per chunk; 1,000-5,000 were fastest per run on the 2-core dev machine
#: (benchmarks/sweep_benchmark.py prints the figures), and memory per chunk stays small
DEFAULT_CHUNK = 2000

Evaluator = Callable[[np.ndarray], np.ndarray]


def chunk_key(**parts: Any) -> str:
    """sha256 of the canonical JSON of `parts`: everything a chunk's contents depend on."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _npy_bytes(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=False)
    return buf.getvalue()


def _load_chunk(path: Path, rows: int) -> np.ndarray | None:
    """A saved chunk, or None when missing or unreadable (it is then recomputed)."""
    if not path.is_file():
        return None
    try:
        a = np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None
    return a if a.ndim == 2 and a.shape[0] == rows else None


_WORKER_EVALUATOR: Evaluator | None = None


def die_with_parent(parent: int) -> None:
    """Make this worker process end when `parent` ends, however it ends; leave SIGTERM to end
    it and Ctrl-C to the parent. For a sweep's workers, and the chart-drawing processes
    (simulator/outputs/drawing.py).

    Linux: the kernel sends SIGKILL when the parent dies (prctl PR_SET_PDEATHSIG), checked
    once after setting it in case the parent died first. Elsewhere a daemon thread polls the
    parent id once a second. Without this, a worker of a sweep killed with kill -9 (or
    SIGTERM) finishes its chunk and waits on the pool's queue for minutes.
    """
    import os
    import signal
    import threading

    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the command's handler: terminate() ends a worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the parent, which stops the pool
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(1, int(signal.SIGKILL), 0, 0, 0) == 0:  # 1 = PR_SET_PDEATHSIG
            if os.getppid() != parent:
                os._exit(1)
            return
    except (OSError, AttributeError):
        pass

    def watch() -> None:
        import time

        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="urbsd-parent-watch").start()


def _init_worker(evaluator: Evaluator, parent: int | None = None) -> None:
    global _WORKER_EVALUATOR
    if parent is not None:
        die_with_parent(parent)
    _WORKER_EVALUATOR = evaluator


def _worker_call(X: np.ndarray) -> np.ndarray:
    assert _WORKER_EVALUATOR is not None
    return _WORKER_EVALUATOR(X)


def _apply(evaluator: Evaluator, X: np.ndarray) -> np.ndarray:
    return evaluator(X)


def evaluate_chunks(
    evaluator: Evaluator,
    X: np.ndarray,
    *,
    chunk_size: int = DEFAULT_CHUNK,
    chunk_dir: str | Path | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    progress: bool | None = None,
    on_chunk: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Evaluate `X` (n, k) chunk by chunk; return Y (n, m) in row order.

    With `chunk_dir`, a chunk already saved there is loaded instead of run, and each newly
    finished chunk is saved atomically (`chunk-<index>.npy`). `scheduler` is a
    dask.distributed address (chunks go to its workers); else `workers` local processes
    (1: in this process). `on_chunk(index)` is called after each chunk is stored.
    `progress`: a tqdm bar on stderr (None: only when stderr is a terminal).
    """
    from tqdm import tqdm

    from simulator.engine.atomic import atomic_write_bytes

    X = np.asarray(X, dtype=float)
    n = X.shape[0]
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, not {chunk_size}")
    spans = [(a, min(a + chunk_size, n)) for a in range(0, n, chunk_size)]
    folder = Path(chunk_dir) if chunk_dir is not None else None
    results: list[np.ndarray | None] = [None] * len(spans)
    if folder is not None:  # created by the first chunk written (atomic_write_bytes)
        for i, (a, b) in enumerate(spans):
            results[i] = _load_chunk(folder / f"chunk-{i:06d}.npy", b - a)
    pending = [i for i, r in enumerate(results) if r is None]
    done_rows = n - sum(spans[i][1] - spans[i][0] for i in pending)
    bar = tqdm(total=n, initial=done_rows, unit="run", file=sys.stderr, desc="sweep", smoothing=0.1,
               disable=None if progress is None else not progress)

    def store(i: int, y: np.ndarray) -> None:
        a, b = spans[i]
        y = np.asarray(y, dtype=float)
        if y.ndim == 1:
            y = y[:, None]
        if y.shape[0] != b - a:
            raise RuntimeError(f"evaluator returned {y.shape[0]} rows for a chunk of {b - a}")
        if folder is not None:
            atomic_write_bytes(folder / f"chunk-{i:06d}.npy", _npy_bytes(y))
        results[i] = y
        bar.update(b - a)
        if on_chunk is not None:
            on_chunk(i)

    try:
        if not pending:
            pass
        elif scheduler is not None:
            _run_dask(evaluator, X, spans, pending, scheduler, store)
        elif workers > 1 and len(pending) > 1:
            _run_processes(evaluator, X, spans, pending, workers, store)
        else:
            for i in pending:
                a, b = spans[i]
                store(i, evaluator(X[a:b]))
    finally:
        bar.close()
    if not results:
        return np.empty((0, 0))
    widths = {r.shape[1] for r in results}
    if len(widths) != 1:
        raise RuntimeError(f"chunks have different numbers of output columns: {sorted(widths)}")
    return np.concatenate(results, axis=0)


def _run_processes(evaluator: Evaluator, X: np.ndarray, spans, pending, workers: int, store) -> None:
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    import os

    pool = ProcessPoolExecutor(max_workers=min(workers, len(pending)), initializer=_init_worker,
                               initargs=(evaluator, os.getpid()))
    try:
        # at most two chunks in flight per worker, so memory stays bounded
        queue = list(pending)
        running: dict[Any, int] = {}
        limit = 2 * workers
        while queue or running:
            while queue and len(running) < limit:
                i = queue.pop(0)
                a, b = spans[i]
                running[pool.submit(_worker_call, X[a:b])] = i
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in sorted(finished, key=lambda f: running[f]):
                store(running.pop(fut), fut.result())
    except BaseException:
        # interrupted (Ctrl-C, SIGTERM via the command's handler) or failed: stop the workers
        # now rather than letting them finish their chunks
        for proc in list((getattr(pool, "_processes", None) or {}).values()):
            proc.terminate()
        # a worker stopped while it was sending a result leaves half a message in the results
        # pipe, and the pool's manager thread (CPython 3.11) waits for the rest forever. Once
        # this process's own write end is closed too, it reads end-of-file instead when the
        # workers are gone, and shuts the pool down as broken
        writer = getattr(getattr(pool, "_result_queue", None), "_writer", None)
        if writer is not None:
            writer.close()
        # wait for the pool's manager thread to see its workers gone: a thread left running
        # makes the interpreter's exit handler write to a closed pipe (a traceback at exit)
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _run_dask(evaluator: Evaluator, X: np.ndarray, spans, pending, address: str, store) -> None:
    from distributed import Client, as_completed

    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError("command line", "--scheduler", f"cannot connect to {address!r}: {exc}") from None
    try:
        remote = client.scatter(evaluator, broadcast=True)
        futures = {}
        for i in pending:
            a, b = spans[i]
            futures[client.submit(_apply, remote, X[a:b], pure=False)] = i
        for fut in as_completed(list(futures)):
            store(futures[fut], fut.result())
    except Exception as exc:
        chain = [exc, exc.__cause__, exc.__context__]
        if any(isinstance(e, ModuleNotFoundError) or "No module named 'simulator'" in str(e) for e in chain if e):
            raise InputError("command line", "--scheduler", f"the cluster at {address!r} cannot import urbsd "
                             f"(install it on the scheduler and on every worker): {exc}") from None
        raise
    finally:
        client.close()


def remove_chunks(folder: Path) -> None:
    """Delete a finished sweep's chunk folder (and its parent when that is left empty)."""
    shutil.rmtree(folder, ignore_errors=True)
    try:
        folder.parent.rmdir()
    except OSError:
        pass
