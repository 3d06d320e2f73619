"""Drum MIDI notes to taxonomy events: technique inference over one performance.

The note map (`ingest.egmd.note_map`) gives each MIDI note a class, an optional crash variant,
base techniques and a pad. Inference then adds, per performance:

- hi-hat `half_open` when the last CC4 before the hit lies in the configured band (CC4 0 is
  open, 127 closed; the module already chose open vs closed in the note number);
- `choke` on the preceding hit of the same pad when polyphonic aftertouch grabs it (never an onset);
- `ghost` / `accent` relative to the median velocity of that pad in this performance (or of the
  whole performance when the pad has few hits);
- `flam` / `drag` on a stroke preceded by one / two softer grace hits on the same pad within the
  window, and `roll` on every hit of a run of fast repeated strokes on one pad.

Unmapped notes are excluded from the events and counted by note number. `build_events` runs the
compiled pass in `technique_kernel`; `build_events_reference` is the numpy statement of the same
rules that the tests hold it to, row for row.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from ingest.egmd import jit
from ingest.egmd.midi import MidiPerformance
from ingest.egmd.note_map import NoteMap
from ingest.egmd.technique_kernel import (
    CHOKE_UNMAPPED,
    CHOKE_WITHOUT_HIT,
    EVENT_CC4,
    EVENT_MASK,
    EVENT_NOTE_INDEX,
    EVENT_PITCH,
    EVENT_VELOCITY,
    infer_techniques,
    work_size,
)


@dataclass(slots=True)
class PerformanceEvents:
    """One performance's events as columns; `note_index` points back into the MIDI note-ons."""

    note_index: np.ndarray
    onset_s: np.ndarray
    pitch: np.ndarray
    velocity: np.ndarray
    technique_mask: np.ndarray
    cc4: np.ndarray
    unknown_notes: Counter[int]
    warnings: list[str]

    def __len__(self) -> int:
        return len(self.note_index)


def _last_before(event_order: np.ndarray, query_order: np.ndarray) -> np.ndarray:
    """Index of the last event strictly before each query in file order, -1 when none."""
    return np.searchsorted(event_order, query_order, side="left") - 1


def _hihat_openness(perf: MidiPerformance, pitch: np.ndarray, order: np.ndarray, nm: NoteMap) -> np.ndarray:
    cc4 = np.full(len(pitch), -1, dtype=np.int64)
    if len(perf.cc4_order):
        last = _last_before(perf.cc4_order, order)
        known = last >= 0
        cc4[known] = perf.cc4_value[last[known]]
    cc4[~nm.is_hihat[pitch]] = -1
    return cc4


def _apply_half_open(mask: np.ndarray, cc4: np.ndarray, nm: NoteMap) -> None:
    low, high = nm.params.half_open_cc4
    open_or_closed = nm.bit["open"] | nm.bit["closed"]
    half = ((mask & open_or_closed) != 0) & (cc4 >= low) & (cc4 <= high)
    mask[half] = (mask[half] & ~open_or_closed) | nm.bit["half_open"]


def _apply_dynamics(mask: np.ndarray, velocity: np.ndarray, pad: np.ndarray, nm: NoteMap) -> None:
    params = nm.params
    skip = nm.mask_of(list(params.dynamics_skip))
    considered = (mask & skip) == 0
    if not considered.any():
        return
    overall = float(np.median(velocity[considered]))
    median = np.full(len(velocity), overall)
    for pad_id in np.unique(pad[considered]):
        members = considered & (pad == pad_id)
        if members.sum() >= params.min_pad_notes:
            median[members] = float(np.median(velocity[members]))
    mask[considered & (velocity < params.ghost_ratio * median)] |= nm.bit["ghost"]
    mask[considered & (velocity > params.accent_ratio * median)] |= nm.bit["accent"]


def _apply_grace_and_rolls(
    mask: np.ndarray, onset: np.ndarray, velocity: np.ndarray, pad: np.ndarray, nm: NoteMap
) -> None:
    params = nm.params
    if len(onset) < 2:
        return
    by_pad = np.lexsort((np.arange(len(onset)), pad))
    t = onset[by_pad]
    v = velocity[by_pad].astype(np.float64)
    p = pad[by_pad]
    same1 = np.zeros(len(t), dtype=bool)
    same1[1:] = p[1:] == p[:-1]
    dt1 = np.full(len(t), np.inf)
    dt1[1:] = t[1:] - t[:-1]
    fast = same1 & (dt1 <= params.roll_max_ioi_s)
    run_id = np.cumsum(~fast)
    in_roll = np.bincount(run_id)[run_id] >= params.roll_min_hits
    grace_limit = v * params.grace_velocity_ratio
    v_prev1 = np.full(len(t), np.inf)
    v_prev1[1:] = v[:-1]
    flam = ~in_roll & same1 & (dt1 <= params.flam_window_s) & (v_prev1 < grace_limit)
    same2 = np.zeros(len(t), dtype=bool)
    same2[2:] = same1[2:] & (p[2:] == p[:-2])
    dt2 = np.full(len(t), np.inf)
    dt2[2:] = t[2:] - t[:-2]
    v_prev2 = np.full(len(t), np.inf)
    v_prev2[2:] = v[:-2]
    drag = ~in_roll & same2 & (dt2 <= params.drag_window_s) & (v_prev1 < grace_limit) & (v_prev2 < grace_limit)
    flam &= ~drag
    result = np.zeros(len(t), dtype=np.int64)
    result[in_roll] |= nm.bit["roll"]
    result[flam] |= nm.bit["flam"]
    result[drag] |= nm.bit["drag"]
    mask[by_pad] |= result


def _apply_chokes(
    perf: MidiPerformance, mask: np.ndarray, pitch: np.ndarray, order: np.ndarray, pad: np.ndarray, nm: NoteMap
) -> list[str]:
    warnings: list[str] = []
    for at_pitch, at_order, at_value, at_s in zip(
        perf.aftertouch_pitch.tolist(),
        perf.aftertouch_order.tolist(),
        perf.aftertouch_value.tolist(),
        perf.aftertouch_s.tolist(),
        strict=True,
    ):
        if at_value < nm.params.choke_min_pressure:
            continue
        if not nm.mapped[at_pitch]:
            warnings.append(f"aftertouch on unmapped note {at_pitch} at {at_s:.3f}s ignored")
            continue
        candidates = np.flatnonzero((pad == nm.pad_index[at_pitch]) & (order < at_order))
        if not len(candidates):
            warnings.append(f"choke on note {at_pitch} at {at_s:.3f}s has no preceding hit on its pad")
            continue
        mask[candidates[-1]] |= nm.bit["choke"]
    return warnings


def build_events_reference(perf: MidiPerformance, nm: NoteMap) -> PerformanceEvents:
    """The inference rules as numpy array operations: the statement `build_events` is tested against."""
    mapped = nm.mapped[perf.note_pitch]
    unknown = Counter(perf.note_pitch[~mapped].tolist())
    note_index = np.flatnonzero(mapped)
    pitch = perf.note_pitch[note_index]
    order = perf.note_order[note_index]
    onset = perf.note_s[note_index]
    velocity = perf.note_velocity[note_index]
    pad = nm.pad_index[pitch]
    mask = nm.base_mask[pitch].copy()
    cc4 = _hihat_openness(perf, pitch, order, nm)
    _apply_half_open(mask, cc4, nm)
    warnings = _apply_chokes(perf, mask, pitch, order, pad, nm) if len(perf.aftertouch_order) else []
    _apply_dynamics(mask, velocity, pad, nm)
    _apply_grace_and_rolls(mask, onset, velocity, pad, nm)
    mask &= nm.allowed_mask[pitch]
    return PerformanceEvents(note_index, onset, pitch, velocity, mask, cc4, unknown, warnings)


def build_events(perf: MidiPerformance, nm: NoteMap, compiled: bool = True) -> PerformanceEvents:
    """The performance's events; `compiled=False` runs the same pass interpreted (for the tests)."""
    notes, touches = perf.notes, perf.touches
    events = np.empty((5, notes), dtype=np.int64)
    onset = np.empty(notes, dtype=np.float64)
    work = jit.scratch(work_size(notes, touches, len(nm.pads)))
    count = jit.kernel(infer_techniques, compiled)(
        perf.ints,
        perf.seconds,
        notes,
        perf.cc4s,
        touches,
        nm.note_columns,
        nm.inference_ints,
        nm.inference_floats,
        events,
        onset,
        work,
    )
    if count < 0:
        raise ValueError("a note pitch or velocity outside 0..127: not from the MIDI reader")
    unknown: Counter[int] = Counter()
    if count < notes:
        unknown.update(perf.note_pitch[~nm.mapped[perf.note_pitch]].tolist())
    touch_outcome = work[len(work) - touches :]
    return PerformanceEvents(
        events[EVENT_NOTE_INDEX, :count],
        onset[:count],
        events[EVENT_PITCH, :count],
        events[EVENT_VELOCITY, :count],
        events[EVENT_MASK, :count],
        events[EVENT_CC4, :count],
        unknown,
        _choke_warnings(perf, touch_outcome) if touches and touch_outcome.any() else [],
    )


def _choke_warnings(perf: MidiPerformance, touch_outcome: np.ndarray) -> list[str]:
    warnings = []
    for code, pitch, seconds in zip(
        touch_outcome.tolist(), perf.aftertouch_pitch.tolist(), perf.aftertouch_s.tolist(), strict=True
    ):
        if code == CHOKE_UNMAPPED:
            warnings.append(f"aftertouch on unmapped note {pitch} at {seconds:.3f}s ignored")
        elif code == CHOKE_WITHOUT_HIT:
            warnings.append(f"choke on note {pitch} at {seconds:.3f}s has no preceding hit on its pad")
    return warnings


def class_counts(events: PerformanceEvents, nm: NoteMap) -> Counter[str]:
    """Events per taxonomy class."""
    per_note = np.bincount(events.pitch, minlength=128)
    counts: Counter[str] = Counter()
    for note in np.flatnonzero(per_note).tolist():
        counts[nm.specs[note].class_id] += int(per_note[note])
    return counts
