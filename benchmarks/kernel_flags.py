"""The compiled kernel built with three sets of compiler flags and two other lane counts, side by
side, on the baseline.

For each set: its first compile (into an empty cache) and the per-run cost of one Monte Carlo
batch of the baseline's uncertain inputs through the sweep's evaluator (as benchmarks/kernel_speed.py),
each set in a fresh process of its own (a process keeps the first kernel it loads), the sets
alternated R times, best of R; and the largest difference of the outputs from the shipped flags'.

  plain -O2   engine.kernel.FLAGS and -march=native
  shipped     FLAGS, TUNING and -march=native (what `urbsd` builds), c_code.LANES runs side by side
  -O3         FLAGS with -O3 for -O2, and -march=native
  8 lanes     as shipped, 8 runs side by side in the generated code
  1 lane      as shipped, one run at a time

Run: python benchmarks/kernel_flags.py [N] [R]   (defaults 4000 runs, 3 rounds)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

import numpy as np

VARIANTS = ("plain -O2", "shipped", "-O3", "8 lanes", "1 lane")


def child(variant: str, n: int, out: str) -> None:
    """Build the kernel with `variant`'s flags into an empty cache, time one batch; print JSON."""
    import time

    import simulator.engine.kernel as K

    os.environ[K.ENV_CACHE] = tempfile.mkdtemp(prefix="urbsd-flags-")
    if variant in ("plain -O2", "-O3"):
        K.TUNING = ()
    if variant == "-O3":
        K.FLAGS = tuple("-O3" if f == "-O2" else f for f in K.FLAGS)
    if variant.endswith(("lanes", "lane")):
        import functools

        from simulator.engine.c_code import generate

        K.generate = functools.partial(generate, lanes=int(variant.split()[0]))
    sys.path.insert(0, os.path.dirname(__file__))
    from kernel_speed import setup
    from simulator.engine.compile import compiled

    scenario, X, evaluator = setup(n, "kernel")
    evaluator(X[:4])  # builds the kernel
    build = compiled(scenario.spec).kernels[frozenset()].build_seconds
    t0 = time.perf_counter()
    got = evaluator(X)
    per_run = (time.perf_counter() - t0) / n
    np.save(out, got)
    print(json.dumps({"build_s": build, "per_run_us": per_run * 1e6}))


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 4000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {os.cpu_count()} cores")
    folder = tempfile.mkdtemp(prefix="urbsd-flags-out-")
    results: dict[str, list[dict]] = {v: [] for v in VARIANTS}
    for _ in range(rounds):
        for i, v in enumerate(VARIANTS):
            proc = subprocess.run([sys.executable, __file__, "--child", v, str(n), os.path.join(folder, f"{i}.npy")],
                                  capture_output=True, text=True, check=True)
            results[v].append(json.loads(proc.stdout.strip().splitlines()[-1]))
    shipped = np.load(os.path.join(folder, f"{VARIANTS.index('shipped')}.npy"))
    print(f"batch of {n:,} runs of the baseline, each set in its own process, best of {rounds}")
    print(f"{'':12s} {'first compile (s)':>18s} {'per run (us)':>13s} {'vs plain -O2':>13s} {'max |diff|':>11s}")
    plain = min(r["per_run_us"] for r in results["plain -O2"])
    for i, v in enumerate(VARIANTS):
        got = np.load(os.path.join(folder, f"{i}.npy"))
        best = min(r["per_run_us"] for r in results[v])
        build = min(r["build_s"] for r in results[v])
        print(f"{v:12s} {build:18.2f} {best:13.1f} {plain / best:12.2f}x {np.nanmax(np.abs(got - shipped)):11.2e}")
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        main()
