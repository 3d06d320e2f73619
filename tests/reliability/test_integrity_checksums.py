"""Integrity: `checksums verify` reads every byte; the stat cache is an opt-in of `generate` only,
kept in a private folder inside the workspace (never a shared home folder)."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from drumgate.checksums import CACHE_FOLDER, CACHE_NAME, StatCache, hash_files
from drumgate.io.statcache import SETTLED_NS
from tests.reliability.support import TRACEBACK, Run, finding_lines, make_workspace, run_drumgate

RAW = "data/raw/egmd"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = make_workspace(tmp_path / "ws")
    raw = root / RAW / "drummer1" / "session1"
    raw.mkdir(parents=True)
    for index in range(3):
        (raw / f"{index}_rock_120_beat_4-4_1.wav").write_bytes(bytes(range(256)) * (index + 4))
    return root


def home_env(tmp_path: Path) -> dict[str, str]:
    """A fresh HOME and XDG cache folder, so a test can see whether anything was written there."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {"HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache")}


def checksums(root: Path, env: dict[str, str], *words: str) -> Run:
    return run_drumgate(["checksums", *words, "egmd", "--workspace", str(root)], cwd=root, env=env)


def corrupt_in_place(path: Path) -> None:
    """Flip one byte without changing the size, then put the old mtime (and atime) back."""
    before = path.stat()
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    with open(path, "r+b") as handle:
        handle.write(data)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (before.st_size, before.st_mtime_ns, before.st_ino)


def test_in_place_corruption_with_size_and_mtime_restored_fails_verify(workspace: Path, tmp_path: Path) -> None:
    env = home_env(tmp_path)
    generated = checksums(workspace, env, "generate", "--stat-cache")
    assert generated.code == 0, generated.describe()
    assert checksums(workspace, env, "verify").code == 0
    victim = sorted((workspace / RAW).rglob("*.wav"))[1]
    corrupt_in_place(victim)
    run = checksums(workspace, env, "verify")
    assert run.code == 1, run.describe()
    assert TRACEBACK not in run.output
    lines = finding_lines(run.stderr, workspace / "data/archives/checksums/egmd.sha256", workspace)
    assert len(lines) == 1 and victim.name in lines[0] and "sha256 differs" in lines[0], run.describe()
    assert "0 from cache, 3 hashed" in run.stdout, run.describe()


def test_generate_reads_every_byte_unless_asked(workspace: Path, tmp_path: Path) -> None:
    env = home_env(tmp_path)
    assert checksums(workspace, env, "generate").code == 0
    again = checksums(workspace, env, "generate")
    assert "0 from cache, 3 hashed" in again.stdout, again.describe()
    assert not (workspace / CACHE_FOLDER).exists()


def test_stat_cache_is_a_private_workspace_folder_and_home_stays_empty(workspace: Path, tmp_path: Path) -> None:
    env = home_env(tmp_path)
    time.sleep(SETTLED_NS / 1e9)  # a file is remembered once it has settled (written that long before)
    for _ in range(2):
        run = checksums(workspace, env, "generate", "--stat-cache")
        assert run.code == 0, run.describe()
    assert "3 from cache, 0 hashed" in run.stdout, run.describe()
    folder = workspace / CACHE_FOLDER
    assert (folder / CACHE_NAME).is_file()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert (folder / ".gitignore").read_text() == "*\n"
    assert list(Path(env["HOME"]).rglob("*")) == []


def test_verify_refuses_the_stat_cache_flag(workspace: Path, tmp_path: Path) -> None:
    env = home_env(tmp_path)
    assert checksums(workspace, env, "generate").code == 0
    run = checksums(workspace, env, "verify", "--stat-cache")
    assert run.code == 2, run.describe()
    assert TRACEBACK not in run.output
    assert len([line for line in run.stderr.splitlines() if "--stat-cache" in line]) == 1, run.describe()


def test_a_cache_folder_others_can_write_is_not_trusted(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    files = {"a": tmp_path / "a.bin"}
    files["a"].write_bytes(b"first")
    with StatCache(shared / CACHE_NAME) as cache:
        assert cache.refused is not None and "private" in cache.refused
        hash_files(files, cache)
    assert not (shared / CACHE_NAME).exists()
    with StatCache(shared / CACHE_NAME) as cache:
        assert hash_files(files, cache).cache_hits == 0
