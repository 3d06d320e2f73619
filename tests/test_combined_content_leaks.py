"""The combined health counts the same source audio in two splits as a leak, as `drumgate health` does
for one dataset, and judges each mixed dataset by its own health with its provenance's hashes.

- pr-report counted the combined manifest's content-hash leaks (from the combined provenance) and
  combine did not: the comment said 3 leaks where the committed report said 1.
- Neither judged a source gate with the source's provenance: a dataset whose own report failed
  `leakage` (a test render holding a train render's bytes) passed `source_gates[<ds>]`.
- combine did not list the provenance it reads: a source's provenance edited or added left the
  combined report fresh.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from drumgate import cli
from drumgate.io.jsonio import read_json, read_jsonl, write_jsonl
from drumgate.lineage import check
from drumgate.reports.combined import combined_source_hashes
from drumgate.workspace import COMBINED, Workspace
from tests.combine_fixtures import build_dataset, three_dataset_workspace
from tests.data_repo_support import copied_repo, drumgate, git

DATE = "2025-03-02"
REPORT = f"reports/health/{COMBINED}_health_20250302.json"
ALIGNED = [("Atlantis Bound - It Was My Fault For Waiting", "train"), ("Leaf - Summerghost", "test")]
SHARED = "ab" * 32  # one recording's sha256, filed under two sessions


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    workspace = three_dataset_workspace(tmp_path / "ws")
    build_dataset(workspace, "musdb_hq", placed=ALIGNED)
    return workspace


def provenance_row(dataset: str, session: str, digest: str) -> dict[str, Any]:
    return {"session_id": session, "dataset": dataset,
            "source_files": [{"path": f"{session}/drums.wav", "role": "audio", "bytes": 10, "sha256": digest}]}


def write_provenance(ws: Workspace, dataset: str, rows: list[dict[str, Any]]) -> None:
    write_jsonl(ws.provenance(dataset), rows)


def combine(ws: Workspace) -> int:
    return cli.main(["combine", "--workspace", str(ws.root), "--date", DATE])


def failing(report: dict[str, Any]) -> list[str]:
    return [gate["name"] for gate in report["gates"] if gate["status"] == "fail"]


def test_combined_hashes_name_each_owner_as_the_combined_manifest_does() -> None:
    per_source = {"musdb_hq": {"d1": {"Leaf"}, "d2": {"Leaf"}}, "cambridge": {"d1": {"Magic"}}, "egmd": None}
    assert combined_source_hashes(per_source) == {"d1": {"cambridge:Magic", "musdb_hq:Leaf"}, "d2": {"musdb_hq:Leaf"}}


def test_the_same_audio_in_two_datasets_splits_is_a_combined_leak(ws: Workspace) -> None:
    """A Cambridge train session and a MUSDB test session holding the same bytes: neither dataset
    leaks on its own, the production manifest does."""
    write_provenance(ws, "cambridge", [provenance_row("cambridge", "MagiciansNephew_GetOutOfBed_Full", SHARED)])
    write_provenance(ws, "musdb_hq", [provenance_row("musdb_hq", "Leaf - Summerghost", SHARED),
                                      provenance_row("musdb_hq", "Atlantis Bound - It Was My Fault For Waiting",
                                                     "cd" * 32)])
    assert combine(ws) == 1
    report = read_json(ws.root / REPORT)
    assert report["leakage"] == [{"kind": "content_hash", "key": SHARED, "splits": ["test", "train"],
                                  "sources": ["cambridge:MagiciansNephew_GetOutOfBed_Full",
                                              "musdb_hq:Leaf - Summerghost"]}]
    assert "leakage" in failing(report)
    assert report["sources"]["cambridge"]["failing"] == [] and report["sources"]["musdb_hq"]["failing"] == []


def test_a_source_gate_holds_what_drumgate_health_says_of_the_source(ws: Workspace) -> None:
    """MUSDB's train and test sessions hold the same bytes: its own report fails `leakage`, and so
    does its source gate, with the same failing gates."""
    write_provenance(ws, "musdb_hq", [provenance_row("musdb_hq", session, SHARED) for session, _ in ALIGNED])
    events = str(ws.events_manifest("musdb_hq"))
    assert cli.main(["health", "--workspace", str(ws.root), "--events", events, "--date", DATE]) == 1
    own = read_json(ws.root / "reports/health/musdb_hq_20250302.json")
    assert failing(own) == ["leakage"] and [leak["kind"] for leak in own["leakage"]] == ["content_hash"]
    assert combine(ws) == 1
    report = read_json(ws.root / REPORT)
    assert report["sources"]["musdb_hq"] == {"status": "fail", "failing": failing(own), "waived": False}
    assert "source_gates[musdb_hq]" in failing(report)
    [leak] = report["leakage"]
    assert leak["key"] == SHARED and leak["sources"] == [f"musdb_hq:{session}" for session, _ in ALIGNED]


def test_a_sources_provenance_is_an_input_of_every_combined_artifact(ws: Workspace) -> None:
    """A provenance written after combine ran is one it would read now; one edited since changed."""
    assert combine(ws) == 1  # egmd fails its own gates
    assert check(ws, COMBINED) == []
    write_provenance(ws, "musdb_hq", [provenance_row("musdb_hq", session, SHARED) for session, _ in ALIGNED])
    new = "stale: input data/provenance/musdb_hq_provenance.jsonl was not read when it was made"
    stale = {(problem.artifact, problem.message) for problem in check(ws, COMBINED)}
    assert {message for _, message in stale} == {new} and len(stale) == 5, stale  # weights: dated and undated
    assert combine(ws) == 1
    assert check(ws, COMBINED) == [], "combine run again lists it in every entry"
    write_provenance(ws, "musdb_hq", [provenance_row("musdb_hq", ALIGNED[0][0], SHARED)])
    changed = "stale: input data/provenance/musdb_hq_provenance.jsonl changed since it was made"
    assert {problem.artifact: problem.message for problem in check(ws, COMBINED)}[REPORT] == changed


def test_a_combined_report_made_without_reading_the_provenance_is_stale(ws: Workspace) -> None:
    """A lock from before combine read its sources' provenance: its reports counted no content leaks,
    so they are stale (repro makes them again), while pr-report counts them."""
    write_provenance(ws, "musdb_hq", [provenance_row("musdb_hq", session, SHARED) for session, _ in ALIGNED])
    assert combine(ws) == 1
    lock_path = ws.root / "data" / "locks" / f"{COMBINED}.lock.json"
    lock = json.loads(lock_path.read_text(encoding="utf-8"))
    for entry in lock["artifacts"].values():
        entry["inputs"] = {name: digest for name, digest in entry["inputs"].items() if "provenance/musdb" not in name}
    lock_path.write_text(json.dumps(lock, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    new = "stale: input data/provenance/musdb_hq_provenance.jsonl was not read when it was made"
    assert {(problem.artifact, problem.message) for problem in check(ws, COMBINED)} == {
        (artifact, new) for artifact in lock["artifacts"]}


# --- end to end on the demo: repro, commit, pr-report, as the pull-request workflow runs them ---


def pull_request(demo: Path, tmp_path: Path, edit: Any) -> tuple[Path, dict[str, Any], dict[str, Any], str]:
    """The demo with `edit` made, regenerated by `drumgate repro`, committed, and pr-reported:
    (repository, committed combined report, pr-report's combined head, comment)."""
    repo = copied_repo(demo, tmp_path)
    edit(repo)
    offline = {"DRUMGATE_CAMBRIDGE_EXTERNAL": str(tmp_path / "no-such-drive")}  # day two's tier stays offline
    ran = drumgate(repo, "repro", "--date", "2026-02-01", **offline)
    assert ran.returncode in (0, 1), ran.stdout[-3000:] + ran.stderr[-3000:]
    git(repo, "add", "-A")
    committed = git(repo, "commit", "-q", "-m", "The pull request")
    assert committed.returncode == 0, committed.stdout + committed.stderr
    out = tmp_path / "pr-report"
    report = drumgate(repo, "pr-report", "--base", "HEAD~1", "--head", "HEAD", "--out", str(out))
    assert report.returncode in (0, 1), report.stdout + report.stderr
    combined = read_json(repo / "reports" / "health" / f"{COMBINED}_health_20260201.json")
    head = read_json(out / "reports" / f"{COMBINED}_head.json")
    return repo, combined, head, (out / "comment.md").read_text(encoding="utf-8")


def independent_leaks(repo: Path) -> set[tuple[str, str]]:
    """The combined manifest's session and content-hash leaks, recounted from the mixed sources' own
    manifests and provenance (every mixed source keeps all its events in the demo)."""
    reference = read_json(repo / "data" / "manifests" / f"{COMBINED}_events.json")
    splits: dict[str, set[str]] = {}
    owners: dict[str, set[str]] = {}
    for source in reference["sources"]:
        dataset = source["dataset"]
        assert source["ratio"] == 1.0
        for row in read_jsonl(repo / "data" / "manifests" / f"{dataset}_events.jsonl"):
            splits.setdefault(f"{dataset}:{row['session_id']}", set()).add(row["split"])
        for row in read_jsonl(repo / "data" / "manifests" / f"{dataset}_sessions.jsonl"):
            splits.setdefault(f"{dataset}:{row['session_id']}", set()).add(row["split"])
        for row in read_jsonl(repo / "data" / "provenance" / f"{dataset}_provenance.jsonl"):
            for item in row["source_files"]:
                owners.setdefault(item["sha256"], set()).add(f"{dataset}:{row['session_id']}")
    found = {("session", session) for session, where in splits.items() if len(where) > 1}
    return found | {("content_hash", digest) for digest, sessions in owners.items()
                    if len(set().union(*(splits.get(s, set()) for s in sessions))) > 1}


def leak_keys(report: dict[str, Any]) -> set[tuple[str, str]]:
    return {(leak["kind"], leak["key"]) for leak in report["leakage"]}


def test_a_render_moved_to_test_counts_alike_in_combine_and_the_pull_request(demo: Path, tmp_path: Path) -> None:
    """One E-GMD render of a train performance moved to test: the session and its audio and MIDI are
    in two splits. The committed combined report, pr-report and a recount name the same leaks."""

    def move(repo: Path) -> None:
        path = repo / "data" / "raw" / "egmd" / "e-gmd-v1.0.0.csv"
        render = "drummer1/session1/1_rock_128_beat_4-4_2.midi"
        text = path.read_text(encoding="utf-8")
        assert text.count(f",train,{render}") == 1
        path.write_text(text.replace(f",train,{render}", f",test,{render}"), encoding="utf-8")

    repo, committed, head, comment = pull_request(demo, tmp_path, move)
    expected = independent_leaks(repo)
    assert {kind for kind, _ in expected} == {"session", "content_hash"}
    assert leak_keys(committed) == expected
    assert head["leakage"] == committed["leakage"] and head["gates"] == committed["gates"]
    assert head["sources"] == committed["sources"]
    own = read_json(repo / "reports" / "health" / "egmd_20260201.json")
    assert {key for kind, key in leak_keys(own) if kind == "content_hash"} == {
        key for kind, key in expected if kind == "content_hash"}, "the content leaks E-GMD's own report names"
    assert f"**❌ {COMBINED}: <code>leakage</code> now fails: {len(expected)} leaks** (was 0)" in comment


def test_a_source_failing_its_own_leakage_fails_its_source_gate_in_both(demo: Path, tmp_path: Path) -> None:
    """A test render's audio overwritten with a train render's bytes (and the kick gate E-GMD failed
    lowered): E-GMD's own report fails `leakage`, so its source gate fails in the committed combined
    report and in the comment, which no longer says it passes."""

    def overwrite(repo: Path) -> None:
        raw = repo / "data" / "raw" / "egmd"
        shutil.copyfile(raw / "drummer1/session1/1_rock_128_beat_4-4_1.wav",
                        raw / "drummer2/session1/4_hiphop_108_beat_4-4_1.wav")
        config = repo / "configs" / "datasets.toml"
        text = config.read_text(encoding="utf-8")
        at = text.index("[datasets.egmd.gates]")
        config.write_text(text[:at] + text[at:].replace("kick = 50", "kick = 40", 1), encoding="utf-8")

    repo, committed, head, comment = pull_request(demo, tmp_path, overwrite)
    own = read_json(repo / "reports" / "health" / "egmd_20260201.json")
    assert failing(own) == ["leakage"]
    assert committed["sources"]["egmd"] == {"status": "fail", "failing": ["leakage"], "waived": False}
    assert "source_gates[egmd]" in failing(committed)
    assert head["sources"] == committed["sources"] and head["gates"] == committed["gates"]
    assert head["leakage"] == committed["leakage"] and leak_keys(committed) == independent_leaks(repo)
    assert "source_gates&#91;egmd&#93;</code> now passes" not in comment
    assert "source_gates&#91;egmd&#93;</code> still fails: mixed dataset <code>egmd</code> fails " \
           "<code>leakage</code>" in comment


def test_the_demo_pull_request_judges_the_combined_manifest_as_committed(demo: Path) -> None:
    """The demo's own pull request (day one to day two): both sides' combined leaks and gates are the
    committed reports'."""
    for side, date in (("base", "20260114"), ("head", "20260115")):
        shown = read_json(demo / "pr-report" / "reports" / f"{COMBINED}_{side}.json")
        rev = "HEAD~1" if side == "base" else "HEAD"
        text = git(demo, "show", f"{rev}:reports/health/{COMBINED}_health_{date}.json").stdout
        committed = json.loads(text)
        for key in ("leakage", "gates", "sources", "status"):
            assert shown[key] == committed[key], (side, key)
