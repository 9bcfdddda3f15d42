"""Bounded work: what a request will need, estimated before any work starts.

A command that would run out of memory (`sweep --samples 10000000`, `goal-seek --grid
10000000`, a huge `--chunk-size` or `report --samples`) is refused with one line naming
the limit and how to split the work, before a single run; `--workers` above the CPUs
available is capped with a one-line notice.

The estimates (benchmarks/memory_per_run.py prints the measured figures beside them):

- one run in a vectorized `simulate` call holds about 16 bytes per model slot (a value of
  a stock, flow, auxiliary or constant, one per county for county variables): 13.4 kB
  for the bundled model's 843 slots, measured with tracemalloc (2,000 runs recording the
  sweep's 32 outputs, dt 0.25). `run_bytes` takes 24 bytes per slot, a margin of 1.5;
- a sweep keeps, for every run, the unit sample and the values (k numbers each) and the
  recorded outputs (m numbers), and copies them for the analysis and the Parquet file:
  `sweep_bytes` counts 8 bytes x (2k + 3m) + 64 per run: 1,024 bytes for the baseline
  (k = 12, m = 32). Measured (tracemalloc peak of `run_sweep`, mc, chunks of 2,000): 37.8 MB
  for 20,000 runs and 73.7 MB for 100,000, i.e. about 450 bytes per run on top of one
  chunk's 27 MB, so the 2 GB limit leaves a margin of about 2.
"""

from __future__ import annotations

import os
from typing import Any

from simulator.errors import InputError

#: most memory one vectorized model call may take (a sweep chunk, a goal-seek grid, a frontier)
MAX_CALL_BYTES = 500_000_000
#: most memory a whole sweep may hold (samples, outputs, analysis, the Parquet copy)
MAX_SWEEP_BYTES = 2_000_000_000
#: bytes per model slot per run assumed by the estimates (13.4 kB / 843 slots measured, x1.5)
SLOT_BYTES = 24

CLI = "command line"


def _size(n: float) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n:,.0f} bytes"


def run_bytes(model: Any) -> int:
    """Estimated bytes one run takes in a vectorized call of the compiled `model`."""
    widths = getattr(model, "widths", None) or {}
    slots = sum(int(w) for w in widths.values()) or 1000
    return SLOT_BYTES * slots


def max_runs_per_call(model: Any) -> int:
    """Most runs one vectorized call of `model` may take within MAX_CALL_BYTES."""
    return max(1, MAX_CALL_BYTES // run_bytes(model))


def check_call_runs(runs: int, model: Any, flag: str, value: int, advice: str) -> None:
    """Refuse (one line) a vectorized call of `runs` runs that would pass MAX_CALL_BYTES."""
    limit = max_runs_per_call(model)
    if runs > limit:
        raise InputError(CLI, flag, f"{value:,} means {runs:,} runs in one vectorized pass, about "
                         f"{_size(runs * run_bytes(model))} of memory; the limit is {_size(MAX_CALL_BYTES)} "
                         f"({limit:,} runs): {advice}")


def sweep_bytes(rows: int, k: int, m: int) -> int:
    """Estimated bytes a sweep of `rows` runs of `k` constants and `m` outputs holds at its peak."""
    return rows * (8 * (2 * k + 3 * m) + 64)


def check_sweep(method: str, samples: int, rows: int, k: int, m: int, flag: str = "--samples") -> None:
    """Refuse (one line) a sweep whose runs x outputs would pass MAX_SWEEP_BYTES."""
    need = sweep_bytes(rows, k, m)
    if need <= MAX_SWEEP_BYTES:
        return
    per_sample = max(1, rows // max(1, samples))
    most = max(1, MAX_SWEEP_BYTES // sweep_bytes(per_sample, k, m))
    raise InputError(CLI, flag, f"{samples:,} gives {rows:,} {method} runs x {m} outputs, about {_size(need)} "
                     f"of memory; the limit is {_size(MAX_SWEEP_BYTES)} ({flag} {most:,} at most): "
                     + (f"use a smaller {flag}, or split the work into runs with different --seed values "
                        "and pool their counts" if method == "mc" else
                        f"use a smaller {flag} (the indices' confidence intervals in indices.csv show "
                        "whether N is enough)"))


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the system has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def cap_workers(workers: int | None) -> tuple[int, str | None]:
    """(workers to start, a one-line notice or None): at most the CPUs available."""
    cpus = available_cpus()
    if workers is None:
        return cpus, None
    if workers > cpus:
        return cpus, (f"--workers {workers} capped at {cpus}: this machine lets urbsd use {cpus} CPU(s); "
                      "more processes would only compete for them")
    return workers, None
