"""The compiled kernel (engine/c_code.py, engine/kernel.py) against the numpy path, the reference.

Tolerance. Both paths evaluate the same operations in the same order, but numpy's own SIMD
`exp`/`log`/`pow` differ from the C library's in the last bit on a few percent of inputs, and
numpy sums 8 or more elements pairwise where the kernel adds left to right. Such a 1-ulp
difference is amplified where a value is a small difference of large flows (e.g. a net change
of 0.9 persons out of a series reaching 14,000): pointwise relative differences there reach
1e-11 while the series agree to 1e-15 of their size. So every variable is compared with a
tolerance of 1e-12 times its scale in each run: the largest |value| over time and over its
elements (one element's whole series can be such a residue: with Heun on a random draw of the
cohort draft model, one county's hospital completions peaked at 1.4e-4 places a year, where a
county builds tens, and the paths differed by 1.2e-15 places, 9e-12 of that peak); exact zeros
must be exact zeros on both paths, and NaN must be NaN on both. Random parameter sets are compared on
the runs that stay sane on the numpy path (every stock finite and within 10 times its largest
size in the default run): a run whose stocks run away (e.g. to -4.8e8 after a sign change, with
RK4 at dt 0.25 on extreme draws) amplifies a last-bit difference without bound, on either path.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from simulator.bundled import bundled_model_path
from simulator.engine import kernel as K
from simulator.engine.c_code import generate
from simulator.engine.compile import compile_model
from simulator.engine.integrate import simulate
from simulator.engine.load import load_model
from simulator.engine.series import TimeSeries

DATA = Path(__file__).resolve().parents[1] / "data"
MODELS = {
    "pingliang": bundled_model_path(),
    "toy": DATA / "toy_model.yaml",
    "county_age": DATA / "county_age.yaml",
    "cohort_draft": DATA / "cohort_draft.yaml",
}
RTOL = 1e-12

pytestmark = pytest.mark.skipif(not K.compiler_available(), reason="no C compiler")


@pytest.fixture(scope="module")
def compiled():
    cache: dict[str, object] = {}

    def get(name: str):
        if name not in cache:
            cache[name] = compile_model(load_model(MODELS[name]))
        return cache[name]

    return get


def assert_agree(ref, got, rtol: float = RTOL, runs: np.ndarray | None = None) -> None:
    """Every variable of two runs agrees to rtol times its scale in each run; zeros, infinities and
    NaN exactly (`runs`: only these runs of the batch)."""
    assert list(ref.data) == list(got.data)
    for name, a in ref.data.items():
        b = got.data[name]
        if runs is not None:
            a, b = a[runs], b[runs]
        assert a.shape == b.shape, name
        finite = np.isfinite(a)
        assert np.array_equal(finite, np.isfinite(b)), f"{name}: not finite in one path only"
        assert np.array_equal(a[~finite], b[~finite], equal_nan=True), f"{name}: other infinities"
        assert np.array_equal(a == 0, b == 0), f"{name}: an exact zero in one path only"
        a, b = np.where(finite, a, 0.0), np.where(finite, b, 0.0)
        scale = np.max(np.abs(a), axis=tuple(range(1, a.ndim)), keepdims=True)
        diff = np.abs(a - b)
        assert np.all(diff <= rtol * scale), \
            f"{name}: differs by {np.max(diff / np.where(scale > 0, scale, 1)):.3g} of its scale"


def random_params(spec, n: int, seed: int) -> dict[str, np.ndarray]:
    """Every constant with bounds drawn uniformly inside them, one value per run and element."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, c in spec.constants.items():
        if c.bounds is None or not c.bounds[0] < c.bounds[1]:
            continue
        sizes = tuple(len(spec.elements(d)) for d in c.dims)
        out[name] = rng.uniform(c.bounds[0], c.bounds[1], size=(n,) + sizes)
    return out


@pytest.mark.parametrize("method", ["euler", "heun", "rk4"])
@pytest.mark.parametrize("name", list(MODELS))
def test_every_variable_agrees_with_the_numpy_path_at_the_defaults(compiled, name, method):
    model = compiled(name)
    ref = simulate(model, method=method, backend="numpy")
    got = simulate(model, method=method, backend="kernel")
    assert got.method == ref.method == method
    assert_agree(ref, got)


@pytest.mark.parametrize("method", ["euler", "heun", "rk4"])
@pytest.mark.parametrize("name", ["pingliang", "county_age", "cohort_draft"])
def test_every_variable_agrees_for_random_constants_within_bounds(compiled, name, method):
    model = compiled(name)
    params = random_params(model.spec, 40, seed=7)
    assert params, f"{name} has no bounded constants"
    ref = simulate(model, params, n_runs=40, method=method, backend="numpy")
    got = simulate(model, params, n_runs=40, method=method, backend="kernel")
    default = simulate(model, method=method, backend="numpy")
    sane = np.ones(40, dtype=bool)
    for stock in model.stocks:
        values, size = ref.data[stock].reshape(40, -1), np.max(np.abs(default.data[stock]))
        sane &= np.all(np.isfinite(values) & (np.abs(values) <= 10 * size + 1), axis=1)
    assert sane.sum() >= 20, f"only {sane.sum()} of 40 random runs keep their stocks in range"
    assert_agree(ref, got, runs=sane)


def test_time_series_levers_are_read_at_every_step_and_half_step(compiled):
    """A lever given as a time series is tabulated at every step (Heun: at the step's end too; RK4:
    at every half step)."""
    model = compiled("pingliang")
    ts = TimeSeries(np.array([2020.0, 2024.3, 2035.0]), np.array([0.2, 0.9, 0.5]))
    lever = next(n for n, c in model.spec.constants.items() if c.lever and not c.dims and c.bounds)
    lo, hi = model.spec.constants[lever].bounds
    ts = TimeSeries(ts.years, lo + (hi - lo) * ts.values)
    for method in ("euler", "heun", "rk4"):
        ref = simulate(model, {lever: ts}, method=method, backend="numpy")
        got = simulate(model, {lever: ts}, method=method, backend="kernel")
        assert_agree(ref, got)
    assert frozenset({lever}) in model.kernels  # a kernel of its own: the lever is not hoisted


def test_outputs_and_run_axis_as_the_numpy_path(compiled):
    model = compiled("county_age")
    names = list(model.variables)[::3]
    params = random_params(model.spec, 5, seed=3)
    ref = simulate(model, params, n_runs=5, outputs=names, backend="numpy", saveper=0.5, stop=2026)
    got = simulate(model, params, n_runs=5, outputs=names, backend="kernel", saveper=0.5, stop=2026)
    assert list(got.data) == names and np.array_equal(ref.times, got.times)
    assert_agree(ref, got)
    with pytest.raises(ValueError, match="unknown output"):
        simulate(model, outputs=["__delay3_x_out"], backend="kernel")


def test_each_spec_of_one_model_file_runs_with_its_own_constants():
    """Two ModelSpec objects of one file share its compiled kernel; a copy with a constant
    changed runs with its own value on the kernel, as on the numpy path, and the first spec
    still with its own (the kernel's flattened defaults belong to a spec, not to the kernel)."""
    from simulator.engine.compile import compiled

    spec = load_model(MODELS["toy"])
    rate = spec.constants["migration_rate"]
    changed = spec.model_copy(update={"constants": {**spec.constants,
                                                    "migration_rate": rate.model_copy(update={"value": 0.05})}})
    assert changed.sha256 == spec.sha256 and compiled(changed).program is compiled(spec).program
    runs = {}
    for label, s in (("first", spec), ("changed", changed), ("first again", spec)):
        runs[label] = {b: simulate(compiled(s), backend=b) for b in ("kernel", "numpy")}
        assert_agree(runs[label]["numpy"], runs[label]["kernel"])
    assert_agree(runs["first"]["kernel"], runs["first again"]["kernel"], rtol=0.0)
    assert not np.allclose(runs["first"]["kernel"].data["rural"], runs["changed"]["kernel"].data["rural"])


EDGE = {
    "name": "edges",
    "time": {"start": 0, "stop": 4, "dt": 0.5, "saveper": 1},
    "dimensions": {"g": {"elements": ["g1", "g2", "g3", "g4", "g5", "g6", "g7", "g8", "g9"], "ordered": True}},
    "constants": {
        "a": {"value": [1, -2, 0, 4, 0.5, -0.25, 3, 2, 1], "dims": ["g"], "bounds": [-5, 5]},
        "z": {"value": 0, "bounds": [-1, 1]},
    },
    "lookups": {"curve": {"x": [0, 1, 2, 4], "y": [1, 3, 3, -1]}},
    "stocks": {"s": {"initial": "a", "dims": ["g"], "inflows": ["grow"]}},
    "flows": {"grow": {"dims": ["g"], "equation": "0.1 * s * min(1, max(-1, curve(time + a)))"}},
    "auxiliaries": {
        "nan_min": {"dims": ["g"], "equation": "min(sqrt(a - 0.5), a)"},
        "nan_max": {"dims": ["g"], "equation": "max(a, ln(a))"},
        "ratio": {"dims": ["g"], "equation": "if_then_else(a != 0, z / a, a / z)"},
        "look": {"dims": ["g"], "equation": "curve(a + time / 2) + curve(ln(a))"},
        "power": {"dims": ["g"], "equation": "a ** 2 + abs(a) ** 0.5 + s ** 1 + a ** 3"},
        "wide": {"equation": "sum(s * a) + mean(a) + vmax(s) - vmin(s)"},
        "aged": {"dims": ["g"], "equation": "shift(s, g) + s[g3] * step(1, 2.2) + ramp(0.5, 1, 3)"},
    },
}


def test_nan_zero_lookups_powers_and_wide_sums_as_numpy(tmp_path):
    """NaN through min/max/lookups, 0/0, a lookup at and beyond its points, x ** 2 and x ** 0.5
    by numpy's fast power, a 9-element sum (pairwise in numpy), shift, step and ramp."""
    for table in ("constants", "lookups", "stocks", "flows", "auxiliaries"):
        for el in EDGE[table].values():
            el.setdefault("unit", "dimensionless")
            el.setdefault("label", {"zh": "测试", "en": "test"})
    path = tmp_path / "edges.yaml"
    path.write_text(yaml.safe_dump(EDGE), encoding="utf-8")
    model = compile_model(load_model(path, units=False))
    for method in ("euler", "rk4"):
        ref = simulate(model, method=method, backend="numpy")
        got = simulate(model, method=method, backend="kernel")
        assert np.isnan(ref.data["nan_min"]).any() and np.isnan(ref.data["ratio"]).any()
        assert_agree(ref, got)


def test_generated_source_is_the_same_in_every_process():
    """The cache key must not depend on the process (hash randomisation of sets and dicts)."""
    code = ("from simulator.engine.c_code import generate; from simulator.engine.compile import build_program; "
            "from simulator.engine.load import load_model; import sys; "
            f"print(generate(build_program(load_model({str(MODELS['county_age'])!r}))).key)")
    keys = {subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": seed},
                           capture_output=True, text=True, check=True).stdout for seed in ("1", "2", "3")}
    assert len(keys) == 1


def test_constants_only_expressions_are_computed_once_per_run(compiled):
    """The delay3's delay / 3 and the constants-only auxiliaries sit before the time loop."""
    src = generate(compiled("pingliang").program).text
    driver = src[src.index("static void run_lanes("):src.index("int urbsd_info(")]
    before, loop = driver.split("time steps */")

    def body(calls: str) -> str:  # the functions called in `calls`, as written
        return "".join(re.search(rf"void {f}\([^\n]*?\) {{\n(.*?)\n}}\n", src, re.S).group(1)
                       for f in re.findall(r"(urbsd_f\d+)\(w, t, dt, ts\);", calls))

    once, each_step = body(before), body(loop)
    assert "delay time of delay3" in once and "delay time of delay3" not in each_step
    assert "sum over county" in once


@pytest.mark.parametrize("lanes", [1, 4])
def test_the_workspace_size_is_what_the_compiler_lays_out(compiled, lanes):
    """KernelSource.workspace (benchmarks/scaling.py prints it) counts every double of work_t:
    the C compiler places the field after the doubles, `side`, at 8 bytes times that count."""
    src = generate(compiled("county_age").program, lanes=lanes)
    check = src.text + f'\n#include <stddef.h>\n_Static_assert(offsetof(work_t, side) == {8 * src.workspace}, "ws");\n'
    done = subprocess.run([K.find_compiler().path, "-fsyntax-only", "-x", "c", "-"], input=check,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-500:]
    assert src.workspace == lanes * generate(compiled("county_age").program, lanes=1).workspace


# --------------------------------------------------------------------------- cache and fallbacks


def _toy(tmp_path: Path, factor: float) -> object:
    """The toy model with its migration equation multiplied by `factor` (a new equation)."""
    text = (DATA / "toy_model.yaml").read_text(encoding="utf-8")
    path = tmp_path / "toy.yaml"
    path.write_text(text.replace("equation: rural * migration_rate", f"equation: rural * migration_rate * {factor}"),
                    encoding="utf-8")
    return compile_model(load_model(path))


def test_the_cache_is_reused_and_an_edited_model_recompiles(tmp_path, monkeypatch):
    monkeypatch.setenv(K.ENV_CACHE, str(tmp_path / "cache"))
    first = _toy(tmp_path, 1.5)
    simulate(first)
    assert first.kernels[frozenset()].build_seconds > 0
    again = _toy(tmp_path, 1.5)
    simulate(again, {"migration_rate": 0.05})  # a constant's value is an input, not code
    assert again.kernels[frozenset()].build_seconds == 0  # loaded from the cache
    edited = _toy(tmp_path, 1.25)
    simulate(edited)
    assert edited.kernels[frozenset()].build_seconds > 0
    libraries = sorted(p.name for p in (tmp_path / "cache").iterdir() if p.suffix in (".so", ".dylib", ".dll"))
    assert len(libraries) == 2 and not any(p.name.startswith(".build") for p in (tmp_path / "cache").iterdir())


def test_a_build_prunes_kernels_unused_for_a_month_and_beyond_the_cap(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv(K.ENV_CACHE, str(cache))
    cache.mkdir()
    now = time.time()
    stale, recent = [], []
    for i in range(3):  # two old libraries and one used yesterday, each with its C and lock file
        lib = cache / f"urbsd_{i:032x}.so"
        for path in (lib, lib.with_suffix(".c"), lib.with_name(lib.name + ".lock")):
            path.write_bytes(b"")
        age = 86400 * (K.CACHE_KEEP_DAYS + 1 if i < 2 else 1)
        os.utime(lib, (now - age, now - age))
        (stale if i < 2 else recent).append(lib)
    built = _toy(tmp_path, 1.5)
    simulate(built)
    assert built.kernels[frozenset()].build_seconds > 0
    left = sorted(p.name for p in cache.iterdir())
    assert not any(lib.name in left or lib.with_suffix(".c").name in left for lib in stale)
    assert recent[0].name in left and built.kernels[frozenset()].path.name in left
    # past the cap the least recently used go, the one just built stays
    monkeypatch.setattr(K, "CACHE_KEEP_MAX", 1)
    gone = K.prune_cache(cache, keep=built.kernels[frozenset()].path, now=now)
    assert gone == [recent[0]] and built.kernels[frozenset()].path.is_file()


def test_a_cache_folder_that_cannot_be_written_compiles_in_a_temporary_folder(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(K.ENV_CACHE, str(blocker / "kernels"))
    monkeypatch.setattr(K, "_NOTICES", set())
    model = _toy(tmp_path, 1.01)
    got = simulate(model)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot be written" in err[0] and "temporary folder" in err[0]
    assert_agree(simulate(model, backend="numpy"), got)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes anywhere")
def test_a_read_only_cache_folder_compiles_in_a_temporary_folder(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    monkeypatch.setenv(K.ENV_CACHE, str(folder))
    monkeypatch.setattr(K, "_NOTICES", set())
    try:
        simulate(_toy(tmp_path, 1.02))
    finally:
        folder.chmod(0o755)
    assert "cannot be written" in capsys.readouterr().err


def test_no_compiler_falls_back_to_numpy_with_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(K.ENV_CC, str(tmp_path / "no-such-cc"))
    monkeypatch.setattr(K, "_NOTICES", set())
    model = _toy(tmp_path, 1.03)
    got = simulate(model)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no-such-cc" in err[0] and "numpy path" in err[0]
    ref = simulate(model, backend="numpy")
    for name in ref.data:
        assert np.array_equal(ref.data[name], got.data[name])
    with pytest.raises(K.KernelError, match="not found"):
        simulate(model, backend="kernel")


def test_a_failing_compiler_falls_back_to_numpy(tmp_path, monkeypatch, capsys):
    fake = tmp_path / "cc"
    fake.write_text("#!/bin/sh\necho 'fake: cannot compile' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv(K.ENV_CC, str(fake))
    monkeypatch.setenv(K.ENV_CACHE, str(tmp_path / "cache"))
    monkeypatch.setattr(K, "_NOTICES", set())
    simulate(_toy(tmp_path, 1.04))
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "fake: cannot compile" in err[0] and "exit 3" in err[0]


def test_a_compiler_that_refuses_the_optional_flags_builds_without_them(tmp_path, monkeypatch, capsys):
    log = tmp_path / "calls"
    fake = tmp_path / "cc"  # refuses -march=native and -fpeel-loops as clang or an old gcc might; else cc
    fake.write_text("#!/bin/sh\n"
                    f"echo \"$*\" >> '{log}'\n"
                    "for a in \"$@\"; do case \"$a\" in -march=native|-fpeel-loops) "
                    "echo \"error: unknown argument: '$a'\" >&2; exit 1;; esac; done\n"
                    "exec cc \"$@\"\n")
    fake.chmod(0o755)
    monkeypatch.setenv(K.ENV_CC, str(fake))
    monkeypatch.setenv(K.ENV_CACHE, str(tmp_path / "cache"))
    model = _toy(tmp_path, 1.06)
    got = simulate(model, backend="kernel")
    ref = simulate(model, backend="numpy")
    for name in ref.data:
        np.testing.assert_allclose(got.data[name], ref.data[name], rtol=1e-12, atol=0)
    calls = log.read_text().splitlines()
    assert "-fvect-cost-model=dynamic" in calls[-1] and "-march=native" not in calls[-1]
    assert "-fpeel-loops" not in calls[-1]
    tried = {tuple(a for a in call.split() if a.startswith(("-f", "-m"))) for call in calls}
    assert len(tried) == 3  # each refusal drops the flag it names: three sets of flags were tried
    assert capsys.readouterr().err == ""


def test_the_parts_built_side_by_side_are_the_file_built_whole(tmp_path, monkeypatch):
    """The same source built in its parts (as urbsd does) and as one file gives the same numbers."""
    import dataclasses

    def whole(*args, **kwargs):
        return dataclasses.replace(generate(*args, **kwargs), parts=1)

    got, parts = {}, {}
    for how, gen in (("parts", generate), ("whole", whole)):
        monkeypatch.setenv(K.ENV_CACHE, str(tmp_path / how))
        monkeypatch.setattr(K, "generate", gen)
        model = _toy(tmp_path, 1.07)
        parts[how] = K.kernel_for(model).source.parts
        got[how] = simulate(model, backend="kernel").data
    assert parts["parts"] > 1 and parts["whole"] == 1
    assert got["parts"].keys() == got["whole"].keys()
    for name in got["parts"]:
        np.testing.assert_array_equal(got["parts"][name], got["whole"][name])


@pytest.mark.parametrize("sizes,parts", [([5, 1, 1, 1, 1, 1], 4), ([1] * 9, 4), ([3, 2], 4), ([7], 3), ([2, 9, 2, 2], 2)])
def test_the_functions_are_cut_into_consecutive_parts_of_about_equal_length(sizes, parts):
    from simulator.engine.c_code import _cut

    functions = [[f"f{i}"] * n for i, n in enumerate(sizes)]
    groups = _cut(functions, parts)
    assert [f for g in groups for f in g] == functions  # all of them, in order, once
    assert 1 <= len(groups) <= min(parts, len(sizes)) and all(groups)
    lengths = [sum(len(f) for f in g) for g in groups]
    assert max(lengths) <= max(sum(sizes) / parts, max(sizes)) * 2


def _build_in_child(cache: str, path: str) -> float:
    os.environ[K.ENV_CACHE] = cache
    model = compile_model(load_model(path))
    return float(simulate(model, outputs=["urbanization_rate"]).data["urbanization_rate"][0, -1])


def test_two_processes_building_the_same_kernel_at_once(tmp_path):
    import multiprocessing

    path = tmp_path / "toy.yaml"
    path.write_text((DATA / "toy_model.yaml").read_text(encoding="utf-8").replace(
        "equation: rural * migration_rate", "equation: rural * migration_rate * 1.05"), encoding="utf-8")
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        values = pool.starmap(_build_in_child, [(str(tmp_path / "cache"), str(path))] * 2)
    assert values[0] == values[1]
    files = [p.name for p in (tmp_path / "cache").iterdir()]
    assert sum(f.endswith((".so", ".dylib", ".dll")) for f in files) == 1
