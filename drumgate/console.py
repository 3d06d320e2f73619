"""The `drumgate` console script: the command line interface, imported under the Ctrl-C handler.

The CLI's own imports take tens of milliseconds; a Ctrl-C arriving in them, before
`drumgate.cli.guarded` is in place, printed a KeyboardInterrupt traceback. Here the import itself
is guarded and worded as every other interrupt is. This module imports nothing at its top.
"""

from __future__ import annotations

import sys

INTERRUPTED_LINE = "drumgate: interrupted"


def main() -> int:
    """`drumgate` as installed: the command line's words run by `drumgate.cli.main`."""
    try:
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
