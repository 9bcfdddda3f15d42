"""The compiled kernel: the C of `c_code` built by the machine's C compiler, cached on disk,
loaded with ctypes, and called with a batch of runs.

- **Compiler**: `$URBSD_CC` if set (a program name or path), else `$CC`, else the first of
  `cc`, `gcc`, `clang` on the PATH. Flags `-O2 -ffp-contract=off -fno-trapping-math -fPIC
  -shared` and, unless the compiler refuses them, `-fpeel-loops -fvect-cost-model=dynamic
  -march=native` (never fast-math: the results must be the numpy path's). No compiler:
  `kernel_for` raises KernelError and `simulate` runs the numpy path after a one-line notice
  on stderr.
- **Build**: the file's parts (`c_code.PARTS`, sections selected by `-DURBSD_PART=k`) are
  compiled side by side, as many compiler processes at once as there are cores, then linked
  with `-lm`; the compile of the shipped model takes about 1/cores as long as one process.
- **Cache**: `$URBSD_CACHE_DIR` if set, else the user's cache folder
  (`platformdirs.user_cache_dir("urbsd")/kernels`), never the package or the checkout. A
  library is named by the sha256 of the kernel version, the generated source (so the model's
  equations, its numbers and which constants are time series), the compiler's identity (its
  resolved path, size and modification time), the flags, the processor (`-march=native`) and
  the platform: an edited equation, a new compiler or a new urbsd builds a new one (a new value
  of a constant does not: constants are inputs of the kernel). A build writes into a temporary folder inside
  the cache and moves the library into place with `os.replace` (atomic; two processes building
  the same kernel at once both succeed, and a lock makes the second wait for the first). A
  cache folder that cannot be written: the build goes to a temporary folder, after a one-line
  notice. Loading a library marks it used (its modification time); each new build deletes the
  libraries (with their C and lock files) not used for `CACHE_KEEP_DAYS` days and, past
  `CACHE_KEEP_MAX` libraries, the least recently used, so edited models do not pile up.
- **In process**: a loaded kernel is kept on its `CompiledModel` per set of time-series
  constants, so a second run in the same process costs only the call.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from simulator.engine.c_code import KernelSource, generate
from simulator.engine.c_parts import KERNEL_VERSION, METHOD_CODES, TS_ROWS

ENV_CC = "URBSD_CC"
ENV_CACHE = "URBSD_CACHE_DIR"
COMPILERS = ("cc", "gcc", "clang")
#: never fast-math, never a fused multiply-add: every operation rounds as numpy's does.
#: -fno-trapping-math lets the compiler evaluate both branches of a condition in vector code
#: (numpy's np.where does too); no result depends on floating-point exception flags.
FLAGS = ("-O2", "-ffp-contract=off", "-fno-fast-math", "-fno-trapping-math", "-fPIC", "-shared")
#: the vector instructions of this machine's processor; dropped if the compiler refuses it (the
#: library is then portable, and slower)
NATIVE = "-march=native"
#: -fpeel-loops and the dynamic vector cost model (two of -O3's additions to -O2) vectorize the
#: short loops over lanes and elements better: on the shipped model (gcc 12, 2026-12-02) 177
#: against 223 us per run at plain -O2 (-O3: 173 us), for a first compile of 3.2 s against 2.2 s
#: (-O3: 5.7 s), the same results to the bit (benchmarks/kernel_flags.py; docs/architecture.md).
#: GCC's names: dropped, like NATIVE, by a compiler that refuses them.
TUNING = ("-fpeel-loops", "-fvect-cost-model=dynamic")
#: seconds a build may take before it counts as failed
BUILD_TIMEOUT = 600
#: a cached library not loaded for this many days is deleted by the next build (estimate: a
#: month keeps every model a user works with; a rebuild costs about 2 s)
CACHE_KEEP_DAYS = 30
#: at most this many libraries stay in the cache (about 120 KiB each for the shipped model)
CACHE_KEEP_MAX = 64

_NOTICES: set[str] = set()


class KernelError(RuntimeError):
    """No kernel: no compiler, or the build failed (the message says which, in one line)."""


def notice(text: str) -> None:
    """One line on stderr, once per process for the same text."""
    if text not in _NOTICES:
        _NOTICES.add(text)
        print(f"urbsd: {text}", file=sys.stderr)


@dataclass(frozen=True)
class Compiler:
    """A C compiler: its path and an identity that changes when the program does."""

    path: str
    identity: str


def find_compiler() -> Compiler:
    """The C compiler to use (see the module doc); KernelError if there is none."""
    named = os.environ.get(ENV_CC) or os.environ.get("CC")
    candidates = [named] if named else list(COMPILERS)
    for name in candidates:
        path = shutil.which(name)
        if path:
            real = os.path.realpath(path)
            st = os.stat(real)
            return Compiler(path, f"{real}|{st.st_size}|{st.st_mtime_ns}")
    if named:
        var = ENV_CC if os.environ.get(ENV_CC) else "CC"
        raise KernelError(f"the C compiler {var}={named} was not found")
    raise KernelError(f"no C compiler found ({', '.join(COMPILERS)}; set {ENV_CC})")


def compiler_available() -> bool:
    """True if `find_compiler` finds one."""
    try:
        find_compiler()
    except KernelError:
        return False
    return True


def cache_dir() -> Path:
    """Where compiled kernels are kept: $URBSD_CACHE_DIR, else the user's cache folder."""
    env = os.environ.get(ENV_CACHE)
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("urbsd", appauthor=False)) / "kernels"


def library_name(source: KernelSource, compiler: Compiler) -> str:
    """The file name of a kernel's library: the hash of everything its machine code depends on."""
    key = "|".join([KERNEL_VERSION, source.key, compiler.identity, " ".join(FLAGS), " ".join(TUNING), NATIVE,
                    cpu_identity(), sysconfig.get_platform(), sys.byteorder])
    suffix = ".dll" if sys.platform == "win32" else ".dylib" if sys.platform == "darwin" else ".so"
    return f"urbsd_{hashlib.sha256(key.encode()).hexdigest()[:32]}{suffix}"


def cpu_identity() -> str:
    """What `-march=native` compiles for: the processor's model and instruction-set flags."""
    global _CPU
    if _CPU is None:
        import platform

        found = [platform.machine(), platform.processor()]
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    key = line.split(":", 1)[0].strip()
                    if key in ("model name", "flags", "Features", "CPU implementer", "CPU part"):
                        found.append(line.strip())
                    elif not line.strip() and len(found) > 2:
                        break  # the first processor is enough
        except OSError:
            pass
        _CPU = hashlib.sha256("|".join(found).encode()).hexdigest()[:16]
    return _CPU


_CPU: str | None = None


class Kernel:
    """A loaded kernel: `run(...)` integrates a batch of runs."""

    def __init__(self, source: KernelSource, path: Path, build_seconds: float) -> None:
        self.source = source
        self.path = path
        #: seconds the build took in this process (0.0: found in the cache)
        self.build_seconds = build_seconds
        lib = ctypes.CDLL(str(path))
        ptr, i64 = ctypes.c_void_p, ctypes.c_int64
        info = np.zeros(6, dtype=np.int64)
        lib.urbsd_info.argtypes = [ptr]
        lib.urbsd_info(info.ctypes.data)
        want = [int(KERNEL_VERSION), source.n_p, source.n_ts, source.n_state, len(source.recorded), source.lanes]
        if info.tolist() != want:
            raise KernelError(f"the library {path} does not match its source (layout {info.tolist()} != {want})")
        fn = lib.urbsd_run
        fn.argtypes = [ptr, i64, ptr, ptr, i64, i64, ptr, i64, ctypes.c_double, ctypes.c_double, i64, i64,
                       ctypes.c_int32, ptr, i64, i64, ptr]
        fn.restype = ctypes.c_int
        self._fn = fn
        self._lib = lib

    def run(self, P0: np.ndarray, PV: np.ndarray, pv_cols: np.ndarray, TS: np.ndarray, start: float, dt: float,
            n_steps: int, save_every: int, method: str, ocol: np.ndarray, out: np.ndarray) -> None:
        """Fill `out` (n_runs, n_save, n_out), C-contiguous float64, for PV's n_runs rows."""
        n_runs, n_save, n_out = out.shape
        src = self.source
        if not (out.flags.c_contiguous and out.dtype == np.float64 and PV.shape[0] == n_runs):
            raise ValueError("kernel arrays of the wrong shape or layout")
        if n_save != n_steps // save_every + 1 or TS.shape[0] < TS_ROWS[method] * n_steps + 1:
            raise ValueError("kernel time grid does not match its arrays")
        P0, PV, TS = (np.ascontiguousarray(a, dtype=np.float64) for a in (P0, PV, TS))
        pv_cols, ocol = (np.ascontiguousarray(a, dtype=np.int64) for a in (pv_cols, ocol))
        if P0.size < max(src.n_p, 1) or pv_cols.size != PV.shape[1] or ocol.size != len(src.recorded):
            raise ValueError("kernel arrays of the wrong size")
        status = self._fn(P0.ctypes.data, src.n_p, PV.ctypes.data, pv_cols.ctypes.data, PV.shape[1], n_runs,
                          TS.ctypes.data, src.n_ts, start, dt, n_steps, save_every, METHOD_CODES[method],
                          ocol.ctypes.data, len(src.recorded), n_out, out.ctypes.data)
        if status != 0:
            raise KernelError(f"the kernel {self.path.name} failed (status {status})")


def kernel_for(model: object, series: frozenset[str] = frozenset()) -> Kernel:
    """The kernel of a CompiledModel with the constants `series` given as time series: from the
    model (this process), from the disk cache, or built now. KernelError if it cannot be had."""
    kernels = model.kernels  # type: ignore[attr-defined]
    found = kernels.get(series)
    if found is None:
        source = generate(model.program, series, model.spec.name)  # type: ignore[attr-defined]
        found = kernels[series] = load_or_build(source)
    return found


def load_or_build(source: KernelSource) -> Kernel:
    """The kernel of `source`, from the cache if it is there, else compiled (and cached)."""
    compiler = find_compiler()
    name = library_name(source, compiler)
    folder = cache_dir()
    path = folder / name
    if path.is_file():
        try:
            kernel = Kernel(source, path, 0.0)
        except OSError:
            pass  # a damaged file: build it again
        else:
            _mark_used(path)
            return kernel
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=folder, prefix=".probe-", delete=True)
        probe.close()
    except OSError as exc:
        notice(f"the kernel cache {folder} cannot be written ({exc.strerror or exc}); "
               "compiling in a temporary folder for this process")
        return _build_in(Path(tempfile.mkdtemp(prefix="urbsd-kernel-")), source, compiler, name, keep=False)
    with _Lock(folder / (name + ".lock")):
        if path.is_file():
            return Kernel(source, path, 0.0)
        kernel = _build_in(folder, source, compiler, name, keep=True)
    prune_cache(folder, keep=path)
    return kernel


def _mark_used(path: Path) -> None:
    try:
        os.utime(path)
    except OSError:
        pass  # a read-only cache: the library is used all the same


def prune_cache(folder: Path, keep: Path, now: float | None = None) -> list[Path]:
    """Delete the cached libraries of `folder` not used for CACHE_KEEP_DAYS, and the least recently
    used beyond CACHE_KEEP_MAX, with their C and lock files; never `keep`. Returns the deleted libraries."""
    now = time.time() if now is None else now
    found = []
    for lib in folder.glob("urbsd_*" + keep.suffix):
        try:
            found.append((lib.stat().st_mtime, lib))
        except OSError:
            continue  # deleted meanwhile by another process
    found.sort(reverse=True)  # most recently used first
    old = [lib for i, (used, lib) in enumerate(found)
           if lib != keep and (now - used > CACHE_KEEP_DAYS * 86400 or i >= CACHE_KEEP_MAX)]
    for lib in old:
        for path in (lib, lib.with_suffix(".c"), lib.with_name(lib.name + ".lock")):
            try:
                path.unlink()
            except OSError:
                pass
    return old


def _build_in(folder: Path, source: KernelSource, compiler: Compiler, name: str, keep: bool) -> Kernel:
    """Compile into a temporary folder inside `folder`, then move the library into place."""
    work = Path(tempfile.mkdtemp(dir=folder, prefix=".build-"))
    try:
        c_file = work / "kernel.c"
        c_file.write_text(source.text, encoding="utf-8")
        built = work / name
        t0 = time.perf_counter()
        optional = [*TUNING, NATIVE]
        while True:
            status, output = _compile(compiler, [*FLAGS, *optional], c_file, source.parts, built)
            refused = [f for f in optional if f in output]
            if status == 0 or not refused:
                break
            optional = [f for f in optional if f not in refused]
        seconds = time.perf_counter() - t0
        if status != 0 or not built.is_file():
            first = next((ln for ln in output.splitlines() if ln.strip()), "no message")
            raise KernelError(f"the C compiler {compiler.path} failed on the kernel (exit {status}): {first[:300]}")
        target = folder / name
        os.replace(built, target)
        if keep:
            os.replace(c_file, folder / (Path(name).stem + ".c"))  # for reading, beside the library
        kernel = Kernel(source, target, seconds)
        if not keep:
            try:  # the library stays mapped once loaded (POSIX); elsewhere it stays in the temp folder
                target.unlink()
                folder.rmdir()
            except OSError:
                pass
        return kernel
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _compile(compiler: Compiler, flags: list[str], c_file: Path, parts: int, built: Path) -> tuple[int, str]:
    """Build the library `built` from `c_file`: its `parts` compiled side by side (as many
    compiler processes at once as the machine has cores), then linked. Returns 0 and "", or the
    exit status and output of the first command that failed."""
    cc = compiler.path
    if parts <= 1:
        return _run_all([[cc, *flags, str(c_file), "-o", str(built), "-lm"]], 1)
    objects = [str(c_file.with_name(f"part{k}.o")) for k in range(parts)]
    status, output = _run_all([[cc, *flags, "-c", f"-DURBSD_PART={k}", str(c_file), "-o", obj]
                               for k, obj in enumerate(objects)], _cores())
    if status != 0:
        return status, output
    return _run_all([[cc, *flags, *objects, "-o", str(built), "-lm"]], 1)


def _cores() -> int:
    """The cores this process may run on (as `analysis.limits.available_cpus`, which the engine,
    the lowest layer, may not import)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _run_all(commands: list[list[str]], jobs: int) -> tuple[int, str]:
    """Run `commands`, `jobs` at a time, within BUILD_TIMEOUT in all (KernelError past it);
    returns 0 and "" or the status and output (stdout and stderr) of the first that failed."""
    deadline = time.monotonic() + BUILD_TIMEOUT
    waiting = list(commands)
    running: list[tuple[subprocess.Popen, IO[str]]] = []
    failed: tuple[int, str] = (0, "")
    try:
        while waiting or running:
            while waiting and len(running) < jobs and not failed[0]:
                log = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")
                try:
                    running.append((subprocess.Popen(waiting.pop(0), stdout=log, stderr=subprocess.STDOUT), log))
                except OSError as exc:
                    log.close()
                    raise KernelError(f"the C compiler {commands[0][0]} could not build the kernel: {exc}") from None
            if not running:
                break
            proc, log = running.pop(0)
            try:
                status = proc.wait(timeout=max(deadline - time.monotonic(), 0.001))
            except subprocess.TimeoutExpired:
                running.append((proc, log))
                raise KernelError(f"the C compiler {commands[0][0]} could not build the kernel: it took more "
                                  f"than {BUILD_TIMEOUT} s") from None
            log.seek(0)
            if status != 0 and not failed[0]:
                failed = (status, log.read())
            log.close()
    finally:
        for proc, log in running:
            proc.kill()
            proc.wait()
            log.close()
    return failed


class _Lock:
    """An exclusive lock on a file (POSIX flock); elsewhere no lock (the build is atomic anyway)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fh = None

    def __enter__(self) -> "_Lock":
        try:
            import fcntl
        except ImportError:
            return self
        self.fh = open(self.path, "a+b")
        fcntl.flock(self.fh.fileno(), fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fh is not None:
            import fcntl

            fcntl.flock(self.fh.fileno(), fcntl.LOCK_UN)
            self.fh.close()
