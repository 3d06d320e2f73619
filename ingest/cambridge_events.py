"""Cambridge close-mic stems to derived drum-hit events: `drumgate events cambridge [--output FILE]`.

Per session of the inventory (`data/manifests/cambridge_sessions.jsonl`): onsets on every
close-mic and `*Sample` stem (`drumgate.onsets`, parameters in `configs/onsets.json`); bleed
suppression across the session's close mics (an onset heard louder, relative to each stem's own
level, on another instrument's mic belongs to that instrument); velocity from level; ghost and
accent from level relative to the stem's typical hit; flam from a close double onset; open or
closed hi-hat from the ring after the hit. Overhead and room stems only add cymbal candidates
(crash-family variant `cymbal_overhead`, dual label from the crash map) at lower confidence.
Every event is `label_source: derived` with a confidence.
"""

from __future__ import annotations

import argparse
import sys
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from drumgate import cli, lineage
from drumgate.audio import read_mono
from drumgate.config import DatasetConfig, load_datasets
from drumgate.errors import EXIT_FINDINGS, EXIT_OK, DrumgateError
from drumgate.jsonio import iter_jsonl, write_jsonl
from drumgate.onsets import OnsetParams, detect_onsets, load_onset_params
from drumgate.stems import AMBIENT_ROLES, ONSET_ROLES
from drumgate.taxonomy import Taxonomy, load_taxonomy
from drumgate.workspace import Workspace

DATASET = "cambridge"
MEMBER_SEPARATOR = "#"
ANALYSIS_SR = 44100
LEVEL_WINDOW_S = 0.03
PRE_GAP_S = 0.008
MIN_LEVEL_DB = -30.0
BLEED_TOLERANCE_S = 0.03
BLEED_MARGIN_DB = 8.0
FLAM_MIN_S = 0.012
FLAM_MAX_S = 0.045
GHOST_DB = -10.0
ACCENT_DB = 4.0
OPEN_HAT_RING_DB = -14.0
CYMBAL_RING_DB = -6.0
FRESH_RING_DB = 8.0
DUPLICATE_S = 0.025
CONFIDENCE = {"sample": 0.9, "close": 0.75, "percussion": 0.7, "overhead": 0.5, "room": 0.4}
OVERHEAD_VARIANT = "cymbal_overhead"


@dataclass
class StemOnsets:
    item_id: str
    stem: str
    instrument: str
    role: str
    signal: np.ndarray
    times: np.ndarray
    strengths: np.ndarray
    levels_db: np.ndarray = field(default_factory=lambda: np.zeros(0))
    reference_db: float = 0.0
    keep: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))


def _level_db(signal: np.ndarray, times: np.ndarray, sr: int) -> np.ndarray:
    """How much each onset raises the peak level (dB): what rings on from earlier hits is not counted."""
    width = max(1, int(LEVEL_WINDOW_S * sr))
    gap = int(PRE_GAP_S * sr)
    levels = np.empty(len(times))
    for index, time_s in enumerate(times):
        start = min(max(int(time_s * sr), 0), max(len(signal) - 1, 0))
        after = float(np.max(np.abs(signal[start : start + width]))) if len(signal) else 0.0
        before_slice = signal[max(0, start - width - gap) : max(0, start - gap)]
        before = float(np.max(np.abs(before_slice))) if len(before_slice) else 0.0
        levels[index] = 20 * np.log10(max(after - before, 1e-9))
    return levels


def _ring_db(signal: np.ndarray, time_s: float, sr: int, start_s: float, end_s: float) -> float:
    """RMS level of [t+start, t+end] relative to the first 30 ms after t."""
    onset = int(time_s * sr)
    head = signal[onset : onset + int(LEVEL_WINDOW_S * sr)]
    tail = signal[max(0, onset + int(start_s * sr)) : max(0, onset + int(end_s * sr))]
    if len(head) == 0 or len(tail) == 0:
        return -120.0
    head_rms = float(np.sqrt(np.mean(head.astype(np.float64) ** 2))) + 1e-12
    tail_rms = float(np.sqrt(np.mean(tail.astype(np.float64) ** 2))) + 1e-12
    return 20 * np.log10(tail_rms / head_rms)


def _level_at(stem: StemOnsets, time_s: float, sr: int) -> float:
    return float(_level_db(stem.signal, np.array([time_s]), sr)[0]) - stem.reference_db


def suppress_bleed(stems: list[StemOnsets], sr: int) -> None:
    """Drop an onset when another instrument's close mic hears it clearly louder (relative levels)."""
    for stem in stems:
        stem.levels_db = _level_db(stem.signal, stem.times, sr)
        stem.reference_db = float(np.percentile(stem.levels_db, 90)) if len(stem.levels_db) else 0.0
        stem.keep = np.ones(len(stem.times), dtype=bool)
    for stem in stems:
        stem.keep &= stem.levels_db - stem.reference_db > MIN_LEVEL_DB
        rivals = [other for other in stems if other.instrument != stem.instrument]
        for index, time_s in enumerate(stem.times):
            own = stem.levels_db[index] - stem.reference_db
            for other in rivals:
                if len(other.times) == 0 or np.min(np.abs(other.times - time_s)) > BLEED_TOLERANCE_S:
                    continue
                if _level_at(other, time_s, sr) > own + BLEED_MARGIN_DB:
                    stem.keep[index] = False
                    break


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


def close_mic_events(stem: StemOnsets, sr: int, taxonomy: Taxonomy) -> list[Event]:
    times = stem.times[stem.keep]
    levels = stem.levels_db[stem.keep] - stem.reference_db
    strengths = stem.strengths[stem.keep]
    typical = float(np.median(levels)) if len(levels) else 0.0
    events: list[Event] = []
    index = 0
    while index < len(times):
        techniques: list[str] = []
        time_s, level, strength = float(times[index]), float(levels[index]), float(strengths[index])
        gap = float(times[index + 1] - time_s) if index + 1 < len(times) else 1.0
        if FLAM_MIN_S <= gap <= FLAM_MAX_S:
            techniques.append("flam")
            level = max(level, float(levels[index + 1]))
            index += 1
        relative = level - typical
        if relative <= GHOST_DB:
            techniques.append("ghost")
        elif relative >= ACCENT_DB:
            techniques.append("accent")
        attributes = {"level_db": round(level, 2)}
        if stem.instrument == "hihat":
            ring = _ring_db(stem.signal, time_s, sr, 0.1, 0.2)
            techniques.append("open" if ring > OPEN_HAT_RING_DB else "closed")
            attributes["ring_db"] = round(ring, 2)
        allowed = sorted(t for t in techniques if taxonomy.technique_allowed(t, stem.instrument))
        confidence = CONFIDENCE.get(stem.role, 0.6) * (0.7 + 0.3 * min(1.0, strength / 0.3))
        events.append(
            Event(time_s, stem.instrument, stem, round(confidence, 3), _velocity(level), allowed, attributes=attributes)
        )
        index += 1
    return events


def _rms(signal: np.ndarray, start: int, end: int) -> float:
    part = signal[max(0, start) : max(0, end)]
    return float(np.sqrt(np.mean(part.astype(np.float64) ** 2))) + 1e-12 if len(part) else 1e-12


def cymbal_ring(signal: np.ndarray, time_s: float, sr: int) -> tuple[float, float]:
    """(ring, fresh) in dB: the quietest 20 ms of the next quarter second against the attack, and
    against what was sounding just before. A new cymbal rings on; a hat or drum dies away, and a
    hit inside an older cymbal's ring is not fresh."""
    onset = int(time_s * sr)
    step = int(0.02 * sr)
    tail = min(_rms(signal, onset + k, onset + k + step) for k in range(int(0.05 * sr), int(0.25 * sr), step))
    head = _rms(signal, onset, onset + int(LEVEL_WINDOW_S * sr))
    before = _rms(signal, onset - int(0.05 * sr), onset - int(0.005 * sr))
    return 20 * np.log10(tail / head), 20 * np.log10(tail / before)


def ambient_cymbal_events(stem: StemOnsets, sr: int) -> list[Event]:
    """Cymbal candidates from an overhead or room stem: a fresh hit whose high band keeps ringing."""
    bright = np.diff(stem.signal, prepend=0.0).astype(np.float32)
    events = []
    for time_s, strength in zip(stem.times, stem.strengths, strict=True):
        ring, fresh = cymbal_ring(bright, float(time_s), sr)
        if ring < CYMBAL_RING_DB or fresh < FRESH_RING_DB:
            continue
        confidence = CONFIDENCE.get(stem.role, 0.4) * (0.7 + 0.3 * min(1.0, float(strength) / 0.3))
        level = float(_level_db(stem.signal, np.array([time_s]), sr)[0])
        events.append(
            Event(
                float(time_s),
                "crash",
                stem,
                round(confidence, 3),
                _velocity(level - stem.reference_db),
                [],
                OVERHEAD_VARIANT,
                {"ring_db": round(ring, 2), "fresh_db": round(fresh, 2)},
            )
        )
    return events


def _dedupe(events: list[Event]) -> list[Event]:
    """One event per instrument per moment: the most trusted stem wins (samples over mics)."""
    events = sorted(events, key=lambda e: (e.label, e.time_s, -e.confidence))
    kept: list[Event] = []
    for event in events:
        clash = next(
            (k for k in reversed(kept) if k.label == event.label and abs(k.time_s - event.time_s) <= DUPLICATE_S), None
        )
        if clash is None:
            kept.append(event)
        elif event.confidence > clash.confidence:
            kept[kept.index(clash)] = event
    return kept


# Reading stems ---------------------------------------------------------------------------------


def _open_stem(root: Path, file_path: str) -> tuple[np.ndarray, int]:
    if MEMBER_SEPARATOR in file_path:
        archive_rel, member = file_path.split(MEMBER_SEPARATOR, 1)
        archive_path = root / PurePosixPath(archive_rel)
        try:
            with zipfile.ZipFile(archive_path) as archive, archive.open(member) as handle:
                return read_mono(handle, ANALYSIS_SR, name=f"{archive_path}{MEMBER_SEPARATOR}{member}")
        except (zipfile.BadZipFile, KeyError, OSError) as exc:
            raise DrumgateError(f"cannot read zip member ({exc})", path=f"{archive_path}#{member}") from exc
    return read_mono(root / PurePosixPath(file_path), ANALYSIS_SR)


def session_events(
    ws: Workspace,
    config: DatasetConfig,
    row: dict[str, Any],
    taxonomy: Taxonomy,
    params: dict[str, OnsetParams],
    problems: list[str],
) -> list[dict[str, Any]]:
    root = config.root(row["tier"])
    stems: list[StemOnsets] = []
    ambient: list[StemOnsets] = []
    for entry in row["files"]:
        role, instrument = entry.get("role"), entry.get("instrument")
        if entry["status"] != "ok" or role not in ONSET_ROLES | AMBIENT_ROLES:
            continue
        try:
            signal, sr = _open_stem(root.path, entry["path"])
        except DrumgateError as err:
            problems.append(f"{err} (session {row['session_id']} skipped this stem)")
            continue
        label = instrument if role in ONSET_ROLES else "crash"
        onsets = detect_onsets(signal, sr, params.get(label, params["default"]))
        target = stems if role in ONSET_ROLES else ambient
        target.append(
            StemOnsets(
                entry["path"],
                entry.get("stem", entry["path"]),
                label or "percussion",
                role,
                signal,
                onsets.times_s,
                onsets.strengths,
            )
        )
    suppress_bleed(stems, ANALYSIS_SR)
    events = [e for stem in stems for e in close_mic_events(stem, ANALYSIS_SR, taxonomy)]
    if not any(taxonomy.is_crash_family(s.instrument) for s in stems):
        for stem in ambient:
            stem.reference_db = (
                float(np.percentile(_level_db(stem.signal, stem.times, ANALYSIS_SR), 90)) if len(stem.times) else 0.0
            )
            events.extend(ambient_cymbal_events(stem, ANALYSIS_SR))
    return _rows(row, _dedupe(events), taxonomy)


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
            if mapped is None:
                raise DrumgateError(f"crash variant {variant!r} is not in configs/crash_dual_label.json")
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


def _committed_events(ws: Workspace) -> dict[str, list[dict[str, Any]]]:
    path = ws.events_manifest(DATASET)
    grouped: dict[str, list[dict[str, Any]]] = {}
    if path.exists():
        for _, row in iter_jsonl(path):
            grouped.setdefault(row.get("session_id", ""), []).append(row)
    return grouped


def onset_params_by_class(ws: Workspace, taxonomy: Taxonomy) -> dict[str, OnsetParams]:
    params = {"default": load_onset_params(ws)}
    for class_id in taxonomy.classes:
        params[class_id] = load_onset_params(ws, class_id)
    return params


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sessions", default=None, help="sessions inventory (default: the committed manifest)")
    parser.add_argument("--output", default=None, help="events manifest to write (default: the committed one)")


def run(args: argparse.Namespace) -> int:
    ws = cli.workspace_from(args)
    config = load_datasets(ws).get(DATASET)
    taxonomy = load_taxonomy(ws)
    sessions_path = ws.path(args.sessions) if args.sessions else ws.sessions_manifest(DATASET)
    output = ws.path(args.output) if args.output else ws.events_manifest(DATASET)
    params = onset_params_by_class(ws, taxonomy)
    problems: list[str] = []
    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    committed = _committed_events(ws)
    for _, session in iter_jsonl(sessions_path):
        if session.get("status") == "tier_offline" or not config.root(session["tier"]).online:
            skipped.append(session["session_id"])
            rows.extend(committed.get(session["session_id"], []))
            continue
        rows.extend(session_events(ws, config, session, taxonomy, params, problems))
    rows.sort(key=lambda r: (r["session_id"], r["onset_s"], r["label"], r["item_id"]))
    write_jsonl(output, rows)
    argv = ["events", "cambridge"]
    if args.sessions:
        argv += ["--sessions", ws.rel(sessions_path)]
    if args.output:
        argv += ["--output", ws.rel(output)]
    inputs = [
        sessions_path,
        ws.configs / "onsets.json",
        ws.configs / "technique_taxonomy.json",
        ws.configs / "crash_dual_label.json",
    ]
    lineage.record(ws, config.group, output, argv, inputs=inputs)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["label"]] = counts.get(row["label"], 0) + 1
    print(
        f"wrote {ws.rel(output)}: {len(rows)} events (" + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + ")"
    )
    for session_id in skipped:
        kept = len(committed.get(session_id, []))
        print(f"note: {session_id}: storage tier offline, {kept} events carried forward from the committed manifest")
    for problem in problems:
        print(problem, file=sys.stderr)
    return EXIT_FINDINGS if problems else EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run_module(sys.modules[__name__], argv, prog="python -m ingest.cambridge_events")


if __name__ == "__main__":
    raise SystemExit(main())
