"""A pull request that deletes MUSDB drum stems, reported on a real data repository: the demo's
day two, then head re-ingests MUSDB18-HQ after two tracks lost `drums.wav` (the sessions stay in
the inventory as `missing_audio`, their drum events are gone). MUSDB's own gates regress, and so
does the combined manifest's `source_gates[musdb_hq]` that judges them."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from drumgate.fixtures.health_events import event, numbered
from drumgate.fixtures.pr_repo import git
from drumgate.github import pr_gates, pr_text
from drumgate.reports.diffing import sessions_summary
from drumgate.reports.gates import load_health_config
from drumgate.reports.health import compute_health
from drumgate.workspace import COMBINED, Workspace

STEMLESS = ("Actions - One Minute Smile", "Al James - Schoolboy Facination")
STEM_PATHS = ("train/Actions - One Minute Smile/drums.wav", "test/Al James - Schoolboy Facination/drums.wav")


def drumgate(args: Sequence[str], cwd: Path, ok: Sequence[int] = (0,)) -> None:
    done = subprocess.run([sys.executable, "-m", "drumgate.cli", *args], cwd=cwd, capture_output=True,
                          text=True, check=False, timeout=900)
    assert done.returncode in ok, done.stdout[-3000:] + done.stderr[-3000:]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pr-report output folder for the head that deleted the two drum stems."""
    repo = tmp_path_factory.mktemp("stemless") / "demo"
    drumgate(["demo", "--out", str(repo)], cwd=repo.parent)
    for stem in STEM_PATHS:
        (repo / "data" / "raw" / "musdb_hq" / stem).unlink()
    # exit 1: the missing stems are findings, and the sessions are kept as `missing_audio`
    drumgate(["ingest", "musdb", "--date", "2026-01-16"], cwd=repo, ok=(0, 1))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", "-m", "Re-ingest MUSDB after two drum stems were deleted")
    out = repo.parent / "pr-report"
    drumgate(["pr-report", "--base", "HEAD~1", "--head", "HEAD", "--out", str(out)], cwd=repo)
    return out


def summary(out: Path) -> dict[str, Any]:
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))


def verdict(out: Path) -> str:
    return (out / "comment.md").read_text(encoding="utf-8").splitlines()[1]


def test_the_verdict_names_a_failing_source_once_not_again_as_its_combined_gate(report: Path) -> None:
    facts = summary(report)
    musdb = [gate["name"] for gate in facts["datasets"]["musdb_hq"]["gates"]["failing"]]
    combined = [gate["name"] for gate in facts["datasets"][COMBINED]["gates"]["failing"]]
    assert "min_class_events[kick]" in musdb and "source_gates[musdb_hq]" in combined, (musdb, combined)
    line = verdict(report)
    assert line.startswith(f"### ❌ Not merge-safe: {len(musdb)} gates regressed: "), line
    assert pr_text.code("source_gates[musdb_hq]") not in line, "the musdb_hq gates already named are its cause"
    # unchanged E-GMD is named only through the combined gate: a reason of the combined manifest's own
    assert f"{COMBINED} {pr_text.code('source_gates[egmd]')}" in line, line


def entry(dataset: str, failing: Sequence[str], was: str = "pass", sources: Sequence[Any] = ()) -> dict[str, Any]:
    """A summary entry whose only news is its failing gates (and, for the combined one, its sources)."""
    return {"dataset": dataset, "absent": {"base": False, "head": False},
            "gates": {"failing": [{"name": name, "was_status": was} for name in failing]},
            "storage": {"status_changed": {"count": 0, "off_ok": 0, "items": []}},
            "malformed_rows": {"base": 0, "head": 0, "head_shown": []}, "sources": list(sources)}


def source(dataset: str, failing: Sequence[str]) -> dict[str, Any]:
    return {"dataset": dataset, "failing": list(failing), "failing_count": len(failing), "waived": False}


def test_a_combined_source_gate_failing_for_a_reason_of_its_own_is_kept() -> None:
    """A source failing a gate its own entry does not list (judged by other configs, or an error there)."""
    musdb = entry("musdb_hq", ["min_sessions"])
    combined = entry(COMBINED, ["source_gates[musdb_hq]"],
                     sources=[source("musdb_hq", ["min_sessions", "leakage"])])
    line = pr_gates.verdict_line([musdb, combined])
    assert line.startswith("### ❌ Not merge-safe: 2 gates regressed: musdb_hq <code>min_sessions</code>, "
                           f"{COMBINED} <code>source_gates&#91;musdb_hq&#93;</code>"), line
    covered = entry(COMBINED, ["source_gates[musdb_hq]"], sources=[source("musdb_hq", ["min_sessions"])])
    assert pr_gates.verdict_line([musdb, covered]) == (
        "### ❌ Not merge-safe: 1 gate regressed: musdb_hq <code>min_sessions</code>")
    errored = {"dataset": "musdb_hq", "error": "cannot read the sessions manifest"}
    assert pr_gates.judge([errored, covered]).regressed == [
        f"{COMBINED} <code>source_gates&#91;musdb_hq&#93;</code> "
        "(<code>musdb_hq</code> fails <code>min_sessions</code>)"]


def musdb_session(name: str, drums: str) -> dict[str, Any]:
    """A MUSDB sessions row as ingest writes it: 8 s of mixture and stems, the drum stem `drums`."""
    stems = [{"path": f"train/{name}/{role}.wav", "role": role, "status": drums if role == "drums" else "ok"}
             for role in ("mixture", "drums", "bass", "other", "vocals")]
    status = "ok" if drums == "ok" else drums
    return {"session_id": name, "dataset": "musdb_hq", "split": "train", "seconds": 8.0, "status": status,
            "tier": "primary", "files": stems}


def test_a_session_without_drum_events_adds_no_hours(workspace: Workspace) -> None:
    """Hours are the audio there is something to train on: a session whose drum stem is gone holds no
    drum event, so its 8 s of mixture are not counted (its missing item still is)."""
    rows = [event("kept", label, "train", index=index) for label in ("kick", "snare", "hihat") for index in range(4)]
    sessions = [musdb_session("kept", "ok"), musdb_session("stemless", "missing_audio")]
    report = compute_health(load_health_config(workspace, "musdb_hq"), numbered(rows), sessions)
    assert report["totals"]["hours"] == round(8.0 / 3600, 4)
    assert report["totals"]["missing_audio_items"] == 1
    assert report["sessions"]["stemless"]["events"] == 0, "the inventory still lists it"


def test_the_summary_counts_no_hours_for_a_session_whose_drum_stem_was_deleted(report: Path) -> None:
    facts = summary(report)
    # each demo track is 8 s long: two of the three lost their drum stem
    assert facts["datasets"]["musdb_hq"]["totals"]["hours"]["head"] == round(8.0 / 3600, 4)
    combined = facts["datasets"][COMBINED]["totals"]["hours"]
    assert combined["delta"] == pytest.approx(-2 * 8.0 / 3600, abs=1e-4), combined


def test_the_sessions_removed_are_the_sessions_whose_weight_is_gone(report: Path) -> None:
    """A session left when it holds no event to train on: the count of sessions removed said 0 while the
    movers said 'removed'. Neither session is in the train split, so neither ever had a weight."""
    facts = summary(report)
    for dataset, prefix in (("musdb_hq", ""), (COMBINED, "musdb_hq:")):
        data = facts["datasets"][dataset]
        left = sorted(f"{prefix}{name}" for name in STEMLESS)
        assert data["sessions"]["removed"] == {"count": len(left), "names": left}, dataset
        assert data["sessions"]["added"]["count"] == 0, dataset
        assert data["totals"]["sessions"]["delta"] == -len(left), "the table's column counts the same sessions"
        weighted_out = sorted(mover["session"] for mover in data["weights"]["movers"] if not mover["head"])
        assert weighted_out == [], "a validation and a test session: weights are for the train split only"
    text = (report / "comment.md").read_text(encoding="utf-8")
    assert "- **musdb_hq**: 2 sessions removed; " in text
    assert f"removed (2): {pr_text.code(STEMLESS[0])}, {pr_text.code(STEMLESS[1])}" in text


def test_a_diff_finds_a_session_left_when_its_events_are_gone() -> None:
    base = {"sessions": {"kept": {"events": 9, "split": "train"}, "stemless": {"events": 4, "split": "train"}}}
    head = {"sessions": {"kept": {"events": 9, "split": "train"},
                         "stemless": {"events": 0, "split": "train", "status": "missing_audio"},
                         "inventoried": {"events": 0, "split": "test", "status": "missing_audio"}}}
    found = sessions_summary(base, head)
    assert (found["added"], found["removed"]) == ([], ["stemless"])
    assert sessions_summary(head, base)["added"] == ["stemless"], "its stem back, it is added again"
