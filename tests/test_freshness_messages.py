"""The freshness hook's block under real git and real pre-commit: one line per root cause, causes first.

A hand edit is named first with its undo; a regenerated file left out of the commit is
"regenerated but left out of the commit", not a hand edit; a rename is the old name's deletion; a
file in an artifact's place that no lock records is refused; everything merely stale is one `drumgate repro` line. No
line repeats a fix and none names a `--date`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from drumgate import lineage
from drumgate.io.jsonio import write_json, write_jsonl
from drumgate.workspace import Workspace
from tests.hooks_support import DATE, event, write_group
from tests.test_hooks_git import commit, git, repo  # noqa: F401 - `repo` is the shared fixture

FRESHNESS = "drumgate: artifact groups staged together, nothing stale"
EVENTS = "data/manifests/egmd_events.jsonl"
HEALTH = f"reports/health/egmd_{DATE}.json"
LOCK = "data/locks/egmd.lock.json"


def freshness_block(output: str) -> list[str]:
    """The lines pre-commit printed for the freshness hook (empty when it passed)."""
    lines = output.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(FRESHNESS)), None)
    assert start is not None, output
    if lines[start].endswith("Passed"):
        return []
    block: list[str] = []
    for line in lines[start + 1 :]:
        if line.startswith("drumgate: ") or line.startswith("[INFO]"):
            break
        if line.strip() and not line.startswith("- "):
            block.append(line)
    return block


def assert_one_line_per_fix(block: list[str]) -> None:
    fixes = [re.search(r"\((?:fix|run): (.*)\)$", line).group(1) for line in block]
    assert len(set(fixes)) == len(fixes), block
    assert sum("drumgate repro" in fix for fix in fixes) <= 1, block
    assert not [line for line in block if "--date" in line or DATE in line.split("(", 1)[-1]], block


def committed_group(repo_fixture: tuple[Workspace, dict[str, str]]) -> tuple[Workspace, dict[str, str], dict]:
    ws, env = repo_fixture
    paths = write_group(ws)
    done = commit(ws.root, env, "data", "reports")
    assert done.returncode == 0, done.stdout
    return ws, env, paths


def regenerate_health(ws: Workspace, totals_events: int) -> None:
    """What `drumgate health` does: a new report, and its lock entry."""
    report = json.loads(ws.path(HEALTH).read_text())
    report["totals"]["events"] = totals_events
    write_json(ws.path(HEALTH), report)
    lineage.record(ws, "egmd", ws.path(HEALTH), ["health", "egmd"], inputs=[ws.path(EVENTS)])


def test_hand_edited_label_is_named_first_with_its_undo(repo):  # noqa: F811
    ws, env, paths = committed_group(repo)
    text = paths["events"].read_text()
    paths["events"].write_text(text.replace('"label":"kick"', '"label":"snare"', 1))
    assert paths["events"].read_text() != text, "the manifest holds a kick to relabel"

    done = commit(ws.root, env, EVENTS)
    block = freshness_block(done.stdout)
    assert done.returncode == 1
    assert 1 <= len(block) <= 3, block
    assert block[0].startswith(f"{EVENTS}: edited by hand"), block
    assert f"git checkout HEAD -- {EVENTS} to undo" in block[0]
    assert "drumgate repro egmd, then git add -A, to regenerate" in block[0]
    assert not [line for line in block if "stale" in line or "staged without" in line], block
    assert_one_line_per_fix(block)

    git(ws.root, env, "checkout", "HEAD", "--", EVENTS)
    assert paths["events"].read_text() == text, "the offered undo restores what drumgate wrote"
    assert git(ws.root, env, "status", "--porcelain").stdout == ""


def test_hand_written_manifest_is_one_hand_edit_not_a_list_of_stale_reports(repo):  # noqa: F811
    ws, env, paths = committed_group(repo)
    write_jsonl(paths["events"], [event(i) for i in range(6)])
    block = freshness_block(commit(ws.root, env, "data/manifests").stdout)
    assert len(block) == 1, block
    assert block[0].startswith(f"{EVENTS}: edited by hand")


@pytest.mark.parametrize(
    ("stage", "left_out"),
    [
        ((LOCK,), HEALTH),  # the regenerated report stays behind
        ((HEALTH,), LOCK),  # the lock that records it stays behind
    ],
)
def test_regenerated_file_left_unstaged_is_staged_apart_not_a_hand_edit(repo, stage, left_out):  # noqa: F811
    ws, env, _ = committed_group(repo)
    regenerate_health(ws, totals_events=4)

    done = commit(ws.root, env, *stage)
    block = freshness_block(done.stdout)
    assert done.returncode == 1
    assert block == [f"{left_out}: regenerated but left out of the commit (fix: git add {left_out})"], done.stdout
    assert "edited by hand" not in done.stdout

    done = commit(ws.root, env, left_out)
    assert done.returncode == 0, "following the fix commits the group: " + done.stdout


def test_regenerated_new_report_left_untracked_is_staged_apart(repo):  # noqa: F811
    ws, env, _ = committed_group(repo)
    new_report = "reports/sampling/egmd_weights_20240106.json"
    write_json(ws.path(new_report), json.loads(ws.path(f"reports/sampling/egmd_weights_{DATE}.json").read_text()))
    lineage.record(ws, "egmd", ws.path(new_report), ["weights", "egmd"], inputs=[ws.path(EVENTS)])
    block = freshness_block(commit(ws.root, env, LOCK).stdout)
    assert block == [f"{new_report}: regenerated but left out of the commit (fix: git add {new_report})"]


def test_changed_input_collapses_into_one_repro_line(repo):  # noqa: F811
    ws, env, paths = committed_group(repo)
    write_jsonl(paths["events"], [event(i) for i in range(7)])
    lineage.record(ws, "egmd", paths["events"], ["ingest", "egmd"], inputs=[ws.configs / "technique_taxonomy.json"])

    made_from_events = [name for name, entry in lineage.read_lock(ws, "egmd")["artifacts"].items()
                        if EVENTS in entry["inputs"]]
    assert len(made_from_events) > 1, "the health report and the weights read the manifest"

    done = commit(ws.root, env, EVENTS, LOCK)
    block = freshness_block(done.stdout)
    assert done.returncode == 1
    assert block == [
        f"{EVENTS}: changed: {len(made_from_events)} artifacts of egmd to regenerate "
        "(run: drumgate repro egmd, then git add -A)"
    ], done.stdout
    assert_one_line_per_fix(block)


def test_all_mode_checks_committed_groups_without_staging(repo):  # noqa: F811
    ws, env, paths = committed_group(repo)
    hook = [sys.executable, "-m", "drumgate.cli", "hook", "freshness"]
    clean = subprocess.run([*hook, "--all"], cwd=ws.root, env=env, capture_output=True, text=True, check=False)
    assert clean.returncode == 0, clean.stderr
    lock = json.loads(paths["lock"].read_text())
    lock["artifacts"][EVENTS]["inputs"]["configs/technique_taxonomy.json"] = "0" * 64
    paths["lock"].write_text(json.dumps(lock))
    git(ws.root, env, "commit", "-q", "--no-verify", "-am", "a stale lock slips in")
    staged_only = subprocess.run(hook, cwd=ws.root, env=env, capture_output=True, text=True, check=False)
    assert staged_only.returncode == 0, "nothing staged: the commit-time hook has nothing to check"
    every = subprocess.run([*hook, "--all"], cwd=ws.root, env=env, capture_output=True, text=True, check=False)
    assert every.returncode == 1
    assert every.stderr.splitlines() == [
        "configs/technique_taxonomy.json: changed: 1 artifact of egmd to regenerate "
        "(run: drumgate repro egmd, then git add -A)"
    ]


@pytest.mark.slow
def test_demo_repository_hand_edit_then_undo(tmp_path: Path) -> None:
    """The issue's walk-through on the demo repository: one label edited by hand, staged, committed."""
    out = tmp_path / "demo"
    built = subprocess.run(
        [sys.executable, "-m", "drumgate.cli", "demo", "--out", str(out)],
        capture_output=True, text=True, check=False, timeout=600,
    )
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    manifest = out / EVENTS
    original = manifest.read_text()
    first, rest = original.split("\n", 1)
    row = json.loads(first)
    relabelled = {**row, "label": "snare" if row["label"] != "snare" else "kick"}
    manifest.write_text(json.dumps(relabelled, separators=(",", ":"), sort_keys=True) + "\n" + rest)

    # the hooks call `drumgate`: this interpreter's, even without an activated virtual environment
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}

    def run_git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", *args], cwd=out, env=env, capture_output=True, text=True, check=False)

    run_git("add", EVENTS)
    done = run_git("commit", "-m", "relabel one hit")
    block = freshness_block(done.stdout + done.stderr)
    assert done.returncode == 1
    assert 1 <= len(block) <= 3, block
    assert block[0].startswith(f"{EVENTS}: edited by hand") and f"git checkout HEAD -- {EVENTS}" in block[0]
    assert_one_line_per_fix(block)
    assert run_git("checkout", "HEAD", "--", EVENTS).returncode == 0
    assert run_git("status", "--porcelain").stdout == ""


def test_hand_edited_readiness_plan_is_blocked_though_it_lives_at_the_root(repo):  # noqa: F811
    ws, env = repo
    plan = ws.path("DATASET_READINESS_PLAN.md")
    plan.write_text("# Readiness\n\nstatus: generated\n")
    lineage.record(ws, "prod_combined", plan, ["docs"])
    assert commit(ws.root, env, "DATASET_READINESS_PLAN.md", "data/locks").returncode == 0
    plan.write_text("# Readiness\n\nstatus: all green, promise\n")
    done = commit(ws.root, env, "DATASET_READINESS_PLAN.md")
    assert done.returncode == 1
    assert freshness_block(done.stdout) == [
        "DATASET_READINESS_PLAN.md: edited by hand: it differs from what its command wrote (fix: git checkout HEAD "
        "-- DATASET_READINESS_PLAN.md to undo, or drumgate repro prod_combined, then git add -A, to regenerate)"
    ]


@pytest.mark.parametrize(("broken", "worded"), [
    (lambda text: text.replace("[combined]", "[combined", 1), "invalid TOML"),
    (lambda text: "", "'version' is a required property"),
    (lambda text: text.replace("min_sessions = ", 'min_sessions = "two" #', 1), "is not of type 'integer'"),
])
def test_a_datasets_toml_that_does_not_load_is_the_one_finding(tmp_path, broken, worded) -> None:
    """It said `changed: N artifacts ... (run: drumgate repro ...)`, and that repro fails on the same file:
    one that does not parse, an emptied one, one that breaks its schema."""
    from tests.data_repo_support import drumgate, git

    root = tmp_path / "repo"
    root.mkdir()
    assert git(root, "init", "-q").returncode == 0
    assert drumgate(root, "init", "--datasets", "egmd", "--no-hooks").returncode == 0
    config = root / "configs" / "datasets.toml"
    config.write_text(broken(config.read_text(encoding="utf-8")), encoding="utf-8")
    done = drumgate(root, "hook", "freshness", "--all")
    assert done.returncode == 1
    finding = [line for line in (done.stdout + done.stderr).splitlines() if "datasets.toml" in line]
    assert len(finding) == 1 and worded in finding[0] and "(fix: " in finding[0], finding


def test_a_renamed_artifact_is_its_deletion(repo):  # noqa: F811
    """`git mv` of a manifest passed every hook (git listed only the new name), while `git rm` of it
    was refused: the production manifest then named a file the commit no longer held."""
    ws, env, _ = committed_group(repo)
    ws.path("data/manifests/archive").mkdir()
    git(ws.root, env, "mv", EVENTS, "data/manifests/archive/egmd_events_2024.jsonl")
    done = git(ws.root, env, "commit", "-m", "archive the manifest", check=False)
    block = freshness_block(done.stdout + done.stderr)
    assert done.returncode == 1
    assert block[0].startswith(f"{EVENTS}: deleted by hand"), block
    assert f"git checkout HEAD -- {EVENTS} to undo" in block[0]


def test_an_artifact_no_lock_records_is_refused(repo):  # noqa: F811
    """A report copied by hand under a new date (its gates edited to pass) was committed without a
    word, and `drumgate docs` then published it as the dataset's latest."""
    ws, env, _ = committed_group(repo)
    forged = "reports/health/egmd_20240301.json"
    report = json.loads(ws.path(HEALTH).read_text())
    report["status"] = "pass"
    write_json(ws.path(forged), report)
    done = commit(ws.root, env, forged)
    assert done.returncode == 1
    assert freshness_block(done.stdout) == [
        f"{forged}: no lineage lock records it: drumgate did not write it here ({LOCK} names what it wrote)"
        f" (fix: git rm --cached {forged} to keep it out of git)"], done.stdout
    git(ws.root, env, "rm", "--cached", "-q", forged)  # the fix as printed
    assert git(ws.root, env, "diff", "--cached", "--name-only").stdout == ""
    assert ws.path(forged).is_file(), "the fix keeps the file; only git stops holding it"


def test_a_new_report_staged_without_the_lock_that_records_it_is_left_out_not_unrecorded(repo):  # noqa: F811
    ws, env, _ = committed_group(repo)
    new_report = "reports/sampling/egmd_weights_20240106.json"
    write_json(ws.path(new_report), json.loads(ws.path(f"reports/sampling/egmd_weights_{DATE}.json").read_text()))
    lineage.record(ws, "egmd", ws.path(new_report), ["weights", "egmd"], inputs=[ws.path(EVENTS)])
    done = commit(ws.root, env, new_report)
    assert freshness_block(done.stdout) == [f"{LOCK}: regenerated but left out of the commit (fix: git add {LOCK})"]
    assert commit(ws.root, env, LOCK).returncode == 0, "following the fix commits the report with its lock"


def test_fixes_printed_for_a_commit_made_in_a_subfolder_work_there(repo):  # noqa: F811
    """git runs hooks at the repository's root, so `git checkout HEAD -- data/...` was printed for a
    `git commit` run in data/manifests, where it matches nothing, and the schema hook's recorded
    `drumgate ingest ... --output data/...` wrote a second tree under data/manifests/data/. The hooks
    read the user's folder from GIT_PREFIX: git fixes carry `-C ROOT`, regeneration is `drumgate repro`."""
    ws, env, paths = committed_group(repo)
    here = ws.root / "data" / "manifests"
    text = paths["events"].read_text()
    paths["events"].write_text(text.replace('"onset_s":', '"onset_s_typo":', 1))
    done = git(here, env, "commit", "-qam", "in a subfolder", check=False)
    output = done.stdout + done.stderr
    assert done.returncode == 1
    undo = f"git -C {ws.root} checkout HEAD -- {EVENTS}"
    assert f"(fix: {undo} to restore it, or drumgate repro egmd to write it again)" in output, output
    assert "--output" not in output, output
    assert f"(fix: {undo} to undo, or drumgate repro egmd, then git add -A, to regenerate)" in output, output
    git(here, env, *undo.split()[1:])  # the fix as printed, in the subfolder
    assert paths["events"].read_text() == text
    assert git(here, env, "status", "--porcelain").stdout == ""
