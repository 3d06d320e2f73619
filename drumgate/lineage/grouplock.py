"""One exclusive lock per artifact group, held for a whole command (issue 13, item 8).

Two runs writing the same artifact must not interleave: the second could overwrite the first's
JSON after the first recorded its hash, or pair its HTML with the first's JSON. So a command
holds an OS file lock (`fcntl.flock` on `data/locks/.<group>.lck`, git-ignored) from before it
reads its inputs until after it wrote its last artifact and lock entry.

`cli.run_module` opens a `command_scope` around every command; a command names the groups it
reads and writes with `hold` as soon as it knows them, and `lineage.record` holds its group too,
so a command that names none still keeps the lock from its first lock entry to its end. Every
lock taken inside a scope is released when the scope ends. Groups are taken in sorted order, so
two commands naming the same groups cannot deadlock. A busy group is waited for up to
`DRUMGATE_LOCK_WAIT` seconds (default 600; 0 refuses at once) with one message, then refused
with one line. The locks are per process: nested commands (the demo runs stages in-process)
reuse what an outer command holds instead of blocking on themselves.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from drumgate.artifacts import group_lock
from drumgate.errors import DrumgateError, one_line
from drumgate.workspace import Workspace

WAIT_ENV = "DRUMGATE_LOCK_WAIT"
DEFAULT_WAIT_SECONDS = 600.0
POLL_SECONDS = 0.1


@dataclass
class _Scope:
    command: str
    acquired: list[Path] = field(default_factory=list)
    moves_checked: bool = False  # drumgate.lineage.moved, once per command: before its first lock


_held: dict[Path, IO[str]] = {}
_scopes: list[_Scope] = []


_GROUP_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def guard_path(ws: Workspace, group: str) -> Path:
    if not _GROUP_NAME.fullmatch(group):
        raise DrumgateError(f"artifact group {group!r} is not a plain name", path="configs/datasets.toml",
                            hint="name groups with letters, digits, _ . -")
    return ws.root / group_lock(group)


def _wait_limit() -> float:
    text = os.environ.get(WAIT_ENV, "")
    if not text:
        return DEFAULT_WAIT_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        raise DrumgateError(f"{WAIT_ENV}={text!r} is not a number of seconds",
                            hint=f"fix: unset {WAIT_ENV} to wait {DEFAULT_WAIT_SECONDS:g} s, or export {WAIT_ENV}=1200")
    return seconds


def _holder(path: Path) -> str:
    """Who holds the guard, as its holder wrote it (pid and command); a hint, never trusted."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return "another process"
    return one_line(text[:300]) or "another process"


def _try_lock(handle: IO[str]) -> bool:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _open_guard(ws: Workspace, path: Path) -> IO[str]:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return open(path, "a+", encoding="utf-8")
    except OSError as exc:
        raise DrumgateError(f"cannot open the group lock: {exc.strerror}", path=ws.rel(path),
                            hint="check that data/locks is a writable folder") from exc


def _acquire(ws: Workspace, group: str, command: str) -> Path:
    path = guard_path(ws, group)
    handle = _open_guard(ws, path)
    if not _try_lock(handle):
        limit = _wait_limit()
        deadline = time.monotonic() + limit
        if limit > 0:
            print(f"drumgate: waiting up to {limit:g} s for the {group} group lock held by {_holder(path)} "
                  f"({WAIT_ENV} sets the limit)", file=sys.stderr)
        while not _try_lock(handle):
            if time.monotonic() >= deadline:
                holder = _holder(path)
                handle.close()
                raise DrumgateError(
                    f"the {group} artifacts are being written by {holder}",
                    path=ws.rel(path),
                    hint=f"rerun when it has finished, or raise {WAIT_ENV} (seconds) to wait longer",
                )
            time.sleep(POLL_SECONDS)
    _held[path] = handle
    with contextlib.suppress(OSError):  # the holder note is only a hint for whoever waits
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}: {command}\n")
        handle.flush()
    return path


def _release(path: Path) -> None:
    handle = _held.pop(path, None)
    if handle is None:
        return
    with contextlib.suppress(OSError):
        handle.seek(0)
        handle.truncate()
    fcntl.flock(handle, fcntl.LOCK_UN)
    handle.close()


def _take(ws: Workspace, groups: Iterable[str], command: str) -> list[Path]:
    taken: list[Path] = []
    try:
        for group in sorted(set(groups)):
            if guard_path(ws, group) not in _held:
                taken.append(_acquire(ws, group, command))
    except BaseException:
        for path in reversed(taken):
            _release(path)
        raise
    return taken


@contextlib.contextmanager
def command_scope(command: str) -> Iterator[None]:
    """Wrap one command: every group lock taken inside is released when it ends."""
    scope = _Scope(command)
    _scopes.append(scope)
    try:
        yield
    finally:
        _scopes.remove(scope)
        for path in reversed(scope.acquired):
            _release(path)


def hold(ws: Workspace, groups: Iterable[str], check_locks: bool = True) -> None:
    """Take these groups' locks (those this process does not hold yet) until the current command ends;
    with `check_locks`, a damaged lineage lock of one of them stops the command here, before it writes.

    Call it before reading the inputs: what the command reads and what it records then agree.
    """
    if not _scopes:
        raise RuntimeError("grouplock.hold() outside grouplock.command_scope()")
    scope = _scopes[-1]
    if not scope.moves_checked:  # before anything is read or written: a moved dataset's artifacts have two locks
        from drumgate.lineage.moved import refuse_any_moved

        refuse_any_moved(ws)
        scope.moves_checked = True
    taken = _take(ws, groups, scope.command)
    scope.acquired.extend(taken)
    if taken and check_locks:  # a damaged lineage lock stops the command before it writes, not after
        from drumgate.lineage import read_lock

        for group in sorted(set(groups)):
            read_lock(ws, group, drop_outside=True)


def hold_every_group(ws: Workspace) -> None:
    """For commands that read every dataset's artifacts (combine, docs): all groups, in one sorted pass."""
    from drumgate.config import load_datasets
    from drumgate.reports.report_io import artifact_group
    from drumgate.workspace import COMBINED

    # every group is read, few are written: a damaged lock elsewhere is the writer's to find
    hold(ws, [artifact_group(ws, name) for name in (*load_datasets(ws).datasets, COMBINED)], check_locks=False)


@contextlib.contextmanager
def briefly(ws: Workspace, group: str) -> Iterator[None]:
    """Hold one group for a block only, also inside a command: for a command whose later steps are
    processes of their own that take the group (repro retiring a group edits another group's lock)."""
    taken = _take(ws, [group], " ".join(sys.argv) or "drumgate")  # none when this process holds it already
    try:
        yield
    finally:
        for path in reversed(taken):
            _release(path)


@contextlib.contextmanager
def holding(ws: Workspace, group: str) -> Iterator[None]:
    """Hold one group for a block; inside a command the lock stays held until the command ends."""
    if _scopes:
        hold(ws, [group])
        yield
        return
    with briefly(ws, group):
        yield
