"""The fixed parts of the compiled kernel's C source, around what `c_code` generates from a
model's equations: literals and comments, the file header with its helpers and lookup tables,
and the entry points `urbsd_info` and `urbsd_run` (whose signature `engine.kernel` calls).
"""

from __future__ import annotations

import math

#: bumped whenever the kernel's calling convention or its generated code's meaning changes
#: (2: method code 2, Heun's method; 3: comparisons of the time on a side of each stage)
KERNEL_VERSION = "3"
#: the integration method's code in `urbsd_run(..., method, ...)`
METHOD_CODES = {"euler": 0, "rk4": 1, "heun": 2}
#: rows of the time-series table TS per step: the distinct times the method's stages read
TS_ROWS = {"euler": 1, "heun": 2, "rk4": 3}
#: the side of each stage's time at which a comparison of the time is evaluated (ir.time_comparison):
#: RK4 and Heun just after the step's start and just before its end, so that a switch at a step
#: boundary acts from the next step on, whole; Euler at the time itself, as Vensim and PySD
STAGE_SIDES = {"euler": (0,), "heun": (1, -1), "rk4": (1, 0, 0, -1)}
#: C helper of each comparison op: `time op x` on a side of t
TIME_OPS = {"<": "t_lt", "<=": "t_le", ">": "t_gt", ">=": "t_ge", "==": "t_eq", "!=": "t_ne"}
#: the arguments of the kernel function, in order (engine.kernel passes them with ctypes)
SIGNATURE = ("int urbsd_run(const double *P0, int64_t n_p, const double *PV, const int64_t *pv_cols, "
             "int64_t n_pv, int64_t n_runs, const double *TS, int64_t n_ts, double start, double dt, "
             "int64_t n_steps, int64_t save_every, int32_t method, const int64_t *ocol, int64_t n_rec, "
             "int64_t n_out, double *out)")


def lit(x: float) -> str:
    """A C double literal with the exact value of `x` (repr round-trips)."""
    if math.isnan(x):
        return "NAN"
    if math.isinf(x):
        return "INFINITY" if x > 0 else "(-INFINITY)"
    text = repr(float(x))
    return text if x >= 0 and not text.startswith("-") else f"({text})"


def comment(text: str) -> str:
    """Text safe inside a C comment: printable ASCII, no comment end, no trigraph or splice."""
    text = " ".join(str(text).split())
    text = "".join(c if " " <= c <= "~" else "?" for c in text)
    return text.replace("*/", "* /").replace("/*", "/ *").replace("??", "? ?").replace("\\", "/")


def header(name: str, lanes: int, lookups: dict[str, tuple[tuple[float, ...], tuple[float, ...]]]) -> list[str]:
    """The file's first lines: what it is, the includes, numpy's min/max and square, the lookups."""
    lines = [f"/* urbsd compiled kernel v{KERNEL_VERSION}: model {comment(name)}, generated from its",
             f"   program by simulator/engine/c_code.py, {lanes} runs side by side; do not edit. */",
             "#include <math.h>", "#include <stdint.h>", "#include <stdlib.h>", "#include <string.h>", "",
             "/* np.maximum / np.minimum: NaN in either argument gives NaN */",
             "static inline double mx(double a, double b) { return (a >= b || a != a) ? a : b; }",
             "static inline double mn(double a, double b) { return (a <= b || a != a) ? a : b; }",
             "static inline double sq(double a) { return a * a; }", "",
             "/* `time op x` on a side of t (-1 just before t, 0 at t, +1 just after): ir.time_comparison */"]
    lines += [f"static inline int {f}(double t, double x, int s) {{ return t != x ? t {op} x : s {op} 0; }}"
              for op, f in TIME_OPS.items()]
    lines += [""]
    for table, (xs, ys) in lookups.items():
        lines += lookup(table, xs, ys)
    return lines


def lookup(name: str, xs: tuple[float, ...], ys: tuple[float, ...]) -> list[str]:
    """np.interp(x, xs, ys) for one table, without branches (so that it vectorizes): y_0 up to
    x_0, then on each segment from x_j on slope_j * (x - x_j) + y_j with numpy's slope (which
    is y_j exactly at x_j; numpy's fallback where a slope is not finite), y_n from x_n on,
    NaN for NaN."""
    lines = [f"/* lookup {comment(name)} */", f"static inline double lk_{name}(double x) {{",
             f"  double r = {lit(ys[0])}, v;"]
    for j in range(len(xs) - 1):
        dx = xs[j + 1] - xs[j]
        slope = (ys[j + 1] - ys[j]) / dx if dx != 0 else math.nan
        lines.append(f"  v = {lit(slope)} * (x - {lit(xs[j])}) + {lit(ys[j])};")
        if not math.isfinite(slope):
            lines.append(f"  v = v != v ? {lit(slope)} * (x - {lit(xs[j + 1])}) + {lit(ys[j + 1])} : v;")
            if ys[j] == ys[j + 1]:
                lines.append(f"  v = v != v ? {lit(ys[j])} : v;")
            lines.append(f"  v = x == {lit(xs[j])} ? {lit(ys[j])} : v;")
        lines.append(f"  r = x >= {lit(xs[j])} ? v : r;")
    lines += [f"  r = x >= {lit(xs[-1])} ? {lit(ys[-1])} : r;", "  return x != x ? x : r;", "}", ""]
    return lines


def entry(n_p: int, n_ts: int, n_state: int, n_rec: int, lanes: int) -> list[str]:
    """`urbsd_info` (the layout, checked when the library is loaded) and `urbsd_run`, which
    fills the lanes of each group of runs and calls `run_lanes` (generated by `c_code`)."""
    L = lanes
    return [
        "/* layout check: [version, n_p, n_ts, n_state, n_rec, lanes] */",
        "int urbsd_info(int64_t *out) {",
        f"  out[0] = {KERNEL_VERSION}; out[1] = {n_p}; out[2] = {n_ts}; out[3] = {n_state}; "
        f"out[4] = {n_rec}; out[5] = {L};",
        "  return 0;",
        "}",
        "",
        "/* n_runs runs, LANES at a time: run r has the constants P0 with the columns pv_cols",
        "   replaced by row r of PV; TS holds the time series at every step (Euler, method 0), at t",
        "   and t + dt of every step (Heun, method 2) or at t, t + dt/2 and t + dt (RK4, method 1);",
        "   out is (n_runs, n_save, n_out),",
        "   recorded variable k going to the columns from ocol[k] (-1: not recorded). */",
        SIGNATURE + " {",
        f"  if (n_p != {n_p} || n_ts != {n_ts} || n_rec != {n_rec}) return -1;",
        "  work_t *w = (work_t *)calloc(1, sizeof(work_t));",
        "  if (!w) return -2;",
        "  int64_t n_save = n_steps / save_every + 1;",
        f"  for (int64_t r0 = 0; r0 < n_runs; r0 += {L}) {{",
        f"    int nl = n_runs - r0 < {L} ? (int)(n_runs - r0) : {L};",
        f"    for (int l = 0; l < {L}; l++) {{  /* lanes past the batch repeat its last run */",
        "      int64_t r = r0 + (l < nl ? l : nl - 1);",
        f"      for (int64_t k = 0; k < {n_p}; k++) w->C[k * {L} + l] = P0[k];",
        f"      for (int64_t k = 0; k < n_pv; k++) w->C[pv_cols[k] * {L} + l] = PV[r * n_pv + k];",
        "    }",
        "    run_lanes(w, TS, n_ts, start, dt, n_steps, save_every, method, ocol, "
        "out + r0 * n_save * n_out, n_out, nl);",
        "  }",
        "  free(w);",
        "  return 0;",
        "}",
    ]
