"""A fast standard-MIDI-file reader for drum performances.

It walks the bytes once (no per-message objects) and returns column arrays: note-ons, note-offs,
CC4 (hi-hat pedal), polyphonic aftertouch (cymbal choke) and the tempo map, with ticks converted
to seconds through the tempo map. Anything it cannot trust raises DrumgateError with one line:
truncated or non-MIDI files, format 2, SMPTE division, zero tempo, events after End of Track.
mido stays the reference reader the tests compare against.

The two byte loops are plain Python compiled by numba on first use (cached on disk); the tests
run them interpreted too and require identical results. Why not symusic, the fastest MIDI
library: it pairs note-offs with note-ons and drops a note left open, so a cymbal struck again
before its note-off loses an onset mido reads (one of 30,121 in the real Groove files), and it
does not read polyphonic aftertouch, which E-GMD uses for cymbal chokes (tests/test_midi_symusic.py)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from drumgate.errors import DrumgateError

DEFAULT_TEMPO_US = 500_000
FOOT_CONTROLLER = 4


class MidiFormatError(DrumgateError):
    """A MIDI file that cannot be read faithfully."""


@dataclass(frozen=True)
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


MAX_TICK = (1 << 23) - 1  # high-PPQ files pass it; a reader packing ticks into 23 bits would lose them
MAX_WIDE_TICK = 1 << 53  # past this a tick is no longer exact as a float: no real file gets near it
_SATURATED = MAX_WIDE_TICK + 1  # ticks and lengths stop growing here, so compiled int64 never overflows

# Outcomes of the track scan; anything but _OK names the one-line refusal in _SCAN_MESSAGES.
_OK, _TRUNCATED_INSIDE, _RUNNING_STATUS, _AFTER_END, _PAST_CHUNK, _TOO_LONG, _TEMPO_LENGTH, _ZERO_TEMPO, _STATUS = (
    range(9)
)
_SCAN_MESSAGES = {
    _TRUNCATED_INSIDE: "truncated: track {track} ends inside a message",
    _RUNNING_STATUS: "running status without a status byte in track {track}",
    _AFTER_END: "events after End of Track in track {track}",
    _PAST_CHUNK: "track {track} is truncated (a message runs past its chunk)",
    _TOO_LONG: f"track {{track}} is longer than {MAX_WIDE_TICK} ticks (a delta time longer than 4 bytes?)",
    _TEMPO_LENGTH: "tempo event with {value} data bytes in track {track}",
    _ZERO_TEMPO: "zero tempo at tick {value} in track {track}",
    _STATUS: "status byte 0x{value:02X} is not allowed in a MIDI file (track {track})",
}


def _scan_tracks(
    data: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    msg_tick: np.ndarray,
    msg_status: np.ndarray,
    msg_pos: np.ndarray,
    tempo_rows: np.ndarray,
    outcome: np.ndarray,
) -> None:
    """Walk every MTrk chunk body once, in track order, without message objects.

    Channel messages land as (tick, status, position of the first data byte) in file order per
    track; tempo metas as (tick, track, channel messages before it in that track, microseconds).
    `outcome` receives [code, track, value, messages, tempos, end tick]. Written in the subset of
    Python that numba compiles: every read is bounds-checked (compiled code has no IndexError) and
    ticks saturate instead of overflowing; a message may read past its chunk into the next one,
    and only the end of the data is an error, as a byte-by-byte reader would see it.
    """
    size = data.shape[0]
    messages = 0
    tempos = 0
    end_tick = 0
    for track in range(starts.shape[0]):
        pos = starts[track]
        end = ends[track]
        tick = 0
        status = 0
        first = messages
        code = _OK
        value = 0
        while pos < end:
            if pos >= size:
                code = _TRUNCATED_INSIDE
                break
            byte = int(data[pos])
            pos += 1
            delta = byte & 0x7F
            while byte >= 0x80:
                if pos >= size:
                    code = _TRUNCATED_INSIDE
                    break
                byte = int(data[pos])
                pos += 1
                delta = min((delta << 7) | (byte & 0x7F), _SATURATED)
            if code != _OK:
                break
            tick = min(tick + delta, _SATURATED)
            if pos >= size:
                code = _TRUNCATED_INSIDE
                break
            byte = int(data[pos])
            if byte < 0x80:
                if status == 0:
                    code = _RUNNING_STATUS
                    break
            elif byte < 0xF0:
                status = byte
                pos += 1
            elif byte == 0xFF or byte == 0xF0 or byte == 0xF7:
                pos += 1
                meta_type = -1
                if byte == 0xFF:
                    if pos >= size:
                        code = _TRUNCATED_INSIDE
                        break
                    meta_type = int(data[pos])
                    pos += 1
                length = 0
                while True:
                    if pos >= size:
                        code = _TRUNCATED_INSIDE
                        break
                    byte = int(data[pos])
                    pos += 1
                    length = min((length << 7) | (byte & 0x7F), _SATURATED)
                    if byte < 0x80:
                        break
                if code != _OK:
                    break
                if pos + length > size:
                    code = _TRUNCATED_INSIDE
                    break
                if meta_type == 0x51:
                    if length != 3:
                        code, value = _TEMPO_LENGTH, length
                        break
                    tempo = (int(data[pos]) << 16) | (int(data[pos + 1]) << 8) | int(data[pos + 2])
                    if tempo == 0:
                        code, value = _ZERO_TEMPO, tick
                        break
                    tempo_rows[tempos, 0] = tick
                    tempo_rows[tempos, 1] = track
                    tempo_rows[tempos, 2] = messages - first
                    tempo_rows[tempos, 3] = tempo
                    tempos += 1
                pos += length
                if meta_type == 0x2F:
                    if pos < end:
                        code = _AFTER_END
                    break
                continue
            else:
                code, value = _STATUS, byte
                break
            msg_tick[messages] = tick
            msg_status[messages] = status
            msg_pos[messages] = pos
            messages += 1
            pos += 1 if 0xC0 <= status < 0xE0 else 2
        if code == _OK and pos > end:
            code = _PAST_CHUNK
        if code == _OK and tick > MAX_WIDE_TICK:
            code = _TOO_LONG
        if code != _OK:
            outcome[0] = code
            outcome[1] = track
            outcome[2] = value
            return
        end_tick = max(end_tick, tick)
    outcome[0] = _OK
    outcome[3] = messages
    outcome[4] = tempos
    outcome[5] = end_tick


# rows of the integer and float columns _split_messages fills
_NOTE_TICK, _NOTE_ORDER, _NOTE_PITCH, _NOTE_VELOCITY, _NOTE_CHANNEL, _CC4_ORDER, _CC4_VALUE = range(7)
_TOUCH_ORDER, _TOUCH_PITCH, _TOUCH_VALUE = range(7, 10)
_NOTE_S, _CC4_S, _TOUCH_S = range(3)
_NOTES, _NOTE_OFFS, _CC4S, _TOUCHES, _BAD_DATA_BYTE = range(5)


def _split_messages(
    raw: np.ndarray,
    tick: np.ndarray,
    status: np.ndarray,
    position: np.ndarray,
    tempo_tick: np.ndarray,
    tempo_us: np.ndarray,
    scale: float,
    end_tick: int,
    ints: np.ndarray,
    floats: np.ndarray,
    counts: np.ndarray,
) -> float:
    """Fill `ints` and `floats` (rows named above) with the note-ons, CC4 and polyphonic aftertouch
    of the merged channel messages and `counts` with their numbers; returns the end in seconds.

    Seconds go through the piecewise-constant tempo map (tempo_tick[0] is 0) with numpy's float
    operations in numpy's order (segment starts summed one by one like cumsum), walking the map
    once since ticks only grow. Compiled like the scan.
    """
    size = tick.shape[0]
    for index in range(size):
        first = int(raw[position[index]])
        second = int(raw[position[index] + 1])
        if first > 0x7F or ((status[index] < 0xC0 or status[index] >= 0xE0) and second > 0x7F):
            counts[_BAD_DATA_BYTE] = 1
            return 0.0
    segments = tempo_tick.shape[0]
    segment_start_s = np.zeros(segments, dtype=np.float64)
    for segment in range(1, segments):
        segment_start_s[segment] = segment_start_s[segment - 1] + (
            (tempo_tick[segment] - tempo_tick[segment - 1]) * tempo_us[segment - 1] / scale
        )
    segment = 0
    notes = 0
    cc4s = 0
    touches = 0
    for index in range(size):
        kind = status[index] & 0xF0
        first = int(raw[position[index]])
        second = int(raw[position[index] + 1])
        at = tick[index]
        while segment + 1 < segments and tempo_tick[segment + 1] <= at:
            segment += 1
        is_note = kind == 0x90 and second > 0
        is_cc4 = kind == 0xB0 and first == FOOT_CONTROLLER
        if not (is_note or is_cc4 or kind == 0xA0):
            if kind == 0x80 or kind == 0x90:
                counts[_NOTE_OFFS] += 1
            continue
        seconds = segment_start_s[segment] + (at - tempo_tick[segment]) * tempo_us[segment] / scale
        if is_note:
            ints[_NOTE_TICK, notes] = at
            ints[_NOTE_ORDER, notes] = index
            ints[_NOTE_PITCH, notes] = first
            ints[_NOTE_VELOCITY, notes] = second
            ints[_NOTE_CHANNEL, notes] = status[index] & 0x0F
            floats[_NOTE_S, notes] = seconds
            notes += 1
        elif is_cc4:
            ints[_CC4_ORDER, cc4s] = index
            ints[_CC4_VALUE, cc4s] = second
            floats[_CC4_S, cc4s] = seconds
            cc4s += 1
        else:
            ints[_TOUCH_ORDER, touches] = index
            ints[_TOUCH_PITCH, touches] = first
            ints[_TOUCH_VALUE, touches] = second
            floats[_TOUCH_S, touches] = seconds
            touches += 1
    counts[_NOTES] = notes
    counts[_CC4S] = cc4s
    counts[_TOUCHES] = touches
    while segment + 1 < segments and tempo_tick[segment + 1] <= end_tick:
        segment += 1
    return segment_start_s[segment] + (end_tick - tempo_tick[segment]) * tempo_us[segment] / scale


_compiled: dict[str, Callable[..., Any]] = {}


def _kernel(function: Callable[..., Any], compiled: bool) -> Callable[..., Any]:
    """`function` compiled (or loaded from numba's on-disk cache) on first use only, so commands that
    never read MIDI never import numba; `compiled=False` gives the interpreted original."""
    if not compiled:
        return function
    if function.__name__ not in _compiled:
        import numba

        try:
            _compiled[function.__name__] = numba.njit(cache=True, nogil=True)(function)
        except RuntimeError:  # no writable cache folder (read-only install and home): compile every run
            _compiled[function.__name__] = numba.njit(nogil=True)(function)
    return _compiled[function.__name__]


@dataclass(frozen=True)
class _Scan:
    """Every track's channel messages merged in file order, the tempo metas and the last tick."""

    tick: np.ndarray
    status: np.ndarray
    position: np.ndarray
    tempos: list[tuple[int, int, int, int]]
    end_tick: int


def _scan(data: bytes, tracks: list[tuple[int, int]], path: str | Path | None, compiled: bool = True) -> _Scan:
    raw = np.frombuffer(data, dtype=np.uint8)
    room = len(data) // 2 + len(tracks) + 1  # a channel message or tempo takes at least two bytes
    msg_tick = np.empty(room, dtype=np.int64)
    msg_status = np.empty(room, dtype=np.int64)
    msg_pos = np.empty(room, dtype=np.int64)
    tempo_rows = np.empty((len(data) // 7 + len(tracks) + 1, 4), dtype=np.int64)  # a tempo meta: 7 bytes
    outcome = np.zeros(6, dtype=np.int64)
    starts = np.asarray([start for start, _ in tracks], dtype=np.int64)
    ends = np.asarray([end for _, end in tracks], dtype=np.int64)
    _kernel(_scan_tracks, compiled)(raw, starts, ends, msg_tick, msg_status, msg_pos, tempo_rows, outcome)
    code, track, value, messages, tempos, end_tick = outcome.tolist()
    if code != _OK:
        raise _fail(path, _SCAN_MESSAGES[code].format(track=track, value=value))
    ticks, status, position = msg_tick[:messages], msg_status[:messages], msg_pos[:messages]
    if len(tracks) > 1:
        # per-track order is file order and tracks are concatenated in track order, so a stable sort
        # by tick gives the merged (tick, track, sequence) order
        by_order = np.argsort(ticks, kind="stable")
        ticks, status, position = ticks[by_order], status[by_order], position[by_order]
    rows = [(int(a), int(b), int(c), int(d)) for a, b, c, d in tempo_rows[:tempos].tolist()]
    return _Scan(ticks, status, position, rows, end_tick)


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


def _tempo_map(rows: list[tuple[int, int, int, int]]) -> tuple[np.ndarray, np.ndarray]:
    ticks = [0]
    values = [DEFAULT_TEMPO_US]
    for tick, _track, _seq, tempo in sorted(rows):
        if tick == ticks[-1]:
            values[-1] = tempo
        else:
            ticks.append(tick)
            values.append(tempo)
    return np.asarray(ticks, dtype=np.int64), np.asarray(values, dtype=np.int64)


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
    """The performance in `data`; `compiled=False` runs the same scan interpreted (the tests' check
    that compilation changes nothing)."""
    fmt, ppq, _declared, tracks = _chunks(data, path)
    scan = _scan(data, tracks, path, compiled)
    tempo_tick, tempo_us = _tempo_map(scan.tempos)
    size = len(scan.tick)
    ints = np.empty((10, size), dtype=np.int64)
    floats = np.empty((3, size), dtype=np.float64)
    counts = np.zeros(5, dtype=np.int64)
    end_s = _kernel(_split_messages, compiled)(
        np.frombuffer(data + b"\x00", dtype=np.uint8),
        scan.tick,
        scan.status,
        scan.position,
        tempo_tick,
        tempo_us,
        1e6 * ppq,
        scan.end_tick,
        ints,
        floats,
        counts,
    )
    notes, note_offs, cc4s, touches, bad_data_byte = counts.tolist()
    if bad_data_byte:
        raise _fail(path, "a channel message has a data byte above 127")
    return MidiPerformance(
        format=fmt,
        ppq=ppq,
        note_tick=ints[_NOTE_TICK, :notes],
        note_order=ints[_NOTE_ORDER, :notes],
        note_s=floats[_NOTE_S, :notes],
        note_pitch=ints[_NOTE_PITCH, :notes],
        note_velocity=ints[_NOTE_VELOCITY, :notes],
        note_channel=ints[_NOTE_CHANNEL, :notes],
        note_off_count=note_offs,
        cc4_order=ints[_CC4_ORDER, :cc4s],
        cc4_s=floats[_CC4_S, :cc4s],
        cc4_value=ints[_CC4_VALUE, :cc4s],
        aftertouch_order=ints[_TOUCH_ORDER, :touches],
        aftertouch_s=floats[_TOUCH_S, :touches],
        aftertouch_pitch=ints[_TOUCH_PITCH, :touches],
        aftertouch_value=ints[_TOUCH_VALUE, :touches],
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
