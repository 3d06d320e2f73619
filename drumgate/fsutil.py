"""Atomic writes: a temporary file in the target folder, fsync, then rename (DESIGN §4)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from drumgate.errors import DrumgateError


@contextlib.contextmanager
def atomic_writer(path: str | Path) -> Iterator[IO[bytes]]:
    """Yield a binary file; on success it replaces `path` in one rename, on failure nothing changes."""
    target = Path(path)
    if target.is_dir():
        raise DrumgateError("is a folder, expected a file to write", path=target, hint="pass a file path")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise DrumgateError(
            f"cannot write here: {exc.strerror}", path=target, hint="check the folder exists and is writable"
        ) from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_writer(path) as handle:
        handle.write(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write UTF-8 text with LF endings and exactly one trailing newline."""
    if not text.endswith("\n"):
        text += "\n"
    atomic_write_bytes(path, text.encode("utf-8"))


def open_for_reading(path: str | Path) -> IO[bytes]:
    """Open a file in binary mode, turning OS errors into one-line DrumgateErrors."""
    try:
        return open(path, "rb")
    except FileNotFoundError as exc:
        raise DrumgateError("file not found", path=path) from exc
    except IsADirectoryError as exc:
        raise DrumgateError("is a folder, expected a file", path=path) from exc
    except OSError as exc:
        raise DrumgateError(f"cannot read: {exc.strerror}", path=path) from exc


def read_bytes(path: str | Path) -> bytes:
    with open_for_reading(path) as handle:
        return handle.read()
