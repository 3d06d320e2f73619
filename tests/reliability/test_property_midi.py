"""Hypothesis: the MIDI reader turns any byte string into a performance or one DrumgateError."""

from __future__ import annotations

import io
import random
import struct

import mido
from hypothesis import example, given, settings
from hypothesis import strategies as st

from drumgate.errors import DrumgateError
from ingest.egmd.midi import parse_midi_bytes

SETTINGS = settings(max_examples=200, deadline=None, database=None)
DRUM_NOTES = (36, 38, 40, 37, 42, 44, 46, 49, 51, 53, 55, 57, 48, 45, 43)


def groove_bytes(seed: int, tracks: int = 1) -> bytes:
    """A small drum performance written by mido: notes, CC4, aftertouch, tempo changes, SysEx."""
    rng = random.Random(seed)
    midi = mido.MidiFile(type=0 if tracks == 1 else 1, ticks_per_beat=480)
    for index in range(tracks):
        track = mido.MidiTrack()
        track.append(mido.MetaMessage("track_name", name=f"kit {index}", time=0))
        track.append(mido.MetaMessage("set_tempo", tempo=rng.choice([400_000, 500_000, 600_000]), time=0))
        track.append(mido.Message("sysex", data=[0x41, 0x10, 0x42], time=0))
        for _ in range(rng.randint(5, 30)):
            note = rng.choice(DRUM_NOTES)
            track.append(mido.Message("control_change", channel=9, control=4, value=rng.randint(0, 127), time=0))
            track.append(mido.Message("note_on", channel=9, note=note, velocity=rng.randint(1, 127),
                                      time=rng.randint(0, 480)))
            track.append(mido.Message("note_off", channel=9, note=note, velocity=0, time=rng.randint(1, 60)))
            if rng.random() < 0.1:
                track.append(mido.Message("polytouch", channel=9, note=49, value=127, time=0))
            if rng.random() < 0.1:
                track.append(mido.MetaMessage("set_tempo", tempo=rng.randint(200_000, 900_000), time=0))
        midi.tracks.append(track)
    buffer = io.BytesIO()
    midi.save(file=buffer)
    return buffer.getvalue()


def smf(track_body: bytes, fmt: int = 0, division: int = 480, declared: int = 1) -> bytes:
    header = b"MThd" + struct.pack(">IHHH", 6, fmt, declared, division)
    return header + b"MTrk" + struct.pack(">I", len(track_body)) + track_body


def assert_reads_or_refuses(data: bytes) -> None:
    try:
        performance = parse_midi_bytes(data, "drums.mid")
    except DrumgateError as err:
        assert str(err).startswith("drums.mid: ")
        assert "\n" not in str(err)
    else:
        assert len(performance.note_s) == performance.notes


VALID = [groove_bytes(seed, tracks) for seed, tracks in ((1, 1), (2, 3))]


def test_generated_files_read_like_mido() -> None:
    for data in VALID:
        performance = parse_midi_bytes(data)
        reference = mido.MidiFile(file=io.BytesIO(data))
        expected = sum(1 for msg in reference if msg.type == "note_on" and msg.velocity > 0)
        assert performance.notes == expected


@SETTINGS
@given(data=st.binary(max_size=300))
def test_any_bytes(data: bytes) -> None:
    assert_reads_or_refuses(data)


@SETTINGS
@given(body=st.binary(max_size=200), fmt=st.integers(0, 3), division=st.integers(0, 0xFFFF), declared=st.integers(0, 3))
@example(body=b"\xff" * 10 + b"\x7f\x99\x24\x64\x00\xff\x2f\x00", fmt=0, division=480, declared=1)
def test_any_track_body_behind_a_valid_header(body: bytes, fmt: int, division: int, declared: int) -> None:
    assert_reads_or_refuses(smf(body, fmt, division, declared))


@SETTINGS
@given(which=st.integers(0, len(VALID) - 1), cut=st.integers(0, 10_000))
def test_truncated_at_any_byte(which: int, cut: int) -> None:
    data = VALID[which]
    assert_reads_or_refuses(data[: cut % (len(data) + 1)])


@SETTINGS
@given(
    which=st.integers(0, len(VALID) - 1),
    flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=6),
)
def test_bytes_overwritten_anywhere(which: int, flips: list[tuple[int, int]]) -> None:
    data = bytearray(VALID[which])
    for position, value in flips:
        data[position % len(data)] = value
    assert_reads_or_refuses(bytes(data))


@SETTINGS
@given(which=st.integers(0, len(VALID) - 1), at=st.integers(0, 10_000), junk=st.binary(min_size=1, max_size=16))
def test_bytes_inserted_anywhere(which: int, at: int, junk: bytes) -> None:
    data = VALID[which]
    position = at % (len(data) + 1)
    assert_reads_or_refuses(data[:position] + junk + data[position:])
