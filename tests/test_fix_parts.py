"""Bad flags, environment and configs print one line ending in a fix that works as printed.

Each test drives the real `drumgate` in a small committed E-GMD repository: the mistake is one
line `path[:line]: what is wrong (fix: ...)`, exit 2, no traceback; then the fix it names (a flag
value, an environment change, a command) is applied exactly as printed and the command succeeds.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.data_repo_support import drumgate, egmd_repo_without_hooks, git
from tests.test_fix_commands import fix_commands, run_as_printed

DATE = "2026-03-01"
EVENTS = "data/manifests/egmd_events.jsonl"
HEALTH = ("health", "--events", EVENTS)
FIX = re.compile(r"^\S.* \(fix: (?P<fix>.+)\)$")  # a flag has no path: its line starts with the flag


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`drumgate init`, a small generated E-GMD corpus, its ingest, one commit."""
    steps = [["ingest", "egmd", "--date", DATE], ["checksums", "generate", "egmd"]]
    return egmd_repo_without_hooks(tmp_path_factory.mktemp("fix-parts") / "repo", steps, performances=2, kits=1)


def refused(done: subprocess.CompletedProcess[str]) -> str:
    """The fix part of the one line a refused command printed (exit 2, no traceback)."""
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    match = FIX.match(lines[0])
    assert match, lines[0]
    return match.group("fix")


def passed(fix: str, flag: str) -> str:
    """The value the fix says to pass to `flag` (its first `--flag VALUE`)."""
    match = re.search(rf"(?:^|\s){re.escape(flag)} (\S+)", fix)
    assert match, fix
    return shlex.split(match.group(1).rstrip(","))[0]


def works(done: subprocess.CompletedProcess[str]) -> bool:
    return done.returncode in (0, 1) and "usage:" not in done.stderr and "internal error" not in done.stderr


@pytest.mark.parametrize(("typed", "meant"), [("2026/3/1", "2026-03-01"), ("2026.03.01", "2026-03-01"),
                                              ("2026-13-01", None), ("yesterday", None),
                                              # forms fromisoformat takes but the help does not name
                                              ("20260301", "2026-03-01"), ("2026-W09-7", None)])
def test_a_bad_date_names_a_date_that_works(repo: Path, typed: str, meant: str | None) -> None:
    fix = refused(drumgate(repo, *HEALTH, "--date", typed, "--json"))
    day = passed(fix, "--date")
    if meant is not None:
        assert fix == f"pass --date {meant}"
    assert works(drumgate(repo, *HEALTH, "--date", day, "--json"))


@pytest.mark.parametrize("epoch", ["1e9", "soon", "99999999999999999999"])
def test_a_bad_source_date_epoch_names_both_ways_out(repo: Path, epoch: str) -> None:
    fix = refused(drumgate(repo, *HEALTH, "--json", SOURCE_DATE_EPOCH=epoch))
    assert fix.startswith("unset SOURCE_DATE_EPOCH, or export SOURCE_DATE_EPOCH=")
    exported = fix.rsplit("=", 1)[1]
    assert works(drumgate(repo, *HEALTH, "--json", SOURCE_DATE_EPOCH=exported))
    assert works(drumgate(repo, *HEALTH, "--json"))  # unset (the harness's environment has none)


def copy_of(repo: Path, tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    subprocess.run(["cp", "-a", str(repo), str(root)], check=True)
    return root


def test_a_config_without_its_version_names_the_line_and_the_restore(repo: Path, tmp_path: Path) -> None:
    root = copy_of(repo, tmp_path)
    config = root / "configs" / "datasets.toml"
    committed = config.read_text(encoding="utf-8")
    config.write_text(re.sub(r"(?m)^version = 1\n", "", committed), encoding="utf-8")
    fix = refused(drumgate(root, "docs", "--date", DATE))
    assert fix.startswith("add `version = 1` at its top"), fix
    assert fix_commands(f"x ({'fix: ' + fix})") == [f"git -C {shlex.quote(str(config.parent))} checkout HEAD "
                                                     "-- datasets.toml"]
    # the first way: add the line it names
    config.write_text("version = 1\n" + config.read_text(encoding="utf-8"), encoding="utf-8")
    assert works(drumgate(root, "docs", "--date", DATE))
    # the second way, from another folder: the restore as printed
    config.write_text(re.sub(r"(?m)^version = 1\n", "", committed), encoding="utf-8")
    assert run_as_printed(tmp_path, fix_commands(f"x (fix: {fix})")[0]).returncode == 0
    assert config.read_text(encoding="utf-8") == committed


def test_a_json_config_that_fails_its_schema_is_restored_as_printed(repo: Path, tmp_path: Path) -> None:
    root = copy_of(repo, tmp_path)
    config = root / "configs" / "crash_dual_label.json"
    committed = config.read_bytes()
    document = json.loads(committed)
    del document["version"]
    config.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    done = drumgate(root, "crash-map")
    commands = fix_commands(done.stderr)
    refused(done)
    assert len(commands) == 1 and commands[0].startswith("git -C "), done.stderr
    assert run_as_printed(root, commands[0]).returncode == 0
    assert config.read_bytes() == committed and drumgate(root, "crash-map").returncode == 0


def test_a_config_error_with_no_committed_fix_names_the_schema(repo: Path, tmp_path: Path) -> None:
    """Nothing committed to restore: the fix names the key and the schema that says what it may be."""
    root = copy_of(repo, tmp_path)
    config = root / "configs" / "datasets.toml"
    config.write_text(config.read_text(encoding="utf-8").replace("min_sessions = 2", "min_sessions = -2", 1),
                      encoding="utf-8")
    assert git(root, "commit", "-qam", "a bad gate", "--no-verify").returncode == 0
    fix = refused(drumgate(root, "docs", "--date", DATE))
    assert fix == ("change datasets/egmd/gates/min_sessions to what configs/schemas/datasets_config.schema.json"
                   " allows"), fix


@pytest.mark.parametrize("argv", [("checksums", "verify", "egmd", "--jobs", "0"),
                                  ("checksums", "verify", "egmd", "--stat-cache", "--json")])
def test_a_bad_checksums_flag_prints_the_command_that_works(repo: Path, argv: tuple[str, ...]) -> None:
    done = drumgate(repo, *argv)
    refused(done)
    commands = fix_commands(done.stderr)
    assert len(commands) == 1 and commands[0].startswith("drumgate checksums verify egmd"), done.stderr
    assert run_as_printed(repo, commands[0]).returncode == 0


@pytest.mark.parametrize(("argv", "printed"), [
    (("heath", *HEALTH[1:], "--date", DATE, "--json"), f"drumgate health --events {EVENTS} --date {DATE} --json"),
    (("ingest", "egdm", "--date", DATE), f"drumgate ingest egmd --date {DATE}"),
    (("hook", "schma", EVENTS), f"drumgate hook schema {EVENTS}"),
    (("frobnicate",), "drumgate --help"),
    (("ingest",), "drumgate ingest --help"),
])
def test_a_mistyped_command_prints_the_one_meant(repo: Path, argv: tuple[str, ...], printed: str) -> None:
    done = drumgate(repo, *argv)
    refused(done)
    assert fix_commands(done.stderr) == [printed], done.stderr
    assert works(run_as_printed(repo, printed))


@pytest.mark.parametrize(("flag", "typed", "meant"), [
    ("--require-class", "kik=3", "kick=3"), ("--require-class", "kick=lots", "kick=1"),
    ("--require-class", "kick=-2", "kick=2"), ("--require-class", "=3", "kick=3"),
    ("--require-technique", "flm", "flam=1"), ("--vocabulary", "vogl9", "vogl8"),
])
def test_a_bad_health_flag_names_a_value_that_works(repo: Path, flag: str, typed: str, meant: str) -> None:
    argv = (*HEALTH, "--date", DATE, "--json")
    fix = refused(drumgate(repo, *argv, flag, typed))
    assert passed(fix, flag) == meant, fix
    assert works(drumgate(repo, *argv, flag, meant))


def test_a_bad_beta_names_the_default(repo: Path) -> None:
    argv = ("weights", "--events", EVENTS, "--date", DATE, "--json")
    fix = refused(drumgate(repo, *argv, "--beta", "1"))
    assert works(drumgate(repo, *argv, "--beta", passed(fix, "--beta")))


@pytest.mark.parametrize(("typed", "meant"), [("3", "1/2"), ("5/4", "4/4"), ("0/2", "1/2")])
def test_a_bad_shard_names_a_shard_that_parses(repo: Path, typed: str, meant: str) -> None:
    from ingest.egmd.sharding import parse_shard

    fix = refused(drumgate(repo, "ingest", "egmd", "--date", DATE, "--shard", typed))
    assert passed(fix, "--shard") == meant
    parse_shard(meant)


@pytest.mark.parametrize(("argv", "fix"), [
    (("--repo", "https://github.com/octo/drums.git", "--pr", "3"), "pass --repo octo/drums"),
    (("--repo", "octo/drums", "--pr", "#12"), "pass --pr 12"),
    (("--repo", "octo/drums", "--pr", "12345678901"),  # not a number cut to its first ten digits
     'pass --pr "$PR_NUMBER" with the number of the pull request, as .github/workflows/pr-comment.yml does'),
    (("--repo", "octo/drums", "--pr", "3", "--marker", "my marker!"), "pass --marker my-marker"),
])
def test_a_bad_comment_flag_names_the_value_meant(tmp_path: Path, argv: tuple[str, ...], fix: str) -> None:
    """Refused before any token or network is needed."""
    assert refused(drumgate(tmp_path, "comment", "--body-file", "comment.md", *argv)) == fix


def test_pr_report_without_revisions_prints_a_command_that_works(repo: Path, tmp_path: Path) -> None:
    root = copy_of(repo, tmp_path)
    (root / "notes.txt").write_text("a second commit\n", encoding="utf-8")
    assert git(root, "add", "notes.txt").returncode == 0
    assert git(root, "commit", "-qm", "notes", "--no-verify").returncode == 0
    done = drumgate(root, "pr-report", "--out", "out")
    refused(done)
    commands = fix_commands(done.stderr)
    assert commands == ["drumgate pr-report --base 'HEAD~1' --head HEAD --out out"], done.stderr
    assert run_as_printed(root, commands[0]).returncode == 0
    for argv, flag, meant in ((("--max-chars", "10"), "--max-chars", "2000"),
                              (("--run-id", "https://github.com/o/n/actions/runs/42"), "--run-id", "42"),
                              (("--run-id", "https://github.com/o/n/actions/runs/42/job/77"), "--run-id", "42")):
        assert passed(refused(drumgate(root, "pr-report", "--out", "out", *argv)), flag) == meant
