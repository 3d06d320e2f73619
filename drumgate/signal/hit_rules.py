"""Rules over the hits picked from the NMF activations, where one class's evidence is read against
another's.

Yielding: NMF splits one membrane hit across templates whose spectra overlap (the snare's body
and the kick's low end lie in the tom's band), so a snare hit also raises a small tom peak. A tom
found at the same onset as a kick or snare of larger share is that split, not a second drum: in
drumming a tom struck in unison with the snare or kick is far rarer than the split.

Re-strikes: a drum struck again while its first hit still rings (a flam, a double, a drag).
NMF peak picking cannot see them: the class activation is still high from the first hit, so its
rising edge is small and falls inside the picker's `wait`. The onset detector does see them, but
it also fires a second time on the decay of one hit. The two are told apart by energy: a real
second stroke adds energy, so the spectrogram's total magnitude climbs again after the dip that
followed the first hit; a second detection on a decay finds no such climb. Only the stick-struck
drums (snare and tom by default) are repeated: flams, drags and doubles are stick work on
membranes; a single kick pedal does not strike twice within 60 ms, and a cymbal label on the
first hit is as often the attack of a drum that NMF split, so repeating it doubles that error.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

PEAK_S = 0.02  # a hit's magnitude peaks within this of its onset
CLIMB_S = 0.03  # the second stroke's climb is looked for this long after its onset


def yielded(
    hits: Sequence[tuple[float, str, float]], yield_to: Mapping[str, Sequence[str]], same_s: float
) -> list[bool]:
    """Per hit (time, label, share): whether a hit of a class its label yields to lies within
    `same_s` of it with a larger share."""
    order = sorted(range(len(hits)), key=lambda index: hits[index][0])
    times = np.asarray([hits[index][0] for index in order])
    gone = [False] * len(hits)
    for index, (time_s, label, share) in enumerate(hits):
        stronger = yield_to.get(label, ())
        if not stronger:
            continue
        low = int(np.searchsorted(times, time_s - same_s, side="left"))
        high = int(np.searchsorted(times, time_s + same_s, side="right"))
        near = (hits[order[k]] for k in range(low, high))
        gone[index] = any(other in stronger and other_share > share for _, other, other_share in near)
    return gone


@dataclass(frozen=True)
class Restrike:
    time_s: float
    label: str
    frame: int


def find_restrikes(
    hits: Sequence[tuple[float, str]],
    onsets: np.ndarray,
    energy: np.ndarray,
    frame_times: np.ndarray,
    window_s: float,
    min_rise: float,
    claimed_s: float,
    repeatable: Collection[str],
) -> list[Restrike]:
    """Onsets no hit claimed (none within `claimed_s`) that follow a hit by at most `window_s` and
    where the total magnitude `energy` climbs again by at least `min_rise` times the first hit's
    peak: each repeats the `repeatable` labels of the latest hit before it."""
    if window_s <= 0.0 or not hits or len(frame_times) == 0:
        return []
    hit_times = np.asarray([time_s for time_s, _ in hits])
    found: list[Restrike] = []
    for onset in np.asarray(onsets, dtype=np.float64):
        if np.any(np.abs(hit_times - onset) <= claimed_s):
            continue
        before = hit_times[(hit_times < onset) & (hit_times >= onset - window_s)]
        if len(before) == 0:
            continue
        first = float(before.max())
        first_frame, onset_frame = _frame_at(first, frame_times), _frame_at(onset, frame_times)
        if onset_frame <= first_frame or not _climbs_again(energy, frame_times, first_frame, onset_frame, min_rise):
            continue
        again = [label for time_s, label in hits if time_s == first and label in repeatable]
        found.extend(Restrike(float(onset), label, onset_frame) for label in again)
    return found


def _frame_at(time_s: float, frame_times: np.ndarray) -> int:
    return int(min(len(frame_times) - 1, max(0, np.searchsorted(frame_times, time_s))))


def _climbs_again(
    energy: np.ndarray, frame_times: np.ndarray, first_frame: int, onset_frame: int, min_rise: float
) -> bool:
    hop_s = float(frame_times[1] - frame_times[0]) if len(frame_times) > 1 else 1.0
    peak_frames, climb_frames = (max(1, round(seconds / hop_s)) for seconds in (PEAK_S, CLIMB_S))
    peak = float(energy[first_frame : first_frame + peak_frames + 1].max())
    dip = float(energy[first_frame + 1 : onset_frame + 1].min())
    climb = float(energy[onset_frame : onset_frame + climb_frames + 1].max())
    return peak > 0.0 and climb - dip >= min_rise * peak
