"""One Cambridge session's drum-hit events from its stems' onsets.

Bleed suppression across the session's close mics (`ingest.cambridge.bleed` and
`ingest.cambridge.cross_mic`); velocity from level; ghost and accent from level relative to the
stem's typical hit; flam from a close double onset; open or closed hi-hat from the ring after the
hit. Overhead and room stems only add cymbal candidates where the high band that sustains after
an onset is not explained by the close mics and rings on. Every event is `label_source: derived`
with a confidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from drumgate.errors import DrumgateError
from drumgate.taxonomy import CRASH_FILE, Taxonomy
from ingest.cambridge.bleed import AttackMeter, StemLevels, calibrate, own_onsets, unexplained
from ingest.cambridge.cross_mic import cross_mic_keep
from ingest.cambridge.event_settings import EventSettings
from ingest.cambridge.sessions import DATASET
from ingest.cambridge.stem_reader import ANALYSIS_SR, StemOnsets

HEAD_S = 0.03
# The hi-hat's ring is read over [t + 0.1 s, t + 0.2 s], cut short before the mic's next onset (the hat
# struck again, or another drum's bleed): a closed hat played in sixteenths has its next hit inside that
# window, and reading that hit as ring called nearly every such hat open. A window cut below
# RING_MIN_S is moved earlier, never into the attack (HEAD_S); under RING_MIN_S after the attack, too
# short to read, the hat is closed (it was struck again before an open hat could ring).
RING_START_S, RING_END_S, RING_MIN_S, RING_GUARD_S = 0.1, 0.2, 0.02, 0.005


def _ring_db(signal: np.ndarray, time_s: float, sr: int, start_s: float, end_s: float) -> float:
    """RMS level of [t+start, t+end] relative to the first 30 ms after t."""
    onset = int(time_s * sr)
    head = _rms(signal, onset, onset + int(HEAD_S * sr))
    tail = _rms(signal, onset + int(start_s * sr), onset + int(end_s * sr))
    return 20 * np.log10(tail / head)


def hat_ring_db(signal: np.ndarray, onsets: np.ndarray, time_s: float, sr: int) -> float | None:
    """The hi-hat's ring after the hit at `time_s` (dB against its attack), read before the next of the
    mic's `onsets` (sorted); None when the next comes too soon to read one."""
    later = onsets[np.searchsorted(onsets, time_s + HEAD_S, side="left"):]
    end = min(RING_END_S, float(later[0]) - time_s - RING_GUARD_S) if len(later) else RING_END_S
    start = max(HEAD_S, min(RING_START_S, end - RING_MIN_S))
    if end - start < RING_MIN_S - 1e-9:  # a window moved earlier is RING_MIN_S long, give or take a rounding
        return None
    return _ring_db(signal, time_s, sr, start, end)


def suppress_bleed(
    stems: list[StemOnsets], sr: int, settings: EventSettings, ambient: Sequence[StemOnsets] = ()
) -> list[StemLevels]:
    """Keep each close-mic onset its own instrument explains better than the others' leaks: loud
    enough against the stem's own hits, and not explained by what the other close mics and the
    overhead or room mics (`ambient`) leak into it at that moment, band by band."""
    meters = [
        StemLevels(s.instrument, s.times, AttackMeter(s.signal, sr, settings.level), until_next=True) for s in stems
    ]
    witnesses = [StemLevels(s.role, s.times, AttackMeter(s.signal, sr, settings.level)) for s in ambient]
    masks = own_onsets(meters, settings.bleed)
    cross = cross_mic_keep(meters, witnesses, settings.cross_mic)
    for stem, meter, mask, own_drum in zip(stems, meters, masks, cross, strict=True):
        assert meter.relative_db is not None
        stem.levels_db = meter.relative_db
        if stem.instrument in settings.cross_mic.classes:  # the cross-mic test replaces the level model's leak guess
            stem.keep = own_drum & (meter.relative_db > settings.cross_mic.min_level_db)
        else:
            stem.keep = mask
    return meters


@dataclass
class Event:
    time_s: float
    label: str
    stem: StemOnsets
    confidence: float
    velocity: int
    techniques: list[str]
    variant: str | None = None
    attributes: dict[str, float] = field(default_factory=dict)


def _velocity(relative_db: float) -> int:
    return int(np.clip(round(110 + relative_db * 3.0), 1, 127))


def _confidence(settings: EventSettings, role: str, strength: float, fallback: float) -> float:
    return round(settings.confidence.get(role, fallback) * (0.7 + 0.3 * min(1.0, strength / 0.3)), 3)


def close_mic_events(stem: StemOnsets, sr: int, taxonomy: Taxonomy, settings: EventSettings) -> list[Event]:
    rules = settings.techniques
    times = stem.times[stem.keep]
    levels = stem.levels_db[stem.keep]
    strengths = stem.strengths[stem.keep]
    typical = float(np.median(levels)) if len(levels) else 0.0
    onsets = np.sort(stem.times)  # every onset on the mic, bleed too: any of them ends a ring
    events: list[Event] = []
    index = 0
    while index < len(times):
        techniques: list[str] = []
        time_s, level, strength = float(times[index]), float(levels[index]), float(strengths[index])
        last = index + 1 == len(times)  # the last onset has no second stroke to make a flam with
        if not last and rules.flam_min_s <= float(times[index + 1] - time_s) <= rules.flam_max_s:
            techniques.append("flam")
            level = max(level, float(levels[index + 1]))
            index += 1
        relative = level - typical
        if relative <= rules.ghost_db:
            techniques.append("ghost")
        elif relative >= rules.accent_db:
            techniques.append("accent")
        attributes = {"level_db": round(level, 2)}
        if taxonomy.is_hihat(stem.instrument):
            ring = hat_ring_db(stem.signal, onsets, time_s, sr)
            techniques.append("open" if ring is not None and ring > rules.open_hat_ring_db else "closed")
            if ring is not None:
                attributes["ring_db"] = round(ring, 2)
        allowed = sorted(t for t in techniques if taxonomy.technique_allowed(t, stem.instrument))
        confidence = _confidence(settings, stem.role, strength, 0.6)
        events.append(
            Event(time_s, stem.instrument, stem, confidence, _velocity(level), allowed, attributes=attributes)
        )
        index += 1
    return events


def _rms(signal: np.ndarray, start: int, end: int) -> float:
    part = signal[max(0, start) : max(0, end)]
    return float(np.sqrt(np.mean(part.astype(np.float64) ** 2))) + 1e-12 if len(part) else 1e-12


def cymbal_ring(signal: np.ndarray, time_s: float, sr: int) -> float:
    """The quietest 20 ms of the next quarter second against the attack (dB): a cymbal rings on,
    a hat or drum dies away."""
    onset = int(time_s * sr)
    step = int(0.02 * sr)
    tail = min(_rms(signal, onset + k, onset + k + step) for k in range(int(0.05 * sr), int(0.25 * sr), step))
    return 20 * np.log10(tail / _rms(signal, onset, onset + int(HEAD_S * sr)))


def ambient_cymbal_events(stem: StemOnsets, close: list[StemLevels], sr: int, settings: EventSettings) -> list[Event]:
    """Cymbal candidates from an overhead or room stem: high-band onsets the close mics leave
    unexplained (`cymbal.margin_db` above their predicted leak) whose high band rings on."""
    bright = np.diff(stem.signal, prepend=0.0).astype(np.float32)
    meter = StemLevels("crash", stem.times, AttackMeter(bright, sr, settings.cymbal.sustain), until_next=True)
    calibrate(meter, settings.bleed)
    assert meter.relative_db is not None
    fresh_hits = unexplained(meter, close, settings.bleed, settings.cymbal.margin_db)
    events = []
    for time_s, strength, level, fresh in zip(stem.times, stem.strengths, meter.relative_db, fresh_hits, strict=True):
        ring = cymbal_ring(bright, float(time_s), sr)
        if not fresh or level < settings.cymbal.min_level_db or ring < settings.cymbal.ring_db:
            continue
        attributes = {"ring_db": round(ring, 2), "level_db": round(float(level), 2)}
        confidence = _confidence(settings, stem.role, float(strength), 0.4)
        events.append(
            Event(
                float(time_s),
                "crash",
                stem,
                confidence,
                _velocity(float(level)),
                [],
                settings.overhead_variant,
                attributes,
            )
        )
    return events


def _dedupe(events: list[Event], duplicate_s: float) -> list[Event]:
    """One event per instrument per moment: the most trusted stem wins (samples over mics)."""
    events = sorted(events, key=lambda e: (e.label, e.time_s, -e.confidence))
    kept: list[Event] = []
    for event in events:
        clash = next(
            (k for k in reversed(kept) if k.label == event.label and abs(k.time_s - event.time_s) <= duplicate_s), None
        )
        if clash is None:
            kept.append(event)
        elif event.confidence > clash.confidence:
            kept[kept.index(clash)] = event
    return kept


def derive_events(
    row: dict[str, Any],
    stems: list[StemOnsets],
    ambient: list[StemOnsets],
    taxonomy: Taxonomy,
    settings: EventSettings,
) -> list[dict[str, Any]]:
    """Events of one session from its stems' onsets: bleed suppression, close-mic events, overhead cymbals."""
    close = suppress_bleed(stems, ANALYSIS_SR, settings, ambient)
    events = [e for stem in stems for e in close_mic_events(stem, ANALYSIS_SR, taxonomy, settings)]
    if not any(taxonomy.is_crash_family(s.instrument) for s in stems):
        overheads = [stem for stem in ambient if stem.role == "overhead"]
        for stem in overheads or ambient:
            events.extend(ambient_cymbal_events(stem, close, ANALYSIS_SR, settings))
    return _rows(row, _dedupe(events, settings.duplicate_s), taxonomy)


def _rows(session: dict[str, Any], events: list[Event], taxonomy: Taxonomy) -> list[dict[str, Any]]:
    rows = []
    counters: dict[str, int] = {}
    for event in sorted(events, key=lambda e: (e.stem.item_id, e.time_s, e.label)):
        index = counters.get(event.stem.item_id, 0)
        counters[event.stem.item_id] = index + 1
        labels: list[str] = []
        variant = event.variant
        if taxonomy.is_crash_family(event.label):
            variant = variant or event.label
            mapped = taxonomy.crash_labels(variant)
            if mapped is None:  # the overhead variant is checked on load: this is a close mic's crash-family class
                raise DrumgateError(
                    f"no crash variant {variant!r} for the crash-family stem {event.stem.stem!r}"
                    f" of session {session['session_id']}",
                    path=f"configs/{CRASH_FILE}",
                    hint=f"fix: add {variant!r} (its primary and secondary labels) to the variants there",
                )
            labels = [mapped.primary, mapped.secondary]
        row: dict[str, Any] = {
            "event_id": f"{DATASET}:{session['session_id']}:{event.stem.item_id}:{index}",
            "dataset": DATASET,
            "session_id": session["session_id"],
            "item_id": event.stem.item_id,
            "split": session.get("split", "train"),
            "onset_s": round(float(event.time_s), 4),
            "label": labels[0] if labels else event.label,
            "labels": labels,
            "techniques": event.techniques,
            "velocity": event.velocity,
            "label_source": "derived",
            "confidence": float(event.confidence),
            "source": {"file": f"{session['tier']}/{event.stem.item_id}", "stem": event.stem.stem},
            "attributes": {key: float(value) for key, value in event.attributes.items()},
        }
        if variant:
            row["variant"] = variant
        rows.append(row)
    return sorted(rows, key=lambda r: (r["session_id"], r["onset_s"], r["label"], r["item_id"]))
