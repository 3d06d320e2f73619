"""Ctrl-C during `drumgate repro`: SIGINT to the whole process group, as a terminal sends it, at
points spread over the run (the start of each step's process, its imports, its work, the E-GMD
ingest's worker pool). Every time: exit 130, one line on stderr, no traceback from repro, a step or
a worker, no process left behind, and the committed workspace exactly as it was."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from drumgate.fixtures.egmd import make_egmd_corpus
from drumgate.lineage.provenance import ingest_commit
from tests.conftest import copy_workspace_files
from tests.data_repo_support import drumgate, git, user_env

pytestmark = pytest.mark.slow

DATE = "2026-02-01"
# (which step's "== " header, then seconds to wait): the steps are ingest egmd (its interpreter start,
# numba, then a pool of two workers), checksums and crash-map. The delays only pick where the
# interrupt lands; nothing asserts how long anything takes.
POINTS = [(1, 0.0), (1, 0.03), (1, 0.3), (1, 0.7), (2, 0.0), (2, 0.03), (2, 0.15), (3, 0.0), (3, 0.03), (3, 0.15)]


def committed_repository(root: Path) -> None:
    """An E-GMD workspace that `drumgate repro --date DATE` has brought up to date, committed: a
    repro run to the end rewrites the same bytes, so one cut short must leave the tree as it is."""
    copy_workspace_files(root)
    make_egmd_corpus(root / "data" / "raw" / "egmd", seed=5, performances=4, kits=2)
    for words in (["ingest", "egmd", "--date", DATE], ["repro", "--date", DATE]):
        done = drumgate(root, *words)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    (root / ".gitignore").write_text("data/raw/\n*.lck\n.*.tmp\n")
    assert git(root, "init", "-q", "-b", "main").returncode == 0
    assert git(root, "add", "-A").returncode == 0
    assert git(root, "commit", "-q", "-m", "E-GMD up to date").returncode == 0


def interrupted_repro(root: Path, header: int, delay: float) -> subprocess.CompletedProcess[str]:
    """`drumgate repro` in a process group of its own, SIGINT to the group `delay` s after the
    `header`-th step header; returns once every process of the group has ended."""
    run = subprocess.Popen(
        [sys.executable, "-m", "drumgate.cli", "repro", "--date", DATE],
        cwd=root,
        env=user_env(DRUMGATE_WORKERS="2"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        process_group=0,
    )
    assert run.stdout is not None
    seen = 0
    while seen < header:
        line = run.stdout.readline()
        assert line, f"repro ended before step {header} started"
        seen += line.startswith("== ")
    time.sleep(delay)
    try:
        os.killpg(run.pid, signal.SIGINT)
    except ProcessLookupError:
        pytest.fail(f"repro ended before the interrupt {delay} s after step {header} started")
    stdout, stderr = run.communicate(timeout=300)
    for _ in range(100):  # a process still in the group (a step, a pool worker) would outlive repro
        try:
            os.killpg(run.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"a process of the interrupted repro is still running (step {header} + {delay} s)")
    return subprocess.CompletedProcess(run.args, run.returncode, stdout, stderr)


def test_ctrl_c_at_any_point_of_repro_is_one_line_and_changes_nothing(tmp_path: Path) -> None:
    commit = ingest_commit()
    root = tmp_path / "drum-data"
    committed_repository(root)
    head = git(root, "rev-parse", "HEAD").stdout
    finished_first = []
    for header, delay in POINTS:
        done = interrupted_repro(root, header, delay)
        where = f"SIGINT {delay} s after step {header} started"
        assert "Traceback" not in done.stderr, f"{where}:\n{done.stderr}"
        finished = done.stderr == "" and "steps ran" in done.stdout.splitlines()[-1]
        if finished and done.returncode in (0, -signal.SIGINT):
            # on a fast machine every step can be done before a late interrupt, which then meets an
            # interpreter that has finished its work and is exiting: nothing left to stop. Landing in
            # the interpreter's own teardown, it ends the process by the signal (a shell shows 130)
            finished_first.append(where)
        else:
            assert done.returncode == 130, f"{where}: exit {done.returncode}\n{done.stderr}"
            assert done.stderr.splitlines() == ["drumgate: interrupted"], f"{where}:\n{done.stderr}"
        ingest_commit.cache_clear()  # it remembers its answer: ask git again
        if ingest_commit() != commit:
            pytest.skip("drumgate's code was committed during the test: provenance names another commit")
        assert git(root, "status", "--porcelain").stdout == "", f"{where}: the committed tree changed"
        assert git(root, "rev-parse", "HEAD").stdout == head
        leftovers = [p.relative_to(root).as_posix() for p in root.rglob(".*.tmp") if ".git" not in p.parts]
        assert leftovers == [], f"{where}: temporary files left behind"
    assert len(finished_first) <= 2, f"most interrupts must land while repro works: {finished_first}"


FINALIZER_STEP = """
import os, signal, sys, threading, time
from drumgate.cli import step

class SlowToClose:
    def __del__(self):
        time.sleep(1.0)  # the interrupt lands here: a finalizer cannot raise

def command():
    threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()
    SlowToClose()
    time.sleep(30)
    print("not stopped")
    return 0

step.main = command
signal.pthread_sigmask(signal.SIG_BLOCK, step.INTERRUPT)  # as repro starts a step
raise SystemExit(step.run())
"""


def test_an_interrupt_inside_a_finalizer_stops_the_step_once_it_is_done() -> None:
    """A SIGINT during a `__del__` (tqdm closes its bar in one) printed "Exception ignored in ...
    Traceback" and was lost; the step now takes it once the finalizer has returned."""
    done = subprocess.run([sys.executable, "-c", FINALIZER_STEP], capture_output=True, text=True, timeout=60,
                          check=False)
    assert (done.returncode, done.stdout, done.stderr) == (130, "", "")


IMPORT_STEP = """
import os, signal, sys, threading, time
from drumgate.cli import step

def command():
    threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()
    import slow_to_import  # noqa: F401 - the interrupt lands while it loads, as in an extension's own imports
    time.sleep(30)
    print("not stopped")
    return 0

step.main = command
signal.pthread_sigmask(signal.SIG_BLOCK, step.INTERRUPT)
raise SystemExit(step.run())
"""


def test_an_interrupt_inside_an_import_stops_the_step_once_the_import_is_done(tmp_path: Path) -> None:
    """SIGINT while jsonschema_rs loaded (it imports `decimal` as it does) raised SystemExit inside that
    import: the extension panicked and printed a Rust backtrace and a Python traceback. The step now
    takes an interrupt that lands inside an import once the import has finished."""
    loaded = tmp_path / "loaded"
    (tmp_path / "slow_to_import.py").write_text(f"import time\ntime.sleep(1.0)\nopen({str(loaded)!r}, 'w').close()\n")
    done = subprocess.run([sys.executable, "-c", IMPORT_STEP], capture_output=True, text=True, timeout=60,
                          check=False, env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert (done.returncode, done.stdout, done.stderr) == (130, "", "")
    assert loaded.exists(), "the import ran to its end before the step stopped"


def test_a_step_never_imports_a_drumgate_folder_of_the_data_repository(tmp_path: Path) -> None:
    """Steps run in the data repository: its own `drumgate/` (a branch under review may hold one)
    must not stand in for the installed package."""
    from drumgate.commands import repro_step

    planted = tmp_path / "drumgate"
    planted.mkdir()
    (planted / "__init__.py").write_text(f"open({str(tmp_path / 'ran')!r}, 'w').close()\n")
    assert repro_step.run(["--version"], tmp_path, user_env(), subprocess.DEVNULL) == 0
    assert not (tmp_path / "ran").exists()
