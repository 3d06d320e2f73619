"""Per-file MIDI parse + event build: drumgate vs pretty_midi.PrettyMIDI and plain mido iteration.

Inputs: the 54 real Groove MIDI files in ../shared/realdata when present, else 54 seeded synthetic
performances of similar size. "event table" is parse plus note mapping and technique inference
(columns); "JSONL bytes" also encodes the rows (fast encoder; the dict+orjson reference beside
it). pretty_midi's figure is its parse into Note objects only, so the table ratio is the
like-for-like one (target >= 10x).
"""

from __future__ import annotations

import io
from pathlib import Path

import mido
import numpy as np
import pretty_midi

from benchmarks._common import median_seconds
from drumgate.drum_events import EventContext, EventEncoder, build_events, encode_events_reference, load_note_map
from drumgate.fixtures.egmd import midi_bytes, performance_score
from drumgate.midi import parse_midi_bytes
from drumgate.taxonomy import load_taxonomy
from drumgate.workspace import PACKAGE_ROOT, Workspace

GROOVE = PACKAGE_ROOT.parent / "shared" / "realdata" / "a_drum_midi" / "drums-with-llm" / "groove"


def inputs() -> tuple[str, list[bytes]]:
    files = sorted(GROOVE.rglob("*.mid")) if GROOVE.is_dir() else []
    if files:
        return "real Groove MIDI (54 files)", [Path(f).read_bytes() for f in files]
    rng = np.random.default_rng(0)
    return "synthetic (54 files)", [midi_bytes(performance_score(rng, 40), 110, "Kit") for _ in range(54)]


def run(quick: bool) -> dict:
    label, blobs = inputs()
    ws = Workspace(PACKAGE_ROOT)
    nm = load_note_map(ws, load_taxonomy(ws))
    ctx = EventContext("egmd", "s", "i", "train", "f.mid")
    repeats = 3 if quick else 7

    def ours_table() -> None:
        for blob in blobs:
            build_events(parse_midi_bytes(blob), nm)

    encoder = EventEncoder(nm)

    def ours_jsonl() -> None:
        for blob in blobs:
            encoder.encode(build_events(parse_midi_bytes(blob), nm), ctx)

    def ours_jsonl_reference() -> None:
        for blob in blobs:
            encode_events_reference(build_events(parse_midi_bytes(blob), nm), nm, ctx)

    def peer_pretty() -> None:
        for blob in blobs:
            pretty_midi.PrettyMIDI(io.BytesIO(blob))

    def peer_mido() -> None:
        for blob in blobs:
            for _ in mido.MidiFile(file=io.BytesIO(blob)):
                pass

    notes = sum(parse_midi_bytes(b).notes for b in blobs)
    times = {
        "drumgate parse + event table": median_seconds(ours_table, repeats),
        "drumgate parse + JSONL bytes": median_seconds(ours_jsonl, repeats),
        "  same, dict+orjson reference": median_seconds(ours_jsonl_reference, repeats),
        "pretty_midi.PrettyMIDI": median_seconds(peer_pretty, max(2, repeats // 2)),
        "mido.MidiFile iteration": median_seconds(peer_mido, max(2, repeats // 2)),
    }
    per_file_ms = {k: 1000 * v / len(blobs) for k, v in times.items()}
    pretty = times["pretty_midi.PrettyMIDI"]
    result = {
        "inputs": label,
        "files": len(blobs),
        "notes": notes,
        "per_file_ms": {k: round(v, 3) for k, v in per_file_ms.items()},
        "ratio_table_vs_pretty_midi": round(pretty / times["drumgate parse + event table"], 1),
        "ratio_jsonl_vs_pretty_midi": round(pretty / times["drumgate parse + JSONL bytes"], 1),
        "ratio_table_vs_mido": round(times["mido.MidiFile iteration"] / times["drumgate parse + event table"], 1),
        "target": "parse + event table >= 10x pretty_midi",
    }
    print(f"MIDI parse + event build on {label}, {notes} notes, median of {repeats} runs")
    print(f"{'reader':32} {'ms/file':>9} {'pretty_midi / this':>19}")
    for name, ms in per_file_ms.items():
        print(f"{name:32} {ms:9.3f} {pretty / times[name]:18.1f}x")
    return result


if __name__ == "__main__":
    run(quick=False)
