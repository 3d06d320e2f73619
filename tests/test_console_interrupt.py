"""Ctrl-C in a command run from the console script: one line, exit 130, never inside an import.

SIGINT while jsonschema_rs loaded (it imports `decimal` as it does) raised KeyboardInterrupt inside
that import, and the extension panicked with a Rust backtrace and a Python traceback. The console
script now takes an interrupt that lands inside an import or a finalizer once that has ended, as a
repro step does (`drumgate.interrupts`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

COMMAND_IN = """
import os, signal, sys, threading, time
import drumgate.cli
from drumgate.console import main

class SlowToClose:
    def __del__(self):
        time.sleep(1.0)

def command():
    threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()
    {work}
    time.sleep(30)
    print("not stopped")
    return 0

drumgate.cli.main = command
raise SystemExit(main())
"""


def _run(work: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", COMMAND_IN.format(work=work)], capture_output=True, text=True,
                          timeout=60, check=False, env={**os.environ, "PYTHONPATH": str(tmp_path)})


def test_an_interrupt_inside_an_import_stops_the_command_once_the_import_is_done(tmp_path: Path) -> None:
    loaded = tmp_path / "loaded"
    (tmp_path / "slow_to_import.py").write_text(f"import time\ntime.sleep(1.0)\nopen({str(loaded)!r}, 'w').close()\n")
    done = _run("import slow_to_import", tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (130, "", "drumgate: interrupted\n")
    assert loaded.exists(), "the import ran to its end before the command stopped"


def test_an_interrupt_inside_a_finalizer_stops_the_command_once_it_is_done(tmp_path: Path) -> None:
    done = _run("SlowToClose()", tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (130, "", "drumgate: interrupted\n")


def test_an_interrupt_elsewhere_stops_the_command_at_once(tmp_path: Path) -> None:
    done = _run("pass", tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (130, "", "drumgate: interrupted\n")
