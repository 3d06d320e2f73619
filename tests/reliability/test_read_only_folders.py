"""A folder that cannot be written is found before the first write: a report without its lock entry
(or a combined manifest without its health report) was left behind when the lock folder, or the
sampling folder, was read-only (a read-only mount; root ignores permission bits, not a mount)."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from drumgate import cli
from drumgate.io import fsutil


def _digests(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and "raw" not in p.parts}


@pytest.mark.parametrize(
    ("read_only", "argv"),
    [
        ("reports/sampling", ("combine", "--date", "2026-01-16")),
        ("data/locks", ("health", "--events", "data/manifests/egmd_events.jsonl", "--date", "2026-01-17")),
        ("data/locks", ("weights", "--events", "data/manifests/egmd_events.jsonl", "--date", "2026-01-17")),
    ],
    ids=["combine", "health", "weights"],
)
def test_a_read_only_folder_means_nothing_written(demo_pair, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str], read_only: str,
                                                  argv: tuple[str, ...]) -> None:
    root = tmp_path / "ws"
    shutil.copytree(demo_pair.first, root, symlinks=True)
    before = _digests(root)
    locked = (root / read_only).resolve()
    real_access = os.access

    def access(path: object, mode: int, **kwargs: object) -> bool:
        inside = Path(str(path)).resolve() == locked or locked in Path(str(path)).resolve().parents
        return False if inside and mode & os.W_OK else real_access(path, mode, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(fsutil.os, "access", access)
    monkeypatch.chdir(root)
    monkeypatch.setenv("DRUMGATE_WORKSPACE", str(root))
    assert cli.main(list(argv)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot write here (read-only); nothing written" in err[0] and "(fix: chmod u+w " in err[0]
    assert _digests(root) == before


def test_a_device_output_is_written_in_place_whatever_its_folder(demo_pair, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """`--output /dev/null` as a user who cannot write /dev: the device is written in place, not replaced."""
    root = tmp_path / "ws"
    shutil.copytree(demo_pair.first, root, symlinks=True)
    real_access = os.access

    def access(path: object, mode: int, **kwargs: object) -> bool:
        return False if str(path) == "/dev" and mode & os.W_OK else real_access(path, mode, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(fsutil.os, "access", access)
    monkeypatch.chdir(root)
    monkeypatch.setenv("DRUMGATE_WORKSPACE", str(root))
    assert cli.main(["weights", "--events", "data/manifests/egmd_events.jsonl", "--output", "/dev/null"]) in (0, 1)
