"""The fast MIDI reader agrees with mido and refuses damaged files with one clean line."""

from __future__ import annotations

import hashlib
import io
import struct

import mido
import numpy as np
import pytest

from drumgate.errors import DrumgateError
from drumgate.fixtures.egmd import midi_bytes, performance_score
from ingest.egmd.midi import parse_midi_bytes, performance_key


def mido_reference(data: bytes) -> dict[str, list]:
    """Independent count with mido: note-on onsets, CC4 and polytouch, in seconds."""
    now = 0.0
    out: dict[str, list] = {"notes": [], "cc4": [], "touch": []}
    for message in mido.MidiFile(file=io.BytesIO(data)):
        now += message.time
        if message.type == "note_on" and message.velocity > 0:
            out["notes"].append((now, message.note, message.velocity))
        elif message.type == "control_change" and message.control == 4:
            out["cc4"].append((now, message.value))
        elif message.type == "polytouch":
            out["touch"].append((now, message.note, message.value))
    return out


def test_generated_performance_matches_mido() -> None:
    data = midi_bytes(performance_score(np.random.default_rng(3), bars=3), bpm=117, kit_name="Kit")
    perf = parse_midi_bytes(data)
    ref = mido_reference(data)
    assert perf.format == 0 and perf.ppq == 480
    assert perf.note_pitch.tolist() == [n for _, n, _ in ref["notes"]]
    assert perf.note_velocity.tolist() == [v for _, _, v in ref["notes"]]
    np.testing.assert_allclose(perf.note_s, [t for t, _, _ in ref["notes"]], atol=1e-9)
    assert perf.cc4_value.tolist() == [v for _, v in ref["cc4"]]
    assert perf.aftertouch_value.tolist() == [v for _, _, v in ref["touch"]]
    assert set(perf.note_channel.tolist()) == {9}
    assert perf.note_off_count == perf.notes


def test_format1_with_tempo_changes_matches_mido() -> None:
    midi = mido.MidiFile(type=1, ticks_per_beat=96)
    conductor = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=400_000, time=0),
                                mido.MetaMessage("set_tempo", tempo=900_000, time=200),
                                mido.MetaMessage("set_tempo", tempo=300_000, time=333)])
    drums = mido.MidiTrack()
    for k in range(40):
        drums.append(mido.Message("note_on", channel=9, note=36 + k % 5, velocity=10 + k, time=37))
        drums.append(mido.Message("note_on", channel=9, note=36 + k % 5, velocity=0, time=3))
    midi.tracks.extend([conductor, drums])
    buffer = io.BytesIO()
    midi.save(file=buffer)
    data = buffer.getvalue()
    perf = parse_midi_bytes(data)
    ref = mido_reference(data)
    np.testing.assert_allclose(perf.note_s, [t for t, _, _ in ref["notes"]], atol=1e-9)
    assert perf.note_pitch.tolist() == [n for _, n, _ in ref["notes"]]
    assert perf.tempo_us.tolist() == [400_000, 900_000, 300_000]


def smf(fmt: int, track_body: bytes, division: int = 480, tracks: int = 1) -> bytes:
    header = b"MThd" + struct.pack(">IHHH", 6, fmt, tracks, division)
    return header + b"MTrk" + struct.pack(">I", len(track_body)) + track_body


NOTE = b"\x00\x99\x24\x64"
EOT = b"\x00\xff\x2f\x00"


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"not a midi file at all", "not a MIDI file"),
        (b"RIFF\x00\x00\x00\x00RMIDdata", "RIFF-wrapped"),
        (smf(2, NOTE + EOT), "format 2"),
        (smf(0, b"\x00\xff\x51\x03\x00\x00\x00" + NOTE + EOT), "zero tempo"),
        (smf(0, NOTE + EOT + NOTE), "after End of Track"),
        (smf(0, NOTE + EOT)[:-3], "truncated"),
        (smf(0, b"\x00\x24\x64" + EOT), "running status"),
        (smf(0, NOTE + EOT, division=0xE728), "SMPTE"),
        (smf(0, b"\x00\x99\x24\xe4" + EOT), "data byte"),
    ],
)
def test_bad_files_raise_one_line(data: bytes, fragment: str) -> None:
    with pytest.raises(DrumgateError) as caught:
        parse_midi_bytes(data, "x.mid")
    text = str(caught.value)
    assert text.startswith("x.mid: ") and fragment in text and "\n" not in text


def test_running_status_and_multibyte_delta() -> None:
    body = b"\x00\x99\x24\x64" + b"\x81\x00\x26\x50" + b"\x00\xb9\x04\x33" + b"\x00\x99\x2a\x40" + EOT
    data = smf(0, body)
    perf = parse_midi_bytes(data)
    ref = mido_reference(data)
    assert perf.note_pitch.tolist() == [36, 38, 42]
    np.testing.assert_allclose(perf.note_s, [t for t, _, _ in ref["notes"]])
    assert perf.cc4_value.tolist() == [0x33]


def test_a_chunk_that_is_not_a_track_is_skipped_before_and_between_tracks() -> None:
    """The scan finds the tracks itself from the first chunk on, skipping others as the header
    walk does; compiled and interpreted alike."""
    body = b"\x00\xff\x51\x03\x07\xa1\x20" + NOTE + b"\x60\x89\x24\x00" + b"\x10\xb9\x04\x40" + EOT
    alien = b"XFIH" + struct.pack(">I", 3) + b"abc"
    plain = smf(0, body)
    for compiled in (True, False):
        with_alien = plain[:14] + alien + plain[14:]
        assert same_performance(parse_midi_bytes(with_alien, compiled=compiled), parse_midi_bytes(plain))
        two = smf(1, body, tracks=2) + alien + plain[14:]
        merged = parse_midi_bytes(two, compiled=compiled)
        assert merged.note_pitch.tolist() == [36, 36] and merged.cc4_value.tolist() == [0x40, 0x40]


def test_one_tempo_files_share_one_read_only_tempo_map() -> None:
    slow, fast = (midi_bytes(performance_score(np.random.default_rng(3), bars=2), bpm=bpm, kit_name="Kit")
                  for bpm in (90, 140))
    first, again, other = parse_midi_bytes(slow), parse_midi_bytes(slow), parse_midi_bytes(fast)
    assert first.tempo_us is again.tempo_us and not first.tempo_us.flags.writeable
    assert first.tempo_us.tolist() == [round(60e6 / 90)] and other.tempo_us.tolist() == [round(60e6 / 140)]
    assert first.tempo_tick.tolist() == [0]


def same_performance(a, b) -> bool:
    return all(
        np.array_equal(getattr(a, name), getattr(b, name)) if isinstance(getattr(a, name), np.ndarray)
        else getattr(a, name) == getattr(b, name)
        for name in a.__dataclass_fields__
    )


def with_names(data: bytes, *names: str) -> bytes:
    """The file with a channel prefix, then the given track and instrument names at tick 0."""
    midi = mido.MidiFile(file=io.BytesIO(data))
    kinds = ("track_name", "instrument_name")
    head = [mido.MetaMessage("channel_prefix", channel=9, time=0)]
    head += [mido.MetaMessage(kind, name=name, time=0) for kind, name in zip(kinds, names, strict=False)]
    body = [m for m in midi.tracks[0] if m.type != "track_name"]
    midi.tracks[0] = mido.MidiTrack(head + body)
    buffer = io.BytesIO()
    midi.save(file=buffer)
    return buffer.getvalue()


def test_performance_key_ignores_tick0_names_only() -> None:
    base = midi_bytes(performance_score(np.random.default_rng(8), bars=3), bpm=101, kit_name="Kit")
    a = with_names(base, "Midi Drums", "Brooklyn")
    b = with_names(base, "Drums", "Vintage Kit 12")
    assert a != b and performance_key(a) == performance_key(b)
    assert same_performance(parse_midi_bytes(a), parse_midi_bytes(b))
    louder = bytearray(a)
    louder[a.index(bytes([0x99]), 40) + 2] ^= 1  # one note-on velocity
    assert performance_key(bytes(louder)) != performance_key(a)
    nameless = with_names(base)
    assert performance_key(nameless) == hashlib.sha256(nameless).hexdigest()
    assert performance_key(b"not midi") == hashlib.sha256(b"not midi").hexdigest()
    assert performance_key(a[:30]) == hashlib.sha256(a[:30]).hexdigest()


@pytest.mark.parametrize("kit", ["Kit", "Another kit name", "é" * 200])
def test_renders_named_per_kit_share_one_key(kit: str) -> None:
    score = performance_score(np.random.default_rng(4), bars=2)
    reference = midi_bytes(score, bpm=90, kit_name="x")
    named = midi_bytes(score, bpm=90, kit_name=kit)
    assert performance_key(named) == performance_key(reference)
    assert same_performance(parse_midi_bytes(named), parse_midi_bytes(reference))
