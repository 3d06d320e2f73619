"""A fast standard-MIDI-file reader for drum performances.

It walks the bytes once (no per-message objects) and returns column arrays: note-ons, note-offs,
CC4 (hi-hat pedal), polyphonic aftertouch (cymbal choke) and the tempo map, with ticks converted
to seconds through the tempo map. Anything it cannot trust raises DrumgateError with one line:
truncated or non-MIDI files, format 2, SMPTE division, zero tempo, events after End of Track.
mido stays the reference reader the tests compare against.

The two byte loops (`ingest.egmd.midi_scan`) are plain Python compiled by numba on first use
(cached on disk); the tests run them interpreted too and require identical results. Why not symusic, the fastest MIDI
library: it pairs note-offs with note-ons and drops a note left open, so a cymbal struck again
before its note-off loses an onset mido reads (one of 30,121 in the real Groove files), and it
does not read polyphonic aftertouch, which E-GMD uses for cymbal chokes (tests/test_midi_symusic.py)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from drumgate.errors import DrumgateError
from ingest.egmd import jit
from ingest.egmd.midi_scan import (
    BAD_DATA_BYTE,
    CC4_ORDER,
    CC4_VALUE,
    DEFAULT_TEMPO_US,
    NOTE_CHANNEL,
    NOTE_ORDER,
    NOTE_PITCH,
    NOTE_TICK,
    NOTE_VELOCITY,
    OUTCOME_SIZE,
    SCAN_MESSAGES,
    SCAN_OK,
    TOUCH_ORDER,
    TOUCH_PITCH,
    TOUCH_VALUE,
    scan_tracks,
    split_messages,
)


class MidiFormatError(DrumgateError):
    """A MIDI file that cannot be read faithfully."""


@dataclass(slots=True)
class MidiPerformance:
    """Column arrays of one MIDI file; every `*_s` array is in seconds from the file start."""

    format: int
    ppq: int
    note_tick: np.ndarray
    note_order: np.ndarray
    note_s: np.ndarray
    note_pitch: np.ndarray
    note_velocity: np.ndarray
    note_channel: np.ndarray
    note_off_count: int
    cc4_order: np.ndarray
    cc4_s: np.ndarray
    cc4_value: np.ndarray
    aftertouch_order: np.ndarray
    aftertouch_s: np.ndarray
    aftertouch_pitch: np.ndarray
    aftertouch_value: np.ndarray
    tempo_tick: np.ndarray
    tempo_us: np.ndarray
    end_s: float

    @property
    def notes(self) -> int:
        return len(self.note_tick)


def _fail(path: str | Path | None, message: str) -> MidiFormatError:
    return MidiFormatError(message, path=path, hint="skip or re-export this file")


def _read_vlq(data: bytes, pos: int) -> tuple[int, int]:
    value = 0
    while True:
        byte = data[pos]
        pos += 1
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, pos


def _tempo_map(rows: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Tick and microseconds per quarter of each tempo segment from (tick, track, sequence, tempo)
    rows: the last row in that order wins at a tick, 120 bpm applies before the first."""
    ticks = [0]
    values = [DEFAULT_TEMPO_US]
    for tick, _track, _seq, tempo in sorted(rows) if len(rows) > 1 else rows:
        if tick == ticks[-1]:
            values[-1] = tempo
        else:
            ticks.append(tick)
            values.append(tempo)
    return np.array(ticks, dtype=np.int64), np.array(values, dtype=np.int64)


def _chunks(data: bytes, path: str | Path | None) -> tuple[int, int, int, list[tuple[int, int]]]:
    if data[:4] != b"MThd":
        if data[:4] == b"RIFF":
            raise _fail(path, "RIFF-wrapped MIDI (RMID), not a standard MIDI file")
        raise _fail(path, "not a MIDI file (no MThd header)")
    if len(data) < 14:
        raise _fail(path, "truncated MIDI header")
    header_len = int.from_bytes(data[4:8], "big")
    fmt = int.from_bytes(data[8:10], "big")
    declared = int.from_bytes(data[10:12], "big")
    division = int.from_bytes(data[12:14], "big")
    if header_len < 6:
        raise _fail(path, f"MIDI header length {header_len} is shorter than 6")
    if fmt == 2:
        raise _fail(path, "MIDI format 2 (independent sequences) is not a single performance")
    if fmt not in (0, 1):
        raise _fail(path, f"unknown MIDI format {fmt}")
    if division & 0x8000:
        raise _fail(path, "SMPTE time division is not supported (expected ticks per quarter note)")
    if division == 0:
        raise _fail(path, "zero ticks per quarter note")
    pos = 8 + header_len
    tracks: list[tuple[int, int]] = []
    while pos + 8 <= len(data) and len(tracks) < declared:
        kind = data[pos : pos + 4]
        length = int.from_bytes(data[pos + 4 : pos + 8], "big")
        body = pos + 8
        if body + length > len(data):
            raise _fail(path, f"truncated: chunk {kind!r} declares {length} bytes, {len(data) - body} remain")
        if kind == b"MTrk":
            tracks.append((body, body + length))
        pos = body + length
    if len(tracks) < declared:
        raise _fail(path, f"truncated: header declares {declared} tracks, found {len(tracks)}")
    return fmt, division, declared, tracks


def parse_midi_bytes(data: bytes, path: str | Path | None = None, compiled: bool = True) -> MidiPerformance:
    """The performance in `data`; `compiled=False` runs the same loops interpreted (the tests' check
    that compilation changes nothing)."""
    fmt, ppq, _declared, tracks = _chunks(data, path)
    raw = np.frombuffer(data, dtype=np.uint8)
    room = len(data) // 2 + len(tracks) + 1  # a channel message or tempo takes at least two bytes
    tempo_room = len(data) // 7 + len(tracks) + 1  # a tempo meta takes seven
    direct = len(tracks) == 1  # one track: the scan also does the split (no message list, no merge)
    listed, columns_room = (0, room) if direct else (room, 0)
    work = jit.scratch(3 * listed + 4 * tempo_room + 13 * columns_room)
    messages = work[: 3 * listed].reshape(3, listed)
    tempo_rows = work[3 * listed : 3 * listed + 4 * tempo_room].reshape(tempo_room, 4)
    columns = work[3 * listed + 4 * tempo_room :][: 10 * columns_room]
    times = work[3 * listed + 4 * tempo_room + 10 * columns_room :].view(np.float64)
    outcome = np.zeros(OUTCOME_SIZE, dtype=np.int64)
    bounds = np.array(tracks, dtype=np.int64).reshape(-1, 2)
    end_s = jit.kernel(scan_tracks, compiled)(
        raw, bounds, messages[0], messages[1], messages[2], tempo_rows, outcome, direct, 1e6 * ppq, columns, times
    )
    code, track, value, count, tempos, end_tick, notes, cc4s, touches, note_offs, bad_byte = outcome[:11].tolist()
    if code != SCAN_OK:
        raise _fail(path, SCAN_MESSAGES[code].format(track=track, value=value))
    tempo_tick, tempo_us = _tempo_map(tempo_rows[:tempos].tolist())
    if direct:
        filled = columns[: 5 * notes + 2 * cc4s + 3 * touches].copy()
        note_block = filled[: 5 * notes].reshape(5, notes)
        cc4_block = filled[5 * notes : 5 * notes + 2 * cc4s].reshape(2, cc4s)
        touch_block = filled[5 * notes + 2 * cc4s :].reshape(3, touches)
        seconds = times[: notes + cc4s + touches].copy()
    else:
        ticks, status, position = messages[0, :count], messages[1, :count], messages[2, :count]
        # per-track order is file order and tracks are concatenated in track order, so a stable sort
        # by tick gives the merged (tick, track, sequence) order
        by_order = np.argsort(ticks, kind="stable")
        note_block = np.empty((5, notes), dtype=np.int64)
        cc4_block = np.empty((2, cc4s), dtype=np.int64)
        touch_block = np.empty((3, touches), dtype=np.int64)
        seconds = np.empty(notes + cc4s + touches, dtype=np.float64)
        end_s = jit.kernel(split_messages, compiled)(
            raw, ticks[by_order], status[by_order], position[by_order], tempo_tick, tempo_us, 1e6 * ppq, end_tick,
            note_block, cc4_block, touch_block, seconds,
        )
        bad_byte = end_s == BAD_DATA_BYTE
    if bad_byte:
        raise _fail(path, "a channel message has a data byte above 127")
    return MidiPerformance(
        format=fmt,
        ppq=ppq,
        note_tick=note_block[NOTE_TICK],
        note_order=note_block[NOTE_ORDER],
        note_s=seconds[:notes],
        note_pitch=note_block[NOTE_PITCH],
        note_velocity=note_block[NOTE_VELOCITY],
        note_channel=note_block[NOTE_CHANNEL],
        note_off_count=note_offs,
        cc4_order=cc4_block[CC4_ORDER],
        cc4_s=seconds[notes : notes + cc4s],
        cc4_value=cc4_block[CC4_VALUE],
        aftertouch_order=touch_block[TOUCH_ORDER],
        aftertouch_s=seconds[notes + cc4s :],
        aftertouch_pitch=touch_block[TOUCH_PITCH],
        aftertouch_value=touch_block[TOUCH_VALUE],
        tempo_tick=tempo_tick,
        tempo_us=tempo_us,
        end_s=float(end_s),
    )


TEXT_META_TYPES = range(0x01, 0x10)  # text, copyright, track and instrument names, lyrics, markers, ...


def _leading_text_metas(data: bytes) -> tuple[int, int, list[tuple[int, int]]] | None:
    """(first track's length-field position, bytes cut, spans cut) for its tick-0 text metas."""
    if data[:4] != b"MThd" or len(data) < 14:
        return None
    header = 8 + int.from_bytes(data[4:8], "big")
    if data[header : header + 4] != b"MTrk":
        return None
    pos = header + 8
    end = min(len(data), pos + int.from_bytes(data[header + 4 : header + 8], "big"))
    spans: list[tuple[int, int]] = []
    while pos + 3 <= end and data[pos] == 0 and data[pos + 1] == 0xFF and data[pos + 2] != 0x2F:
        length, body = _read_vlq(data, pos + 3)
        if body + length > end:
            break
        if data[pos + 2] in TEXT_META_TYPES:
            spans.append((pos, body + length))
        pos = body + length
    return header + 4, sum(stop - start for start, stop in spans), spans


def performance_key(data: bytes) -> str:
    """sha256 of the file with its first track's tick-0 text meta events cut out.

    The reader ignores text metas (names, lyrics, markers) and they change neither ticks nor
    running status, so files with equal keys parse to equal performances: renders that differ
    only in the kit or instrument name can share one parse. Without such events this is the
    plain sha256 of the bytes.
    """
    try:
        cut = _leading_text_metas(data)
    except IndexError:
        cut = None
    if cut is None or not cut[2]:
        return hashlib.sha256(data).hexdigest()
    length_at, removed, spans = cut
    digest = hashlib.sha256(data[:length_at])
    digest.update((int.from_bytes(data[length_at : length_at + 4], "big") - removed).to_bytes(4, "big"))
    pos = length_at + 4
    for start, stop in spans:
        digest.update(data[pos:start])
        pos = stop
    digest.update(data[pos:])
    return digest.hexdigest()


def read_midi(path: str | Path) -> MidiPerformance:
    source = Path(path)
    try:
        data = source.read_bytes()
    except FileNotFoundError as exc:
        raise DrumgateError("MIDI file not found", path=source) from exc
    except OSError as exc:
        raise DrumgateError(f"cannot read MIDI file: {exc.strerror}", path=source) from exc
    return parse_midi_bytes(data, source)
