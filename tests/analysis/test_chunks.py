"""simulator/analysis/chunks.py: a sweep's chunks in worker processes, stopped cleanly."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: a worker that has sent half of its result when the sweep is interrupted (as a worker stopped
#: while sending it leaves the pipe): the pool's manager thread waits for the rest of it
HALF_A_RESULT = textwrap.dedent("""
    import os, signal, struct, sys, threading, time
    import numpy as np
    from simulator.analysis.chunks import evaluate_chunks

    SENT = sys.argv[1]  # created once a worker has sent its half

    def half_a_result(X):
        frame = sys._getframe()
        while frame.f_code.co_name != "_process_worker":  # concurrent.futures' worker loop
            frame = frame.f_back
        pipe = frame.f_locals["result_queue"]._writer
        os.write(pipe.fileno(), struct.pack("!i", 1000) + b"x" * 10)  # 10 of the 1000 bytes announced
        open(SENT, "w").close()
        time.sleep(120)

    def blocked_waiting():
        # the main thread asleep in concurrent.futures.wait, holding no lock: where a sweep spends
        # its time (a Ctrl-C landing inside a lock's `with` line is another story)
        frame, names = sys._current_frames().get(main), []
        while frame is not None:
            names.append((frame.f_code.co_name, os.path.basename(frame.f_code.co_filename)))
            frame = frame.f_back
        return names[:1] == [("wait", "threading.py")] and ("wait", "_base.py") in names

    def ctrl_c_once_sent():
        while not (os.path.exists(SENT) and blocked_waiting()):
            time.sleep(0.01)
        signal.pthread_kill(main, signal.SIGINT)

    # Python's own Ctrl-C handler: a test runner's worker may have left SIGINT ignored or blocked,
    # and this process inherits that
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    main = threading.main_thread().ident
    threading.Thread(target=ctrl_c_once_sent, daemon=True).start()
    try:
        evaluate_chunks(half_a_result, np.zeros((4, 1)), chunk_size=2, workers=2)
    except KeyboardInterrupt:
        print("interrupted")
""")


@pytest.mark.skipif(sys.platform != "linux", reason="the worker's pipe is reached as on Linux (fork)")
def test_an_interrupted_sweep_stops_when_a_worker_sent_half_a_result(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    try:
        r = subprocess.run([sys.executable, "-c", HALF_A_RESULT, str(tmp_path / "sent")], env=env,
                           capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail("the interrupted sweep was still waiting for its workers after 30 s")
    assert r.returncode == 0 and r.stdout.strip() == "interrupted", r.stderr[-2000:]
    assert "Traceback" not in r.stderr and (tmp_path / "sent").exists()
