"""The fast event encoder and render templates write exactly the bytes of dict rows through orjson."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drumgate import cli
from drumgate.fixtures.egmd import ScoreEvent, make_egmd_corpus, midi_bytes, performance_score
from drumgate.io.jsonio import dumps_row
from drumgate.taxonomy import load_taxonomy
from drumgate.workspace import Workspace
from ingest.egmd import renders
from ingest.egmd.drum_events import build_events
from ingest.egmd.event_encoding import (
    ITEM_SLOT,
    EventContext,
    EventEncoder,
    encode_events_reference,
    event_rows,
    render_template,
)
from ingest.egmd.midi import parse_midi_bytes
from ingest.egmd.note_map import load_note_map

ARTIFACTS = ("data/manifests/egmd_events.jsonl", "data/manifests/egmd_sessions.jsonl",
             "data/provenance/egmd_provenance.jsonl")
NAMES = ("drummer1/session1/1_rock_120_beat_4-4_1", "drummer9/séance/7_jazz/ballad_60_fill_3-4_12",
         'odd "quoted" \\ back\\slash', "tab\tnew\nline\x01ctl", "日本語/ドラム_😀", "")


@pytest.fixture(scope="module")
def note_map():
    project = Workspace(Path(__file__).resolve().parent.parent)
    return load_note_map(project, load_taxonomy(project))


def every_note_score() -> list[ScoreEvent]:
    """All mapped and some unmapped notes, CC4 in every band, chokes, grace notes and a roll."""
    rng = np.random.default_rng(5)
    events = performance_score(rng, 8, unknown_note=99)
    notes = (36, 38, 40, 37, 48, 50, 45, 47, 43, 58, 46, 26, 42, 22, 44, 49, 55, 57, 52, 51, 59, 53,
             27, 28, 39, 54, 56, 70, 64, 75, 12)
    start = events[-1].tick + 480
    for k, note in enumerate(notes):
        tick = start + k * 240
        events.append(ScoreEvent(tick, "cc4", 4, (k * 37) % 128))
        events.append(ScoreEvent(tick, "note", note, 1 + (k * 41) % 127))
        events.append(ScoreEvent(tick + 1, "note", note, 127))
    tail = start + len(notes) * 240
    events += [ScoreEvent(tail, "note", 55, 100), ScoreEvent(tail + 100, "touch", 55, 127),
               ScoreEvent(tail + 200, "touch", 52, 127)]
    events += [ScoreEvent(tail + 480 + k * 30, "note", 38, 70) for k in range(6)]
    order = {"cc4": 0, "touch": 1, "note": 2}
    return sorted(events, key=lambda e: (e.tick, order[e.kind], e.note))


@pytest.fixture(scope="module")
def events(note_map):
    return build_events(parse_midi_bytes(midi_bytes(every_note_score(), 97, "Kit")), note_map)


def test_the_fixture_covers_the_row_variety(note_map, events) -> None:
    rows = list(event_rows(events, note_map, EventContext("egmd", "s", "i", "train", "f.midi")))
    assert len(rows) > 150
    assert {"half_open", "choke", "flam", "drag", "roll", "ghost", "accent", "rimshot", "bell"} <= {
        t for r in rows for t in r["techniques"]}
    assert any(r.get("variant") and len(r["labels"]) == 2 for r in rows)
    assert any("attributes" in r for r in rows) and any("attributes" not in r for r in rows)


@pytest.mark.parametrize("name", NAMES)
def test_encoder_matches_orjson_row_by_row(note_map, events, name) -> None:
    ctx = EventContext("egmd", f"perf/{name}", name, "validation", f"{name}.midi")
    expected = [dumps_row(row) for row in event_rows(events, note_map, ctx)]
    fast = EventEncoder(note_map).encode(events, ctx)
    assert fast.split(b"\n")[:-1] == expected
    assert fast == encode_events_reference(events, note_map, ctx)


@pytest.mark.parametrize("name", NAMES)
def test_template_fill_matches_the_reference(note_map, events, name) -> None:
    encoder = EventEncoder(note_map)
    template = render_template(encoder, events, "egmd", "perf/ü", "test", ".midi")
    assert template is not None
    ctx = EventContext("egmd", "perf/ü", name, "test", f"{name}.midi")
    assert template.fill(name) == encode_events_reference(events, note_map, ctx)


def test_template_refuses_data_holding_the_placeholder(note_map, events) -> None:
    encoder = EventEncoder(note_map)
    assert render_template(encoder, events, "egmd", f"perf{ITEM_SLOT}", "train", ".midi") is None


def test_empty_performance_encodes_to_nothing(note_map) -> None:
    empty = build_events(parse_midi_bytes(midi_bytes([ScoreEvent(0, "note", 99, 90)], 120, "Kit")), note_map)
    ctx = EventContext("egmd", "s", "i", "train", "i.midi")
    assert EventEncoder(note_map).encode(empty, ctx) == b"" == encode_events_reference(empty, note_map, ctx)


@settings(max_examples=60, deadline=None)
@given(item=st.text(max_size=30), session=st.text(max_size=20), split=st.sampled_from(["train", "validation"]))
def test_encoder_matches_for_any_text(note_map, item: str, session: str, split: str) -> None:
    built = build_events(parse_midi_bytes(midi_bytes(performance_score(np.random.default_rng(1), 2), 120, "K")),
                         note_map)
    ctx = EventContext("egmd", session, item, split, item + ".midi")
    reference = encode_events_reference(built, note_map, ctx)
    assert EventEncoder(note_map).encode(built, ctx) == reference
    template = render_template(EventEncoder(note_map), built, "egmd", session, split, ".midi")
    if template is not None:
        assert template.fill(item) == reference


def share_midi_and_add_a_dot_path(corpus) -> None:
    """Kits 2 and 3 get kit 1's MIDI bytes (one template, three fills); one row says `./name`."""
    for perf in corpus.performances:
        first = (corpus.root / f"{perf.base_name}_1.midi").read_bytes()
        for kit in (2, 3):
            (corpus.root / f"{perf.base_name}_{kit}.midi").write_bytes(first)
    name = corpus.rows[1]["midi_filename"]
    text = corpus.csv_path.read_text()
    corpus.csv_path.write_text(text.replace(f",{name},", f",./{name},"))


def test_ingest_fast_path_equals_reference_encoder(workspace) -> None:
    corpus = make_egmd_corpus(workspace.root / "data" / "raw" / "egmd", seed=3, performances=3, kits=3, audio=False)
    share_midi_and_add_a_dot_path(corpus)
    assert cli.main(["ingest", "egmd", "--jobs", "1", "--reference-encoder"]) == 0
    reference = {name: (workspace.root / name).read_bytes() for name in ARTIFACTS}
    assert cli.main(["ingest", "egmd", "--jobs", "2"]) == 0
    assert {name: (workspace.root / name).read_bytes() for name in ARTIFACTS} == reference


def test_sharing_parses_across_kit_names_changes_no_byte(workspace, monkeypatch) -> None:
    """The fixture names each render's track after its kit; sharing by performance key is invisible."""
    make_egmd_corpus(workspace.root / "data" / "raw" / "egmd", seed=4, performances=2, kits=3, audio=False)
    parses = []
    real_parse = renders.parse_midi_bytes
    monkeypatch.setattr(renders, "parse_midi_bytes",
                        lambda data, path=None, compiled=True: parses.append(path) or real_parse(data, path, compiled))
    assert cli.main(["ingest", "egmd", "--jobs", "1"]) == 0
    shared = {name: (workspace.root / name).read_bytes() for name in ARTIFACTS}
    assert len(parses) == 2
    monkeypatch.setattr(renders, "performance_key", lambda data: hashlib.sha256(data).hexdigest())
    assert cli.main(["ingest", "egmd", "--jobs", "1"]) == 0
    assert len(parses) == 2 + 6
    assert {name: (workspace.root / name).read_bytes() for name in ARTIFACTS} == shared
