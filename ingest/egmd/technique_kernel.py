"""Technique inference over one performance's notes in a single compiled pass.

`infer_techniques` computes exactly what `drum_events.build_events_reference` computes with
numpy (same comparisons on the same float64 values, same medians) in two walks over the notes
instead of a few dozen array operations: on a 560-note Groove file, microseconds instead of a
third of a millisecond. Where the reference sorts the hits by pad, the pass links each hit to the
previous one on its pad; where it takes medians, it counts velocities in 128-bin histograms.
It is plain Python in the subset numba compiles (`ingest.egmd.jit`); the tests run it
interpreted too and compare both with the reference.
"""

from __future__ import annotations

import numpy as np

from ingest.egmd.midi_scan import (
    CC4_ORDER,
    CC4_VALUE,
    NOTE_ORDER,
    NOTE_PITCH,
    NOTE_VELOCITY,
    TOUCH_ORDER,
    TOUCH_PITCH,
    TOUCH_VALUE,
)
from ingest.egmd.note_map import (
    ACCENT_BIT,
    ACCENT_RATIO,
    ALLOWED_MASK,
    BASE_MASK,
    CHOKE_BIT,
    CHOKE_MIN_PRESSURE,
    DRAG_BIT,
    DRAG_WINDOW_S,
    DYNAMICS_SKIP_MASK,
    FLAM_BIT,
    FLAM_WINDOW_S,
    GHOST_BIT,
    GHOST_RATIO,
    GRACE_VELOCITY_RATIO,
    HALF_OPEN_BIT,
    HALF_OPEN_HIGH,
    HALF_OPEN_LOW,
    IS_HIHAT,
    MAPPED,
    MIN_PAD_NOTES,
    OPEN_OR_CLOSED_BIT,
    PAD,
    PADS,
    ROLL_BIT,
    ROLL_MAX_IOI_S,
    ROLL_MIN_HITS,
)

# rows of the `events` block infer_techniques fills
EVENT_NOTE_INDEX, EVENT_PITCH, EVENT_VELOCITY, EVENT_MASK, EVENT_CC4 = range(5)
# what became of each aftertouch (one code per message, in `touch_outcome`)
CHOKE_APPLIED, CHOKE_UNMAPPED, CHOKE_WITHOUT_HIT = range(3)
AFTER_EVERY_MESSAGE = 1 << 62


def work_size(notes: int, touches: int, pads: int) -> int:
    """The int64 scratch `infer_techniques` needs for `notes` notes and `touches` polyphonic
    aftertouches on `pads` pads; what became of each aftertouch is in its last `touches`."""
    return 131 * (pads + 1) + 4 * notes + touches


def infer_techniques(
    ints: np.ndarray,
    seconds: np.ndarray,
    size: int,
    cc4s: int,
    touches: int,
    notes: np.ndarray,
    settings: np.ndarray,
    ratios: np.ndarray,
    events: np.ndarray,
    onset: np.ndarray,
    work: np.ndarray,
) -> int:
    """Fill `events` (rows above) and `onset` with the mapped notes and return how many there are
    (-1 when a pitch or velocity is not a MIDI data byte, which the reader never lets through).

    `ints`, `seconds` and the counts are a MidiPerformance's (`size` notes); `notes`, `settings`
    and `ratios` are NoteMap.note_columns / inference_ints / inference_floats.
    Note, CC4 and aftertouch orders come from the reader in increasing file order, so the last
    CC4 before a hit and the last hit before an aftertouch are found by walking forward once.
    `work` is scratch space of `work_size` int64s: the pass allocates nothing, which keeps numba's
    first compile short (every array constructor compiled costs a fraction of a second). Its last
    `touches` get one code per aftertouch (CHOKE_*).
    """
    mapped, pad_table, base_mask, allowed_mask, is_hihat = (
        notes[MAPPED], notes[PAD], notes[BASE_MASK], notes[ALLOWED_MASK], notes[IS_HIHAT]
    )
    note_index, event_pitch, event_velocity, mask, event_cc4 = (
        events[EVENT_NOTE_INDEX], events[EVENT_PITCH], events[EVENT_VELOCITY], events[EVENT_MASK], events[EVENT_CC4]
    )
    pitch, order, velocity = (
        ints[NOTE_PITCH * size : (NOTE_PITCH + 1) * size],
        ints[NOTE_ORDER * size : (NOTE_ORDER + 1) * size],
        ints[NOTE_VELOCITY * size : (NOTE_VELOCITY + 1) * size],
    )
    cc4_order = ints[5 * size + CC4_ORDER * cc4s : 5 * size + (CC4_ORDER + 1) * cc4s]
    cc4_value = ints[5 * size + CC4_VALUE * cc4s : 5 * size + (CC4_VALUE + 1) * cc4s]
    touch_start = 5 * size + 2 * cc4s
    touch_order = ints[touch_start + TOUCH_ORDER * touches : touch_start + (TOUCH_ORDER + 1) * touches]
    touch_pitch = ints[touch_start + TOUCH_PITCH * touches : touch_start + (TOUCH_PITCH + 1) * touches]
    touch_value = ints[touch_start + TOUCH_VALUE * touches : touch_start + (TOUCH_VALUE + 1) * touches]
    pads = settings[PADS]
    open_or_closed, half_open, half_open_low, half_open_high = (
        settings[OPEN_OR_CLOSED_BIT], settings[HALF_OPEN_BIT], settings[HALF_OPEN_LOW], settings[HALF_OPEN_HIGH]
    )
    roll_max_ioi_s, roll_min_hits = ratios[ROLL_MAX_IOI_S], settings[ROLL_MIN_HITS]
    skip_mask = settings[DYNAMICS_SKIP_MASK]
    histogram = work[: 128 * (pads + 1)]  # 128 velocity bins per pad, then for every considered hit
    members = work[128 * (pads + 1) : 129 * (pads + 1)]  # considered hits per pad, then in all
    twice_median = work[129 * (pads + 1) : 130 * (pads + 1)]
    last_on_pad = work[130 * (pads + 1) : 131 * (pads + 1)]
    per_note = 131 * (pads + 1)
    previous_on_pad = work[per_note : per_note + size]
    run_first = work[per_note + size : per_note + 2 * size]
    run_length = work[per_note + 2 * size : per_note + 3 * size]
    considered = work[per_note + 3 * size : per_note + 4 * size]
    touch_outcome = work[per_note + 4 * size : per_note + 4 * size + touches]
    for index in range(130 * (pads + 1)):
        work[index] = 0
    for pad in range(pads):
        last_on_pad[pad] = -1
    for touch in range(touch_pitch.shape[0]):
        if not (0 <= touch_pitch[touch] < 128):
            return -1

    # one walk in file order: map the notes, hi-hat openness from the last CC4 before the hit,
    # the chain of hits per pad with its runs of fast repeats, chokes from polyphonic aftertouch
    count = 0
    cc4_seen = 0
    touch = 0
    considered_hits = 0
    choke_bit = settings[CHOKE_BIT]
    # a hit's mask is final for dynamics when it is made, unless a later choke could change that
    settled = (skip_mask & choke_bit) == 0 or touch_order.shape[0] == 0
    for index in range(size + 1):
        at = order[index] if index < size else AFTER_EVERY_MESSAGE
        # an aftertouch chokes the last earlier hit on the pad of its note
        while touch < touch_order.shape[0] and touch_order[touch] < at:
            touch_outcome[touch] = CHOKE_APPLIED
            if touch_value[touch] >= settings[CHOKE_MIN_PRESSURE]:
                if mapped[touch_pitch[touch]] == 0:
                    touch_outcome[touch] = CHOKE_UNMAPPED
                elif last_on_pad[pad_table[touch_pitch[touch]]] < 0:
                    touch_outcome[touch] = CHOKE_WITHOUT_HIT
                else:
                    mask[last_on_pad[pad_table[touch_pitch[touch]]]] |= choke_bit
            touch += 1
        if index == size:
            break
        note = pitch[index]
        hit_velocity = velocity[index]
        if not (0 <= note < 128 and 0 <= hit_velocity < 128):
            return -1
        if mapped[note] == 0:
            continue
        event = count
        count += 1
        pad = pad_table[note]
        hit_s = seconds[index]
        note_index[event] = index
        event_pitch[event] = note
        event_velocity[event] = hit_velocity
        onset[event] = hit_s
        bits = base_mask[note]
        cc4 = -1
        if is_hihat[note] != 0:
            while cc4_seen < cc4_order.shape[0] and cc4_order[cc4_seen] < at:
                cc4_seen += 1
            if cc4_seen > 0:
                cc4 = cc4_value[cc4_seen - 1]
        event_cc4[event] = cc4
        if (bits & open_or_closed) != 0 and half_open_low <= cc4 <= half_open_high:
            bits = (bits & ~open_or_closed) | half_open
        mask[event] = bits
        if settled:  # velocity histograms of the hits dynamics consider, per pad and in all
            counts = (bits & skip_mask) == 0  # added whatever it is: skipped hits (pedal) are many
            considered[event] = counts
            histogram[128 * pad + hit_velocity] += counts
            histogram[128 * pads + hit_velocity] += counts
            members[pad] += counts
            considered_hits += counts
        previous = last_on_pad[pad]
        previous_on_pad[event] = previous
        last_on_pad[pad] = event
        run_start = event
        if previous >= 0 and hit_s - onset[previous] <= roll_max_ioi_s:
            run_start = run_first[previous]
        run_first[event] = run_start
        run_length[event] = 0  # read only where a run starts
        run_length[run_start] += 1
    for event in range(0 if settled else count):
        considered[event] = (mask[event] & skip_mask) == 0
        if considered[event] != 0:
            histogram[128 * pad_table[event_pitch[event]] + event_velocity[event]] += 1
            histogram[128 * pads + event_velocity[event]] += 1
            members[pad_table[event_pitch[event]]] += 1
            considered_hits += 1
    members[pads] = considered_hits

    for group in range(pads + 1):
        # np.median's value: the middle velocity, or the float64 mean of the two middle ones
        low_rank, high_rank = (members[group] - 1) // 2, members[group] // 2
        seen = 0
        lower = -1
        for level in range(128 if members[group] > 0 else 0):
            seen += histogram[128 * group + level]
            if lower < 0 and seen > low_rank:
                lower = level
            if seen > high_rank:
                twice_median[group] = lower + level
                break
    for pad in range(pads):
        if members[pad] < settings[MIN_PAD_NOTES] or members[pad] == 0:
            twice_median[pad] = twice_median[pads]

    # then: ghost / accent against the pad's median (the performance's when the pad is sparse),
    # rolls, then flams and drags (one or two softer grace hits just before, outside rolls)
    ghost_ratio, accent_ratio, grace_ratio = ratios[GHOST_RATIO], ratios[ACCENT_RATIO], ratios[GRACE_VELOCITY_RATIO]
    flam_window_s, drag_window_s = ratios[FLAM_WINDOW_S], ratios[DRAG_WINDOW_S]
    ghost_bit, accent_bit, roll_bit = settings[GHOST_BIT], settings[ACCENT_BIT], settings[ROLL_BIT]
    flam_bit, drag_bit = settings[FLAM_BIT], settings[DRAG_BIT]
    # the bits as arithmetic on the comparisons, not branches: whether a hit is a ghost or a grace
    # note changes from hit to hit, and mispredicted branches cost more than the work they skip
    for event in range(count):
        bits = mask[event]
        hit_velocity = event_velocity[event]
        note = event_pitch[event]
        median = twice_median[pad_table[note]] / 2.0
        counts = considered[event] != 0
        bits |= ghost_bit * (counts & (hit_velocity < ghost_ratio * median))
        bits |= accent_bit * (counts & (hit_velocity > accent_ratio * median))
        previous = previous_on_pad[event]
        linked = max(previous, 0)  # indices to read whatever `previous` and `before` are
        before = previous_on_pad[linked]
        earlier = max(before, 0)
        grace_limit = hit_velocity * grace_ratio
        graced = (previous >= 0) & (event_velocity[linked] < grace_limit)
        drag = graced & (before >= 0) & (onset[event] - onset[earlier] <= drag_window_s)
        drag = drag & (event_velocity[earlier] < grace_limit)
        flam = graced & (not drag) & (onset[event] - onset[linked] <= flam_window_s)
        in_roll = run_length[run_first[event]] >= roll_min_hits
        if count >= 2:
            bits |= roll_bit * in_roll | (drag_bit * drag | flam_bit * flam) * (not in_roll)
        mask[event] = bits & allowed_mask[note]
    return count
