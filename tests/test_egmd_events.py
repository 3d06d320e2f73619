"""Technique inference on constructed MIDI: flam, drag, roll, choke, half-open hat, ghost/accent."""

from __future__ import annotations

import json

import pytest

from drumgate.errors import DrumgateError
from drumgate.fixtures.egmd import ScoreEvent, midi_bytes
from drumgate.taxonomy import load_taxonomy
from ingest.egmd.drum_events import build_events
from ingest.egmd.event_encoding import EventContext, event_rows
from ingest.egmd.midi import parse_midi_bytes
from ingest.egmd.note_map import load_note_map

BPM = 120  # 480 PPQ at 120 bpm: one tick is 1/960 s


def rows_for(workspace, events: list[ScoreEvent]) -> list[dict]:
    nm = load_note_map(workspace, load_taxonomy(workspace))
    perf = parse_midi_bytes(midi_bytes(events, BPM, "Kit"))
    built = build_events(perf, nm)
    return list(event_rows(built, nm, EventContext("egmd", "s", "i", "train", "f.midi")))


def steady(note: int, count: int, velocity: int = 90, start: int = 0, gap: int = 480) -> list[ScoreEvent]:
    return [ScoreEvent(start + k * gap, "note", note, velocity) for k in range(count)]


def test_flam_marks_the_main_stroke_only(workspace) -> None:
    events = [*steady(38, 8), ScoreEvent(5000, "note", 38, 30), ScoreEvent(5030, "note", 38, 100)]
    rows = rows_for(workspace, sorted(events, key=lambda e: e.tick))
    assert "flam" in rows[-1]["techniques"]
    assert "flam" not in rows[-2]["techniques"]
    assert sum("flam" in r["techniques"] for r in rows) == 1


def test_drag_needs_two_grace_hits(workspace) -> None:
    events = [*steady(38, 8), ScoreEvent(5000, "note", 38, 30), ScoreEvent(5040, "note", 38, 32),
              ScoreEvent(5080, "note", 38, 100)]
    rows = rows_for(workspace, events)
    assert rows[-1]["techniques"].count("drag") == 1 and "flam" not in rows[-1]["techniques"]


def test_roll_marks_every_hit_of_a_fast_run(workspace) -> None:
    events = [*steady(38, 4), *steady(38, 6, velocity=80, start=3000, gap=48)]
    rows = rows_for(workspace, events)
    assert [("roll" in r["techniques"]) for r in rows] == [False] * 4 + [True] * 6


def test_choke_annotates_the_preceding_crash_and_is_not_an_onset(workspace) -> None:
    events = [ScoreEvent(0, "note", 49, 110), ScoreEvent(480, "note", 55, 100),
              ScoreEvent(900, "touch", 49, 127), ScoreEvent(1000, "touch", 49, 0), ScoreEvent(1400, "note", 49, 100)]
    rows = rows_for(workspace, events)
    assert len(rows) == 3
    assert [("choke" in r["techniques"]) for r in rows] == [False, True, False]
    assert rows[1]["variant"] == "crash_1_edge" and rows[1]["labels"] == ["crash", "crash"]
    assert rows[0]["variant"] == "crash_1" and "bow" in rows[0]["techniques"]


def test_hihat_openness_from_last_cc4(workspace) -> None:
    events = [ScoreEvent(0, "cc4", 4, 90), ScoreEvent(0, "note", 42, 80),
              ScoreEvent(480, "cc4", 4, 50), ScoreEvent(480, "note", 46, 80),
              ScoreEvent(960, "cc4", 4, 5), ScoreEvent(960, "note", 26, 80),
              ScoreEvent(1440, "note", 44, 60)]
    rows = rows_for(workspace, events)
    assert [r["techniques"] for r in rows] == [["bow", "closed"], ["bow", "half_open"], ["edge", "open"], ["pedal"]]
    assert [r["attributes"]["cc4"] for r in rows] == [90, 50, 5, 5]


def test_ghost_and_accent_relative_to_the_pad(workspace) -> None:
    events = [*steady(38, 10, velocity=80), ScoreEvent(6000, "note", 38, 30), ScoreEvent(7000, "note", 38, 125),
              *steady(36, 10, velocity=120, start=10000)]
    rows = rows_for(workspace, events)
    snare = [r for r in rows if r["label"] == "snare"]
    assert "ghost" in snare[-2]["techniques"] and "accent" in snare[-1]["techniques"]
    assert not any({"ghost", "accent"} & set(r["techniques"]) for r in rows if r["label"] == "kick")


def test_rim_and_cross_stick_and_toms(workspace) -> None:
    events = [ScoreEvent(0, "note", 40, 90), ScoreEvent(480, "note", 37, 90), ScoreEvent(960, "note", 58, 90),
              ScoreEvent(1440, "note", 45, 90)]
    rows = rows_for(workspace, events)
    assert [(r["label"], r["techniques"]) for r in rows] == [
        ("snare", ["rimshot"]), ("snare", ["cross_stick"]), ("tom_floor", ["rimshot"]), ("tom_mid", [])]


def test_unknown_notes_are_counted_not_emitted(workspace) -> None:
    nm = load_note_map(workspace, load_taxonomy(workspace))
    events = [ScoreEvent(0, "note", 36, 90), ScoreEvent(10, "note", 99, 90), ScoreEvent(20, "note", 99, 90)]
    built = build_events(parse_midi_bytes(midi_bytes(events, BPM, "Kit")), nm)
    assert len(built) == 1 and dict(built.unknown_notes) == {99: 2}
    rows = list(event_rows(built, nm, EventContext("egmd", "s", "i", "train", "f.midi")))
    assert rows[0]["event_id"] == "egmd:i:0"


def test_every_roland_note_is_mapped(workspace) -> None:
    nm = load_note_map(workspace, load_taxonomy(workspace))
    kit = {36, 38, 40, 37, 48, 50, 45, 47, 43, 58, 46, 26, 42, 22, 44, 49, 55, 57, 52, 51, 59, 53}
    aux = {27, 28, 39, 54, 56, 70, 64, 75}
    assert kit | aux <= set(nm.specs)
    assert {nm.specs[n].variant for n in (49, 55, 57, 52)} == {"crash_1", "crash_1_edge", "crash_2", "crash_2_edge"}


def test_note_map_rejects_unknown_class(workspace) -> None:
    path = workspace.configs / "roland_note_map.json"
    raw = json.loads(path.read_text())
    raw["notes"]["36"]["class"] = "bass_drum_xl"
    path.write_text(json.dumps(raw))
    with pytest.raises(DrumgateError, match="notes/36: class 'bass_drum_xl'"):
        load_note_map(workspace, load_taxonomy(workspace))


def test_note_map_schema_is_enforced(workspace) -> None:
    path = workspace.configs / "roland_note_map.json"
    raw = json.loads(path.read_text())
    raw["inference"]["roll"]["min_hits"] = 1
    path.write_text(json.dumps(raw))
    with pytest.raises(DrumgateError, match="min_hits"):
        load_note_map(workspace, load_taxonomy(workspace))
