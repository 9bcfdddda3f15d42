"""urbsd against SDEverywhere, an independent Vensim compiler, side by side on one core: v1 and v2.

Issue #12 set its target of 40 us per run as "3x ahead of SDEverywhere's compiled C" (117 us) on the
model then shipped, v1 (kept as benchmarks/models/pingliang-v1.yaml). SDEverywhere's C needs its
command-line package, whose C runtime the npm registry here does not serve (@sdeverywhere/cli: not
found, 2026-12-03); its compiler package also writes JavaScript, which its runtime package runs
under Node. So this benchmark measures SDEverywhere's JavaScript on both models:

- installs @sdeverywhere/compile and @sdeverywhere/runtime (the versions below) with npm into a
  temporary folder (needs node, npm and the npm registry). The compiler depends on an xlsx package
  at a URL outside the registry; the registry's xlsx 0.18.5 stands in for it, and the one call
  the compiler makes to it on loading (`XLSX.set_fs`, which 0.18.5 lacks; it serves models that
  read Excel files, which these do not) is skipped;
- exports each model with its default constants as Vensim .mdl (`urbsd export`: Euler at the
  model's own step, the only method a .mdl carries), and has SDEverywhere generate JavaScript with
  every bounded scalar constant as an input and the urbanization rate as the output;
- runs N runs in Node, each with its own inputs (benchmarks/throughput.py's draws): one batch
  that keeps the outputs and warms the just-in-time compiler, then R timed batches (best of R),
  the runs only; then the same inputs on urbsd's kernel (one core), by Euler at
  the same step (what SDEverywhere runs) and by the model's own method and step;
- prints per-run costs and ratios, and the largest difference of the urbanization rate between
  SDEverywhere and urbsd by Euler (the check that both ran the same model).

Then an ESTIMATE, not a measurement: SDEverywhere's C on v2, as its measured 117 us on v1 times the
ratio of its JavaScript's costs on v2 and v1 (it assumes that its C and its JavaScript slow down
alike from v1 to v2).

Run: python benchmarks/sdeverywhere.py [N] [R]   (defaults 3000 runs, best of 3)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from throughput import draws  # this folder (the script's own) is on sys.path

from simulator.bundled import bundled_model_path
from simulator.engine.compile import compile_model
from simulator.engine.integrate import simulate
from simulator.engine.load import load_model
from simulator.interop.vensim import to_vensim

V1 = Path(__file__).resolve().parent / "models" / "pingliang-v1.yaml"
PACKAGES = {"@sdeverywhere/compile": "0.7.28", "@sdeverywhere/runtime": "0.2.6"}
#: the compiler's dependency on xlsx is a URL outside the npm registry (cdn.sheetjs.com), which this
#: machine cannot reach: the registry's last xlsx stands in for it (it reads no Excel file here)
OVERRIDES = {"xlsx": "npm:xlsx@0.18.5"}
#: issue #12: SDEverywhere's compiled C on v1, about 117 us per run on one core
SDE_C_V1_US = 117.0
OUTPUT = "urbanization_rate"

GENERATE = """
import fs from 'fs'
import path from 'path'
import { parseAndGenerate } from '@sdeverywhere/compile'
const [mdl, specFile, outDir] = process.argv.slice(2)
const spec = JSON.parse(fs.readFileSync(specFile, 'utf8'))
await parseAndGenerate(fs.readFileSync(mdl, 'utf8'), 'vensim', spec, ['generateJS'], path.dirname(mdl),
                       path.basename(mdl, '.mdl'), outDir)
"""

RUN = """
import fs from 'fs'
import { pathToFileURL } from 'url'
import { initJsModel, Outputs, ReferencedRunModelParams, createInputValue } from '@sdeverywhere/runtime'
const [modelJs, inputsFile, outFile, reps] = process.argv.slice(2)
const model = await (await import(pathToFileURL(modelJs).href)).default()
const runnable = initJsModel(model)
const { n, k, values } = JSON.parse(fs.readFileSync(inputsFile, 'utf8'))
const inputs = Array.from({ length: k }, (_, j) => createInputValue(`in${j}`, values[j]))
const outputs = new Outputs(model.outputVarIds, runnable.startTime, runnable.endTime, runnable.saveFreq)
const params = new ReferencedRunModelParams()
const out = []
let best = Infinity
// the first batch keeps every run's series (and warms the JIT); the timed batches keep nothing
for (let r = 0; r <= Number(reps); r++) {
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) inputs[j].set(values[i * k + j])
    params.updateFromParams(inputs, outputs)
    runnable.runModel(params)
    if (r === 0) out.push(outputs.varSeries[0].points.map(p => p.y))
  }
  if (r > 0) best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9)
}
fs.writeFileSync(outFile, JSON.stringify({ seconds: best, series: out }))
"""


def node(args: list[str], folder: Path) -> None:
    """Run a Node script in `folder`; its error output if it fails."""
    done = subprocess.run(["node", *args], cwd=folder, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"node {args[0]} failed:\n{done.stderr[-2000:]}")


def install(folder: Path) -> None:
    """SDEverywhere's compiler and runtime, from the npm registry, into `folder`."""
    (folder / "package.json").write_text(json.dumps({"name": "urbsd-sde-bench", "private": True, "type": "module",
                                                     "dependencies": PACKAGES, "overrides": OVERRIDES}))
    done = subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=folder, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"npm install failed:\n{done.stderr[-2000:]}")
    helpers = folder / "node_modules/@sdeverywhere/compile/src/_shared/helpers.js"
    text = helpers.read_text()
    helpers.write_text(text.replace("\nXLSX.set_fs(fs)", "\nif (XLSX.set_fs) XLSX.set_fs(fs)"))
    (folder / "generate.mjs").write_text(GENERATE)
    (folder / "run.mjs").write_text(RUN)


def sde_runs(folder: Path, label: str, spec, params: dict[str, np.ndarray], reps: int) -> tuple[float, np.ndarray]:
    """Seconds per run of SDEverywhere's JavaScript (best of `reps` batches) and its urbanization rate
    (runs, save points)."""
    names = list(params)
    mdl = folder / f"{label}.mdl"
    mdl.write_text(to_vensim(spec), encoding="utf-8")
    (folder / f"{label}.json").write_text(json.dumps({"inputVarNames": names, "outputVarNames": [OUTPUT]}))
    build = folder / f"build_{label}"
    build.mkdir()
    node(["generate.mjs", str(mdl), f"{label}.json", str(build)], folder)
    n = len(next(iter(params.values())))
    values = np.column_stack([params[k] for k in names]).ravel().tolist()
    (folder / f"{label}_in.json").write_text(json.dumps({"n": n, "k": len(names), "values": values}))
    out = folder / f"{label}_out.json"
    node(["run.mjs", str(build / f"{label}.js"), f"{label}_in.json", str(out), str(reps)], folder)
    got = json.loads(out.read_text())
    return got["seconds"] / n, np.array(got["series"], dtype=float)


def urbsd_runs(model, params: dict[str, np.ndarray], method: str, reps: int) -> tuple[float, np.ndarray]:
    """Seconds per run on the kernel (best of `reps` batches, one core) and the urbanization rate."""
    n = len(next(iter(params.values())))
    simulate(model, {k: v[:4] for k, v in params.items()}, n_runs=4, outputs=[OUTPUT], method=method, backend="kernel")
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        run = simulate(model, params, n_runs=n, outputs=[OUTPUT], method=method, backend="kernel")
        best = min(best, time.perf_counter() - t0)
    return best / n, run.data[OUTPUT]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    if not (shutil.which("node") and shutil.which("npm")):
        raise SystemExit("this benchmark needs node and npm (e.g. apt-get install nodejs npm)")
    version = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {os.cpu_count()} cores; "
          f"Node {version}; {', '.join(f'{k}@{v}' for k, v in PACKAGES.items())}")
    print(f"batches of {n:,} runs, best of {reps}, one core; every bounded scalar constant drawn uniformly")
    rows = []
    with tempfile.TemporaryDirectory(prefix="urbsd-sde-") as tmp:
        folder = Path(tmp)
        install(folder)
        for label, path in (("v1", V1), ("v2", bundled_model_path())):
            spec = load_model(path)
            model = compile_model(spec)
            params = draws(spec, n)
            t = spec.time
            sde, sde_rate = sde_runs(folder, label, spec, params, reps)
            euler, euler_rate = urbsd_runs(model, params, "euler", reps)
            own, _ = urbsd_runs(model, params, t.method, reps)
            if sde_rate.shape != euler_rate.shape:
                raise SystemExit(f"{label}: SDEverywhere saved {sde_rate.shape} values, urbsd {euler_rate.shape}")
            diff = float(np.max(np.abs(sde_rate - euler_rate)))
            rows.append((label, spec.sha256[:12], t, len(params), sde, euler, own, diff))
    print(f"\n{'model':5s} {'sha256':12s} {'own method':14s} {'inputs':>6s} {'SDE JS (Euler) us':>18s} "
          f"{'urbsd Euler us':>15s} {'urbsd own us':>13s} {'SDE/urbsd Euler':>16s} {'SDE/urbsd own':>14s} "
          f"{'max |rate diff|':>16s}")
    for label, sha, t, k, sde, euler, own, diff in rows:
        print(f"{label:5s} {sha:12s} {t.method + ' dt ' + format(t.dt, 'g'):14s} {k:6d} {sde * 1e6:18.1f} "
              f"{euler * 1e6:15.1f} {own * 1e6:13.1f} {sde / euler:15.1f}x {sde / own:13.1f}x {diff:16.2e}")
    v1, v2 = rows[0][4], rows[1][4]
    estimate = SDE_C_V1_US * v2 / v1
    print(f"\nSDEverywhere's JavaScript: v2 costs {v2 / v1:.2f}x v1 per run.")
    print(f"ESTIMATE (not measured): SDEverywhere's C on v2 = {SDE_C_V1_US:g} us (issue #12, v1) x {v2 / v1:.2f} = "
          f"{estimate:.0f} us per run; 3x ahead of it = {estimate / 3:.0f} us; urbsd's kernel on v2 by its own "
          f"method: {rows[1][6] * 1e6:.1f} us ({estimate / (rows[1][6] * 1e6):.1f}x ahead of the estimate)")
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
