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


def test_one_repro_leaves_cambridge_settled_and_committable(tmp_path: Path) -> None:
    repo = tmp_path / "drum-data"
    repo.mkdir()
    assert git(repo, "init", "-q", "-b", "main").returncode == 0
    assert drumgate(repo, "init", "--datasets", "cambridge").returncode == 0
    make_cambridge_corpus(repo / "data" / "raw" / "cambridge", tmp_path / "not-mounted", seed=1)
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
