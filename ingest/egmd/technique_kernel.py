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


def work_size(notes: int, pads: int) -> int:
    """The int64 scratch `infer_techniques` needs for `notes` notes on `pads` pads."""
    return 131 * (pads + 1) + 4 * notes


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
    touch_outcome: np.ndarray,
    work: np.ndarray,
) -> int:
    """Fill `events` (rows above) and `onset` with the mapped notes and return how many there are
    (-1 when a pitch or velocity is not a MIDI data byte, which the reader never lets through).

    `ints`, `seconds` and the counts are a MidiPerformance's (`size` notes); `notes`, `settings`
    and `ratios` are NoteMap.note_columns / inference_ints / inference_floats.
    Note, CC4 and aftertouch orders come from the reader in increasing file order, so the last
    CC4 before a hit and the last hit before an aftertouch are found by walking forward once.
    `work` is scratch space of `work_size` int64s: the pass allocates nothing, which keeps numba's
    first compile short (every array constructor compiled costs a fraction of a second).
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
    considered = work[per_note + 3 * size :]
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
    counted = 0
    settled = (skip_mask & settings[CHOKE_BIT]) == 0 or touch_order.shape[0] == 0
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
                    mask[last_on_pad[pad_table[touch_pitch[touch]]]] |= settings[CHOKE_BIT]
            touch += 1
        # velocity histograms of the hits dynamics consider, per pad and in all: a hit counts once
        # its mask is final for dynamics (at once, unless a later choke could change that)
        while counted < (count if index == size or settled else 0):
            considered[counted] = (mask[counted] & skip_mask) == 0
            if considered[counted] != 0:
                pad = pad_table[event_pitch[counted]]
                histogram[128 * pad + event_velocity[counted]] += 1
                histogram[128 * pads + event_velocity[counted]] += 1
                members[pad] += 1
                members[pads] += 1
            counted += 1
        if index == size:
            break
        note = pitch[index]
        if not (0 <= note < 128 and 0 <= velocity[index] < 128):
            return -1
        if mapped[note] == 0:
            continue
        event = count
        count += 1
        note_index[event] = index
        event_pitch[event] = note
        event_velocity[event] = velocity[index]
        onset[event] = seconds[index]
        mask[event] = base_mask[note]
        cc4 = -1
        if is_hihat[note] != 0:
            while cc4_seen < cc4_order.shape[0] and cc4_order[cc4_seen] < at:
                cc4_seen += 1
            if cc4_seen > 0:
                cc4 = cc4_value[cc4_seen - 1]
        event_cc4[event] = cc4
        if (mask[event] & open_or_closed) != 0 and half_open_low <= cc4 <= half_open_high:
            mask[event] = (mask[event] & ~open_or_closed) | half_open
        previous = last_on_pad[pad_table[note]]
        previous_on_pad[event] = previous
        last_on_pad[pad_table[note]] = event
        if previous >= 0 and onset[event] - onset[previous] <= roll_max_ioi_s:
            run_first[event] = run_first[previous]
        else:
            run_first[event] = event
            run_length[event] = 0
        run_length[run_first[event]] += 1

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
    for event in range(count):
        if considered[event] != 0:
            median = twice_median[pad_table[event_pitch[event]]] / 2.0
            if event_velocity[event] < ratios[GHOST_RATIO] * median:
                mask[event] |= settings[GHOST_BIT]
            if event_velocity[event] > ratios[ACCENT_RATIO] * median:
                mask[event] |= settings[ACCENT_BIT]
        previous = previous_on_pad[event]
        if count < 2:
            pass
        elif run_length[run_first[event]] >= roll_min_hits:
            mask[event] |= settings[ROLL_BIT]
        elif previous >= 0 and event_velocity[previous] < event_velocity[event] * ratios[GRACE_VELOCITY_RATIO]:
            grace_limit = event_velocity[event] * ratios[GRACE_VELOCITY_RATIO]
            before = previous_on_pad[previous]
            if (
                before >= 0
                and onset[event] - onset[before] <= ratios[DRAG_WINDOW_S]
                and event_velocity[before] < grace_limit
            ):
                mask[event] |= settings[DRAG_BIT]
            elif onset[event] - onset[previous] <= ratios[FLAM_WINDOW_S]:
                mask[event] |= settings[FLAM_BIT]
        mask[event] &= allowed_mask[event_pitch[event]]
    return count
