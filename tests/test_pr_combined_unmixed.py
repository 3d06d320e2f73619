"""`drumgate pr-report` on a `[combined] mix = {}`: a configuration that combines nothing.

`combine` refuses such a mix and `repro` retires what combine wrote, yet pr-report read the head as
the combined manifest emptied: "❌ Not merge-safe: 5 gates regressed: prod_combined
min_class_events[hihat], ...", its gates counted as failing on no rows. A mix that gives no dataset a
share now reads as the combined manifest removed by the pull request (its gates gone with it), or as
nothing at all when neither side has one; a head that leaves the manifest committed is an error naming
the command that retires it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from drumgate import cli
from drumgate.cli import pr_report
from drumgate.fixtures.pr_repo import commit_all
from drumgate.io.jsonio import read_json
from drumgate.workspace import COMBINED
from tests.data_repo_support import drumgate
from tests.test_pr_report_datasets import datasets_toml, run_report, three_datasets

DATE = "2026-01-15"
REFERENCE = f"data/manifests/{COMBINED}_events.json"


def set_mix(repo: Path, mix: str) -> None:
    path = datasets_toml(repo)
    text, found = re.subn(r"^mix = \{.*\}$", f"mix = {mix}", path.read_text(encoding="utf-8"), flags=re.MULTILINE)
    assert found == 1
    path.write_text(text, encoding="utf-8")


def combined_at_base(tmp_path: Path) -> Path:
    """Three datasets and the combined manifest `combine` made of them, committed."""
    repo = three_datasets(tmp_path)
    assert cli.main(["combine", "--workspace", str(repo), "--date", DATE]) in (0, 1)
    assert (repo / REFERENCE).is_file()
    commit_all(repo, "base: combined")
    return repo


def retire(repo: Path) -> None:
    """What `combine`'s refusal of an empty mix asks for: `drumgate repro` retires combine's files."""
    ran = drumgate(repo, "repro", COMBINED)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "has nothing to combine" in ran.stdout and not (repo / REFERENCE).exists()


def report_from(repo: Path, out: Path, base: str) -> tuple[dict[str, Any], str]:
    argv = ["--workspace", str(repo), "--base", base, "--head", "HEAD", "--out", str(out)]
    assert pr_report.main(argv) == 0
    return read_json(out / "summary.json"), (out / "comment.md").read_text(encoding="utf-8")


def verdict(text: str) -> str:
    return text.splitlines()[1]


def test_an_empty_mix_retires_the_combined_manifest_instead_of_regressing_its_gates(tmp_path: Path) -> None:
    repo = combined_at_base(tmp_path)
    set_mix(repo, "{}")
    retire(repo)
    commit_all(repo, "head: the production manifest mixes nothing")
    summary, text = run_report(repo, tmp_path / "out")
    combined = summary["datasets"][COMBINED]
    assert combined["absent"] == {"base": False, "head": True}
    assert combined["gates"]["failing"] == [] and combined["gates"]["head"] == {"passed": 0, "total": 0}
    assert {"min_hours", "min_sessions", "source_gates[egmd]"} <= set(combined["gates"]["removed"])
    assert verdict(text) == f"### ✅ Merge-safe: no gate regressed; 1 dataset removed: {COMBINED}", verdict(text)
    assert f"➖ {COMBINED}: removed at head, with its " in text
    assert "now fails" not in text and "the events manifest is removed at head" not in text
    assert "Licence note: ❗" not in text, "a removed manifest's note is not missing"


def test_an_empty_mix_on_both_sides_has_no_combined_section(tmp_path: Path) -> None:
    repo = three_datasets(tmp_path)
    set_mix(repo, "{}")
    commit_all(repo, "base: nothing combined")
    path = datasets_toml(repo)
    path.write_text(path.read_text(encoding="utf-8").replace("min_sessions = 3", "min_sessions = 4", 1),
                    encoding="utf-8")
    assert "min_sessions = 4\nmin_hours" in path.read_text(encoding="utf-8"), "the [combined.gates] table"
    commit_all(repo, "head: a combined gate moved, still nothing combined")
    summary, text = run_report(repo, tmp_path / "out")
    assert summary["datasets"] == {} and COMBINED not in text
    assert verdict(text) == "### ✅ Merge-safe: configs changed, but no dataset group with events is touched"


@pytest.mark.parametrize("config", ["mix = {}", "no [combined] table"])
def test_a_combined_manifest_left_committed_with_nothing_to_mix_names_the_retiring_fix(
        tmp_path: Path, config: str) -> None:
    """The head's config mixes nothing, but the manifest combine made is still there: not judged as
    emptied; the one error line's fix works as printed and then reads as the removal."""
    repo = combined_at_base(tmp_path)
    if config == "mix = {}":
        set_mix(repo, "{}")
    else:
        path = datasets_toml(repo)
        text = path.read_text(encoding="utf-8")
        path.write_text(text[:text.index("[combined]")], encoding="utf-8")
    head = commit_all(repo, "head: the mix emptied, combine's files kept")
    summary, text = run_report(repo, tmp_path / "out")
    why = "[combined] mix gives no dataset a share" if config == "mix = {}" else "there is no [combined] table"
    assert summary["datasets"][COMBINED] == {"error": (
        f"{head[:7]}:configs/datasets.toml: {why}, yet {REFERENCE} is still committed "
        f"(fix: drumgate repro {COMBINED}, then commit what it removes)")}, summary["datasets"][COMBINED]
    assert "now fails" not in text and "regressed" not in verdict(text), verdict(text)
    retire(repo)
    commit_all(repo, "head: combine's files retired")
    fixed, text = report_from(repo, tmp_path / "fixed", "HEAD~2")
    assert fixed["datasets"][COMBINED]["absent"] == {"base": False, "head": True}
    assert verdict(text).startswith("### ✅ Merge-safe: no gate regressed;"), verdict(text)
    assert verdict(text).endswith(f"1 dataset removed: {COMBINED}"), verdict(text)
