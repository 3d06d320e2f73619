"""compute_health: counts, gates with exact observed values, leakage, unknowns, malformed rows."""

from __future__ import annotations

import jsonschema
import pytest

from drumgate.errors import DrumgateError
from drumgate.fixtures.health_events import event, numbered
from drumgate.io.jsonio import read_json
from drumgate.reports.gates import failing_gates, load_health_config
from drumgate.reports.health import compute_health
from drumgate.workspace import Workspace


def _session(session_id: str, split: str, per_class: int, rimshots: int = 0) -> list[dict]:
    rows = [event(session_id, "kick", split, index=i) for i in range(per_class)]
    rows += [event(session_id, "snare", split, index=i, techniques=("rimshot",)) for i in range(rimshots)]
    rows += [event(session_id, "snare", split, index=i) for i in range(per_class - rimshots)]
    rows += [event(session_id, "hihat", split, index=i, techniques=("closed",)) for i in range(per_class)]
    return rows


def _healthy_rows() -> list[dict]:
    return _session("s1", "train", 30, rimshots=5) + _session("s2", "train", 20) + _session("s3", "test", 10)


def _gate(report: dict, name: str) -> dict:
    return next(gate for gate in report["gates"] if gate["name"] == name)


def _validate(workspace: Workspace, report: dict) -> None:
    schema = read_json(workspace.schemas / "health.schema.json")
    jsonschema.Draft202012Validator(schema).validate(report)


def test_every_configured_gate_passes_with_exact_observed_values(workspace: Workspace) -> None:
    report = compute_health(load_health_config(workspace, "egmd"), numbered(_healthy_rows()))
    _validate(workspace, report)
    assert report["status"] == "pass"
    assert failing_gates(report) == []
    observed = {gate["name"]: (gate["status"], gate["observed"], gate["threshold"]) for gate in report["gates"]}
    assert observed == {
        "min_sessions": ("pass", 3, 2),
        "min_class_events[hihat]": ("pass", 60, 50),
        "min_class_events[kick]": ("pass", 60, 50),
        "min_class_events[snare]": ("pass", 60, 50),
        "min_technique_events[rimshot]": ("pass", 5, 1),
        "max_missing_audio_fraction": ("pass", 0.0, 0.1),
        "max_unknown_label_fraction": ("pass", 0.0, 0.01),
        "split_bounds[train]": ("pass", 0.833333, [0.5, 0.95]),
        "leakage": ("pass", 0, 0),
    }
    assert report["totals"] == {
        "events": 180,
        "sessions": 3,
        "items": 3,
        "hours": 0.0,
        "missing_audio_items": 0,
        "unknown_label_events": 0,
    }
    assert report["splits"] == {"test": {"events": 30, "sessions": 1}, "train": {"events": 150, "sessions": 2}}
    assert report["sessions"]["s2"] == {"events": 60, "split": "train"}
    assert report["techniques"] == {"closed": 60, "rimshot": 5}
    assert report["label_sources"] == {"midi": 180}


def test_failing_gates_name_observed_and_threshold(workspace: Workspace) -> None:
    report = compute_health(load_health_config(workspace, "egmd"), numbered(_session("s1", "train", 30)))
    assert report["status"] == "fail"
    assert failing_gates(report) == [
        "min_sessions: observed 1 vs threshold 2",
        "min_class_events[hihat]: observed 30 vs threshold 50",
        "min_class_events[kick]: observed 30 vs threshold 50",
        "min_class_events[snare]: observed 30 vs threshold 50",
        "min_technique_events[rimshot]: observed 0 vs threshold 1",
        "split_bounds[train]: observed 1.0 vs threshold [0.5, 0.95]",
    ]


def test_command_line_requirements_resolve_aliases_and_count_descendants(workspace: Workspace) -> None:
    rows = _healthy_rows() + [event("s1", "tom_high", index=i) for i in range(3)] + [event("s2", "hft")]
    report = compute_health(
        load_health_config(workspace, "egmd"),
        numbered(rows),
        extra_class_gates={"toms": 5, "ride": 1},
        extra_technique_gates={"rim": 6},
    )
    assert _gate(report, "min_class_events[tom]") == {
        "name": "min_class_events[tom]",
        "status": "fail",
        "observed": 4,
        "threshold": 5,
    }
    assert _gate(report, "min_class_events[ride]")["observed"] == 0
    assert _gate(report, "min_technique_events[rimshot]") == {
        "name": "min_technique_events[rimshot]",
        "status": "fail",
        "observed": 5,
        "threshold": 6,
    }
    assert report["classes"]["tom_floor"] == 1


@pytest.mark.parametrize("typed", [0, 10, 49])
def test_a_command_line_minimum_below_the_configured_one_does_not_lower_it(workspace: Workspace, typed: int) -> None:
    """`--require-class kick=10` replaced E-GMD's configured 50, and a failing dataset passed."""
    rows = numbered(_session("s1", "train", 30))
    configured = compute_health(load_health_config(workspace, "egmd"), rows)
    typed_lower = compute_health(load_health_config(workspace, "egmd"), rows, extra_class_gates={"bd": typed})
    assert _gate(typed_lower, "min_class_events[kick]") == _gate(configured, "min_class_events[kick]")
    assert _gate(typed_lower, "min_class_events[kick]")["threshold"] == 50
    raised = compute_health(load_health_config(workspace, "egmd"), rows, extra_class_gates={"kick": 70})
    assert _gate(raised, "min_class_events[kick]")["threshold"] == 70


def test_unknown_gate_class_is_a_usage_error(workspace: Workspace) -> None:
    with pytest.raises(DrumgateError, match=r"--require-class 'gong': not a class") as raised:
        compute_health(load_health_config(workspace, "egmd"), numbered(_healthy_rows()), extra_class_gates={"gong": 1})
    assert raised.value.hint is not None and raised.value.hint.startswith("fix: pass --require-class ")


def test_an_unknown_class_in_a_configured_gate_is_worded_at_its_line(workspace: Workspace) -> None:
    config = workspace.configs / "datasets.toml"
    text = config.read_text(encoding="utf-8")
    start = text.index("[datasets.egmd.gates]")
    config.write_text(text[:start] + text[start:].replace("kick = ", "kik = ", 1), encoding="utf-8")
    line = 1 + text[:start].count("\n") + text[start:].split("kick = ")[0].count("\n")
    with pytest.raises(DrumgateError) as caught:
        load_health_config(workspace, "egmd")
    err = caught.value
    assert (err.path, err.line) == (config, line)
    assert err.message.startswith("datasets.egmd.gates.min_class_events: 'kik' is not a class")
    assert "kick" in err.message
    assert err.hint == "fix: change it at that line to one of the known names"


def test_unknown_labels_and_techniques_are_counted_not_fatal(workspace: Workspace) -> None:
    rows = _healthy_rows()
    rows += [event("s1", "gong")]
    rows += [event("s1", "bd", techniques=("wobble", "rs"))]
    report = compute_health(load_health_config(workspace, "egmd"), numbered(rows))
    assert report["unknowns"] == {"labels": {"gong": 1}, "techniques": {"wobble": 1}}
    assert report["totals"]["unknown_label_events"] == 1
    assert report["classes"]["kick"] == 61
    assert report["techniques"]["rimshot"] == 6
    gate = _gate(report, "max_unknown_label_fraction")
    assert gate == {"name": "max_unknown_label_fraction", "status": "pass", "observed": 0.005495, "threshold": 0.01}
    rows += [event("s1", "gong"), event("s2", "Mystery Bell")]
    report = compute_health(load_health_config(workspace, "egmd"), numbered(rows))
    assert report["unknowns"]["labels"] == {"Mystery Bell": 1, "gong": 2}
    gate = _gate(report, "max_unknown_label_fraction")
    assert gate == {"name": "max_unknown_label_fraction", "status": "fail", "observed": 0.016304, "threshold": 0.01}


def test_leakage_by_session_performance_and_audio_hash(workspace: Workspace) -> None:
    rows = _healthy_rows()
    rows += [event("s3", "kick", "train", index=99)]
    rows += [event("p-a", "kick", "train", performance="perf-7"), event("p-b", "kick", "test", performance="perf-7")]
    sessions = [
        {"session_id": "s1", "split": "train", "files": [{"path": "a.wav", "status": "ok", "sha256": "ab" * 32}]},
        {"session_id": "s2", "split": "train", "files": [{"path": "b.wav", "status": "ok", "sha256": "cd" * 32}]},
        {"session_id": "s3", "split": "test", "files": [{"path": "c.wav", "status": "ok", "sha256": "cd" * 32}]},
    ]
    report = compute_health(load_health_config(workspace, "egmd"), numbered(rows), sessions)
    assert report["leakage"] == [
        {"kind": "session", "key": "s3", "splits": ["test", "train"]},
        {"kind": "performance", "key": "perf-7", "splits": ["test", "train"]},
        {"kind": "audio_hash", "key": "cd" * 32, "splits": ["test", "train"]},
    ]
    assert _gate(report, "leakage") == {"name": "leakage", "status": "fail", "observed": 3, "threshold": 0}
    assert report["sessions"]["s3"] == {"events": 31, "split": "test"}


def test_session_inventory_gives_hours_items_and_missing_audio(workspace: Workspace) -> None:
    sessions = [
        {
            "session_id": "s1",
            "seconds": 1800.0,
            "files": [{"path": "a", "status": "ok"}, {"path": "b", "status": "ok"}],
        },
        {"session_id": "s2", "seconds": 900.0, "files": [{"path": "c", "status": "missing_audio"}]},
        {"session_id": "s3", "files": [{"path": "d", "status": "ok", "format": {"seconds": 900.0}}]},
        {"session_id": "s4", "status": "missing_audio", "files": []},
    ]
    report = compute_health(load_health_config(workspace, "egmd"), numbered(_healthy_rows()), sessions)
    assert report["totals"]["hours"] == 1.0
    assert report["totals"]["items"] == 5
    assert report["totals"]["missing_audio_items"] == 2
    # s4 is listed without events: it counts toward no session total or gate, as toward no hours
    assert report["totals"]["sessions"] == 3 and _gate(report, "min_sessions")["observed"] == 3
    assert report["sessions"]["s4"] == {"events": 0, "split": "unassigned", "status": "missing_audio"}
    assert report["storage"] == {  # issue 16: sessions and items by status and tier (unknown when a row lacks one)
        "sessions": {"by_status": {"missing_audio": 1, "unknown": 3}, "by_tier": {"unknown": 4}},
        "items": {"by_status": {"missing_audio": 2, "ok": 3}, "by_tier": {"unknown": 5}},
    }
    gate = _gate(report, "max_missing_audio_fraction")
    assert gate == {"name": "max_missing_audio_fraction", "status": "fail", "observed": 0.4, "threshold": 0.1}


def test_vocabulary_reduction_and_velocity_histogram(workspace: Workspace) -> None:
    rows = [*_healthy_rows(), event("s1", "ride", velocity=None), event("s1", "tom_mid", velocity=127)]
    report = compute_health(load_health_config(workspace, "egmd"), numbered(rows), vocabulary="kick_snare_hihat")
    assert report["vocabulary"] == "kick_snare_hihat"
    assert report["vocabulary_classes"] == {"BD": 60, "HH": 60, "SD": 60, "unmapped": 2}
    histogram = report["velocity_histogram"]
    assert histogram["edges"] == [0, 16, 32, 48, 64, 80, 96, 112, 128]
    assert histogram["counts"] == [0, 0, 0, 0, 0, 0, 180, 1]
    assert histogram["null"] == 1
    _validate(workspace, report)


def test_combined_dataset_uses_combined_gates(workspace: Workspace) -> None:
    report = compute_health(load_health_config(workspace, "prod_combined"), numbered(_healthy_rows()))
    assert [gate["name"] for gate in report["gates"]] == [
        "min_sessions",
        "min_hours",
        "min_class_events[hihat]",
        "min_class_events[kick]",
        "min_class_events[snare]",
        "max_missing_audio_fraction",
        "max_unknown_label_fraction",
        "leakage",
    ]
    # Audio hours are gated like the sources' audio (issue 16): events without a sessions inventory have none.
    assert [g["name"] for g in report["gates"] if g["status"] == "fail"] == ["min_hours"]


def test_malformed_row_raises_with_its_line(workspace: Workspace) -> None:
    rows = _healthy_rows()
    del rows[4]["label"]
    with pytest.raises(DrumgateError) as caught:
        compute_health(load_health_config(workspace, "egmd"), numbered(rows))
    assert caught.value.line == 5
    assert "lacks field 'label'" in caught.value.message


def test_malformed_rows_are_all_reported_and_neighbours_kept(workspace: Workspace) -> None:
    rows = _healthy_rows()
    rows[2]["split"] = "holdout"
    rows[7]["velocity"] = 300
    del rows[9]["session_id"]
    errors: list[DrumgateError] = []
    report = compute_health(load_health_config(workspace, "egmd"), numbered(rows), on_error=errors.append)
    assert sorted((error.line, error.message.split(" ")[0]) for error in errors) == [
        (3, "split"),
        (8, "velocity"),
        (10, "event"),
    ]
    # each malformed row is left out of every table: 180 rows, 3 malformed
    assert report["totals"]["events"] == 177
    assert sum(split["events"] for split in report["splits"].values()) == 177


def test_report_is_deterministic(workspace: Workspace) -> None:
    first = compute_health(load_health_config(workspace, "egmd"), numbered(_healthy_rows()))
    second = compute_health(load_health_config(workspace, "egmd"), numbered(list(reversed(_healthy_rows()))))
    assert first == second


def test_an_annotation_file_is_no_item_but_a_track_it_leaves_unusable_counts_as_not_read() -> None:
    """MDB Drums lists each track's annotation beside its audio: counted as an item, a track whose audio
    is missing weighed 1/2, and a user's 0.05 threshold passed 2 of 23 tracks missing."""
    from drumgate.reports.health_sessions import read_session_facts

    def track(name: str, status: str, audio: str, labels: str) -> dict:
        return {"session_id": name, "split": "test", "status": status, "seconds": 1.0,
                "files": [{"path": f"{name}.wav", "role": "drum_only", "status": audio},
                          {"path": f"{name}.txt", "role": "annotation", "status": labels}]}

    facts = read_session_facts([track("a", "ok", "ok", "ok"), track("b", "missing_audio", "missing_audio", "ok"),
                                track("c", "unreadable", "ok", "unreadable")])
    assert (facts.items, facts.missing_audio_items) == (3, 2)
