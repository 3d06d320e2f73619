"""One step of `drumgate repro` as its own process, and what stops it on Ctrl-C without a traceback.

A terminal sends SIGINT to every process of its foreground group: to repro, to the step it runs,
and to that step's pool workers. A Python process that gets SIGINT while the interpreter starts
(site, the editable-install finder, the imports before drumgate's handler) prints a traceback
nothing can catch, and a forked pool worker that gets KeyboardInterrupt prints one per worker. So
repro starts each step with SIGINT blocked (a mask survives fork and exec); the step takes it only
once its entry point (`drumgate.cli.step`) has put its handler in place, and a Ctrl-C that came
earlier waits, pending, until then. The handler ends the step with SystemExit, which unwinds like
KeyboardInterrupt (the temporary files of atomic writes are removed, locks released, pools
terminated) but prints nothing: repro prints the one line. Forked workers inherit the handler, so
they end quietly as well.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from drumgate.errors import EXIT_INTERRUPTED

INTERRUPT = {signal.SIGINT}
STEP_ENTRY = "drumgate.cli.step"


def run(argv: Sequence[str], cwd: Path, env: Mapping[str, str], stdout: int | None) -> int:
    """Run `drumgate argv` as a step and return its exit code; KeyboardInterrupt once it has
    stopped when the user interrupts repro (or the step alone)."""
    held = signal.pthread_sigmask(signal.SIG_BLOCK, INTERRUPT)
    step: subprocess.Popen[bytes] | None = None
    try:
        # -P: the step runs in the data repository, whose own `drumgate/` folder (a branch under review
        # may hold one) must not stand in for the installed package
        step = subprocess.Popen([sys.executable, "-P", "-m", STEP_ENTRY, *argv], cwd=cwd, env=env, stdout=stdout)
        signal.pthread_sigmask(signal.SIG_SETMASK, held)  # a Ctrl-C held back since the block raises here
        code = step.wait()
    except KeyboardInterrupt:
        if step is not None:
            _stop(step)
        raise
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
    if code == EXIT_INTERRUPTED:
        raise KeyboardInterrupt
    return code


def _stop(step: subprocess.Popen[bytes]) -> None:
    """Wait until an interrupted step has unwound, so that it never outlives repro.

    A terminal's Ctrl-C has reached it already; `kill -INT` of repro alone has not, hence the
    signal (a second one is ignored by the step). Another Ctrl-C here kills it, as impatience asks."""
    with contextlib.suppress(ProcessLookupError):
        step.send_signal(signal.SIGINT)
    try:
        step.wait()
    except KeyboardInterrupt:
        step.kill()
        step.wait()
