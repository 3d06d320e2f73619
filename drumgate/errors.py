"""One user-facing error type and the exit codes every command shares (DESIGN §8)."""

from __future__ import annotations

import os
from pathlib import Path

from drumgate.render.textsafe import log_text

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C


def one_line(text: str) -> str:
    """Make text safe for one log line (drumgate.render.textsafe.log_text).

    Dataset names and server messages end up in findings; escaping them keeps each finding on
    one line and stops them from forging terminal sequences, bidi reordering or CI workflow commands.
    """
    return log_text(text)


def format_finding(
    path: str | Path | None,
    message: str,
    line: int | None = None,
    hint: str | None = None,
) -> str:
    """Render `path[:line]: message (hint)`, the one line format of every finding."""
    where = ""
    if path is not None:
        where = f"{path}:{line}: " if line is not None else f"{path}: "
    tail = f" ({hint})" if hint else ""
    return one_line(f"{where}{message}{tail}")

# What the readers say for a file whose stored bytes are damaged: they do not know who wrote it, so
# they cannot name a command; a caller that does (a hook, a report command) puts its own fix instead.
REGENERATE_HINT = "fix: regenerate the file"
BINARY_HINT = "fix: restore the manifest with git checkout or regenerate it"
DAMAGED_HINTS = frozenset({REGENERATE_HINT, BINARY_HINT})


class DrumgateError(Exception):
    """A problem the user can fix; printed as one line, never with a traceback."""

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        hint: str | None = None,
        exit_code: int = EXIT_USAGE,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.hint = hint
        self.exit_code = exit_code

    def __str__(self) -> str:
        return format_finding(self.path, self.message, self.line, self.hint)


def shown_path(path: str | Path) -> str | Path:
    """An absolute path inside the current folder relative to it, as a user would type it; any other as it is."""
    if os.path.isabs(path):
        try:
            shown = Path(path).relative_to(Path.cwd()).as_posix()
        except (ValueError, OSError):  # outside the current folder, or the folder itself is gone
            return path
        return shown if shown != "." else path  # the current folder itself reads better in full
    return path


def shown_from_here(err: DrumgateError) -> DrumgateError:
    """`err` with its path `shown_path` (a reader names the absolute path it opened; a fix keeps its
    own, which works from anywhere)."""
    if err.path is not None:
        err.path = shown_path(err.path)
    return err
