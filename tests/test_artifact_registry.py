"""The artifact registry: every path it names is the artifact `classify` reads back, and its groups
come from configs/datasets.toml."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from drumgate import artifacts
from drumgate.artifacts import COMBINED, ArtifactRegistry, classify, registry
from drumgate.commands.init_hooks import HOOKS
from drumgate.workspace import DEFAULTS, Workspace, packaged_datasets


@pytest.mark.parametrize(
    ("path", "kind", "date"),
    [
        (artifacts.events_manifest("egmd"), "events", None),
        (artifacts.sessions_manifest("egmd"), "sessions", None),
        (artifacts.sessions_manifest("egmd", dry_run=True), "sessions", None),
        (artifacts.provenance_manifest("egmd"), "provenance", None),
        (artifacts.manifest("egmd", "provenance"), "provenance", None),
        (artifacts.checksum_manifest("egmd"), "checksums", None),
        (artifacts.licence_note("egmd"), "licence", None),
        (artifacts.lock_file("egmd"), "lock", None),
        (artifacts.health_report("egmd", "20260115"), "health", "20260115"),
        (artifacts.health_report("egmd", "20260115", "html"), "health_html", "20260115"),
        (artifacts.weights_report("egmd", "20260115"), "weights", "20260115"),
        (artifacts.diff_report("egmd", "20260114", "20260115"), "diff", None),
        (artifacts.diff_report("egmd", "20260114", "20260115", "md"), "diff_md", None),
    ],
)
def test_every_named_path_classifies_as_its_artifact(path: str, kind: str, date: str | None) -> None:
    found = classify(path)
    assert found is not None, path
    assert (found.kind, found.group, found.date) == (kind, "egmd", date)


def test_combined_reports_belong_to_the_combined_group() -> None:
    health = classify(artifacts.combined_health_report("20260115"))
    weights = classify(artifacts.combined_weights_report())
    assert health is not None and (health.kind, health.group, health.date) == ("health", COMBINED, "20260115")
    assert weights is not None and (weights.kind, weights.group) == ("weights", COMBINED)


def test_workspace_paths_are_the_registry_paths(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    assert ws.events_manifest("musdb_hq") == tmp_path / artifacts.events_manifest("musdb_hq")
    assert ws.lock_file("musdb_hq") == tmp_path / artifacts.lock_file("musdb_hq")
    assert ws.health_report("musdb_hq", "20260115") == tmp_path / artifacts.health_report("musdb_hq", "20260115")


def test_registry_reads_groups_and_notes_from_the_workspace_config(workspace: Workspace) -> None:
    config = (workspace.configs / "datasets.toml").read_text(encoding="utf-8")
    config = config.replace('group = "musdb_hq"', 'group = "songs"', 1)
    config = config.replace('licence_note = "data/licenses/musdb_hq.md"', 'licence_note = "legal/musdb.md"', 1)
    (workspace.configs / "datasets.toml").write_text(config, encoding="utf-8")
    known = registry(workspace)
    assert known.group_of("musdb_hq") == "songs"
    assert known.members("songs") == ["musdb_hq"]
    assert known.notes["musdb_hq"] == "legal/musdb.md"
    assert known.group_of(COMBINED) == known.combined_group == COMBINED
    assert "songs" in known.all_groups() and COMBINED in known.all_groups()


def test_packaged_registry_lists_the_packaged_datasets_in_order() -> None:
    packaged = ArtifactRegistry.from_toml(DEFAULTS / "configs" / "datasets.toml")
    assert packaged.datasets == packaged_datasets()
    assert all(packaged.notes[name] == artifacts.licence_note(name) for name in packaged.datasets)


def test_either_factors_the_shared_folders() -> None:
    assert artifacts.either("data/manifests", "data/provenance") == "data/(manifests|provenance)"
    assert artifacts.either("reports/health", "data/locks") == "(reports/health|data/locks)"


def test_hook_file_patterns_select_the_registry_paths() -> None:
    patterns = {hook_id: re.compile(files) for hook_id, _, _, files, _ in HOOKS if files}
    assert patterns["drumgate-schema"].search(artifacts.events_manifest("egmd"))
    assert patterns["drumgate-schema"].search(artifacts.lock_file("egmd"))
    assert patterns["drumgate-schema"].search(artifacts.health_report("egmd", "20260115"))
    assert patterns["drumgate-taxonomy"].search(artifacts.events_manifest("egmd"))
    assert patterns["drumgate-checksums"].search(artifacts.checksum_manifest("egmd"))
    assert patterns["drumgate-checksums"].search(artifacts.provenance_manifest("egmd"))
    assert patterns["drumgate-licences"].search(artifacts.licence_note("egmd"))
    assert not patterns["drumgate-schema"].search("README.md")


def test_a_newer_dated_report_supersedes_an_older_one() -> None:
    older, newer = artifacts.health_report("egmd", "20260114"), artifacts.health_report("egmd", "20260115")
    older_name, newer_name = artifacts.dated_name(older), artifacts.dated_name(newer)
    assert older_name is not None and newer_name is not None
    assert older_name[0] == newer_name[0] and older_name[1] < newer_name[1]
    assert artifacts.dated_name(artifacts.events_manifest("egmd")) is None
