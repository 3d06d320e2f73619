"""The `drumgate` console script: the command line interface, imported under the Ctrl-C handler.

The CLI's own imports take tens of milliseconds; a Ctrl-C arriving in them, before
`drumgate.cli.guarded` is in place, printed a KeyboardInterrupt traceback. Here the import itself
is guarded and worded as every other interrupt is. This module imports nothing at its top.

Ctrl-C raises KeyboardInterrupt as Python's own handler does, except inside a finalizer or an import,
where it waits for them to end (`drumgate.interrupts`): raised inside jsonschema_rs's loading, it
made the extension panic with a Rust backtrace.
"""

from __future__ import annotations

import sys

INTERRUPTED_LINE = "drumgate: interrupted"


def main() -> int:
    """`drumgate` as installed: the command line's words run by `drumgate.cli.main`."""
    import signal
    import threading

    previous = signal.getsignal(signal.SIGINT)
    try:
        from drumgate import interrupts

        interrupts.rearm()
        if threading.current_thread() is threading.main_thread():  # only there can a handler be set
            signal.signal(signal.SIGINT, interrupts.keyboard_interrupt)
        from drumgate.cli import main as run_command_line
        from drumgate.errors import EXIT_INTERRUPTED
    except KeyboardInterrupt:
        print(INTERRUPTED_LINE, file=sys.stderr)
        return 130  # drumgate.errors.EXIT_INTERRUPTED, whose import may be what was interrupted
    try:
        return run_command_line()
    except KeyboardInterrupt:  # after the handler returned, before the exit
        print(INTERRUPTED_LINE, file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        interrupts.disarm()
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, previous)
