"""A fast standard-MIDI-file reader for drum performances.

It walks the bytes once (no per-message objects) and returns column arrays: note-ons, note-offs,
CC4 (hi-hat pedal), polyphonic aftertouch (cymbal choke) and the tempo map, with ticks converted
to seconds through the tempo map. Anything it cannot trust raises DrumgateError with one line:
truncated or non-MIDI files, format 2, SMPTE division, zero tempo, events after End of Track.
mido stays the reference reader the tests compare against.

The byte loops (`ingest.egmd.midi_scan`) are plain Python compiled by numba on first use
(cached on disk); the tests run them interpreted too and require identical results. Why not symusic, the fastest MIDI
library: it pairs note-offs with note-ons and drops a note left open, so a cymbal struck again
before its note-off loses an onset mido reads (one of 30,121 in the real Groove files), and it
does not read polyphonic aftertouch, which E-GMD uses for cymbal chokes (tests/test_midi_symusic.py)."""

from __future__ import annotations

import hashlib
import struct
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
    gather_columns,
    scan_tracks,
    scratch_layout,
    split_messages,
)


class MidiFormatError(DrumgateError):
    """A MIDI file that cannot be read faithfully."""


class _Column:
    """A named column of a MidiPerformance, as a view: row `row` of the notes' (block 0), CC4s' (1)
    or aftertouches' (2) part of `ints`, or with `row` None that part of `seconds`."""

    def __init__(self, block: int, row: int | None) -> None:
        self.block = block
        self.row = row

    def __get__(self, perf: MidiPerformance, owner: type | None = None) -> np.ndarray:
        counts = (perf.notes, perf.cc4s, perf.touches)
        count = counts[self.block]
        if self.row is None:
            start = sum(counts[: self.block])
            return perf.seconds[start : start + count]
        start = sum(width * before for width, before in zip((5, 2, 3), counts[: self.block], strict=False))
        return perf.ints[start + self.row * count : start + (self.row + 1) * count]


@dataclass(slots=True)
class MidiPerformance:
    """One MIDI file as columns: `ints` holds the notes' rows (NOTE_*, `notes` numbers each), then
    the CC4s' (CC4_*) and the polyphonic aftertouches' (TOUCH_*); `seconds` their times from the
    file start, notes then CC4s then aftertouches. The named columns are views into the two."""

    format: int
    ppq: int
    notes: int
    cc4s: int
    touches: int
    ints: np.ndarray
    seconds: np.ndarray
    note_off_count: int
    tempo_tick: np.ndarray
    tempo_us: np.ndarray
    end_s: float

    note_tick = _Column(0, NOTE_TICK)
    note_order = _Column(0, NOTE_ORDER)
    note_pitch = _Column(0, NOTE_PITCH)
    note_velocity = _Column(0, NOTE_VELOCITY)
    note_channel = _Column(0, NOTE_CHANNEL)
    note_s = _Column(0, None)
    cc4_order = _Column(1, CC4_ORDER)
    cc4_value = _Column(1, CC4_VALUE)
    cc4_s = _Column(1, None)
    aftertouch_order = _Column(2, TOUCH_ORDER)
    aftertouch_pitch = _Column(2, TOUCH_PITCH)
    aftertouch_value = _Column(2, TOUCH_VALUE)
    aftertouch_s = _Column(2, None)


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


def _tempo_map(flat_rows: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Tick and microseconds per quarter of each tempo segment from (tick, track, sequence, tempo)
    rows, four numbers each: the last row in that order wins at a tick, 120 bpm applies before the first."""
    if len(flat_rows) == 4:  # most files set one tempo, and few tempos recur across a corpus
        tick, _track, _seq, tempo = flat_rows
        known = _ONE_TEMPO.get((tick, tempo))
        if known is None:
            known = _tempo_map_of_rows([flat_rows])
            for shared in known:  # one pair of arrays serves every performance with this tempo
                shared.flags.writeable = False
            if len(_ONE_TEMPO) < _ONE_TEMPO_KEPT:
                _ONE_TEMPO[(tick, tempo)] = known
        return known
    return _tempo_map_of_rows([flat_rows[at : at + 4] for at in range(0, len(flat_rows), 4)])


_ONE_TEMPO: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
_ONE_TEMPO_KEPT = 4096


def _tempo_map_of_rows(rows: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    ticks = [0]
    values = [DEFAULT_TEMPO_US]
    for tick, _track, _seq, tempo in sorted(rows) if len(rows) > 1 else rows:
        if tick == ticks[-1]:
            values[-1] = tempo
        else:
            ticks.append(tick)
            values.append(tempo)
    return np.array(ticks, dtype=np.int64), np.array(values, dtype=np.int64)


_HEADER = struct.Struct(">4sIHHH")
_CHUNK = struct.Struct(">4sI")


def _chunks(data: bytes, path: str | Path | None) -> tuple[int, int, int, int]:
    """(format, ticks per quarter note, tracks, offset of the first chunk after the header), once
    every chunk up to the last declared track is known to lie inside `data`."""
    if data[:4] != b"MThd":
        if data[:4] == b"RIFF":
            raise _fail(path, "RIFF-wrapped MIDI (RMID), not a standard MIDI file")
        raise _fail(path, "not a MIDI file (no MThd header)")
    if len(data) < 14:
        raise _fail(path, "truncated MIDI header")
    _, header_len, fmt, declared, division = _HEADER.unpack_from(data)
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
    first = pos = 8 + header_len
    found = 0
    while pos + 8 <= len(data) and found < declared:
        kind, length = _CHUNK.unpack_from(data, pos)
        body = pos + 8
        if body + length > len(data):
            raise _fail(path, f"truncated: chunk {kind!r} declares {length} bytes, {len(data) - body} remain")
        found += kind == b"MTrk"
        pos = body + length
    if found < declared:
        raise _fail(path, f"truncated: header declares {declared} tracks, found {found}")
    return fmt, division, declared, first


def parse_midi_bytes(data: bytes, path: str | Path | None = None, compiled: bool = True) -> MidiPerformance:
    """The performance in `data`; `compiled=False` runs the same loops interpreted (the tests' check
    that compilation changes nothing)."""
    fmt, ppq, tracks, first_chunk = _chunks(data, path)
    listed, tempo_room, columns_room = scratch_layout(len(data), tracks)
    work = jit.scratch(OUTCOME_SIZE + 3 * listed + 4 * tempo_room + 13 * columns_room)
    direct = columns_room > 0
    end_s = jit.kernel(scan_tracks, compiled)(data, first_chunk, tracks, work, listed, tempo_room, direct, 1e6 * ppq)
    code, track, value, count, tempos, end_tick, notes, cc4s, touches, note_offs, bad_byte = (
        work[:OUTCOME_SIZE].tolist()
    )
    if code != SCAN_OK:
        raise _fail(path, SCAN_MESSAGES[code].format(track=track, value=value))
    work = work[OUTCOME_SIZE:]
    tempo_tick, tempo_us = _tempo_map(work[3 * listed : 3 * listed + 4 * tempos].tolist())
    filled = 5 * notes + 2 * cc4s + 3 * touches
    if direct:
        block = np.empty(filled + notes + cc4s + touches, dtype=np.int64)
        columns = work[3 * listed + 4 * tempo_room :]
        jit.kernel(gather_columns, compiled)(columns, columns_room, notes, cc4s, touches, block)
        ints, seconds = block[:filled], block[filled:].view(np.float64)
    else:
        # per-track order is file order and tracks are concatenated in track order, so a stable sort
        # by tick gives the merged (tick, track, sequence) order
        by_order = np.argsort(work[:count], kind="stable")
        ints = np.empty(filled, dtype=np.int64)
        seconds = np.empty(notes + cc4s + touches, dtype=np.float64)
        end_s = jit.kernel(split_messages, compiled)(
            data, work[:count][by_order], work[listed : listed + count][by_order],
            work[2 * listed : 2 * listed + count][by_order], tempo_tick, tempo_us, 1e6 * ppq, end_tick,
            ints[: 5 * notes].reshape(5, notes), ints[5 * notes : 5 * notes + 2 * cc4s].reshape(2, cc4s),
            ints[5 * notes + 2 * cc4s :].reshape(3, touches), seconds,
        )
        bad_byte = end_s == BAD_DATA_BYTE
    if bad_byte:
        raise _fail(path, "a channel message has a data byte above 127")
    return MidiPerformance(fmt, ppq, notes, cc4s, touches, ints, seconds, note_offs, tempo_tick, tempo_us, float(end_s))


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
