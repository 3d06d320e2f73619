"""A lock records `configs/technique_taxonomy.json` by its meaning, not its prose.

No artifact shows a class's or technique's display `name` or a vocabulary's `description`
(`drumgate.lineage.config_parts`), so rewording them stales nothing and provenance's
`config_hashes` does not move, while an id, alias, parent, `applies_to`, vocabulary rule,
`crash_family` or `version` stales every group, and the message names the meaning. A lock entry
written before the part keeps the whole file's sha256 and is judged by it. In the demo repository a
renamed class plans nothing `repro` would not run anyway, commits through the hooks and leaves a
repro with nothing to write; every recorded command, run again with all the prose reworded, writes
what it writes without; an alias or a parent changed makes every group stale.
"""

from __future__ import annotations

import json
import shlex
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from drumgate import lineage
from drumgate.io.hashing import sha256_file
from drumgate.io.jsonio import write_json
from drumgate.lineage import config_parts
from drumgate.lineage.provenance import config_hashes
from drumgate.workspace import Workspace
from tests.data_repo_support import copied_repo, drumgate, git, status

TAXONOMY = "configs/technique_taxonomy.json"
ARTIFACT = "reports/health/egmd_20260101.json"
GROUPS = ("cambridge", "egmd", "musdb_hq", "prod_combined")
MEANING_CHANGED = f"stale: input {TAXONOMY} (its meaning, not only its prose) changed since it was made"


def _record(ws: Workspace) -> None:
    write_json(ws.path(ARTIFACT), {"made": "egmd"})
    lineage.record(ws, "egmd", ARTIFACT, ["health", "--dataset", "egmd"],
                   inputs=[ws.path(TAXONOMY), ws.path("configs/datasets.toml")])


def _stale(ws: Workspace) -> list[str]:
    return [problem.message for problem in lineage.check(ws, "egmd")]


def _change(root: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    """The workspace's taxonomy with `edit` applied to it as parsed (written back in its own layout)."""
    path = root / TAXONOMY
    document = json.loads(path.read_text(encoding="utf-8"))
    edit(document)
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _entry(document: dict[str, Any], kind: str, entry_id: str) -> dict[str, Any]:
    return next(entry for entry in document[kind] if entry["id"] == entry_id)


def _reword_all(document: dict[str, Any]) -> None:
    for kind in ("classes", "techniques"):
        for entry in document[kind]:
            entry["name"] = f"Reworded: {entry.get('name', entry['id'])}"
    for body in document["vocabularies"].values():
        body["description"] = f"Reworded: {body.get('description', '')}"


def _rename_kick(document: dict[str, Any]) -> None:
    _entry(document, "classes", "kick")["name"] = "Bass drum"


def _add_kick_alias(document: dict[str, Any]) -> None:
    _entry(document, "classes", "kick")["aliases"].append("kick_drum")


def _floor_tom_alone(document: dict[str, Any]) -> None:
    _entry(document, "classes", "tom_floor")["parent"] = None


def test_the_lock_records_the_taxonomy_by_its_meaning(workspace: Workspace) -> None:
    _record(workspace)
    entry = lineage.read_lock(workspace, "egmd")["artifacts"][ARTIFACT]
    assert entry["input_parts"] == {TAXONOMY: ["meaning"], "configs/datasets.toml": ["datasets.egmd", "version"]}
    assert entry["inputs"][TAXONOMY] == config_parts.parts_digest(workspace.path(TAXONOMY), ["meaning"])
    assert entry["inputs"][TAXONOMY] != sha256_file(workspace.path(TAXONOMY))


def test_names_descriptions_and_layout_stale_nothing(workspace: Workspace) -> None:
    _record(workspace)
    _change(workspace.root, _rename_kick)
    assert _stale(workspace) == []
    _change(workspace.root, _reword_all)
    path = workspace.path(TAXONOMY)
    path.write_text(json.dumps(json.loads(path.read_text(encoding="utf-8"))), encoding="utf-8")  # one line
    assert _stale(workspace) == []


@pytest.mark.parametrize("edit", [
    _add_kick_alias,
    _floor_tom_alone,
    lambda d: _entry(d, "techniques", "rimshot")["applies_to"].remove("tom"),
    lambda d: d["vocabularies"]["vogl18"]["rules"].reverse(),  # the first rule that matches wins
    lambda d: d["vocabularies"]["vogl8"]["rules"][0].update(label="KD"),
    lambda d: d.update(crash_family="cymbal"),
    lambda d: d.update(version="1.0.1"),
    lambda d: d.update(notes="a key drumgate does not read yet counts"),
], ids=["alias", "parent", "applies_to", "rule order", "rule label", "crash_family", "version", "new key"])
def test_what_the_taxonomy_means_stales_the_group_and_is_named(
        workspace: Workspace, edit: Callable[[dict[str, Any]], None]) -> None:
    _record(workspace)
    _change(workspace.root, edit)
    assert _stale(workspace) == [MEANING_CHANGED]


def test_a_taxonomy_that_no_longer_parses_is_stale(workspace: Workspace) -> None:
    _record(workspace)
    path = workspace.path(TAXONOMY)
    path.write_text(path.read_text(encoding="utf-8").replace("{", "{{", 1), encoding="utf-8")
    assert _stale(workspace) == [MEANING_CHANGED]


def test_an_entry_written_before_the_part_is_judged_by_the_whole_file(workspace: Workspace) -> None:
    _record(workspace)
    lock_path = workspace.lock_file("egmd")
    lock = json.loads(lock_path.read_text(encoding="utf-8"))
    entry = lock["artifacts"][ARTIFACT]
    del entry["input_parts"][TAXONOMY]  # the datasets.toml part stays, as a lock of 2026-12-03 has it
    entry["inputs"][TAXONOMY] = sha256_file(workspace.path(TAXONOMY))
    write_json(lock_path, lock)
    assert _stale(workspace) == []
    _change(workspace.root, _rename_kick)
    assert _stale(workspace) == [f"stale: input {TAXONOMY} changed since it was made"]
    _record(workspace)  # written again: by its meaning from now on
    assert lineage.read_lock(workspace, "egmd")["artifacts"][ARTIFACT]["input_parts"][TAXONOMY] == ["meaning"]
    assert _stale(workspace) == []


def test_provenance_records_the_taxonomy_by_its_meaning(workspace: Workspace) -> None:
    names = ("datasets.toml", "technique_taxonomy.json", "crash_dual_label.json")
    before = config_hashes(workspace, names, "egmd")
    assert before["technique_taxonomy.json"] == config_parts.parts_digest(workspace.path(TAXONOMY), ["meaning"])
    assert before["crash_dual_label.json"] == sha256_file(workspace.path("configs/crash_dual_label.json"))
    assert config_hashes(workspace, ("datasets.toml",)) == {  # without a group, whole, as before
        "datasets.toml": sha256_file(workspace.path("configs/datasets.toml"))}
    _change(workspace.root, _reword_all)
    assert config_hashes(workspace, names, "egmd") == before
    _change(workspace.root, _add_kick_alias)
    after = config_hashes(workspace, names, "egmd")
    assert after["technique_taxonomy.json"] != before["technique_taxonomy.json"]
    assert {k: v for k, v in after.items() if k != "technique_taxonomy.json"} == {
        k: v for k, v in before.items() if k != "technique_taxonomy.json"}


def _up_to_date(demo: Path, tmp_path: Path) -> Path:
    repo = copied_repo(demo, tmp_path)
    # the demo leaves Cambridge's external drive offline at its last ingest: a repro brings it in first
    done = drumgate(repo, "repro")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert git(repo, "add", "-A").returncode == 0 and git(repo, "commit", "-q", "-m", "up to date").returncode == 0
    return repo


def _plan(repo: Path) -> list[str]:
    """`drumgate repro --dry-run`'s steps, with their reasons."""
    plan = drumgate(repo, "repro", "--dry-run")
    assert plan.returncode == 0, plan.stdout[-3000:] + plan.stderr[-3000:]
    return [line.strip() for line in plan.stdout.splitlines() if line.startswith("  drumgate ")]


@pytest.mark.slow
def test_in_the_demo_a_renamed_class_plans_nothing_and_commits(demo: Path, tmp_path: Path) -> None:
    repo = _up_to_date(demo, tmp_path)
    unchanged = _plan(repo)  # the raw steps, which read raw data and so always run
    assert unchanged and all(" # reads raw data" in step or " # hashes the raw tree" in step
                             or "crash-map" in step for step in unchanged), unchanged
    text = (repo / TAXONOMY).read_text(encoding="utf-8")
    assert '"name": "Kick drum"' in text
    (repo / TAXONOMY).write_text(text.replace('"name": "Kick drum"', '"name": "Bass drum"'), encoding="utf-8")
    assert _plan(repo) == unchanged
    assert git(repo, "add", TAXONOMY).returncode == 0
    commit = git(repo, "commit", "-q", "-m", "reword a class")
    assert commit.returncode == 0, commit.stdout + commit.stderr
    done = drumgate(repo, "repro")  # its ingests write the same provenance: nothing downstream runs
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert status(repo) == "", status(repo)


@pytest.mark.slow
@pytest.mark.parametrize("edit", [_add_kick_alias, _floor_tom_alone], ids=["alias", "parent"])
def test_in_the_demo_an_alias_or_a_parent_stales_every_group(
        demo: Path, tmp_path: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    repo = _up_to_date(demo, tmp_path)
    _change(repo, edit)
    stale = [step for step in _plan(repo) if "stale:" in step]
    assert all(f"{TAXONOMY} (its meaning, not only its prose) changed" in step for step in stale), stale
    for group in ("cambridge", "musdb_hq", "egmd"):
        assert any(step.startswith(("drumgate health", "drumgate weights")) and f"# {group}: stale" in step
                   for step in stale), (group, stale)
    assert any(step.startswith("drumgate combine") for step in stale), stale
    assert git(repo, "add", TAXONOMY).returncode == 0
    refused = git(repo, "commit", "-q", "-m", "a taxonomy change")
    assert refused.returncode != 0
    assert f"artifacts of {', '.join(GROUPS)} to regenerate" in refused.stdout + refused.stderr


def _recorded_commands(repo: Path) -> list[str]:
    commands: list[str] = []
    for lock in sorted((repo / "data" / "locks").glob("*.lock.json")):
        for entry in json.loads(lock.read_text(encoding="utf-8"))["artifacts"].values():
            if entry["command"] not in commands:
                commands.append(entry["command"])
    return commands


def _tree(root: Path) -> dict[str, bytes]:
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in sorted(root.rglob("*"))
            if path.is_file() and not {".git", ".drumgate"} & set(path.relative_to(root).parts)
            and path.suffix != ".lck"}


@pytest.mark.slow
def test_no_artifact_shows_the_taxonomys_prose(demo: Path, tmp_path: Path) -> None:
    """Every command the locks record, run again in one copy as it is and in another with every name
    and description reworded, writes the same bytes: the prose is part of no artifact."""
    repo = _up_to_date(demo, tmp_path)
    reworded = tmp_path / "reworded"
    shutil.copytree(repo, reworded, symlinks=True)
    _change(reworded, _reword_all)
    commands = _recorded_commands(repo)
    assert {shlex.split(command)[1] for command in commands} >= {
        "ingest", "events", "health", "weights", "diff", "compare", "combine", "docs"}
    for root in (repo, reworded):
        for command in commands:
            done = drumgate(root, *shlex.split(command)[1:])
            assert done.returncode in (0, 1), (command, done.stderr[-2000:])
    same, changed = _tree(repo), _tree(reworded)
    assert sorted(changed) == sorted(same)
    assert [name for name in same if same[name] != changed[name]] == [TAXONOMY]
