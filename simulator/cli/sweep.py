"""`urbsd sweep`: a sensitivity sweep over the scenario's uncertain: constants."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from simulator.cli.common import PROG, file_stem, lang_option, load_one
from simulator.errors import InputError


def add_parser(sub: Any) -> None:
    """The `sweep` subcommand's options."""
    sweep = sub.add_parser(
        "sweep",
        help="sensitivity sweep over the scenario's uncertain: constants",
        description="Sample the uncertain: constants of SCENARIO, run the model for every sample "
        "(chunked, in parallel, resumable) and write DIR/<stem>-sweep/{samples.parquet, indices.csv, "
        "summary.json, charts/fan.png, charts/indices.png}. N is SALib's base sample size: sobol runs "
        "N(k+2) models, morris N(k+1), mc N (k = number of uncertain constants).",
    )
    sweep.add_argument("scenario", metavar="SCENARIO", help="scenario YAML file")
    sweep.add_argument("--method", choices=("sobol", "morris", "mc"), required=True,
                       help="Sobol' indices (Saltelli sampling), Morris screening, or plain Monte Carlo")
    sweep.add_argument("--samples", type=int, required=True, metavar="N",
                       help="base sample size (sobol: a power of 2 is best)")
    sweep.add_argument("--seed", type=int, default=None, metavar="S", help="random seed (default: 0)")
    sweep.add_argument("--out", default="results", metavar="DIR", help="output folder (default: ./results)")
    lang_option(sweep, "the fan and indices charts")
    sweep.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="dask.distributed scheduler address (e.g. tcp://host:8786); default: local processes")
    sweep.add_argument("--workers", type=int, default=None, metavar="W",
                       help="local worker processes (default: the number of CPUs; 1 runs in this process)")
    sweep.add_argument("--chunk-size", type=int, default=None, metavar="C",
                       help="runs per chunk (default: 2000)")


def handle(args: argparse.Namespace) -> int:
    import time

    from simulator.analysis.chunks import DEFAULT_CHUNK, remove_chunks
    from simulator.analysis.sampling import DEFAULT_SEED, check_method, samples_rows, sampling_groups
    from simulator.analysis.sweep import chunk_folder, run_sweep, sweep_key
    from simulator.outputs.sweep_files import write_sweep

    for flag, value, least in (("--samples", args.samples, 1), ("--workers", args.workers, 1),
                               ("--chunk-size", args.chunk_size, 1), ("--seed", args.seed, 0)):
        if value is not None and value < least:
            raise InputError("command line", flag, f"must be at least {least}, not {value}")
    out_root = Path(args.out)
    if out_root.exists() and not out_root.is_dir():
        raise InputError(args.out, "--out", "exists and is not a folder")
    scenario, _model = load_one(args.scenario)
    out_dir = out_root / f"{file_stem(scenario)}-sweep"
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(out_dir, "--out", "exists and is not a folder")
    if not scenario.uncertain:
        raise InputError(args.scenario, "uncertain", "no uncertain constants: a sweep needs at least one")
    seed = DEFAULT_SEED if args.seed is None else args.seed
    chunk = args.chunk_size or DEFAULT_CHUNK
    why = check_method(args.method, list(scenario.uncertain.values()))
    if why is not None:
        raise InputError(args.scenario, "--method", why)
    groups = sampling_groups(list(scenario.uncertain), list(scenario.uncertain.values()))
    k = len(scenario.uncertain)
    runs = samples_rows(args.method, args.samples, len(groups))  # a posterior block is one input
    # Bounded work: refuse what would not fit in memory before any run starts.
    from simulator.analysis.limits import cap_workers, check_call_runs, check_sweep
    from simulator.analysis.sweep import ModelEvaluator

    m = len(ModelEvaluator(scenario, tuple(scenario.uncertain)).columns)
    check_sweep(args.method, args.samples, runs, k, m)
    check_call_runs(chunk, _model, "--chunk-size", chunk, "use a smaller --chunk-size (default 2000)")
    workers, notice = cap_workers(args.workers)
    if notice:
        print(f"{PROG}: note: {notice}", file=sys.stderr)
    if args.method == "sobol" and args.samples & (args.samples - 1):
        print(f"{PROG}: note: --samples {args.samples} is not a power of 2; Sobol' sequences converge "
              f"best with N = 2^m (e.g. {1 << args.samples.bit_length()})", file=sys.stderr)
    where = f"scheduler {args.scheduler}" if args.scheduler else (
        f"{workers} local process(es)" if workers > 1 else "this process")
    print(f"{scenario.name}: {args.method} sweep of {k} uncertain constant(s), N={args.samples} -> "
          f"{runs:,} runs in chunks of {chunk}, seed {seed}, on {where}", file=sys.stderr)
    t0 = time.perf_counter()
    key = sweep_key(scenario, args.method, args.samples, seed, chunk)
    folder = chunk_folder(out_root, scenario, key)
    resumed = sum(1 for _ in folder.glob("chunk-*.npy")) if folder.is_dir() else 0
    result = run_sweep(scenario, args.method, args.samples, seed=seed, chunk_size=chunk,
                          out_root=out_root, workers=workers, scheduler=args.scheduler)
    elapsed = time.perf_counter() - t0
    paths = write_sweep(result, out_dir, lang=args.lang)
    remove_chunks(folder)

    print(f"{scenario.name} — {args.method} sweep, N={args.samples}, {result.runs:,} runs, seed {seed}"
          f"{f', resumed from {resumed} saved chunk(s)' if resumed else ''}: "
          f"{elapsed:.1f} s ({result.runs / elapsed:,.0f} runs/s)")
    print(f"  model {scenario.spec.name} sha256 {scenario.spec.sha256[:12]}, "
          f"scenario sha256 {scenario.sha256[:12]}")
    from simulator.outputs.labels import probability_text

    for t in result.targets:
        if t["probability"] is None:  # Morris: screening, not a probability sample
            print(f"  {t['indicator']} >= {100 * t['target']:g}% in {t['year']}: median {100 * t['median']:.1f}% "
                  f"over the {t['runs']:,} screening runs (Morris gives no probability; use --method mc)")
            continue
        print(f"  P({t['indicator']} >= {100 * t['target']:g}% in {t['year']}) = "
              f"{probability_text(t['reached'], t['runs'])} "
              f"({t['reached']:,} of {t['runs']:,} runs; median {100 * t['median']:.1f}%)")
    main_key = {"sobol": "ST", "morris": "mu_star", "mc": "spearman_rho"}[args.method]
    for output in result.analysed:
        rows = sorted((r for r in result.indices if r["output"] == output),
                      key=lambda r: -abs(r[main_key]) if r[main_key] == r[main_key] else 0)
        top = ", ".join(f"{r['parameter']} {r[main_key]:.3g}" for r in rows[:3])
        print(f"  {main_key} {output}: {top}")
    files = ", ".join(str(Path(p).relative_to(out_dir)) for p in paths.values())
    print(f"  wrote {out_dir}/{{{files}}}")
    return 0
