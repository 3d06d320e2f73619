"""Ctrl-C in a terminal reaches every process of the foreground group: a process pool's workers
must not each print a KeyboardInterrupt traceback (`drumgate.workers.quiet_worker`); the parent
stops them when it leaves its pool."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

CHUNKS = textwrap.dedent("""
    import os, signal, sys, time
    from pathlib import Path
    from drumgate.io import chunkscan

    signal.signal(signal.SIGINT, signal.default_int_handler)  # a background job may start with it ignored

    ready = Path(sys.argv[1])

    def work(chunk, first_line):
        (ready / str(os.getpid())).touch()
        time.sleep(60)

    try:
        chunkscan.map_chunks(b"{}\\n" * 3_000_000, work)
    except KeyboardInterrupt:
        print("parent interrupted", file=sys.stderr)
        raise SystemExit(130)
""")

EGMD_POOL = textwrap.dedent("""
    import os, signal, sys, time
    from pathlib import Path
    from ingest.egmd import pool

    signal.signal(signal.SIGINT, signal.default_int_handler)  # a background job may start with it ignored

    ready = Path(sys.argv[1])

    def work(task):
        (ready / str(os.getpid())).touch()
        time.sleep(60)

    pool._work = work
    pool.ingest_performance = lambda performance_id, rows, settings: None
    try:
        for _ in pool.run_performances([(str(n), []) for n in range(8)], None, jobs=2):
            pass
    except KeyboardInterrupt:
        print("parent interrupted", file=sys.stderr)
        raise SystemExit(130)
""")


@pytest.mark.parametrize("script", [CHUNKS, EGMD_POOL], ids=["chunkscan", "egmd-ingest"])
def test_ctrl_c_to_the_group_stops_a_pool_without_a_worker_traceback(tmp_path: Path, script: str) -> None:
    env = {**os.environ, "DRUMGATE_WORKERS": "2"}
    child = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], stderr=subprocess.PIPE, text=True,
                             env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    while len(list(tmp_path.iterdir())) < 2 and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(list(tmp_path.iterdir())) == 2, "both workers started"
    os.killpg(child.pid, signal.SIGINT)  # as a terminal does: the parent and every worker
    _, stderr = child.communicate(timeout=60)
    assert child.returncode == 130
    assert stderr.splitlines() == ["parent interrupted"], stderr
    for pid in (int(path.name) for path in tmp_path.iterdir()):
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # the workers were stopped with the pool
