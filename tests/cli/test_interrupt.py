"""Clean interruption, with real processes and real signals.

- a writer killed with SIGKILL while staging leaves its hidden staging folder; the next
  run into the same folder removes it (the name carries the host and pid, and the pid is dead);
- `urbsd sweep` killed with SIGTERM or SIGKILL leaves no pool worker alive;
- `urbsd report` stages beside its output folder (not in the system temp folder), and the
  folder of a killed report is removed by the next command writing there.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from simulator.cli import main
from simulator.outputs.writers import remove_stale_stages, write_folder

ROOT = Path(__file__).resolve().parents[2]
BASELINE = str(ROOT / "scenarios" / "baseline.yaml")
ENV = dict(os.environ, PYTHONPATH=str(ROOT))


def _wait_for(predicate, timeout: float = 60.0, step: float = 0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout} s")


def _children(pid: int) -> list[int]:
    """Live processes whose parent is `pid` (from /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def _stages(folder: Path) -> list[Path]:
    return [p for p in folder.glob(".*.tmp") if ".urbsd-" in p.name]


SLOW_WRITER = """
import sys, time
from simulator.outputs.writers import write_folder
def slow(path):
    path.write_text("half")
    print("staging", flush=True)
    time.sleep(120)
write_folder(sys.argv[1], {"a.txt": b"x", "b.txt": slow})
"""


def test_a_killed_writer_leaves_a_stage_the_next_run_removes(tmp_path):
    out = tmp_path / "out" / "baseline"
    proc = subprocess.Popen([sys.executable, "-c", SLOW_WRITER, str(out)], env=ENV, stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout.readline().strip() == "staging"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
    (stale,) = _stages(out.parent)
    assert f"-{proc.pid}-" in stale.name and not out.exists()
    # a live process's stage is left alone; a dead one's is removed by the next run
    mine = out.parent / f".other.urbsd-{stale.name.split('.urbsd-')[1].split('-')[0]}-{os.getpid()}-x.tmp"
    mine.mkdir()
    assert main(["run", BASELINE, "--out", str(out.parent)]) == 0
    assert not stale.exists() and mine.exists()
    assert (out / "summary.json").is_file()
    assert remove_stale_stages(out.parent) == []


def test_write_folder_leaves_no_stage_when_interrupted(tmp_path):
    def interrupted(path: Path) -> None:
        path.write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_folder(tmp_path / "x", {"a.txt": b"a", "b.txt": interrupted})
    assert list(tmp_path.iterdir()) == []


def _sweep(tmp_path: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "simulator.cli", "sweep", BASELINE, "--method", "mc", "--samples", "200000",
         "--chunk-size", "200", "--workers", "2", "--out", str(tmp_path)],
        env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_killed_sweep_leaves_no_worker_alive(tmp_path, sig):
    from simulator.analysis.limits import available_cpus

    if available_cpus() < 2:
        pytest.skip("needs two CPUs for two workers")
    proc = _sweep(tmp_path)
    workers: list[int] = []
    try:
        workers = _wait_for(lambda: _children(proc.pid) if len(_children(proc.pid)) >= 1 else None, timeout=120)
        time.sleep(0.5)
        workers = sorted(set(workers) | set(_children(proc.pid)))
        proc.send_signal(sig)
        code = proc.wait(timeout=60)
        _wait_for(lambda: not any(_alive(w) for w in workers), timeout=15)
    finally:  # on a failure, leave nothing running: the workers recorded, by pid
        proc.kill()
        for w in workers:
            if _alive(w):
                os.kill(w, signal.SIGKILL)
    if sig == signal.SIGTERM:
        err = proc.stderr.read()
        assert code == 143 and "terminated" in err and "Traceback" not in err, err[-2000:]
    else:
        assert code == -signal.SIGKILL


def test_report_stages_beside_its_folder_and_a_killed_one_is_cleaned(tmp_path):
    scratch = tmp_path / "tmpdir"
    scratch.mkdir()
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "simulator.cli", "report", BASELINE, "--samples", "3000",
                             "--out", str(out)], env={**ENV, "TMPDIR": str(scratch)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(lambda: _stages(out) if out.is_dir() else None, timeout=120, step=0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
    assert _stages(out) and not (out / "baseline-report-zh").exists()
    assert not [p for p in scratch.rglob("*") if "urbsd" in p.name]  # nothing in the system temp folder
    assert main(["run", BASELINE, "--out", str(out)]) == 0
    assert _stages(out) == []
