"""Why the MIDI reader stays drumgate's own (symusic loses notes mido reads) and proof that the
compiled loops are the interpreted ones: same performances, same refusals, same egmd manifests."""

from __future__ import annotations

import argparse
import dataclasses
import io
import random
from pathlib import Path
from typing import Any

import mido
import numpy as np
import pytest

from drumgate import cli
from drumgate.cli import demo
from drumgate.errors import DrumgateError
from drumgate.fixtures.egmd import make_egmd_corpus
from ingest.egmd import jit
from ingest.egmd.midi import parse_midi_bytes
from tests.conftest import REALDATA
from tests.reliability.test_property_midi import groove_bytes
from tests.test_egmd_midi import mido_reference

RESTRUCK = REALDATA / "a_drum_midi/drums-with-llm/groove/drummer1/session1/78_jazz-fast_290_beat_4-4.mid"
EGMD_ARTIFACTS = ("data/manifests/egmd_events.jsonl", "data/manifests/egmd_sessions.jsonl",
                  "data/provenance/egmd_provenance.jsonl")
needs_realdata = pytest.mark.skipif(not REALDATA.is_dir(), reason=f"{REALDATA} is absent")


def assert_matches_mido(data: bytes) -> None:
    perf = parse_midi_bytes(data)
    ref = mido_reference(data)
    assert perf.note_pitch.tolist() == [note for _, note, _ in ref["notes"]]
    assert perf.note_velocity.tolist() == [velocity for _, _, velocity in ref["notes"]]
    np.testing.assert_allclose(perf.note_s, [t for t, _, _ in ref["notes"]], atol=1e-9)
    assert perf.cc4_value.tolist() == [value for _, value in ref["cc4"]]
    np.testing.assert_allclose(perf.cc4_s, [t for t, _ in ref["cc4"]], atol=1e-9)
    assert perf.aftertouch_value.tolist() == [value for _, _, value in ref["touch"]]


def restruck_file() -> bytes:
    """Pitch 51 struck twice before its one note-off, as a drum module sends a re-struck cymbal."""
    midi = mido.MidiFile(type=0, ticks_per_beat=480)
    track = mido.MidiTrack()
    for note, velocity, delta in ((51, 60, 0), (51, 70, 100), (51, 0, 50), (38, 90, 10), (38, 0, 50)):
        track.append(mido.Message("note_on", channel=9, note=note, velocity=velocity, time=delta))
    midi.tracks.append(track)
    buffer = io.BytesIO()
    midi.save(file=buffer)
    return buffer.getvalue()


def notes(data: bytes) -> list[tuple[int, int, int]]:
    perf = parse_midi_bytes(data)
    return sorted(zip(perf.note_tick.tolist(), perf.note_pitch.tolist(), perf.note_velocity.tolist(), strict=True))


def symusic_notes(data: bytes) -> list[tuple[int, int, int]]:
    symusic = pytest.importorskip("symusic")
    score = symusic.Score.from_midi(data, ttype="tick")
    return sorted((note.time, note.pitch, note.velocity) for track in score.tracks for note in track.notes)


def test_a_restruck_note_is_an_onset_for_mido_and_the_reader_but_symusic_drops_it() -> None:
    data = restruck_file()
    assert_matches_mido(data)
    assert notes(data) == [(0, 51, 60), (100, 51, 70), (160, 38, 90)]
    # symusic pairs note-offs with note-ons first in, first out and discards a note left open
    assert symusic_notes(data) == [(0, 51, 60), (160, 38, 90)]


@pytest.mark.realdata
@needs_realdata
def test_the_one_real_groove_note_symusic_loses_is_in_mido() -> None:
    data = RESTRUCK.read_bytes()
    ours = notes(data)
    lost = sorted(set(ours) - set(symusic_notes(data)))
    assert lost == [(241274, 51, 81)] and len(ours) == len(symusic_notes(data)) + 1
    tick, by_mido = 0, []
    for message in mido.MidiFile(file=io.BytesIO(data)).tracks[0]:
        tick += message.time
        if message.type == "note_on" and message.velocity > 0 and tick == 241274:
            by_mido.append((tick, message.note, message.velocity))
    assert by_mido == lost


def real_midi_files() -> list[Path]:
    if not REALDATA.is_dir():
        return []
    return sorted(p for p in REALDATA.rglob("*") if p.suffix.lower() in (".mid", ".midi", ".rmi") and p.is_file())


@pytest.mark.realdata
@needs_realdata
def test_every_real_midi_file_reads_like_mido_or_is_refused_in_one_line() -> None:
    files = real_midi_files()
    read = refused = 0
    for path in files:
        data = path.read_bytes()
        try:
            mido.MidiFile(file=io.BytesIO(data))
        except (OSError, EOFError, ValueError, KeyError):
            with pytest.raises(DrumgateError) as caught:
                parse_midi_bytes(data, path)
            assert str(caught.value).startswith(f"{path}: ") and "\n" not in str(caught.value)
            refused += 1
            continue
        assert_matches_mido(data)
        read += 1
    assert read >= 70 and refused >= 2, (read, refused)


def outcome(data: bytes, compiled: bool) -> tuple[Any, ...]:
    try:
        perf = parse_midi_bytes(data, "drums.mid", compiled=compiled)
    except DrumgateError as err:
        return ("refused", str(err))
    columns = [(field.name, getattr(perf, field.name)) for field in dataclasses.fields(perf)]
    return tuple((name, value.tolist() if isinstance(value, np.ndarray) else value) for name, value in columns)


def damaged(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    kind = rng.randrange(4)
    if kind == 0:
        return bytes(out[: rng.randrange(len(out) + 1)])
    at = rng.randrange(14, len(out))
    if kind == 1:
        out[at] = rng.randrange(256)
    elif kind == 2:
        out[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 6)))
    else:
        del out[at : at + rng.randint(1, 6)]
    return bytes(out)


def test_compiled_and_interpreted_reader_agree_on_valid_and_damaged_files() -> None:
    rng = random.Random(18)
    valid = [*(groove_bytes(seed, tracks) for seed, tracks in ((1, 1), (2, 3), (3, 2))), restruck_file()]
    cases = valid + [damaged(data, rng) for data in valid for _ in range(40)]
    outcomes = [outcome(data, compiled=True) for data in cases]
    assert outcomes == [outcome(data, compiled=False) for data in cases]
    refusals = [result for result in outcomes if result[0] == "refused"]
    assert refusals and len(refusals) < len(cases), "the damaged cases should both read and refuse"


def tempo_ties_file() -> bytes:
    """Several tempo metas at one tick, with and without channel messages between them."""
    midi = mido.MidiFile(type=0, ticks_per_beat=480)
    track = mido.MidiTrack()
    for kind, value, delta in (("tempo", 600_000, 0), ("tempo", 400_000, 0), ("note", 36, 0), ("tempo", 700_000, 0),
                               ("tempo", 300_000, 0), ("note", 38, 240), ("tempo", 500_000, 0), ("tempo", 450_000, 0),
                               ("note", 42, 0), ("tempo", 800_000, 0), ("note", 36, 1000), ("tempo", 250_000, 10)):
        if kind == "tempo":
            track.append(mido.MetaMessage("set_tempo", tempo=value, time=delta))
        else:
            track.append(mido.Message("note_on", channel=9, note=value, velocity=90, time=delta))
    midi.tracks.append(track)
    buffer = io.BytesIO()
    midi.save(file=buffer)
    return buffer.getvalue()


def with_empty_track(data: bytes) -> bytes:
    """The same performance as format 1 with one more track that holds only its End of Track."""
    tracks = int.from_bytes(data[10:12], "big")
    return data[:8] + (1).to_bytes(2, "big") + (tracks + 1).to_bytes(2, "big") + data[12:] + b"MTrk\0\0\0\4\0\xff\x2f\0"


def test_one_track_read_in_one_pass_equals_the_merged_read() -> None:
    """A single track is split while it is scanned; the general path lists, merges and splits.
    An extra empty track sends the same performance down the general path."""
    cases = [tempo_ties_file(), restruck_file(), *(groove_bytes(seed) for seed in range(1, 12))]
    cases += [path.read_bytes() for path in real_midi_files() if path.suffix.lower() == ".mid"][:20]
    for data in cases:
        try:
            one_pass = parse_midi_bytes(data)
        except DrumgateError:
            continue
        merged = parse_midi_bytes(with_empty_track(data))
        assert outcome(data, compiled=True)[2:] == outcome(with_empty_track(data), compiled=True)[2:]
        assert merged.format == 1 and one_pass.notes == merged.notes


def test_compiled_reader_writes_the_demo_egmd_manifests_byte_for_byte(workspace, monkeypatch) -> None:
    demo_options = argparse.ArgumentParser()
    demo.add_arguments(demo_options)
    seed = demo_options.parse_args([]).seed
    make_egmd_corpus(workspace.root / "data" / "raw" / "egmd", seed=seed)
    manifests = {}
    interpreted_calls: list[str] = []

    def interpreted(function: Any, _compiled: bool) -> Any:
        interpreted_calls.append(function.__name__)
        return function

    for compiled in (True, False):
        if not compiled:
            monkeypatch.setattr(jit, "kernel", interpreted)
        assert cli.main(["ingest", "egmd", "--jobs", "1"]) == 0
        manifests[compiled] = {name: (workspace.root / name).read_bytes() for name in EGMD_ARTIFACTS}
    assert manifests[True] == manifests[False]
    assert interpreted_calls.count("scan_tracks") >= 4, "the second ingest must read the MIDI again"
    assert interpreted_calls.count("infer_techniques") >= 4, "and infer its techniques interpreted"
    assert manifests[True]["data/manifests/egmd_events.jsonl"].count(b"\n") > 100
