"""A group's lock fingerprints the part of `configs/datasets.toml` the group reads.

A comment, a blank line or another dataset's table leaves a dataset group fresh; its own table
makes it stale, and the message names the table. The combined group reads every table. A licence
note is read for its front matter: a prose edit in its body stales nothing. A lock entry written
before the parts keeps the whole file's sha256 and is judged by it. In the demo repository a comment
edit commits through the hooks, and a gate change is cleared by repro of the groups it names.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from drumgate import lineage
from drumgate.io.hashing import sha256_file
from drumgate.io.jsonio import write_json
from drumgate.lineage import config_parts
from drumgate.workspace import Workspace
from tests.data_repo_support import copied_repo, drumgate, git, status

CONFIG = "configs/datasets.toml"


def _record(ws: Workspace, group: str, artifact: str) -> None:
    write_json(ws.path(artifact), {"made": group})
    lineage.record(ws, group, artifact, ["health", "--dataset", group], inputs=[ws.path(CONFIG)])


def _edit(ws: Workspace, old: str, new: str) -> None:
    path = ws.path(CONFIG)
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _stale(ws: Workspace, group: str) -> list[str]:
    return [problem.message for problem in lineage.check(ws, group)]


def test_the_lock_names_the_tables_a_group_reads(workspace: Workspace) -> None:
    _record(workspace, "egmd", "reports/health/egmd_20260101.json")
    _record(workspace, "prod_combined", "reports/health/prod_combined_health_20260101.json")
    egmd = lineage.read_lock(workspace, "egmd")["artifacts"]["reports/health/egmd_20260101.json"]
    combined = lineage.read_lock(workspace, "prod_combined")["artifacts"][
        "reports/health/prod_combined_health_20260101.json"]
    assert egmd["input_parts"] == {CONFIG: ["datasets.egmd", "version"]}
    assert combined["input_parts"] == {CONFIG: ["*"]}
    assert egmd["inputs"][CONFIG] == config_parts.parts_digest(workspace.path(CONFIG), ["datasets.egmd", "version"])
    assert egmd["inputs"][CONFIG] != sha256_file(workspace.path(CONFIG))


def test_comments_layout_and_other_tables_leave_a_dataset_group_fresh(workspace: Workspace) -> None:
    _record(workspace, "egmd", "reports/health/egmd_20260101.json")
    _record(workspace, "prod_combined", "reports/health/prod_combined_health_20260101.json")
    _edit(workspace, "# Storage roots", "# The storage roots")
    _edit(workspace, 'title = "MUSDB18-HQ"', 'title   =   "MUSDB18-HQ"\n')
    assert _stale(workspace, "egmd") == [] and _stale(workspace, "prod_combined") == []
    _edit(workspace, "min_class_events = { kick = 10, snare = 10, hihat = 10 }",
          "min_class_events = { kick = 11, snare = 10, hihat = 10 }")  # MUSDB's gate
    assert _stale(workspace, "egmd") == []
    assert _stale(workspace, "prod_combined") == [f"stale: input {CONFIG} changed since it was made"]


def test_a_change_to_the_groups_own_table_makes_it_stale_and_is_named(workspace: Workspace) -> None:
    _record(workspace, "egmd", "reports/health/egmd_20260101.json")
    _edit(workspace, "min_technique_events = { rimshot = 1 }", "min_technique_events = { rimshot = 2 }")
    assert _stale(workspace, "egmd") == [f"stale: input {CONFIG} [datasets.egmd] changed since it was made"]
    _edit(workspace, "min_technique_events = { rimshot = 2 }", "min_technique_events = { rimshot = 1 }")
    assert _stale(workspace, "egmd") == []
    _edit(workspace, "version = 1", "version = 2")
    assert _stale(workspace, "egmd") == [f"stale: input {CONFIG} [datasets.egmd] changed since it was made"]


def test_a_file_that_no_longer_parses_is_stale(workspace: Workspace) -> None:
    _record(workspace, "egmd", "reports/health/egmd_20260101.json")
    _edit(workspace, "version = 1", "version = = 1")
    assert _stale(workspace, "egmd") == [f"stale: input {CONFIG} [datasets.egmd] changed since it was made"]


def test_an_entry_written_before_the_parts_is_judged_by_the_whole_file(workspace: Workspace) -> None:
    _record(workspace, "egmd", "reports/health/egmd_20260101.json")
    lock_path = workspace.lock_file("egmd")
    lock = json.loads(lock_path.read_text(encoding="utf-8"))
    entry = lock["artifacts"]["reports/health/egmd_20260101.json"]
    del entry["input_parts"]
    entry["inputs"][CONFIG] = sha256_file(workspace.path(CONFIG))
    write_json(lock_path, lock)
    assert _stale(workspace, "egmd") == []
    _edit(workspace, "# Storage roots", "# The storage roots")
    assert _stale(workspace, "egmd") == [f"stale: input {CONFIG} changed since it was made"]


def test_a_dataset_moved_into_a_group_makes_the_group_read_its_table(workspace: Workspace) -> None:
    assert config_parts.group_parts(workspace.path(CONFIG), "egmd") == ["datasets.egmd", "version"]
    _edit(workspace, 'group = "mdb_drums"', 'group = "egmd"')
    assert config_parts.group_parts(workspace.path(CONFIG), "egmd") == [
        "datasets.egmd", "datasets.mdb_drums", "version"]
    assert config_parts.group_parts(workspace.path(CONFIG), "prod_combined") == ["*"]


def test_a_licence_note_is_read_for_its_front_matter(workspace: Workspace) -> None:
    note = workspace.path("data/licenses/egmd.md")
    artifact = "data/provenance/egmd_provenance.jsonl"
    write_json(workspace.path(artifact), {"made": "egmd"})
    lineage.record(workspace, "egmd", artifact, ["ingest", "egmd"], inputs=[note])
    entry = lineage.read_lock(workspace, "egmd")["artifacts"][artifact]
    assert entry["input_parts"] == {"data/licenses/egmd.md": ["front matter"]}
    text = note.read_text(encoding="utf-8")
    note.write_text(text.replace("# E-GMD v1.0.0", "# E-GMD v1.0.0, the Expanded GMD"), encoding="utf-8")
    assert _stale(workspace, "egmd") == []
    note.write_text(text.replace("licence: CC BY 4.0", "licence: CC BY-NC 4.0"), encoding="utf-8")
    assert _stale(workspace, "egmd") == [
        "stale: input data/licenses/egmd.md (its front matter) changed since it was made"]
    note.write_text(text.replace("---\n", "", 1), encoding="utf-8")  # no front matter left to read
    assert _stale(workspace, "egmd") == [
        "stale: input data/licenses/egmd.md (its front matter) changed since it was made"]


@pytest.mark.slow
def test_in_the_demo_a_comment_commits_and_a_gate_change_names_its_groups(demo: Path, tmp_path: Path) -> None:
    repo = copied_repo(demo, tmp_path)
    # the demo leaves Cambridge's external drive offline at its last ingest: a repro brings it in first
    assert drumgate(repo, "repro").returncode == 0
    assert git(repo, "add", "-A").returncode == 0 and git(repo, "commit", "-q", "-m", "up to date").returncode == 0
    config = repo / CONFIG
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("# Storage roots", "# The storage roots", 1), encoding="utf-8")
    assert git(repo, "add", CONFIG).returncode == 0
    commit = git(repo, "commit", "-q", "-m", "a comment")
    assert commit.returncode == 0, commit.stdout + commit.stderr
    # nor does a repro rewrite anything: provenance records the file by its tables too
    assert drumgate(repo, "repro").returncode == 0
    assert status(repo) == "", status(repo)

    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("min_technique_events = { rimshot = 1 }",
                                   "min_technique_events = { rimshot = 2 }", 1), encoding="utf-8")
    assert git(repo, "add", CONFIG).returncode == 0
    refused = git(repo, "commit", "-q", "-m", "an E-GMD gate")
    assert refused.returncode != 0
    assert "artifacts of egmd, prod_combined to regenerate (run: drumgate repro egmd prod_combined" in (
        refused.stdout + refused.stderr)
    plan = drumgate(repo, "repro", "--dry-run")
    stale = [line for line in plan.stdout.splitlines() if "stale:" in line]
    assert stale and not [line for line in stale if "# cambridge:" in line or "# musdb_hq:" in line]
    assert any(f"{CONFIG} [datasets.egmd] changed" in line for line in stale)
    done = drumgate(repo, "repro", "egmd", "prod_combined")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert git(repo, "add", "-A").returncode == 0
    commit = git(repo, "commit", "-q", "-m", "an E-GMD gate")
    assert commit.returncode == 0, commit.stdout + commit.stderr
