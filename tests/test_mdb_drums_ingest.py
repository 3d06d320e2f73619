"""`drumgate ingest mdb_drums` on a generated tree in the release's layout: human annotations become
`label_source: annotation` events in taxonomy terms, damaged input is one line per problem, and
`drumgate init` knows the fourth dataset without mixing it into training."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from drumgate import cli
from drumgate.io.jsonio import read_jsonl
from drumgate.workspace import Workspace
from tests.mdb_fixtures import MdbTree, make_mdb_tree

EXPECTED = {"KD": ("kick", []), "SD": ("snare", []), "SST": ("snare", ["cross_stick"]),
            "CHH": ("hihat", ["closed"]), "OHH": ("hihat", ["open"]), "CRC": ("crash", [])}


@pytest.fixture
def tree(workspace: Workspace) -> MdbTree:
    return make_mdb_tree(workspace.root / "data" / "raw" / "mdb_drums")


def events_by_track(ws: Workspace) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for row in read_jsonl(ws.events_manifest("mdb_drums")):
        grouped.setdefault(row["session_id"], []).append(row)
    return grouped


def test_annotations_become_taxonomy_events(workspace: Workspace, tree: MdbTree, capsys) -> None:
    assert cli.main(["ingest", "mdb_drums"]) == 0
    grouped = events_by_track(workspace)
    assert list(grouped) == sorted(tree.tracks)
    for track, hits in tree.annotations.items():
        rows = grouped[track]
        assert [(row["onset_s"], row["attributes"]["annotation"]) for row in rows] == [
            (round(time, 6), label) for time, label in hits
        ]
        for row in rows:
            label, techniques = EXPECTED[row["attributes"]["annotation"]]
            assert (row["label"], row["techniques"]) == (label, techniques)
            assert row["label_source"] == "annotation" and row["velocity"] is None and row["split"] == "test"
            assert row["labels"] == (["crash", "crash"] if label == "crash" else [])
    sessions = read_jsonl(workspace.sessions_manifest("mdb_drums"))
    assert [row["files"][0]["format"]["rate"] for row in sessions] == [44_100] * len(tree.tracks)
    assert {row["status"] for row in sessions} == {"ok"}


def test_an_empty_root_is_a_finding(workspace: Workspace, capsys) -> None:
    (workspace.root / "data" / "raw" / "mdb_drums").mkdir(parents=True)
    assert cli.main(["ingest", "mdb_drums"]) == 1
    found = "data/raw/mdb_drums: no MDB Drums tracks found (expected audio/drum_only/<Track>_Drum.wav"
    assert found in capsys.readouterr().err
    assert read_jsonl(workspace.events_manifest("mdb_drums")) == []


def test_crash_map_finds_nothing_to_change(workspace: Workspace, tree: MdbTree, capsys) -> None:
    assert cli.main(["ingest", "mdb_drums"]) == 0
    before = workspace.events_manifest("mdb_drums").read_bytes()
    assert cli.main(["crash-map"]) == 0
    assert workspace.events_manifest("mdb_drums").read_bytes() == before


def test_bad_lines_are_findings_and_their_neighbours_stay(workspace: Workspace, tree: MdbTree, capsys) -> None:
    track = tree.tracks[0]
    path = tree.subclass_file(track)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[2] = "1.250000 \t XYZ "
    lines[4] = "not a line"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert cli.main(["ingest", "mdb_drums"]) == 1
    err = capsys.readouterr().err.splitlines()
    shown = f"{workspace.root}/data/raw/mdb_drums/annotations/subclass/{track}_subclass.txt"
    assert err == [
        f"{shown}:3: label 'XYZ' is not mapped (map it in configs/mdb_drums.json labels)",
        f"{shown}:5: 1 tab-separated fields, expected `time \\t LABEL` (expected `time \\t LABEL`)",
    ]
    assert len(events_by_track(workspace)[track]) == len(lines) - 2


def test_a_truncated_wav_is_a_finding_and_keeps_its_annotations(workspace: Workspace, tree: MdbTree, capsys) -> None:
    track = tree.tracks[1]
    audio = tree.audio(track)
    audio.write_bytes(audio.read_bytes()[:5000])
    (tree.subclass_file(tree.tracks[2])).unlink()
    assert cli.main(["ingest", "mdb_drums"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2
    assert any(line.startswith(f"{audio}: truncated audio: header promises") for line in err)
    assert any(line.endswith(f"{tree.tracks[2]}_subclass.txt: annotation file missing (restore it from the release)")
               for line in err)
    sessions = {row["session_id"]: row for row in read_jsonl(workspace.sessions_manifest("mdb_drums"))}
    assert sessions[track]["status"] == "unreadable" and sessions[track]["files"][0]["format"] is None
    assert len(events_by_track(workspace)[track]) == len(tree.annotations[track])
    assert tree.tracks[2] not in events_by_track(workspace)
    missing = sessions[tree.tracks[2]]
    assert missing["status"] == "unreadable", "a track without annotations cannot be evaluated"
    assert [(f["role"], f["status"]) for f in missing["files"]] == [("drum_only", "ok"), ("annotation", "unreadable")]
    assert missing["warnings"] == [f"annotations/subclass/{tree.tracks[2]}_subclass.txt: no onset could be read, "
                                   "so the track cannot be evaluated"]


@pytest.mark.parametrize("content", ["", "\n \n"], ids=["empty", "blank"])
def test_an_empty_annotation_file_is_a_finding_and_fails_health(workspace: Workspace, tree: MdbTree, capsys,
                                                                  content: str) -> None:
    """An evaluation track with nothing to evaluate against: it was `ok`, and health passed on the rest."""
    track = tree.tracks[0]
    tree.subclass_file(track).write_text(content, encoding="utf-8")
    assert cli.main(["ingest", "mdb_drums"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"{tree.subclass_file(track)}: annotation file holds no onsets (restore it from the release)"]
    sessions = {row["session_id"]: row for row in read_jsonl(workspace.sessions_manifest("mdb_drums"))}
    assert sessions[track]["status"] == "unreadable"
    events = str(workspace.events_manifest("mdb_drums"))
    assert cli.main(["health", "--events", events, "--dataset", "mdb_drums", "--date", "2026-01-01"]) == 1
    err = capsys.readouterr().err
    assert "gate max_missing_audio_fraction: observed" in err, err
    assert f"; sessions not read: {track} (unreadable) (report: " in err, "the gate names the track it counted"


def test_a_label_mapped_to_no_taxonomy_class_stops_before_writing(workspace: Workspace, tree: MdbTree, capsys) -> None:
    config = workspace.configs / "mdb_drums.json"
    raw = json.loads(config.read_text(encoding="utf-8"))
    raw["labels"]["KD"]["class"] = "bass_pedal"
    config.write_text(json.dumps(raw), encoding="utf-8")
    assert cli.main(["ingest", "mdb_drums"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["configs/mdb_drums.json: labels.KD: class 'bass_pedal' is not a taxonomy class id (fix: write one"
                   " of the class ids as labels.KD.class in configs/mdb_drums.json (china, clap, claves, conga,"
                   " cowbell, crash, cymbal, hihat, kick, percussion, ride, shaker, snare, splash, tambourine, tom,"
                   " tom_floor, tom_high, tom_low, tom_mid, woodblock))"]
    assert not workspace.events_manifest("mdb_drums").exists()


def test_init_knows_four_datasets_and_mixes_only_the_training_ones(tmp_path: Path, capsys) -> None:
    assert cli.main(["init", str(tmp_path / "all"), "--no-hooks"]) == 0
    config = tomllib.loads((tmp_path / "all" / "configs" / "datasets.toml").read_text(encoding="utf-8"))
    assert set(config["datasets"]) == {"cambridge", "musdb_hq", "egmd", "mdb_drums"}
    assert config["combined"]["mix"] == {"cambridge": 1.0, "musdb_hq": 1.0, "egmd": 1.0}
    assert (tmp_path / "all" / "data" / "licenses" / "mdb_drums.md").is_file()
    assert cli.main(["init", str(tmp_path / "one"), "--datasets", "egmd", "--no-hooks"]) == 0
    config = tomllib.loads((tmp_path / "one" / "configs" / "datasets.toml").read_text(encoding="utf-8"))
    assert set(config["datasets"]) == {"egmd"} and config["combined"]["mix"] == {"egmd": 1.0}
    assert not (tmp_path / "one" / "data" / "licenses" / "mdb_drums.md").exists()


def test_a_repository_holding_only_mdb_drums_reproes_without_a_combine(
    workspace: Workspace, tree: MdbTree, capsys
) -> None:
    """MDB Drums is an evaluation set, never mixed: with nothing else ingested, combine has nothing
    to mix and repro skips it (it stopped there with exit 2 and never wrote the docs)."""
    assert cli.main(["ingest", "mdb_drums"]) == 0
    assert cli.main(["repro"]) == 0, capsys.readouterr().err
    assert "drumgate combine" not in capsys.readouterr().out
    assert (workspace.root / "DATASET_READINESS_PLAN.md").is_file()


def test_two_spellings_of_one_label_stop_before_writing(workspace: Workspace, tree: MdbTree, capsys) -> None:
    config = workspace.configs / "mdb_drums.json"
    raw = json.loads(config.read_text(encoding="utf-8"))
    raw["labels"]["kd"] = {"class": "snare", "techniques": []}  # annotations are matched case-blind: KD's hits
    config.write_text(json.dumps(raw), encoding="utf-8")
    assert cli.main(["ingest", "mdb_drums"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["configs/mdb_drums.json: labels.kd: the same label as labels.KD (labels are matched whatever their"
                   " case) (fix: remove one of 'KD' and 'kd' from configs/mdb_drums.json)"]
    assert not workspace.events_manifest("mdb_drums").exists()
