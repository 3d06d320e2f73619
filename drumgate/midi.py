"""A fast standard-MIDI-file reader for drum performances.

It walks the bytes once (no per-message objects) and returns column arrays: note-ons, note-offs,
CC4 (hi-hat pedal), polyphonic aftertouch (cymbal choke) and the tempo map, with ticks converted
to seconds through the tempo map. Anything it cannot trust raises DrumgateError with one line:
truncated or non-MIDI files, format 2, SMPTE division, zero tempo, events after End of Track.
mido stays the reference reader the tests compare against.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

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


MAX_TICK = (1 << 23) - 1  # the largest tick the packed int64 (tick << 40) holds; beyond, unpack wide
_TICK_SHIFT = 40
_STATUS_SHIFT = 32
_LOW_MASK = (1 << _TICK_SHIFT) - 1
MAX_WIDE_TICK = 1 << 53  # past this a tick is no longer exact as a float: no real file gets near it
_MESSAGE_LENGTH = tuple(1 if 0xC0 <= status < 0xE0 else 2 for status in range(256))


@dataclass
class _Columns:
    """Per track: every channel message packed as tick<<40 | status<<32 | data position."""

    tracks: list[list[int]]
    tempos: list[tuple[int, int, int, int]]
    end_tick: int


def _fail(path: str | Path | None, message: str) -> MidiFormatError:
    return MidiFormatError(message, path=path, hint="skip or re-export this file")


def _parse_track(data: bytes, pos: int, end: int, track: int, cols: _Columns, path: str | Path | None) -> None:
    """Walk one MTrk chunk body; channel messages are decoded later, in bulk, from their positions."""
    packed: list[int] = []
    append = packed.append
    lengths = _MESSAGE_LENGTH
    tick = 0
    status = 0
    while pos < end:
        byte = data[pos]
        pos += 1
        if byte >= 0x80:
            delta = byte & 0x7F
            while True:
                byte = data[pos]
                pos += 1
                delta = (delta << 7) | (byte & 0x7F)
                if byte < 0x80:
                    break
            tick += delta
        else:
            tick += byte
        byte = data[pos]
        if byte < 0x80:
            if not status:
                raise _fail(path, f"running status without a status byte in track {track}")
        elif byte < 0xF0:
            status = byte
            pos += 1
        else:
            pos = _parse_system(data, pos + 1, byte, tick, track, len(packed), cols, path)
            if pos < 0:
                if -pos < end:
                    raise _fail(path, f"events after End of Track in track {track}")
                pos = -pos
            continue
        append((tick << _TICK_SHIFT) | (status << _STATUS_SHIFT) | pos)
        pos += lengths[status]
    if pos > end:
        raise _fail(path, f"track {track} is truncated (a message runs past its chunk)")
    if tick > MAX_WIDE_TICK:
        raise _fail(path, f"track {track} is longer than {MAX_WIDE_TICK} ticks (a delta time longer than 4 bytes?)")
    cols.tracks.append(packed)
    cols.end_tick = max(cols.end_tick, tick)


def _read_vlq(data: bytes, pos: int) -> tuple[int, int]:
    value = 0
    while True:
        byte = data[pos]
        pos += 1
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, pos


def _parse_system(
    data: bytes, pos: int, status: int, tick: int, track: int, seq: int, cols: _Columns, path: str | Path | None
) -> int:
    """Meta and SysEx events; returns the next position, negated after End of Track."""
    if status == 0xFF:
        meta_type = data[pos]
        length, pos = _read_vlq(data, pos + 1)
        body = data[pos : pos + length]
        if len(body) < length:
            raise IndexError
        if meta_type == 0x51:
            if length != 3:
                raise _fail(path, f"tempo event with {length} data bytes in track {track}")
            tempo = int.from_bytes(body, "big")
            if tempo == 0:
                raise _fail(path, f"zero tempo at tick {tick} in track {track}")
            cols.tempos.append((tick, track, seq, tempo))
        elif meta_type == 0x2F:
            return -(pos + length)
        return pos + length
    if status in (0xF0, 0xF7):
        length, pos = _read_vlq(data, pos)
        if pos + length > len(data):
            raise IndexError
        return pos + length
    raise _fail(path, f"status byte 0x{status:02X} is not allowed in a MIDI file (track {track})")


def _tempo_map(cols: _Columns) -> tuple[np.ndarray, np.ndarray]:
    tempos = sorted(cols.tempos)
    ticks = [0]
    values = [DEFAULT_TEMPO_US]
    for tick, _track, _seq, tempo in tempos:
        if tick == ticks[-1]:
            values[-1] = tempo
        else:
            ticks.append(tick)
            values.append(tempo)
    return np.asarray(ticks, dtype=np.int64), np.asarray(values, dtype=np.int64)


def ticks_to_seconds(ticks: np.ndarray, tempo_tick: np.ndarray, tempo_us: np.ndarray, ppq: int) -> np.ndarray:
    """Seconds for each tick through a piecewise-constant tempo map starting at tick 0."""
    seg_seconds = np.diff(tempo_tick) * tempo_us[:-1] / (1e6 * ppq)
    seg_start = np.concatenate(([0.0], np.cumsum(seg_seconds)))
    index = np.searchsorted(tempo_tick, ticks, side="right") - 1
    return seg_start[index] + (ticks - tempo_tick[index]) * tempo_us[index] / (1e6 * ppq)


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


def _track_columns(packed: list[int], wide: bool) -> tuple[np.ndarray, np.ndarray]:
    """(ticks, status<<32 | position) of one track's packed messages. Ticks past MAX_TICK (a high-PPQ
    file) do not fit the packed int64, so such files are unpacked in Python ints instead."""
    if wide:
        ticks = np.fromiter((value >> _TICK_SHIFT for value in packed), dtype=np.int64, count=len(packed))
        low = np.fromiter((value & _LOW_MASK for value in packed), dtype=np.int64, count=len(packed))
        return ticks, low
    values = np.asarray(packed, dtype=np.int64)
    return values >> _TICK_SHIFT, values & _LOW_MASK


def _channel_messages(data: bytes, cols: _Columns, path: str | Path | None) -> dict[str, np.ndarray]:
    """Unpack every track's channel messages into merged columns in file order.

    Tracks are concatenated in track order, each in its own order, so a stable sort by tick alone
    gives the merged (tick, track, sequence) order; `order` is the rank in it."""
    wide = cols.end_tick > MAX_TICK
    parts = [_track_columns(packed, wide) for packed in cols.tracks]
    ticks = np.concatenate([part[0] for part in parts]) if parts else np.zeros(0, dtype=np.int64)
    values = np.concatenate([part[1] for part in parts]) if parts else np.zeros(0, dtype=np.int64)
    if len(parts) > 1:
        by_order = np.argsort(ticks, kind="stable")
        ticks, values = ticks[by_order], values[by_order]
    raw = np.frombuffer(data + b"\x00", dtype=np.uint8)
    position = values & 0xFFFFFFFF
    status = (values >> _STATUS_SHIFT) & 0xFF
    data1 = raw[position].astype(np.int64)
    data2 = raw[position + 1].astype(np.int64)
    two_bytes = (status < 0xC0) | (status >= 0xE0)
    if (data1 > 0x7F).any() or (two_bytes & (data2 > 0x7F)).any():
        raise _fail(path, "a channel message has a data byte above 127")
    return {
        "tick": ticks,
        "order": np.arange(len(ticks), dtype=np.int64),
        "kind": status & 0xF0,
        "channel": status & 0x0F,
        "data1": data1,
        "data2": data2,
    }


def parse_midi_bytes(data: bytes, path: str | Path | None = None) -> MidiPerformance:
    fmt, ppq, _declared, tracks = _chunks(data, path)
    cols = _Columns([], [], 0)
    for track, (start, end) in enumerate(tracks):
        try:
            _parse_track(data, start, end, track, cols, path)
        except IndexError:
            raise _fail(path, f"truncated: track {track} ends inside a message") from None
    tempo_tick, tempo_us = _tempo_map(cols)
    msg = _channel_messages(data, cols, path)
    kind, data1, data2 = msg["kind"], msg["data1"], msg["data2"]
    note_on = (kind == 0x90) & (data2 > 0)
    note_off = (kind == 0x80) | ((kind == 0x90) & (data2 == 0))
    cc4 = (kind == 0xB0) & (data1 == FOOT_CONTROLLER)
    touch = kind == 0xA0

    def seconds(ticks: np.ndarray) -> np.ndarray:
        return ticks_to_seconds(ticks, tempo_tick, tempo_us, ppq)

    note_tick = msg["tick"][note_on]
    return MidiPerformance(
        format=fmt,
        ppq=ppq,
        note_tick=note_tick,
        note_order=msg["order"][note_on],
        note_s=seconds(note_tick),
        note_pitch=data1[note_on],
        note_velocity=data2[note_on],
        note_channel=msg["channel"][note_on],
        note_off_count=int(note_off.sum()),
        cc4_order=msg["order"][cc4],
        cc4_s=seconds(msg["tick"][cc4]),
        cc4_value=data2[cc4],
        aftertouch_order=msg["order"][touch],
        aftertouch_s=seconds(msg["tick"][touch]),
        aftertouch_pitch=data1[touch],
        aftertouch_value=data2[touch],
        tempo_tick=tempo_tick,
        tempo_us=tempo_us,
        end_s=float(seconds(np.asarray([cols.end_tick], dtype=np.int64))[0]),
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
