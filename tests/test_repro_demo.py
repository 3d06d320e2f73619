"""`drumgate repro` in the demo repository: a raw-data change, one repro, one commit through the hooks."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.data_repo_support import drumgate, git, status

pytestmark = pytest.mark.slow


def test_removed_egmd_row_repro_then_commit_passes_first_time(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    made = drumgate(tmp_path, "demo", "--out", str(demo))
    assert made.returncode == 0, made.stdout[-2000:] + made.stderr[-2000:]
    csv_path = demo / "data" / "raw" / "egmd" / "e-gmd-v1.0.0.csv"
    lines = csv_path.read_text().splitlines(keepends=True)
    removed = lines.pop(2)
    csv_path.write_text("".join(lines))

    plan = drumgate(demo, "repro", "--dry-run")
    assert plan.returncode == 0 and "drumgate ingest egmd" in plan.stdout
    assert status(demo) == ""  # a dry run writes nothing

    repro = drumgate(demo, "repro")
    assert repro.returncode == 0, repro.stdout[-3000:] + repro.stderr[-3000:]
    assert "== health: egmd" in repro.stdout and "== combine" in repro.stdout
    assert git(demo, "add", "-A").returncode == 0
    commit = git(demo, "commit", "-q", "-m", "Drop one E-GMD row")
    assert commit.returncode == 0, commit.stdout + commit.stderr
    verify = drumgate(demo, "checksums", "verify", "egmd")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert ", 0 findings" in verify.stdout
    events = (demo / "data" / "manifests" / "egmd_events.jsonl").read_text()
    render = removed.split(",")[9].rsplit(".", 1)[0]
    assert f'"item_id":"{render}"' not in events  # the removed render's events are gone
