"""`drumgate.io.statcache`: a file's sha256 remembered by its stat, only once the file has settled.

The lineage fingerprint health takes of its events rides on it (`lineage.fingerprint(path, memo)`),
so these tests also run `drumgate health` twice and watch which bytes it reads."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from drumgate import lineage
from drumgate.cli import health as health_cmd
from drumgate.errors import DrumgateError
from drumgate.fixtures.health_events import event_rows, session_rows
from drumgate.io import statcache
from drumgate.io.hashing import sha256_file
from drumgate.io.jsonio import write_jsonl
from drumgate.lineage import read_lock
from drumgate.workspace import Workspace


def _reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The paths statcache reads from here on (each still hashed for real)."""
    seen: list[Path] = []

    def reading(path: Path) -> str:
        seen.append(Path(path))
        return sha256_file(path)

    monkeypatch.setattr(statcache, "sha256_file", reading)
    return seen


def _settle_instantly(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files written by a test settle at once (the real margin is two seconds of the clock)."""
    monkeypatch.setattr(statcache, "SETTLED_NS", 0)


def test_an_unchanged_settled_file_is_read_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _settle_instantly(monkeypatch)
    reads = _reads(monkeypatch)
    target = tmp_path / "events.jsonl"
    target.write_bytes(b'{"a": 1}\n' * 1000)
    cache = tmp_path / ".drumgate" / statcache.CACHE_NAME
    first = statcache.remembered_sha256(target, cache)
    second = statcache.remembered_sha256(target, cache)
    assert first == second == sha256_file(target)
    assert reads == [target]


def test_a_just_written_file_is_not_remembered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reads = _reads(monkeypatch)
    target = tmp_path / "events.jsonl"
    target.write_bytes(b"fresh\n")
    cache = tmp_path / ".drumgate" / statcache.CACHE_NAME
    statcache.remembered_sha256(target, cache)
    statcache.remembered_sha256(target, cache)
    assert reads == [target, target]


def test_settled_needs_both_times_older_than_the_margin() -> None:
    now = time.time_ns()
    old = now - statcache.SETTLED_NS - 1
    assert statcache.settled((1, 2, 3, old, old), now)
    assert not statcache.settled((1, 2, 3, old, now - 1), now)  # metadata changed lately (utime, chmod)
    assert not statcache.settled((1, 2, 3, now - 1, old), now)


def test_an_edit_with_size_and_mtime_put_back_is_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _settle_instantly(monkeypatch)
    reads = _reads(monkeypatch)
    target = tmp_path / "events.jsonl"
    target.write_bytes(b"label=snare\n")
    cache = tmp_path / ".drumgate" / statcache.CACHE_NAME
    before = target.stat()
    first = statcache.remembered_sha256(target, cache)
    time.sleep(0.01)  # a later change time than the first read's, on any clock
    target.write_bytes(b"label=kick!\n")
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert target.stat().st_size == before.st_size and target.stat().st_mtime_ns == before.st_mtime_ns
    second = statcache.remembered_sha256(target, cache)
    assert second != first and second == sha256_file(target)
    assert reads == [target, target]


def test_a_missing_file_is_worded_by_the_reader(tmp_path: Path) -> None:
    with pytest.raises(DrumgateError, match=r"gone\.jsonl: file not found"):
        statcache.remembered_sha256(tmp_path / "gone.jsonl", tmp_path / ".drumgate" / statcache.CACHE_NAME)


def test_a_cache_from_an_older_version_is_left_aside(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Older versions keyed `digests` without the change time; that table is never read."""
    import sqlite3

    _settle_instantly(monkeypatch)
    cache = tmp_path / ".drumgate" / statcache.CACHE_NAME
    statcache.private_folder(cache.parent)
    target = tmp_path / "a.bin"
    target.write_bytes(b"a")
    info = target.stat()
    with sqlite3.connect(cache) as db:
        db.execute("CREATE TABLE digests (dev INTEGER, ino INTEGER, size INTEGER, mtime_ns INTEGER, sha256 TEXT)")
        db.execute("INSERT INTO digests VALUES (?, ?, ?, ?, ?)",
                   (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, "0" * 64))
    assert statcache.remembered_sha256(target, cache) == sha256_file(target)


def _corpus(workspace: Workspace) -> None:
    write_jsonl(workspace.events_manifest("egmd"), event_rows(2000, sessions=10, seed=5))
    write_jsonl(workspace.sessions_manifest("egmd"), session_rows(10, seed=5))


def test_health_reads_unchanged_events_once_for_lineage(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    _settle_instantly(monkeypatch)
    reads = _reads(monkeypatch)
    _corpus(workspace)
    argv = ["--events", "data/manifests/egmd_events.jsonl", "--date", "2024-05-01"]
    events = workspace.events_manifest("egmd")
    assert health_cmd.main(argv) == 0
    report = workspace.health_report("egmd", "20240501")
    first = report.read_bytes(), read_lock(workspace, "egmd")
    assert reads == [events]
    assert health_cmd.main(argv) == 0
    assert reads == [events]  # the second run took the fingerprint from the memo
    assert (report.read_bytes(), read_lock(workspace, "egmd")) == first
    entry = first[1]["artifacts"]["reports/health/egmd_20240501.json"]
    assert entry["inputs"]["data/manifests/egmd_events.jsonl"] == sha256_file(events)


def test_health_after_an_edit_records_the_new_events_hash(workspace: Workspace,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    _settle_instantly(monkeypatch)
    _corpus(workspace)
    argv = ["--events", "data/manifests/egmd_events.jsonl", "--date", "2024-05-01"]
    assert health_cmd.main(argv) == 0
    events = workspace.events_manifest("egmd")
    time.sleep(0.01)
    write_jsonl(events, event_rows(2100, sessions=10, seed=5))
    assert health_cmd.main(argv) == 0
    entry = read_lock(workspace, "egmd")["artifacts"]["reports/health/egmd_20240501.json"]
    assert entry["inputs"]["data/manifests/egmd_events.jsonl"] == sha256_file(events)
    assert lineage.fingerprint(events) == sha256_file(events)


@pytest.mark.parametrize(("members", "primary_of", "alone"), [
    ([], [], True), (["me"], [], True), (["other"], [], False), ([], ["other"], False), ([], ["me"], True)])
def test_a_group_writable_folder_is_private_only_for_a_group_of_one(
    monkeypatch: pytest.MonkeyPatch, members: list[str], primary_of: list[str], alone: bool
) -> None:
    """A user-private group is the user's alone; a shared one (`users`, `staff`) lets another member
    rename a cache folder in a group-writable folder and put their own in its place."""
    import grp
    import pwd
    from types import SimpleNamespace

    uids = {"me": 1000, "other": 1001}
    monkeypatch.setattr(pwd, "getpwuid", lambda uid: SimpleNamespace(pw_name="me"))
    monkeypatch.setattr(grp, "getgrgid", lambda gid: SimpleNamespace(gr_mem=members))
    users = [SimpleNamespace(pw_uid=uids[name], pw_gid=100) for name in primary_of]
    monkeypatch.setattr(pwd, "getpwall", lambda: users)
    assert statcache._group_of_one(100, 1000) is alone
