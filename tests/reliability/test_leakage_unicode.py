"""The leakage gate compares names after NFKC (NFC included) and case folding, and flags one source
file (the provenance sha256) filed under different sessions in different splits."""

from __future__ import annotations

import hashlib
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from drumgate.fixtures.health_events import event_rows
from drumgate.io.jsonio import read_json, write_jsonl
from drumgate.reports.gates import load_health_config
from drumgate.reports.health import compute_health
from drumgate.reports.health_sessions import read_source_hashes
from drumgate.workspace import Workspace
from tests.reliability.support import DATE, make_workspace, run_drumgate

CAFE_NFC = unicodedata.normalize("NFC", "Café Society - Blue Room")
CAFE_NFD = unicodedata.normalize("NFD", CAFE_NFC)
FILLER = ("Alpha - One", "Beta - Two")


def events_for(splits: dict[str, str], events: int = 240) -> list[dict[str, Any]]:
    """`events` rows spread over the named sessions, each session in the split given."""
    names = list(splits)
    rows = list(event_rows(events, sessions=len(names), items_per_session=1))
    originals = sorted({row["session_id"] for row in rows})
    renamed = dict(zip(originals, names, strict=True))
    for row in rows:
        row["session_id"] = renamed[row["session_id"]]
        row["item_id"] = f"{row['session_id']}/mix.wav"
        row["split"] = splits[row["session_id"]]
    return rows


def provenance_row(session_id: str, *contents: bytes) -> dict[str, Any]:
    return {
        "session_id": session_id,
        "source_files": [
            {"path": f"{session_id}/{index}.wav", "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
            for index, data in enumerate(contents)
        ],
    }


def health(ws: Workspace, splits: dict[str, str], provenance: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    hashes = read_source_hashes(enumerate(provenance, 1), "provenance.jsonl") if provenance is not None else None
    return compute_health(load_health_config(ws, "egmd"), enumerate(events_for(splits), 1), source_hashes=hashes)


def leakage_gate(report: dict[str, Any]) -> dict[str, Any]:
    return next(gate for gate in report["gates"] if gate["name"] == "leakage")


def test_nfc_and_nfd_spellings_of_one_track_in_two_splits_fail_the_gate(workspace: Workspace) -> None:
    assert CAFE_NFC != CAFE_NFD
    report = health(workspace, {CAFE_NFC: "train", CAFE_NFD: "test", FILLER[0]: "train"})
    assert leakage_gate(report)["status"] == "fail"
    assert report["status"] == "fail"
    (leak,) = [leak for leak in report["leakage"] if leak["kind"] == "session"]
    assert leak["splits"] == ["test", "train"]
    assert sorted(leak["sources"]) == sorted([CAFE_NFC, CAFE_NFD])


@pytest.mark.parametrize("variant", ["TRACK one - take 2", "Track One - Take 2", "ＴＲＡＣＫ ＯＮＥ - TAKE 2"])
def test_a_case_or_width_only_variant_in_another_split_fails_the_gate(workspace: Workspace, variant: str) -> None:
    report = health(workspace, {"track one - take 2": "validation", variant: "test", FILLER[0]: "train"})
    assert leakage_gate(report)["status"] == "fail"
    (leak,) = report["leakage"]
    assert leak["kind"] == "session" and leak["splits"] == ["test", "validation"]


def test_identical_content_under_two_names_in_two_splits_fails_the_gate(workspace: Workspace) -> None:
    same = b"RIFF one recording, filed twice"
    provenance = [
        provenance_row("Gamma - Three", same, b"other stem"),
        provenance_row("Delta - Renamed Copy", same),
        provenance_row(FILLER[0], b"unrelated"),
    ]
    report = health(workspace, {"Gamma - Three": "train", "Delta - Renamed Copy": "test", FILLER[0]: "train"},
                    provenance)
    assert leakage_gate(report)["status"] == "fail"
    (leak,) = report["leakage"]
    assert leak["kind"] == "content_hash"
    assert leak["key"] == hashlib.sha256(same).hexdigest()
    assert leak["splits"] == ["test", "train"]
    assert leak["sources"] == ["Delta - Renamed Copy", "Gamma - Three"]


def test_different_tracks_pass_and_shared_content_within_a_split_or_empty_files_do_not_leak(
    workspace: Workspace,
) -> None:
    splits = {"Gamma - Three": "train", "Delta - Four": "test", FILLER[0]: "train", FILLER[1]: "validation"}
    provenance = [
        provenance_row("Gamma - Three", b"gamma", b"shared within train", b""),
        provenance_row(FILLER[0], b"shared within train", b""),
        provenance_row("Delta - Four", b"delta", b""),
        provenance_row("Not In These Events", b"gamma"),
        provenance_row(FILLER[1], b"beta"),
    ]
    report = health(workspace, splits, provenance)
    assert report["leakage"] == []
    assert leakage_gate(report)["status"] == "pass"


def test_a_malformed_provenance_row_is_one_line_naming_file_and_line() -> None:
    from drumgate.errors import DrumgateError

    with pytest.raises(DrumgateError) as caught:
        read_source_hashes(enumerate([provenance_row("A", b"a"), {"session_id": "B"}], 1), "p.jsonl")
    assert str(caught.value).startswith("p.jsonl:2: provenance row without")


def write_group(root: Path, splits: dict[str, str], provenance: list[dict[str, Any]]) -> None:
    write_jsonl(root / "data" / "manifests" / "egmd_events.jsonl", events_for(splits))
    write_jsonl(root / "data" / "provenance" / "egmd_provenance.jsonl", provenance)


def test_health_command_finds_the_group_provenance_and_records_it(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    same = b"one drum take"
    write_group(
        root,
        {"Gamma - Three": "train", "Delta - Copy": "test", FILLER[0]: "train"},
        [provenance_row("Gamma - Three", same), provenance_row("Delta - Copy", same)],
    )
    run = run_drumgate(["health", "--workspace", str(root), "--events", "data/manifests/egmd_events.jsonl",
                        "--date", DATE], cwd=root)
    assert run.code == 1, run.describe()
    assert "leakage: observed 1 vs threshold 0" in run.stderr, run.describe()
    report = read_json(root / "reports" / "health" / f"egmd_{DATE.replace('-', '')}.json")
    assert [leak["kind"] for leak in report["leakage"]] == ["content_hash"]
    lock_text = "".join(path.read_text(encoding="utf-8") for path in (root / "data" / "locks").rglob("*.json"))
    assert "data/provenance/egmd_provenance.jsonl" in lock_text, "provenance is an input of the health report"


def test_health_command_without_provenance_still_catches_spellings(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    write_jsonl(root / "elsewhere" / "egmd_events.jsonl",
                events_for({CAFE_NFC: "train", CAFE_NFD: "validation", FILLER[0]: "train"}))
    run = run_drumgate(["health", "--workspace", str(root), "--events", "elsewhere/egmd_events.jsonl",
                        "--date", DATE], cwd=root)
    assert run.code == 1, run.describe()
    assert "leakage: observed 1 vs threshold 0" in run.stderr, run.describe()


def test_health_command_with_an_explicit_provenance_and_a_bad_row_is_exit_2(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    write_jsonl(root / "in" / "egmd_events.jsonl", events_for({FILLER[0]: "train", FILLER[1]: "test"}))
    write_jsonl(root / "in" / "prov.jsonl", [{"session_id": FILLER[0], "source_files": "not a list"}])
    run = run_drumgate(["health", "--workspace", str(root), "--events", "in/egmd_events.jsonl",
                        "--provenance", "in/prov.jsonl", "--date", DATE], cwd=root)
    assert run.code == 2, run.describe()
    assert run.stderr.startswith("in/prov.jsonl:1: provenance row without"), run.describe()
    assert len(run.stderr.splitlines()) == 1, run.describe()
