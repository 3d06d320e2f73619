"""Cambridge in a team's own repository: its provenance takes each file's sha256 from the checksum
manifest, which repro writes after the ingest, so one repro must also run that ingest again; a
second repro then changes no byte and the commit passes the hooks, also after a raw change."""

from __future__ import annotations

from pathlib import Path

import pytest

from drumgate.fixtures.cambridge import make_cambridge_corpus
from tests.data_repo_support import drumgate, git, status, tree_listing

pytestmark = pytest.mark.slow


def _committed(repo: Path, message: str) -> None:
    assert git(repo, "add", "-A").returncode == 0
    done = git(repo, "commit", "-q", "-m", message)
    assert done.returncode == 0, done.stdout + done.stderr


def _one_repro_settles(repo: Path) -> None:
    first = drumgate(repo, "repro")
    assert first.returncode in (0, 1), first.stdout[-3000:] + first.stderr[-3000:]
    assert "reads the checksum manifest just written" in first.stdout
    settled = tree_listing(repo / "data")
    again = drumgate(repo, "repro")
    assert again.returncode in (0, 1), again.stdout[-3000:] + again.stderr[-3000:]
    assert "stale" not in again.stderr
    assert tree_listing(repo / "data") == settled


def _cambridge_repo(tmp_path: Path, external: Path) -> Path:
    """A new data repository for Cambridge alone, its primary tier under data/raw, the external at `external`."""
    repo = tmp_path / "drum-data"
    repo.mkdir()
    assert git(repo, "init", "-q", "-b", "main").returncode == 0
    assert drumgate(repo, "init", "--datasets", "cambridge").returncode == 0
    make_cambridge_corpus(repo / "data" / "raw" / "cambridge", external, seed=1)
    return repo


def test_one_repro_leaves_cambridge_settled_and_committable(tmp_path: Path) -> None:
    repo = _cambridge_repo(tmp_path, tmp_path / "not-mounted")
    ingest = drumgate(repo, "ingest", "cambridge")
    assert ingest.returncode in (0, 1), ingest.stderr

    _one_repro_settles(repo)
    provenance = (repo / "data" / "provenance" / "cambridge_provenance.jsonl").read_text()
    assert '"sha256":null' not in provenance.replace(" ", "")
    _committed(repo, "Ingest Cambridge")

    tom = next((repo / "data" / "raw" / "cambridge").rglob("*Tom*.wav"))
    tom.unlink()
    _one_repro_settles(repo)
    _committed(repo, "A stem less")
    assert status(repo) == ""


def test_a_library_without_the_external_tier_is_told_once_how_to_drop_it(tmp_path: Path) -> None:
    """A team with no external drive saw `tier external offline` on every run with nothing to do about
    it. With nothing of the tier kept, the note now says how to drop the tier; after doing so no run
    mentions it, and one carried-forward session keeps the plain note (no fix: the drive is away)."""
    repo = _cambridge_repo(tmp_path, tmp_path / "not-mounted")
    ingest = drumgate(repo, "ingest", "cambridge")
    assert ingest.returncode in (0, 1), ingest.stderr
    notes = [line for line in ingest.stdout.splitlines() if line.startswith("tier external offline")]
    assert len(notes) == 1, ingest.stdout
    assert notes[0].endswith("(fix: set DRUMGATE_CAMBRIDGE_EXTERNAL to where the drive is mounted, or if the "
                             "library has no external tier delete its line in configs/datasets.toml)")

    config = repo / "configs" / "datasets.toml"
    config.write_text("".join(line for line in config.read_text().splitlines(keepends=True)
                              if 'tier = "external"' not in line))
    done = drumgate(repo, "repro")
    assert done.returncode in (0, 1), done.stdout[-3000:] + done.stderr[-3000:]
    assert "offline" not in done.stdout + done.stderr
    _committed(repo, "Cambridge without an external tier")


def test_an_offline_tier_with_sessions_carried_forward_keeps_the_plain_note(tmp_path: Path) -> None:
    repo = _cambridge_repo(tmp_path, tmp_path / "drum-data" / "data" / "raw" / "cambridge_external")
    external = repo / "data" / "raw" / "cambridge_external"
    assert drumgate(repo, "ingest", "cambridge").returncode in (0, 1)
    external.rename(tmp_path / "unplugged")
    again = drumgate(repo, "ingest", "cambridge")
    notes = [line for line in again.stdout.splitlines() if line.startswith("tier external offline")]
    assert len(notes) == 1 and "sessions carried forward" in notes[0], again.stdout
    assert "(fix:" not in notes[0] and not notes[0].startswith("tier external offline: 0 ")


def test_an_emptied_mount_point_carries_its_sessions_forward(tmp_path: Path) -> None:
    """A tier's folder that is there but empty (a mount point without its drive, the tier's variable not
    set in this shell) read as a tier holding no sessions: the next ingest dropped every committed
    session on it with 0 findings. It is read as offline now, its sessions carried forward."""
    repo = _cambridge_repo(tmp_path, tmp_path / "drum-data" / "data" / "raw" / "cambridge_external")
    external = repo / "data" / "raw" / "cambridge_external"
    assert drumgate(repo, "ingest", "cambridge").returncode in (0, 1)
    before = (repo / "data" / "manifests" / "cambridge_sessions.jsonl").read_text().count('"tier":"external"')
    assert before == 1
    for entry in external.iterdir():
        entry.rename(tmp_path / entry.name)
    again = drumgate(repo, "ingest", "cambridge")
    notes = [line for line in again.stdout.splitlines() if line.startswith("tier external offline")]
    assert notes == [f"tier external offline ({external} is an empty folder): 1 sessions carried forward from"
                     " data/manifests/cambridge_sessions.jsonl (fix: set DRUMGATE_CAMBRIDGE_EXTERNAL to where the"
                     " drive is mounted)"], again.stdout
    sessions = (repo / "data" / "manifests" / "cambridge_sessions.jsonl").read_text()
    assert sessions.count('"tier":"external"') == 1 and '"status":"tier_offline"' in sessions
