"""The `generate --stat-cache`: (device, inode, size, mtime_ns) -> sha256, in SQLite.

It lives inside the workspace in a private (0700, owner-only) `.drumgate/` folder, never in a shared
home folder: a digest planted by another user would let a changed file pass. Only `generate` uses
it; `verify` always reads every byte.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
from collections.abc import Iterable
from pathlib import Path

from drumgate.errors import DrumgateError
from drumgate.io.fsutil import atomic_write_bytes
from drumgate.workspace import Workspace

CACHE_FOLDER = ".drumgate"
CACHE_NAME = "statcache.sqlite"


def workspace_cache_path(ws: Workspace) -> Path:
    return ws.root / CACHE_FOLDER / CACHE_NAME


def private_folder(folder: Path) -> None:
    """Create `folder` owner-only (0700) with a `.gitignore` of `*`; refuse one others may write to or
    that another user owns (a digest planted there would let a changed file pass)."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise PermissionError(f"{folder} is not a private folder (owner-only, mode 0700)")
    ignore = folder / ".gitignore"
    if not ignore.exists():
        atomic_write_bytes(ignore, b"*\n")


StatKey = tuple[int, int, int, int]


def stat_key(info: os.stat_result) -> StatKey:
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)


class StatCache:
    """(device, inode, size, mtime_ns) -> sha256, in SQLite in a private folder.

    A cache that cannot be opened, or whose folder is not private, degrades to an in-memory one
    (`refused` says why): it only ever saves work.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.refused: str | None = None
        try:
            private_folder(self.path.parent)
            self._db = sqlite3.connect(str(self.path), timeout=30)
            self._init_schema()
        except (OSError, sqlite3.Error, DrumgateError) as exc:
            self.refused = str(exc)
            self._db = sqlite3.connect(":memory:")
            self._init_schema()
        self._pending: list[tuple[int, int, int, int, str]] = []

    def _init_schema(self) -> None:
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS digests (dev INTEGER, ino INTEGER, size INTEGER, mtime_ns INTEGER,"
            " sha256 TEXT NOT NULL, PRIMARY KEY (dev, ino, size, mtime_ns))"
        )
        self._db.commit()

    def get(self, key: StatKey) -> str | None:
        row = self._db.execute(
            "SELECT sha256 FROM digests WHERE dev=? AND ino=? AND size=? AND mtime_ns=?", key
        ).fetchone()
        return row[0] if row else None

    def get_many(self, keys: Iterable[StatKey]) -> dict[StatKey, str]:
        wanted = set(keys)
        if not wanted:
            return {}
        found: dict[StatKey, str] = {}
        devices = {key[0] for key in wanted}
        for device in devices:
            for dev, ino, size, mtime, digest in self._db.execute(
                "SELECT dev, ino, size, mtime_ns, sha256 FROM digests WHERE dev=?", (device,)
            ):
                key = (dev, ino, size, mtime)
                if key in wanted:
                    found[key] = digest
        return found

    def put(self, key: StatKey, digest: str) -> None:
        self._pending.append((*key, digest))

    def flush(self) -> None:
        if not self._pending:
            return
        with contextlib.suppress(sqlite3.Error):
            self._db.executemany("INSERT OR REPLACE INTO digests VALUES (?, ?, ?, ?, ?)", self._pending)
            self._db.commit()
        self._pending.clear()

    def close(self) -> None:
        self.flush()
        self._db.close()

    def __enter__(self) -> StatCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
