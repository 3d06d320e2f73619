"""A file's sha256 remembered by its stat: (device, inode, size, mtime_ns, ctime_ns) -> sha256, in SQLite.

The trust git's index and DVC's state database place in a file's stat: a file whose inode, size,
modification and change times are all unchanged has unchanged bytes. Two users: `checksums generate
--stat-cache` (opt-in; `verify` always reads every byte) and health's lineage fingerprint of its
events (`remembered_sha256`), which would otherwise read a 687 MB manifest on every run.

A digest is remembered only for a settled file: one whose modification and change times are at
least `SETTLED_NS` older than the moment its reading began, so a write during or just after the read
(within one tick of a coarse file-system clock) cannot leave a digest of other bytes under a key the
written file still has. The change time cannot be set by a user (`touch -d` moves it to now).

It lives inside the workspace in a private (0700, owner-only) `.drumgate/` folder, never in a shared
home folder: a digest planted by another user would let a changed file pass.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import time
from collections.abc import Iterable
from pathlib import Path

from drumgate.errors import DrumgateError
from drumgate.io.fsutil import atomic_write_bytes
from drumgate.io.hashing import sha256_file
from drumgate.workspace import Workspace

CACHE_FOLDER = ".drumgate"
CACHE_NAME = "statcache.sqlite"
# two seconds: the coarsest modification-time tick in use (FAT); finer file systems only gain from it
SETTLED_NS = 2_000_000_000
TABLE = "file_digests"


def workspace_cache_path(ws: Workspace) -> Path:
    return ws.root / CACHE_FOLDER / CACHE_NAME


def private_folder(folder: Path) -> None:
    """Create `folder` owner-only (0700) with a `.gitignore` of `*`; refuse one others may write to or
    that another user owns (a digest planted there would let a changed file pass), or one below a
    folder another user could swap it in (`_swappable_above`)."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise PermissionError(f"{folder} is not a private folder (owner-only, mode 0700)")
    above = _swappable_above(folder)
    if above is not None:
        raise PermissionError(f"{folder} is not a private folder: another user may rename it ({above} is not"
                              " owned by root or you, or others may write to it and it is not sticky)")
    ignore = folder / ".gitignore"
    if not ignore.exists():
        atomic_write_bytes(ignore, b"*\n")


def _swappable_above(folder: Path) -> Path | None:
    """The first folder above `folder` (as written and as resolved) in which someone else could rename
    it and put their own in its place between the check and a read: one owned by another user, or one
    others may write to without the sticky bit (as /tmp has). A group-writable folder is accepted only
    when its group is the user's alone (a user-private group), not a group others share."""
    uid = os.getuid()
    absolute = Path(os.path.abspath(folder))
    for parent in dict.fromkeys([*absolute.parents, *absolute.resolve().parents]):
        try:
            info = parent.stat()
        except OSError:
            return parent
        writable_by_others = info.st_mode & 0o002 or (info.st_mode & 0o020 and not _group_of_one(info.st_gid, uid))
        if info.st_uid not in (0, uid) or (writable_by_others and not info.st_mode & stat.S_ISVTX):
            return parent
    return None


def _group_of_one(gid: int, uid: int) -> bool:
    """Whether no user but `uid` belongs to group `gid` (as a member or by their primary group)."""
    import grp
    import pwd

    try:
        me = pwd.getpwuid(uid).pw_name
        members = set(grp.getgrgid(gid).gr_mem)
    except KeyError:
        return False
    return members <= {me} and all(user.pw_uid == uid for user in pwd.getpwall() if user.pw_gid == gid)


StatKey = tuple[int, int, int, int, int]


def stat_key(info: os.stat_result) -> StatKey:
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


def settled(key: StatKey, read_from_ns: int) -> bool:
    """Whether a digest read from `read_from_ns` (time.time_ns()) on may be remembered under `key`."""
    *_, mtime_ns, ctime_ns = key
    return max(mtime_ns, ctime_ns) <= read_from_ns - SETTLED_NS


class StatCache:
    """(device, inode, size, mtime_ns, ctime_ns) -> sha256, in SQLite in a private folder.

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
        self._pending: list[tuple[int, int, int, int, int, str]] = []

    def _init_schema(self) -> None:
        self._db.execute(
            # `file_digests`, not the `digests` of older versions, whose key lacked the change time
            f"CREATE TABLE IF NOT EXISTS {TABLE} (dev INTEGER, ino INTEGER, size INTEGER, mtime_ns INTEGER,"
            " ctime_ns INTEGER, sha256 TEXT NOT NULL, PRIMARY KEY (dev, ino, size, mtime_ns, ctime_ns))"
        )
        self._db.commit()

    def get(self, key: StatKey) -> str | None:
        row = self._db.execute(
            f"SELECT sha256 FROM {TABLE} WHERE dev=? AND ino=? AND size=? AND mtime_ns=? AND ctime_ns=?", key
        ).fetchone()
        return row[0] if row else None

    def get_many(self, keys: Iterable[StatKey]) -> dict[StatKey, str]:
        wanted = set(keys)
        if not wanted:
            return {}
        found: dict[StatKey, str] = {}
        devices = {key[0] for key in wanted}
        for device in devices:
            for dev, ino, size, mtime, ctime, digest in self._db.execute(
                f"SELECT dev, ino, size, mtime_ns, ctime_ns, sha256 FROM {TABLE} WHERE dev=?", (device,)
            ):
                key = (dev, ino, size, mtime, ctime)
                if key in wanted:
                    found[key] = digest
        return found

    def put(self, key: StatKey, digest: str, read_from_ns: int) -> None:
        """Remember `digest` for `key` if the file was settled when reading began at `read_from_ns`."""
        if settled(key, read_from_ns):
            self._pending.append((*key, digest))

    def flush(self) -> None:
        if not self._pending:
            return
        with contextlib.suppress(sqlite3.Error):
            self._db.executemany(f"INSERT OR REPLACE INTO {TABLE} VALUES (?, ?, ?, ?, ?, ?)", self._pending)
            self._db.commit()
        self._pending.clear()

    def close(self) -> None:
        self.flush()
        self._db.close()

    def __enter__(self) -> StatCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def remembered_sha256(path: Path, cache_path: Path) -> str:
    """The sha256 of the file at `path`: from the cache at `cache_path` when its stat is unchanged,
    else read (and remembered when settled). The cache is opened and closed here, so this may run
    on any thread."""
    try:
        before = stat_key(os.stat(path))
    except OSError:
        return sha256_file(path)  # it words why the file cannot be read
    with StatCache(cache_path) as cache:
        known = cache.get(before)
        if known is not None:
            return known
        read_from_ns = time.time_ns()
        digest = sha256_file(path)
        if stat_key(os.stat(path)) == before:
            cache.put(before, digest, read_from_ns)
        return digest
