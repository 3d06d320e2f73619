"""A damaged E-GMD render is a finding, never `ok`: E-GMD probes audio through drumgate.signal.audio.probe_wav
(issue 14: its own copy missed the truncation, empty-file and Git LFS checks)."""

from __future__ import annotations

from pathlib import Path

import pytest

from drumgate import cli
from drumgate.errors import EXIT_FINDINGS
from drumgate.fixtures.egmd import EgmdCorpus, make_egmd_corpus
from drumgate.io.jsonio import LFS_POINTER_PREFIX, read_jsonl
from drumgate.workspace import Workspace


@pytest.fixture
def corpus(workspace: Workspace) -> EgmdCorpus:
    return make_egmd_corpus(workspace.root / "data" / "raw" / "egmd", seed=5, performances=2, kits=1)


def cut_in_half(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def lfs_pointer(path: Path) -> None:
    path.write_bytes(LFS_POINTER_PREFIX + b"\noid sha256:" + b"0" * 64 + b"\nsize 123\n")


def empty(path: Path) -> None:
    path.write_bytes(b"")


@pytest.mark.parametrize(
    ("damage", "says"),
    [(cut_in_half, "truncated audio: header promises"), (lfs_pointer, "Git LFS pointer"), (empty, "empty audio file")],
)
def test_a_damaged_render_is_one_finding_and_unreadable(
    workspace: Workspace, corpus: EgmdCorpus, capsys: pytest.CaptureFixture[str], damage, says: str
) -> None:
    damaged = corpus.rows[0]["audio_filename"]
    damage(corpus.root / damaged)

    code = cli.main(["ingest", "egmd", "--jobs", "1"])

    err = capsys.readouterr().err.splitlines()
    assert code == EXIT_FINDINGS  # the contract's findings code: the run completes, the render is reported
    findings = [line for line in err if not line.startswith("warning:")]
    assert len(findings) == 1
    assert findings[0].startswith(f"{corpus.root / damaged}: {says}")  # the full path: the CSV names it in the root
    assert findings[0].endswith("(fix: copy it again from the download, then drumgate repro egmd)")
    sessions = {row["session_id"]: row for row in read_jsonl(workspace.sessions_manifest("egmd"))}
    entries = {entry["path"]: entry for row in sessions.values() for entry in row["files"]}
    assert entries[damaged]["status"] == "unreadable" and entries[damaged]["format"] is None
    assert sessions[corpus.rows[0]["id"]]["status"] == "unreadable"
    assert [e["status"] for path, e in entries.items() if path != damaged] == ["ok"] * (len(entries) - 1)


def test_intact_renders_are_ok_with_the_same_format_fields(
    workspace: Workspace, corpus: EgmdCorpus, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["ingest", "egmd", "--jobs", "1"]) == 0
    entries = [entry for row in read_jsonl(workspace.sessions_manifest("egmd")) for entry in row["files"]]
    assert {entry["status"] for entry in entries} == {"ok"}
    assert all(set(entry["format"]) == {"rate", "channels", "frames", "seconds", "subtype", "bit_depth"}
               for entry in entries)
