"""The compiled technique pass gives exactly the reference's events (issue 18): every column with
its dtype, the unknown-note counts and the choke warnings, compiled and interpreted, on generated
performances that exercise every rule and on random ones."""

from __future__ import annotations

import dataclasses
import random

import numpy as np
import pytest

from drumgate.fixtures.egmd import ScoreEvent, midi_bytes, performance_score
from drumgate.taxonomy import load_taxonomy
from drumgate.workspace import PACKAGE_ROOT, Workspace
from ingest.egmd.drum_events import PerformanceEvents, build_events, build_events_reference
from ingest.egmd.midi import MidiPerformance, parse_midi_bytes
from ingest.egmd.midi_scan import NOTE_VELOCITY
from ingest.egmd.note_map import NoteMap, load_note_map
from tests.reliability.test_property_midi import groove_bytes

COLUMNS = ("note_index", "onset_s", "pitch", "velocity", "technique_mask", "cc4")


def assert_same_events(fast: PerformanceEvents, reference: PerformanceEvents) -> None:
    for column in COLUMNS:
        ours, theirs = getattr(fast, column), getattr(reference, column)
        assert ours.dtype == theirs.dtype and ours.tolist() == theirs.tolist(), column
    assert fast.unknown_notes == reference.unknown_notes
    assert list(fast.unknown_notes) == list(reference.unknown_notes)
    assert fast.warnings == reference.warnings


def assert_fast_is_reference(perf: MidiPerformance, nm: NoteMap, interpreted: bool = True) -> PerformanceEvents:
    reference = build_events_reference(perf, nm)
    assert_same_events(build_events(perf, nm), reference)
    if interpreted:
        assert_same_events(build_events(perf, nm, compiled=False), reference)
    return reference


def project_note_map() -> NoteMap:
    """The project's own note map (read only)."""
    workspace = Workspace(PACKAGE_ROOT)
    return load_note_map(workspace, load_taxonomy(workspace))


@pytest.fixture(scope="module")
def note_map() -> NoteMap:
    return project_note_map()


def random_performance(rng: random.Random, nm: NoteMap) -> list[ScoreEvent]:
    """Hits on a few pads with tight gaps (rolls, flams, drags), CC4 moves, chokes and strays."""
    mapped = sorted(nm.specs)
    pads = [*rng.sample(mapped, rng.randint(1, 6)), rng.choice([1, 99, 127])]
    events: list[ScoreEvent] = []
    tick = 0
    for _ in range(rng.randint(0, 120)):
        tick += rng.choice([0, 5, 20, 30, 60, 240, 480])
        roll = rng.random()
        if roll < 0.15:
            events.append(ScoreEvent(tick, "cc4", 4, rng.randint(0, 127)))
        elif roll < 0.2:
            events.append(ScoreEvent(tick, "touch", rng.choice(pads), rng.choice([0, 1, 64, 127])))
        else:
            events.append(ScoreEvent(tick, "note", rng.choice(pads), rng.choice([1, 20, 30, 64, 90, 100, 127])))
    return events


def test_generated_grooves_with_every_technique(note_map) -> None:
    rng = np.random.default_rng(18)
    for bars in (1, 2, 4, 12):
        perf = parse_midi_bytes(midi_bytes(performance_score(rng, bars, unknown_note=99), 110, "Kit"))
        reference = assert_fast_is_reference(perf, note_map)
        names = {name for mask in set(reference.technique_mask.tolist()) for name in note_map.decode(mask)}
        if bars >= 4:
            assert {"choke", "flam", "drag", "roll", "ghost", "half_open"} <= names
        assert reference.unknown_notes == {99: 1}


def test_multitrack_files_with_aftertouch(note_map) -> None:
    for seed, tracks in ((1, 1), (2, 3), (3, 2), (7, 1), (11, 4)):
        assert_fast_is_reference(parse_midi_bytes(groove_bytes(seed, tracks)), note_map)


@pytest.mark.parametrize(
    "events",
    [
        [],
        [ScoreEvent(0, "note", 38, 90)],
        [ScoreEvent(0, "note", 99, 90), ScoreEvent(10, "note", 98, 90)],  # nothing mapped
        [ScoreEvent(0, "touch", 49, 127), ScoreEvent(10, "note", 49, 90)],  # choke before any hit
        [ScoreEvent(0, "note", 49, 90), ScoreEvent(5, "touch", 99, 127)],  # aftertouch on an unmapped note
        [ScoreEvent(0, "note", 49, 90), ScoreEvent(5, "touch", 49, 0)],  # below the choke pressure
        [ScoreEvent(0, "note", 44, 20), *(ScoreEvent(10 * k, "note", 44, 100) for k in range(1, 12))],  # pedal
        [ScoreEvent(0, "cc4", 4, 40), ScoreEvent(0, "note", 46, 80), ScoreEvent(1, "note", 26, 80)],
        [ScoreEvent(0, "note", 38, 30), ScoreEvent(0, "note", 38, 31), ScoreEvent(0, "note", 38, 100)],
    ],
)
def test_edge_cases(note_map, events: list[ScoreEvent]) -> None:
    assert_fast_is_reference(parse_midi_bytes(midi_bytes(events, 120, "Kit")), note_map)


def test_random_performances(note_map) -> None:
    rng = random.Random(18)
    for case in range(300):
        perf = parse_midi_bytes(midi_bytes(random_performance(rng, note_map), rng.choice([60, 120, 200]), "Kit"))
        assert_fast_is_reference(perf, note_map, interpreted=case % 10 == 0)


def test_a_note_that_is_not_a_midi_data_byte_is_refused(note_map) -> None:
    perf = parse_midi_bytes(midi_bytes([ScoreEvent(0, "note", 38, 90)], 120, "Kit"))
    ints = perf.ints.copy()
    ints[NOTE_VELOCITY * perf.notes] = 300
    loud = dataclasses.replace(perf, ints=ints)
    with pytest.raises(ValueError, match=r"outside 0\.\.127"):
        build_events(loud, note_map)
