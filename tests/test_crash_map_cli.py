from __future__ import annotations

from pathlib import Path

import pytest

from drumgate import cli
from drumgate.io.jsonio import read_json, read_jsonl, write_json, write_jsonl
from drumgate.lineage import read_lock, record
from drumgate.workspace import Workspace
from tests.diff_fixtures import make_workspace


def event(n: int, label: str, dataset: str = "egmd", **extra: object) -> dict:
    row = {
        "event_id": f"{dataset}:s{n % 3}:{n}",
        "dataset": dataset,
        "session_id": f"s{n % 3}",
        "item_id": f"s{n % 3}.wav",
        "split": "train",
        "onset_s": n * 0.1,
        "label": label,
        "labels": [],
        "techniques": [],
        "velocity": 90,
        "label_source": "midi",
        "confidence": 1.0,
        "source": {"file": f"s{n % 3}.midi", "note": 49},
    }
    row.update(extra)
    return row


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace(make_workspace(tmp_path / "ws"))


def run(ws: Workspace, *argv: str) -> int:
    return cli.main(["crash-map", "--workspace", str(ws.root), *argv])


def test_crash_family_rows_get_dual_labels_and_others_are_untouched(ws: Workspace) -> None:
    path = ws.events_manifest("egmd")
    rows = [
        event(0, "kick"),
        event(1, "crash", variant="crash_1_edge"),
        event(2, "china"),
        event(3, "crash", variant="cymbal_overhead"),
    ]
    write_jsonl(path, rows)
    assert run(ws) == 0
    out = read_jsonl(path)
    assert out[0] == rows[0]
    assert (out[1]["label"], out[1]["labels"], out[1]["variant"]) == ("crash", ["crash", "crash"], "crash_1_edge")
    assert (out[2]["label"], out[2]["labels"], out[2]["variant"]) == ("crash", ["crash", "china"], "china")
    assert out[3]["labels"] == ["crash", "cymbal"]
    entry = read_lock(ws, "egmd")["artifacts"]["data/manifests/egmd_events.jsonl"]
    assert entry["command"] == "drumgate crash-map --events data/manifests/egmd_events.jsonl"
    assert "configs/crash_dual_label.json" in entry["inputs"]


def test_second_run_changes_nothing_and_does_not_rewrite(ws: Workspace, capsys) -> None:
    path = ws.events_manifest("egmd")
    write_jsonl(path, [event(0, "splash"), event(1, "snare")])
    assert run(ws) == 0
    first = path.stat().st_mtime_ns, path.read_bytes()
    assert run(ws, "--check") == 0
    assert run(ws) == 0
    assert (path.stat().st_mtime_ns, path.read_bytes()) == first
    assert "1 crash-family events, relabelled 0" in capsys.readouterr().out


def test_unmapped_variants_fail_listing_files_and_counts_and_write_nothing(ws: Workspace, capsys) -> None:
    egmd = ws.events_manifest("egmd")
    musdb = ws.events_manifest("musdb_hq")
    ride_crash = [event(n, "ride", variant="ride_crash") for n in (0, 1)]
    write_jsonl(egmd, [*ride_crash, event(2, "china")])
    write_jsonl(musdb, [event(3, "crash", "musdb_hq", variant=name) for name in ("ride_crash", "swish")])
    before = egmd.read_bytes(), musdb.read_bytes()
    assert run(ws) == 1
    assert (egmd.read_bytes(), musdb.read_bytes()) == before
    err = capsys.readouterr().err.splitlines()
    hint = "(add it under variants with its primary and secondary labels)"
    assert err == [
        "configs/crash_dual_label.json: crash variant 'ride_crash' is not mapped: "
        f"data/manifests/egmd_events.jsonl (2), data/manifests/musdb_hq_events.jsonl (1) {hint}",
        "configs/crash_dual_label.json: crash variant 'swish' is not mapped: "
        f"data/manifests/musdb_hq_events.jsonl (1) {hint}",
    ]


def test_new_variant_added_to_config_is_then_applied(ws: Workspace) -> None:
    path = ws.events_manifest("egmd")
    write_jsonl(path, [event(0, "ride", variant="ride_crash")])
    assert run(ws) == 1
    config_path = ws.configs / "crash_dual_label.json"
    config = read_json(config_path)
    config["variants"]["ride_crash"] = {"primary": "crash", "secondary": "ride"}
    write_json(config_path, config)
    assert run(ws) == 0
    assert read_jsonl(path)[0]["labels"] == ["crash", "ride"]


def test_check_mode_reports_pending_changes_without_writing(ws: Workspace, capsys) -> None:
    path = ws.events_manifest("egmd")
    write_jsonl(path, [event(0, "china")])
    before = path.read_bytes()
    assert run(ws, "--check") == 1
    assert path.read_bytes() == before
    assert "would relabel 1" in capsys.readouterr().out


def test_malformed_row_reports_path_line_and_keeps_file(ws: Workspace, capsys) -> None:
    path = ws.events_manifest("egmd")
    write_jsonl(path, [event(0, "china")])
    path.write_bytes(path.read_bytes() + b"{not json\n")
    before = path.read_bytes()
    assert run(ws) == 2
    assert path.read_bytes() == before
    assert "data/manifests/egmd_events.jsonl:2: invalid JSON" in capsys.readouterr().err


def test_gzip_manifest_is_rewritten_as_gzip(ws: Workspace) -> None:
    path = ws.events_manifest("egmd").with_suffix(".jsonl.gz")
    write_jsonl(path, [event(0, "splash")])
    assert run(ws, "--events", str(path)) == 0
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    assert read_jsonl(path)[0]["labels"] == ["crash", "splash"]


def test_stale_manifest_is_not_rerecorded(ws: Workspace, capsys) -> None:
    path = ws.events_manifest("egmd")
    raw = ws.root / "data" / "manifests" / "egmd_sessions.jsonl"
    write_jsonl(raw, [{"session_id": "s0"}])
    write_jsonl(path, [event(0, "china")])
    record(ws, "egmd", path, ["ingest", "egmd"], inputs=[raw])
    write_jsonl(raw, [{"session_id": "s1"}])
    assert run(ws) == 2
    assert "stale: input data/manifests/egmd_sessions.jsonl changed" in capsys.readouterr().err


def test_a_variant_that_is_no_string_is_a_bad_row_not_overwritten(ws: Workspace, capsys) -> None:
    """`"variant": 5` on a crash row was rewritten to the label `crash`, losing what the row held."""
    path = ws.events_manifest("egmd")
    write_jsonl(path, [event(0, "china"), event(1, "crash", variant=5)])
    before = path.read_bytes()
    assert run(ws) == 2
    assert path.read_bytes() == before
    err = capsys.readouterr().err
    assert "data/manifests/egmd_events.jsonl:2: variant 5 is not a string" in err
    assert "Traceback" not in err


def test_an_unmapped_variant_still_counts_as_crash_family(ws: Workspace, capsys) -> None:
    path = ws.events_manifest("egmd")
    write_jsonl(path, [event(0, "china"), event(1, "crash", variant="swish"), event(2, "kick")])
    assert run(ws, "--check") == 1
    out = capsys.readouterr().out
    assert "data/manifests/egmd_events.jsonl: 2 crash-family events, would relabel 1" in out, out
