"""Where a Ctrl-C must wait: inside a finalizer or an import.

An exception cannot leave a `__del__`: raised there it prints "Exception ignored ... Traceback" and
is lost. One raised inside an import that a compiled extension makes as it loads (jsonschema_rs
imports `decimal`) makes that extension panic with a Rust backtrace. So the SIGINT handlers of the
console script (`drumgate.console`) and of a repro step (`drumgate.cli.step`) put such an interrupt
off: it is sent again every RETRY_S until it lands outside both, once the finalizer or the import
has ended. This module imports only the standard library: the console script installs it before
anything else loads.
"""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType

RETRY_S = 0.01
_armed = threading.Event()  # while set, an interrupt put off is sent again
_armed.set()


def in_finalizer_or_import(frame: FrameType | None) -> bool:
    while frame is not None:
        if frame.f_code.co_name == "__del__" or frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def put_off(frame: FrameType | None) -> bool:
    """Whether an interrupt that landed at `frame` must wait; if so it is sent again in RETRY_S."""
    if not in_finalizer_or_import(frame):
        return False
    retry = threading.Timer(RETRY_S, _again)
    retry.daemon = True  # never a thread the exit waits for
    retry.start()
    return True


def _again() -> None:
    if _armed.is_set():
        os.kill(os.getpid(), signal.SIGINT)


def disarm() -> None:
    """No interrupt put off is sent again: the command has returned, and one now would only disturb
    the exit (or a caller that runs the console script in its own process)."""
    _armed.clear()


def rearm() -> None:
    _armed.set()


def keyboard_interrupt(signum: int, frame: FrameType | None) -> None:
    """Python's own SIGINT behaviour (KeyboardInterrupt), except where it must wait."""
    if not put_off(frame):
        raise KeyboardInterrupt
