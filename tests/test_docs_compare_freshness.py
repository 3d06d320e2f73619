"""A dataset comparison written after the docs makes them stale (issue: the hook said "0 findings").

`drumgate docs` finds the comparisons it lists for itself, and its lock entry named only those it
found then: a comparison written later was invisible to the freshness hook and to repro, while
running the recorded docs command again changed the summary and the lock. Now the hook names the
new comparison with a fix, repro plans the docs, and after the printed fix nothing changes again.
"""

from __future__ import annotations

import hashlib
import re
import shlex
from pathlib import Path

import pytest

from drumgate import cli
from drumgate.io.jsonio import read_json
from tests.data_repo_support import copied_repo, git

pytestmark = pytest.mark.slow

COMPARE_MD = "reports/diffs/compare_cambridge_vs_egmd.md"


def newest(repo: Path, dataset: str) -> str:
    return sorted(p.relative_to(repo).as_posix() for p in (repo / "reports/health").glob(f"{dataset}_2*.json"))[-1]


def worktree_bytes(repo: Path) -> dict[str, str]:
    """sha256 of every file outside .git (and the git-ignored group lock files)."""
    return {p.relative_to(repo).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(repo.rglob("*")) if p.is_file() and ".git" not in p.relative_to(repo).parts
            and not p.name.endswith(".lck")}


def freshness(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = cli.main(["hook", "freshness", *argv])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_a_new_comparison_stales_the_docs_and_the_printed_fix_settles_them(
        demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    repo = copied_repo(demo, tmp_path)
    monkeypatch.chdir(repo)
    monkeypatch.delenv("DRUMGATE_WORKSPACE", raising=False)
    assert freshness(capsys, "--all")[0] == 0  # the demo is up to date

    assert cli.main(["compare", newest(repo, "cambridge"), newest(repo, "egmd")]) in (0, 1)
    code, out = freshness(capsys, "--all")
    assert code == 1, out
    finding = next(line for line in out.splitlines() if line.startswith(f"{COMPARE_MD}: new"))
    assert "artifacts of prod_combined to regenerate" in finding
    fix = re.search(r"\(run: (drumgate [^,]+), then git add -A\)$", finding)
    assert fix is not None, finding

    assert cli.main(["repro", "--dry-run", "--skip-raw"]) == 0
    plan = capsys.readouterr().out
    assert any(line.strip().startswith("drumgate docs --date") and COMPARE_MD in line for line in plan.splitlines())

    # the commit the reviewer made: compare staged without the docs is refused too
    assert git(repo, "add", "-A").returncode == 0
    code, out = freshness(capsys)
    assert code == 1 and f"{COMPARE_MD}: new" in out, out

    assert cli.main(shlex.split(fix.group(1))[1:]) == 0
    capsys.readouterr()
    assert git(repo, "add", "-A").returncode == 0
    for argv in (["--all"], []):
        code, out = freshness(capsys, *argv)
        assert code == 0 and "0 findings" in out, out
    lock = read_json(repo / "data/locks/prod_combined.lock.json")["artifacts"]
    assert COMPARE_MD in lock["DATASET_READINESS_PLAN.md"]["inputs"]
    summary = lock["DATASET_READINESS_PLAN.md"]["command"]
    assert "compare_cambridge_vs_egmd" in (repo / re.sub(r".*--date (\S+)$", r"reports/health/\1-health-summary.md",
                                                            summary)).read_text(encoding="utf-8")

    # a second run of the fix, and the recorded docs command, change no byte
    before = worktree_bytes(repo)
    assert cli.main(shlex.split(fix.group(1))[1:]) == 0
    assert cli.main(shlex.split(summary)[1:]) == 0
    assert worktree_bytes(repo) == before
    assert git(repo, "diff", "--stat").stdout == ""


def test_a_changed_comparison_stales_the_docs(demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    repo = copied_repo(demo, tmp_path)
    monkeypatch.chdir(repo)
    monkeypatch.delenv("DRUMGATE_WORKSPACE", raising=False)
    existing = "reports/diffs/compare_cambridge_vs_musdb_hq.json"
    a, b = read_json(repo / existing)["inputs"].values()
    assert cli.main(["compare", a, b, "--min-share", "0.2"]) in (0, 1)
    code, out = freshness(capsys, "--all")
    assert code == 1 and "compare_cambridge_vs_musdb_hq.md: changed" in out, out
    assert cli.main(["repro", "prod_combined"]) == 0
    capsys.readouterr()
    assert freshness(capsys, "--all")[0] == 0
