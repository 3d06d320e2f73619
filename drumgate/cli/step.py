"""The entry point of one `drumgate repro` step (`python -m drumgate.cli.step WORDS`): the command
`drumgate WORDS`, stopped by Ctrl-C with exit 130 and nothing printed (`drumgate.commands.repro_step`
starts it with SIGINT blocked and prints the one line itself)."""

from __future__ import annotations

import signal
import threading
from types import FrameType

from drumgate.cli import main
from drumgate.commands.repro_step import INTERRUPT
from drumgate.errors import EXIT_INTERRUPTED
from drumgate.interrupts import put_off

_finished = threading.Event()  # the command has returned: an interrupt now would only disturb the exit


def _interrupted(signum: int, frame: FrameType | None) -> None:
    if _finished.is_set():  # a retry landing in interpreter shutdown (threading._shutdown): let it finish
        return
    if put_off(frame):  # inside a finalizer or an import: it waits for either to end
        return
    # Only the first interrupt stops the step: another (repro passing it on) would cut its clean-up short.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise SystemExit(EXIT_INTERRUPTED)


def run() -> int:
    """The step's command, interruptible from here on (SystemExit prints nothing, also from a pool
    worker, which inherits the handler); a Ctrl-C pending since the start arrives at the unblock."""
    signal.signal(signal.SIGINT, _interrupted)
    try:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, INTERRUPT)
        return main()
    finally:
        # Once the command has returned it is done: an interrupt now would only disturb the exit.
        _finished.set()
        signal.pthread_sigmask(signal.SIG_BLOCK, INTERRUPT)


if __name__ == "__main__":
    raise SystemExit(run())
