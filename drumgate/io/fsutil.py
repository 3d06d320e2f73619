"""Atomic writes: a temporary file in the target folder, fsync, then rename (DESIGN §4)."""

from __future__ import annotations

import contextlib
import errno
import os
import shlex
import stat
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO

from drumgate.errors import DrumgateError

# What the storage says while a file is written: no space, a read-only mount, a name too long, no
# quota, an I/O fault, a file too big. Any of these during a write is the user's to fix.
WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EROFS, errno.ENAMETOOLONG, errno.EDQUOT, errno.EIO, errno.EFBIG})
WRITE_HINT = "free space, or choose a writable folder and a shorter name"


def write_error(exc: OSError, target: Path) -> DrumgateError:
    return DrumgateError(f"cannot write: {exc.strerror or exc}", path=target, hint=WRITE_HINT)


def require_writable(paths: Iterable[str | Path]) -> None:
    """Before a command writes several files (reports, then their lock entry), refuse at once when
    one of them cannot be written: a read-only folder found after the first write left a report
    without its lock entry. Each file's folder (its nearest existing one) must take the temporary
    file that replaces it; a device or FIFO (`--output /dev/null`) is written in place, as
    `atomic_writer` does. A full disk still shows only while writing."""
    for path in map(Path, paths):
        if _is_special(path):
            continue
        folder = next((parent for parent in (path.parent, *path.parent.parents) if parent.exists()), path.parent)
        if not os.access(folder, os.W_OK | os.X_OK):
            raise DrumgateError("cannot write here (read-only); nothing written", path=path,
                                hint=f"fix: chmod u+w {shlex.quote(str(folder))}")


@contextlib.contextmanager
def atomic_writer(path: str | Path) -> Iterator[IO[bytes]]:
    """Yield a binary file; on success it replaces `path` in one rename, on failure nothing changes.

    A storage failure (full disk, read-only mount, name too long...) becomes one DrumgateError
    naming `path`; the temporary file is removed.
    """
    target = Path(path)
    try:
        is_folder = target.is_dir()
    except OSError as exc:
        raise write_error(exc, target) from exc
    if is_folder:
        raise DrumgateError("is a folder, expected a file to write", path=target, hint="pass a file path")
    if _is_special(target):
        # /dev/null, /dev/stdout, a FIFO: written in place, as every CLI does. A rename would put a
        # regular file where the device was (as root it can, and then /dev/null is gone for everyone).
        try:
            with open(target, "wb") as special:
                yield special
        except OSError as exc:
            raise write_error(exc, target) from exc
        return
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name[:200]}.", suffix=".tmp", dir=target.parent)
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
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError) and exc.errno in WRITE_ERRNOS:
            raise write_error(exc, target) from exc
        raise


@contextlib.contextmanager
def atomic_writers(paths: Mapping[str, str | Path]) -> Iterator[dict[str, IO[bytes]]]:
    """One atomic_writer per named target: the files replace their targets only when the block
    succeeds, and a failure while opening them (the second cannot be created, say) or inside the
    block removes every temporary file already made. ExitStack unwinds exactly the writers that were
    entered, which hand-called __enter__/__exit__ gets wrong when one in the middle fails."""
    with contextlib.ExitStack() as stack:
        yield {name: stack.enter_context(atomic_writer(path)) for name, path in paths.items()}


def write_together(outputs: Sequence[tuple[str, Path, bytes]], inputs: Iterable[Path] = ()) -> None:
    """The files a command writes as one result, each named by the option that chose it (a report and
    its page): every one a file of its own and none of them a file the command reads, and either all
    replace their targets or none does. One written after another let `--html-output` overwrite the
    report just written, and a page that could not be written left a report behind with no lock entry."""
    read = {os.path.realpath(path) for path in inputs}
    chosen: dict[str, str] = {}
    for option, path, _ in outputs:
        key = os.path.realpath(path)
        if key in chosen or key in read:
            clash = f"the same file as {chosen[key]}" if key in chosen else "a file this command reads"
            raise DrumgateError(f"{option} names {clash}; nothing written", path=path,
                                hint=f"fix: leave {option} out for its default, or give it a file of its own")
        chosen[key] = option
    with atomic_writers({str(index): path for index, (_, path, _) in enumerate(outputs)}) as handles:
        for index, (_, _, data) in enumerate(outputs):
            handles[str(index)].write(data)


def _is_special(path: Path) -> bool:
    """True for an existing target that is not a regular file (a device, FIFO or socket)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_writer(path) as handle:
        handle.write(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write UTF-8 text with LF endings and exactly one trailing newline."""
    if not text.endswith("\n"):
        text += "\n"
    atomic_write_bytes(path, text.encode("utf-8"))


def look_around(path: Path) -> str:
    """The fix for a path that is not there: list the nearest folder that is (a typo shows there)."""
    folder = next((parent for parent in path.parents if parent.is_dir()), Path("."))
    return f"fix: ls {shlex.quote(str(folder))} to see what is there"


def open_for_reading(path: str | Path) -> IO[bytes]:
    """Open a file in binary mode, turning OS errors into one-line DrumgateErrors."""
    try:
        return open(path, "rb")
    except FileNotFoundError as exc:
        raise DrumgateError("file not found", path=path, hint=look_around(Path(path))) from exc
    except IsADirectoryError as exc:
        raise DrumgateError("is a folder, expected a file", path=path,
                            hint=f"fix: ls {shlex.quote(str(path))} and pass one of its files") from exc
    except OSError as exc:
        raise DrumgateError(f"cannot read: {exc.strerror}", path=path) from exc


def read_bytes(path: str | Path) -> bytes:
    with open_for_reading(path) as handle:
        return handle.read()


def read_regular_file(path: str | Path) -> bytes:
    """The bytes of a regular file. A FIFO, socket or device raises OSError("not a regular file") at
    once: it is opened without blocking and never read, so a FIFO cannot hang the caller."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        return handle.read()
