"""Edits to `[combined]` in configs/datasets.toml, end to end on the demo repository (real git, real
pre-commit hooks): each ends with `drumgate repro` exiting 0 (or a refusal, exit 2, one line) and a
commit the hooks let through, and no committed file deleted without a line saying so.

Before: without a `group` line, combine stopped with `KeyError: 'group'` (exit 3); `group = "prod_mix"`
made repro retire the prod_combined lock with its history and the hooks loop on restoring it; an empty
mix left a stale combined manifest whose printed fixes (combine, `repro prod_combined`) did nothing."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from tests.data_repo_support import commit_refused, copied_repo, drumgate, git, status

pytestmark = pytest.mark.slow

CONFIG = "configs/datasets.toml"
GROUP_LINE = 'group = "prod_combined"\n'
MIX_LINE = "mix = { cambridge = 1.0, musdb_hq = 1.0, egmd = 1.0 }"
COMBINE_OUTPUTS = {
    "data/manifests/prod_combined_events.json", "data/provenance/prod_combined_provenance.jsonl",
    "reports/health/prod_combined_health_20260114.json", "reports/health/prod_combined_health_20260115.json",
    "reports/sampling/prod_combined_weights.json", "reports/sampling/prod_combined_weights_20260114.json",
    "reports/sampling/prod_combined_weights_20260115.json",
}


def _edit(repo: Path, old: str, new: str) -> None:
    config = repo / CONFIG
    text = config.read_text(encoding="utf-8")
    assert old in text
    config.write_text(text.replace(old, new, 1), encoding="utf-8")


def _without_combined(repo: Path) -> None:
    config = repo / CONFIG
    kept, inside = [], False
    for line in config.read_text(encoding="utf-8").splitlines(keepends=True):
        if line.startswith("["):
            inside = line.startswith(("[combined]", "[combined."))
        if not inside:
            kept.append(line)
    config.write_text("".join(kept), encoding="utf-8")


def _commit_all(repo: Path, message: str) -> None:
    assert git(repo, "add", "-A").returncode == 0
    done = git(repo, "commit", "-q", "-m", message)
    assert done.returncode == 0, done.stdout + done.stderr
    assert status(repo) == ""


def _deleted_by_last_commit(repo: Path) -> set[str]:
    listed = git(repo, "diff", "--name-status", "--no-renames", "HEAD~1", "HEAD").stdout
    return {line.split("\t", 1)[1] for line in listed.splitlines() if line.startswith("D\t")}


def _repro(repo: Path, *words: str) -> str:
    done = drumgate(repo, "repro", *words)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    return done.stdout


def test_a_combined_table_without_group_is_the_prod_combined_group(demo: Path, tmp_path: Path) -> None:
    repo = copied_repo(demo, tmp_path)
    _edit(repo, GROUP_LINE, "")
    combined = drumgate(repo, "combine")
    assert combined.returncode == 1, combined.stderr  # egmd fails its own gates: a finding, not exit 3
    assert "prod_combined mixes egmd, which fails its own gates" in combined.stderr
    _repro(repo)
    _commit_all(repo, "no group line")
    assert _deleted_by_last_commit(repo) == set()
    assert (repo / "data" / "locks" / "prod_combined.lock.json").is_file()
    assert "stale" not in _repro(repo, "--dry-run")


RENAMED = ('configs/datasets.toml:76: combined.group: the combined group is always "prod_combined", not "prod_mix"'
           " (its artifacts, lock, licence checks and workflows are named after it)"
           ' (fix: set group = "prod_combined" under [combined], or delete that line)')


def test_renaming_the_combined_group_is_refused_before_anything_is_deleted(demo: Path, tmp_path: Path) -> None:
    repo = copied_repo(demo, tmp_path)
    assert (repo / CONFIG).read_text(encoding="utf-8").splitlines()[75] == GROUP_LINE.strip()
    _edit(repo, GROUP_LINE, 'group = "prod_mix"\n')
    for words in (["repro"], ["repro", "prod_combined"], ["combine"]):
        done = drumgate(repo, *words)
        assert (done.returncode, done.stderr) == (2, RENAMED + "\n"), words
    assert status(repo) == f" M {CONFIG}\n", "nothing but the edit changed"
    refused = commit_refused(repo, "rename the combined group", repo / CONFIG)
    assert RENAMED in refused.splitlines() and "checkout HEAD -- data/locks" not in refused, refused
    _edit(repo, 'group = "prod_mix"\n', "")  # the printed fix: delete that line
    _repro(repo)
    _commit_all(repo, "no group line")
    assert _deleted_by_last_commit(repo) == set()


def test_an_empty_mix_retires_what_combine_wrote_by_the_printed_fix(demo: Path, tmp_path: Path) -> None:
    repo = copied_repo(demo, tmp_path)
    _edit(repo, MIX_LINE, "mix = {}")
    combined = drumgate(repo, "combine")
    assert combined.returncode == 2
    assert combined.stderr.endswith("(fix: give a dataset a share above 0 under [combined] mix in"
                                    " configs/datasets.toml, or drumgate repro to retire what combine wrote)\n")
    refused = commit_refused(repo, "nothing mixed", repo / CONFIG)
    found = re.search(r"\(run: (drumgate repro [^,]+), then git add -A\)", refused)
    assert found, refused
    words = shlex.split(found.group(1))[1:]
    assert words == ["repro", "prod_combined"]
    plan = drumgate(repo, *words, "--dry-run")
    assert plan.returncode == 0, plan.stderr
    line = ("== retire: configs/datasets.toml has nothing to combine ([combined] mix gives no dataset a share):"
            " the 7 files drumgate combine wrote {} removed with their lock entries (git add -A commits it; git"
            " keeps their history)")
    assert line.format("would be") in plan.stdout.splitlines(), plan.stdout
    assert all((repo / name).is_file() for name in COMBINE_OUTPUTS), "a dry run removes nothing"
    out = _repro(repo, *words[1:])
    assert line.format("are") in out.splitlines()
    assert "== docs:" in out, out
    _commit_all(repo, "nothing mixed")
    assert _deleted_by_last_commit(repo) == COMBINE_OUTPUTS, "only what the retire line announced"
    assert git(repo, "show", "HEAD~1:data/manifests/prod_combined_events.json").returncode == 0, "git keeps them"
    recorded = json.loads((repo / "data" / "locks" / "prod_combined.lock.json").read_text(encoding="utf-8"))
    assert "DATASET_READINESS_PLAN.md" in recorded["artifacts"]
    assert not COMBINE_OUTPUTS & set(recorded["artifacts"]), "the docs and compares stay, combine's entries go"
    again = _repro(repo)
    assert "retire" not in again and "== combine" not in again, again
    if status(repo):
        _commit_all(repo, "repro after")


def test_deleting_the_combined_table_retires_it_in_a_whole_repro(demo: Path, tmp_path: Path) -> None:
    repo = copied_repo(demo, tmp_path)
    _without_combined(repo)
    out = _repro(repo)
    assert ("== retire: configs/datasets.toml has nothing to combine (it has no [combined] table): the 7 files"
            " drumgate combine wrote are removed") in out, out
    _commit_all(repo, "no production mix")
    assert _deleted_by_last_commit(repo) == COMBINE_OUTPUTS
    assert "retire" not in _repro(repo, "--dry-run")
    _edit(repo, "[datasets.cambridge]", f"[combined]\n{MIX_LINE}\n\n[datasets.cambridge]")  # mixing again
    assert "== combine: missing" in _repro(repo)
    _commit_all(repo, "production mix back")
