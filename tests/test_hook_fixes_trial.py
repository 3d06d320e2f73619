"""The hook findings a new-user trial could not get past, each reproduced in a committed MUSDB data
repository with the real hooks installed, then its printed fix run as printed.

The trial found: the checksums hook printing `checksums generate musdb_hq` for a raw file changed
since the manifest (which exits 1 and changes nothing); a deleted licence note passing the licence
hook (pre-commit passes no deleted file) while the freshness hook sent the user to a `drumgate
repro` that fails on the missing note; a hook run by hand on a mistyped path passing with
`0 of 1 file checked`; and a commit with a group partly staged blamed on the one file left out,
whose `git add` only led to a second refusal naming a repro.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from drumgate.fixtures.musdb import make_musdb_corpus
from tests.data_repo_support import commit_refused, copied_repo, drumgate, git, status
from tests.test_fix_commands import fix_commands, run_as_printed

NOTE = "data/licenses/musdb_hq.md"
HOOKS = ("schema", "taxonomy", "checksums", "licences")


@pytest.fixture(scope="module")
def musdb_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`drumgate init --datasets musdb_hq` (hooks installed), a generated corpus, ingest, repro, and
    one commit through the hooks."""
    root = tmp_path_factory.mktemp("trial") / "repo"
    root.mkdir()
    assert git(root, "init", "-q", "-b", "main").returncode == 0
    assert drumgate(root, "init", "--datasets", "musdb_hq").returncode == 0
    make_musdb_corpus(root / "data" / "raw" / "musdb_hq", seed=3)
    for argv in (["ingest", "musdb"], ["repro"]):
        done = drumgate(root, *argv)
        assert done.returncode in (0, 1), done.stderr
    assert git(root, "add", "-A").returncode == 0
    first = git(root, "commit", "-q", "-m", "data")
    assert first.returncode == 0, first.stdout + first.stderr
    return root


@pytest.fixture
def repo(musdb_repo: Path, tmp_path: Path) -> Path:
    return copied_repo(musdb_repo, tmp_path)


def lines_with(output: str, text: str) -> list[str]:
    return [line for line in output.splitlines() if text in line]


def run_fixes(root: Path, commands: list[str]) -> None:
    for command in commands:
        done = run_as_printed(root, command)
        assert done.returncode in (0, 1), f"{command} -> exit {done.returncode}\n{done.stderr}"
        assert "usage:" not in done.stderr and "internal error" not in done.stderr, done.stderr


def commit_goes_through(root: Path) -> None:
    done = git(root, "commit", "-q", "-m", "after the fix")
    assert done.returncode == 0, done.stdout + done.stderr
    assert status(root) == ""


def test_a_raw_file_changed_since_the_manifest_gets_a_fix_that_works(repo: Path) -> None:
    track = sorted((repo / "data" / "raw" / "musdb_hq" / "test").iterdir())[0]
    with open(track / "drums.wav", "r+b") as handle:
        handle.truncate(3000)
    assert drumgate(repo, "ingest", "musdb").returncode in (0, 1)
    assert git(repo, "add", "-A").returncode == 0
    output = commit_refused(repo, "x")
    [finding] = lines_with(output, "differs from the checksum manifest")
    commands = fix_commands(finding)
    assert commands == ["drumgate repro musdb_hq", "git add -A"], finding
    assert drumgate(repo, "checksums", "generate", "musdb_hq").returncode == 1  # the fix printed before
    run_fixes(repo, commands)
    commit_goes_through(repo)


def test_a_deleted_licence_note_is_blocked_and_restored_by_the_printed_checkout(repo: Path) -> None:
    assert git(repo, "rm", "-q", NOTE).returncode == 0
    output = commit_refused(repo, "x")
    assert "file not found" not in output  # pre-commit passes no deleted file to a hook
    [finding] = lines_with(output, "(fix:") + lines_with(output, "(run:")
    assert finding.startswith(f"{NOTE}: licence note deleted"), output
    assert fix_commands(finding) == [f"git checkout HEAD -- {NOTE}"], finding
    by_hand = drumgate(repo, "hook", "licences", NOTE)  # the licence hook, given the path, says the same
    assert by_hand.returncode == 1 and fix_commands(by_hand.stderr) == [f"git checkout HEAD -- {NOTE}"]
    run_fixes(repo, fix_commands(finding))
    assert status(repo) == "" and (repo / NOTE).is_file()
    assert drumgate(repo, "hook", "freshness", "--all").returncode == 0


@pytest.mark.parametrize("committed", [False, True], ids=["deletion staged", "deletion committed"])
def test_repro_names_a_way_back_for_a_missing_licence_note(repo: Path, committed: bool) -> None:
    assert git(repo, "rm", "-q", NOTE).returncode == 0
    if committed:
        assert git(repo, "commit", "-q", "--no-verify", "-m", "no note").returncode == 0
    refused = drumgate(repo, "repro", "musdb_hq")
    assert refused.returncode == 2
    [finding] = lines_with(refused.stderr, "licence note missing")
    way_back = "drumgate init" if committed else f"git checkout HEAD -- {NOTE}"
    assert fix_commands(finding) == [way_back, "drumgate ingest musdb"], finding
    run_fixes(repo, fix_commands(finding))
    assert (repo / NOTE).is_file()
    assert drumgate(repo, "repro", "musdb_hq").returncode in (0, 1)


@pytest.mark.parametrize("hook", HOOKS)
def test_a_mistyped_path_given_by_hand_is_a_finding_with_the_right_name(repo: Path, hook: str) -> None:
    typo = "data/manifests/musdb_hq_evnts.jsonl"
    noticed = drumgate(repo, "hook", hook, typo)
    assert noticed.returncode == 1, noticed.stderr
    assert noticed.stderr.startswith(f"{typo}: file not found (fix: "), noticed.stderr
    assert noticed.stdout.splitlines()[-1] == f"{hook}: 1 file checked, 1 finding"
    commands = fix_commands(noticed.stderr)
    assert commands == [f"drumgate hook {hook} data/manifests/musdb_hq_events.jsonl"], noticed.stderr
    assert run_as_printed(repo, commands[0]).returncode == 0


@pytest.mark.parametrize("hook", HOOKS)
def test_a_path_like_no_file_is_a_finding_too(repo: Path, hook: str) -> None:
    noticed = drumgate(repo, "hook", hook, "nofile.jsonl")
    assert noticed.returncode == 1 and noticed.stderr.startswith("nofile.jsonl: file not found (fix: ")
    assert "Traceback" not in noticed.stderr and len(noticed.stderr.splitlines()) == 1



@pytest.mark.parametrize("staged", [True, False])
def test_a_dangling_link_is_named_as_one_with_a_removal_that_works(repo: Path, staged: bool) -> None:
    """pre-commit passes a staged link that points nowhere; restoring it from HEAD would not help."""
    link = "data/manifests/cambridge_sessions.jsonl"
    (repo / link).symlink_to("nowhere.jsonl")
    if staged:
        assert git(repo, "add", link).returncode == 0
    noticed = drumgate(repo, "hook", "schema", link)
    assert noticed.returncode == 1
    assert noticed.stderr.startswith(f"{link}: a symbolic link to nowhere.jsonl, which does not exist (fix: ")
    command = noticed.stderr.split("(fix: ", 1)[1].split(", or point it at the file meant)")[0]
    assert command == (f"git rm -f {link}" if staged else f"rm {link}")
    assert run_as_printed(repo, command).returncode == 0
    assert not (repo / link).is_symlink() and git(repo, "ls-files", "--", link).stdout == ""

def test_a_group_partly_staged_gets_one_fix_that_gets_the_commit_through(repo: Path) -> None:
    config = repo / "configs" / "datasets.toml"
    text = config.read_text(encoding="utf-8")
    gates = tomllib.loads(text)["datasets"]["musdb_hq"]["gates"]
    old = f"min_class_events = {{ kick = {gates['min_class_events']['kick']},"
    assert text.count(old) == 1
    config.write_text(text.replace(old, "min_class_events = { kick = 1,"), encoding="utf-8")
    assert drumgate(repo, "repro", "musdb_hq").returncode in (0, 1)
    changed = [line[3:] for line in status(repo).splitlines()]
    report = next(path for path in changed if path.startswith("reports/health/musdb_hq_") and path.endswith(".json"))
    output = commit_refused(repo, "x", Path("configs/datasets.toml"), Path(report))
    findings = lines_with(output, "(fix:") + lines_with(output, "(run:")
    assert len(findings) == 1, output
    assert "left out of the commit" in findings[0] and not findings[0].startswith("data/locks/"), findings[0]
    run_fixes(repo, fix_commands(findings[0]))
    commit_goes_through(repo)


@pytest.mark.parametrize("what", ["data/manifests/musdb_hq_events.jsonl", "data/locks/musdb_hq.lock.json"])
def test_a_manifest_or_lock_replaced_by_a_link_is_blocked_and_restored(repo: Path, what: str) -> None:
    """A link committed in place of a manifest or a lock passed every hook (their file filters skip
    links), and the freshness hook's later repro then rebuilt the combined manifest without the dataset."""
    target = repo / what
    target.unlink()
    target.symlink_to("/nowhere/" + target.name)
    output = commit_refused(repo, "oops", target)
    [finding] = lines_with(output, "as a symbolic link")
    assert finding.startswith(f"{what}: staged as a symbolic link: drumgate's artifacts, configs and licence notes"
                              " are regular files"), output
    assert fix_commands(finding) == [f"git checkout HEAD -- {what}"], finding
    run_fixes(repo, fix_commands(finding))
    assert not target.is_symlink() and target.is_file()
    assert status(repo) == ""


def test_a_link_already_committed_is_named_by_the_whole_tree_check(repo: Path) -> None:
    """`drumgate hook freshness --all` (pr-hooks.yml) names a link committed past the hooks."""
    what = "data/manifests/musdb_hq_events.jsonl"
    (repo / what).unlink()
    (repo / what).symlink_to("/nowhere/events.jsonl")
    assert git(repo, "add", what).returncode == 0
    assert git(repo, "commit", "-q", "--no-verify", "-m", "oops").returncode == 0
    done = drumgate(repo, "hook", "freshness", "--all")
    assert done.returncode == 1
    [finding] = lines_with(done.stderr, "as a symbolic link")
    assert finding.startswith(f"{what}: committed as a symbolic link"), done.stderr
    assert finding.endswith(f"(fix: git rm -q -- {what}, then drumgate repro and git add -A)")


def test_a_link_is_found_in_a_workspace_below_the_repository_root(tmp_path: Path) -> None:
    """git's paths are the workspace's own (a data repository may keep its workspace in a subfolder)."""
    from checks._hookutil import link_fix, linked_data_files
    from drumgate.workspace import Workspace

    root = tmp_path / "repo"
    manifest = root / "ws" / "data" / "manifests" / "egmd_events.jsonl"
    manifest.parent.mkdir(parents=True)
    manifest.symlink_to("/nowhere/egmd_events.jsonl")
    assert git(root, "init", "-q").returncode == 0 and git(root, "add", "-A").returncode == 0
    ws = Workspace(root / "ws")
    staged = ["data/manifests/egmd_events.jsonl"]
    assert linked_data_files(ws, staged) == staged == linked_data_files(ws)
    assert linked_data_files(ws, ["configs/datasets.toml"]) == []
    assert link_fix(ws, staged[0]) == (
        f"fix: git -C {root / 'ws'} rm -q -- {staged[0]}, then drumgate repro and git add -A")
