from __future__ import annotations

from drumgate import lineage
from drumgate.io.jsonio import write_json, write_jsonl
from drumgate.workspace import Workspace


def _make(ws: Workspace) -> tuple[str, str]:
    events = "data/manifests/egmd_events.jsonl"
    report = "reports/health/egmd_20260115.json"
    write_jsonl(ws.path(events), [{"event_id": "a", "label": "kick"}])
    lineage.record(ws, "egmd", events, ["ingest", "egmd"], inputs=["configs/technique_taxonomy.json"],
                   external_inputs={"raw:egmd/primary": "abc"})
    write_json(ws.path(report), {"classes": {"kick": 1}})
    lineage.record(ws, "egmd", report, ["health", "--events", events], inputs=[events])
    return events, report


def test_fresh_group_has_no_problems_and_lock_is_deterministic(workspace: Workspace) -> None:
    _make(workspace)
    first = workspace.lock_file("egmd").read_bytes()
    assert lineage.check(workspace, "egmd") == []
    _make(workspace)
    assert workspace.lock_file("egmd").read_bytes() == first
    lock = lineage.read_lock(workspace, "egmd")
    entry = lock["artifacts"]["reports/health/egmd_20260115.json"]
    assert entry["command"] == "drumgate health --events data/manifests/egmd_events.jsonl"
    assert list(entry["inputs"]) == ["data/manifests/egmd_events.jsonl"]


def test_hand_edit_and_stale_input_are_reported_with_the_command(workspace: Workspace) -> None:
    events, report = _make(workspace)
    write_json(workspace.path(report), {"classes": {"kick": 2}})
    write_jsonl(workspace.path(events), [{"event_id": "a", "label": "snare"}])
    problems = {(p.artifact, p.message, p.command) for p in lineage.check(workspace, "egmd")}
    assert (report, "differs from what its command wrote (edited by hand?)",
            "drumgate health --events data/manifests/egmd_events.jsonl") in problems
    assert (report, f"stale: input {events} changed since it was made",
            "drumgate health --events data/manifests/egmd_events.jsonl") in problems
    assert (events, "differs from what its command wrote (edited by hand?)", "drumgate ingest egmd") in problems


def test_superseded_dated_report_is_history(workspace: Workspace) -> None:
    events, _ = _make(workspace)
    write_jsonl(workspace.path(events), [{"event_id": "a", "label": "snare"}])
    lineage.record(workspace, "egmd", events, ["ingest", "egmd"])
    newer = "reports/health/egmd_20260116.json"
    write_json(workspace.path(newer), {"classes": {"snare": 1}})
    lineage.record(workspace, "egmd", newer, ["health", "--events", events], inputs=[events])
    assert lineage.check(workspace, "egmd") == []
    assert lineage.superseded([newer, "reports/health/egmd_20260115.json", events]) == {
        "reports/health/egmd_20260115.json"
    }


def test_dated_summaries_are_superseded_too() -> None:
    names = ["reports/health/2026-01-14-health-summary.md", "reports/health/2026-01-15-health-summary.md",
             "reports/sampling/egmd_weights_20260114.json", "reports/sampling/egmd_weights_20260115.json",
             "reports/health/musdb_hq_20260114.json"]
    assert lineage.superseded(names) == {
        "reports/health/2026-01-14-health-summary.md",
        "reports/sampling/egmd_weights_20260114.json",
    }
