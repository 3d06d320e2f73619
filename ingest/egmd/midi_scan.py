"""The byte loops of the MIDI reader: one walk over the track chunks (which splits a single track
on the way), one over the merged channel messages of several, and the copy of a split track's rows.

All are plain Python in the subset numba compiles (`ingest.egmd.jit`); `ingest.egmd.midi`
runs them compiled, and interpreted in the tests, which require identical results.
"""

from __future__ import annotations

import numpy as np

FOOT_CONTROLLER = 4
_MTRK = 0x4D54726B  # b"MTrk" read big-endian
DEFAULT_TEMPO_US = 500_000

# rows of the blocks the loops fill
NOTE_TICK, NOTE_ORDER, NOTE_PITCH, NOTE_VELOCITY, NOTE_CHANNEL = range(5)
CC4_ORDER, CC4_VALUE = range(2)
TOUCH_ORDER, TOUCH_PITCH, TOUCH_VALUE = range(3)
# the slot of scan_tracks' `outcome` after its ten counts
_BAD_BYTE = 10
OUTCOME_SIZE = 11

MAX_TICK = (1 << 23) - 1  # high-PPQ files pass it; a reader packing ticks into 23 bits would lose them
MAX_WIDE_TICK = 1 << 53  # past this a tick is no longer exact as a float: no real file gets near it
_SATURATED = MAX_WIDE_TICK + 1  # ticks and lengths stop growing here, so compiled int64 never overflows

# Outcomes of the track scan; anything but SCAN_OK names the one-line refusal in SCAN_MESSAGES.
SCAN_OK, _TRUNCATED_INSIDE, _RUNNING_STATUS, _AFTER_END, _PAST_CHUNK, _TOO_LONG, _TEMPO_LENGTH, _ZERO_TEMPO, _STATUS = (
    range(9)
)
SCAN_MESSAGES = {
    _TRUNCATED_INSIDE: "truncated: track {track} ends inside a message",
    _RUNNING_STATUS: "running status without a status byte in track {track}",
    _AFTER_END: "events after End of Track in track {track}",
    _PAST_CHUNK: "track {track} is truncated (a message runs past its chunk)",
    _TOO_LONG: f"track {{track}} is longer than {MAX_WIDE_TICK} ticks (a delta time longer than 4 bytes?)",
    _TEMPO_LENGTH: "tempo event with {value} data bytes in track {track}",
    _ZERO_TEMPO: "zero tempo at tick {value} in track {track}",
    _STATUS: "status byte 0x{value:02X} is not allowed in a MIDI file (track {track})",
}


def scratch_layout(size: int, tracks: int) -> tuple[int, int, int]:
    """(listed, tempo_room, columns room) for a file of `size` bytes: a channel message or a tempo
    meta takes at least two bytes, a tempo meta seven; one track is split while scanned (no list)."""
    room = size // 2 + tracks + 1
    listed, columns_room = (0, room) if tracks == 1 else (room, 0)
    return listed, size // 7 + tracks + 1, columns_room


def scan_tracks(
    data: bytes,
    first_chunk: int,
    tracks: int,
    work: np.ndarray,
    listed: int,
    tempo_room: int,
    direct: bool,
    scale: float,
) -> float:
    """Walk the bodies of the first `tracks` MTrk chunks of the file bytes `data` once, in track
    order, without message objects; the chunks from byte `first_chunk` on have been checked to
    lie inside `data`. `work` holds OUTCOME_SIZE int64s (`outcome`), then scratch_layout's.

    Channel messages land as (tick, status, position of the first data byte) in file order per
    track, in three rows of `listed` at the start of `work`; tempo metas as (tick, track, channel
    messages before it in that track, microseconds) after them, four numbers each.
    `outcome` receives [code, track, value, messages, tempos, end tick, note-ons, CC4s, polyphonic
    aftertouches, note-offs (exact unless the file is refused for a data byte above 127), whether
    a data byte is above 127 (`direct` only), then the tempo segment being walked].

    `direct` (one track only): instead of listing the messages, do split_messages' work on the
    way, tempo segment by tempo segment, into `columns` (the rest of `work`, ten rows: NOTE_*, then
    CC4_* and TOUCH_* shifted by 5 and 7) and `times` (float64 after them, three rows: notes, CC4s,
    aftertouches), `room` (scratch_layout's columns room) apart; returns the end in seconds.
    gather_columns then copies the filled parts out. In one
    track every tempo meta precedes the later ticks it governs, and a tempo change at a message's
    own tick gives that message the same seconds either way, so this is the tempo map's result.

    Written in the subset of Python that numba compiles: every read is bounds-checked (compiled
    code has no IndexError) and ticks saturate instead of overflowing; a message may read past its
    chunk into the next one, and only the end of the data is an error, as a byte-by-byte reader
    would see it.
    """
    size = len(data)
    outcome = work[:OUTCOME_SIZE]
    work = work[OUTCOME_SIZE:]
    msg_tick, msg_status, msg_pos = work[:listed], work[listed : 2 * listed], work[2 * listed : 3 * listed]
    tempo_rows = work[3 * listed : 3 * listed + 4 * tempo_room]
    room = (work.shape[0] - 3 * listed - 4 * tempo_room) // 13
    columns = work[3 * listed + 4 * tempo_room : 3 * listed + 4 * tempo_room + 10 * room]
    times = work[3 * listed + 4 * tempo_room + 10 * room :].view(np.float64)
    messages = 0
    tempos = 0
    end_tick = 0
    notes = 0
    note_offs = 0
    cc4s = 0
    touches = 0
    # the tempo segment being walked (direct): start tick, microseconds, sequence of its meta (-1:
    # the default), as np.int64 so that interpreted runs do int64 arithmetic like compiled ones
    segment_tick = np.int64(0)
    segment_us = np.int64(DEFAULT_TEMPO_US)
    segment_sequence = np.int64(-1)
    segment_start_s = 0.0
    outcome[_BAD_BYTE] = 0
    chunk = first_chunk
    for track in range(tracks):
        while True:  # to the next MTrk chunk, skipping others as the header walk did
            pos = chunk + 8
            end = pos + (
                (int(data[chunk + 4]) << 24) | (int(data[chunk + 5]) << 16)
                | (int(data[chunk + 6]) << 8) | int(data[chunk + 7])
            )
            chunk_type = (
                (int(data[chunk]) << 24) | (int(data[chunk + 1]) << 16)
                | (int(data[chunk + 2]) << 8) | int(data[chunk + 3])
            )
            chunk = end
            if chunk_type == _MTRK:
                break
        tick = 0
        status = 0
        first = messages
        code = SCAN_OK
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
            if code != SCAN_OK:
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
                if code != SCAN_OK:
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
                    tempo_rows[4 * tempos] = tick
                    tempo_rows[4 * tempos + 1] = track
                    tempo_rows[4 * tempos + 2] = messages - first
                    tempo_rows[4 * tempos + 3] = tempo
                    tempos += 1
                    # at one tick the meta last in (sequence, tempo) order wins, as in the tempo map
                    if tick > segment_tick:
                        segment_start_s = segment_start_s + (tick - segment_tick) * segment_us / scale
                        segment_tick = np.int64(tick)
                        segment_us = np.int64(tempo)
                        segment_sequence = np.int64(messages - first)
                    elif messages - first > segment_sequence or tempo > segment_us:
                        segment_us = np.int64(tempo)
                        segment_sequence = np.int64(messages - first)
                pos += length
                if meta_type == 0x2F:
                    if pos < end:
                        code = _AFTER_END
                    break
                continue
            else:
                code, value = _STATUS, byte
                break
            kind = status & 0xF0
            one_byte = 0xC0 <= status < 0xE0
            first_byte = int(data[pos]) if pos < size else 0
            second = int(data[pos + 1]) if not one_byte and pos + 1 < size else 0
            is_note = kind == 0x90 and second > 0
            is_cc4 = kind == 0xB0 and first_byte == FOOT_CONTROLLER
            if direct and (first_byte | second) > 0x7F:
                outcome[_BAD_BYTE] = 1
            if not direct:
                msg_tick[messages] = tick
                msg_status[messages] = status
                msg_pos[messages] = pos
            # one chain of tests per message: it both counts and, in one track, splits
            if is_note:
                if direct:
                    columns[NOTE_TICK * room + notes] = tick
                    columns[NOTE_ORDER * room + notes] = messages
                    columns[NOTE_PITCH * room + notes] = first_byte
                    columns[NOTE_VELOCITY * room + notes] = second
                    columns[NOTE_CHANNEL * room + notes] = status & 0x0F
                    times[notes] = segment_start_s + (tick - segment_tick) * segment_us / scale
                notes += 1
            elif is_cc4:
                if direct:
                    columns[(5 + CC4_ORDER) * room + cc4s] = messages
                    columns[(5 + CC4_VALUE) * room + cc4s] = second
                    times[room + cc4s] = segment_start_s + (tick - segment_tick) * segment_us / scale
                cc4s += 1
            elif kind == 0xA0:
                if direct:
                    columns[(7 + TOUCH_ORDER) * room + touches] = messages
                    columns[(7 + TOUCH_PITCH) * room + touches] = first_byte
                    columns[(7 + TOUCH_VALUE) * room + touches] = second
                    times[2 * room + touches] = segment_start_s + (tick - segment_tick) * segment_us / scale
                touches += 1
            elif kind == 0x80 or kind == 0x90:
                note_offs += 1
            messages += 1
            pos += 1 if one_byte else 2
        if code == SCAN_OK and pos > end:
            code = _PAST_CHUNK
        if code == SCAN_OK and tick > MAX_WIDE_TICK:
            code = _TOO_LONG
        if code != SCAN_OK:
            outcome[0] = code
            outcome[1] = track
            outcome[2] = value
            return 0.0
        end_tick = max(end_tick, tick)
    outcome[0] = SCAN_OK
    outcome[3] = messages
    outcome[4] = tempos
    outcome[5] = end_tick
    outcome[6] = notes
    outcome[7] = cc4s
    outcome[8] = touches
    outcome[9] = note_offs
    return segment_start_s + (end_tick - segment_tick) * segment_us / scale


def gather_columns(columns: np.ndarray, room: int, notes: int, cc4s: int, touches: int, block: np.ndarray) -> None:
    """Copy the filled parts of scan_tracks' direct rows (`columns`: its ten rows of `room`, then
    the three of `times`, as int64 bits) into `block`, row after row: the notes' five rows, the
    CC4s' two, the aftertouches' three, then the seconds of the notes, CC4s and aftertouches."""
    packed = 0
    for row in range(13):
        filled = notes if row < 5 or row == 10 else cc4s if row < 7 or row == 11 else touches
        # views, then an index from 0: the copy compiles to plain moves, where slice assignment
        # pulled in numba's general setitem (3 s more to compile) and offset indices its wraparound
        source = columns[row * room : row * room + filled]
        target = block[packed : packed + filled]
        for index in range(filled):
            target[index] = source[index]
        packed += filled


BAD_DATA_BYTE = -1.0


def split_messages(
    data: bytes,
    tick: np.ndarray,
    status: np.ndarray,
    position: np.ndarray,
    tempo_tick: np.ndarray,
    tempo_us: np.ndarray,
    scale: float,
    end_tick: int,
    note_block: np.ndarray,
    cc4_block: np.ndarray,
    touch_block: np.ndarray,
    seconds: np.ndarray,
) -> float:
    """Fill the blocks (rows named above) with the note-ons, CC4 and polyphonic aftertouch of the
    merged channel messages, and `seconds` with their times (notes, then CC4s, then aftertouches);
    returns the end in seconds, or BAD_DATA_BYTE for a data byte above 127.

    Seconds go through the piecewise-constant tempo map (tempo_tick[0] is 0) with numpy's float
    operations in numpy's order (segment starts summed one by one like cumsum), walking the map
    once since ticks only grow. Compiled like the scan.
    """
    segments = tempo_tick.shape[0]
    segment_start_s = np.zeros(segments, dtype=np.float64)
    for segment in range(1, segments):
        segment_start_s[segment] = segment_start_s[segment - 1] + (
            (tempo_tick[segment] - tempo_tick[segment - 1]) * tempo_us[segment - 1] / scale
        )
    cc4_seconds = note_block.shape[1]
    touch_seconds = cc4_seconds + cc4_block.shape[1]
    segment = 0
    notes = 0
    cc4s = 0
    touches = 0
    for index in range(tick.shape[0]):
        kind = status[index] & 0xF0
        first = int(data[position[index]])
        second = int(data[position[index] + 1]) if kind < 0xC0 or kind >= 0xE0 else 0
        if first > 0x7F or second > 0x7F:
            return BAD_DATA_BYTE
        at = tick[index]
        while segment + 1 < segments and tempo_tick[segment + 1] <= at:
            segment += 1
        is_note = kind == 0x90 and second > 0
        is_cc4 = kind == 0xB0 and first == FOOT_CONTROLLER
        if not (is_note or is_cc4 or kind == 0xA0):
            continue
        at_s = segment_start_s[segment] + (at - tempo_tick[segment]) * tempo_us[segment] / scale
        if is_note:
            note_block[NOTE_TICK, notes] = at
            note_block[NOTE_ORDER, notes] = index
            note_block[NOTE_PITCH, notes] = first
            note_block[NOTE_VELOCITY, notes] = second
            note_block[NOTE_CHANNEL, notes] = status[index] & 0x0F
            seconds[notes] = at_s
            notes += 1
        elif is_cc4:
            cc4_block[CC4_ORDER, cc4s] = index
            cc4_block[CC4_VALUE, cc4s] = second
            seconds[cc4_seconds + cc4s] = at_s
            cc4s += 1
        else:
            touch_block[TOUCH_ORDER, touches] = index
            touch_block[TOUCH_PITCH, touches] = first
            touch_block[TOUCH_VALUE, touches] = second
            seconds[touch_seconds + touches] = at_s
            touches += 1
    while segment + 1 < segments and tempo_tick[segment + 1] <= end_tick:
        segment += 1
    return segment_start_s[segment] + (end_tick - tempo_tick[segment]) * tempo_us[segment] / scale
