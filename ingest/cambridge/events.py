"""Cambridge close-mic stems to derived drum-hit events: `drumgate events cambridge [--output FILE]`.

Per session of the inventory (`data/manifests/cambridge_sessions.jsonl`): onsets on every
close-mic and `*Sample` stem (`drumgate.signal.onsets`, parameters per class in `configs/onsets.json`);
bleed suppression across the session's close mics (`ingest.cambridge.bleed`: an onset is kept when its
attack, weighted by the spectral shape of the stem's own hits and relative to the stem's own
level, stands clear of what the other instruments' simultaneous attacks leak into it); velocity
from level; ghost and accent from level relative to the stem's typical hit; flam from a close
double onset; open or closed hi-hat from the ring after the hit. Overhead and room stems only add
cymbal candidates (crash-family variant from the config, dual label from the crash map) at lower
confidence, where the high band that sustains after an onset is not explained by the close mics
and rings on. Every threshold lives in `configs/cambridge_events.json` (schema-validated).
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
from drumgate.config import DatasetConfig, load_datasets
from drumgate.errors import EXIT_FINDINGS, EXIT_OK, DrumgateError
from drumgate.io.jsonio import iter_jsonl, write_jsonl
from drumgate.lineage import grouplock
from drumgate.progress import progress
from drumgate.render.textsafe import log_text
from drumgate.signal.audio import open_zip_member, read_mono, zip_member_escapes
from drumgate.signal.onsets import OnsetParams, detect_onsets, load_onset_params
from drumgate.taxonomy import Taxonomy, load_taxonomy
from drumgate.workspace import Workspace
from ingest.cambridge.bleed import (
    AttackMeter,
    EventSettings,
    StemLevels,
    calibrate,
    cross_mic_keep,
    load_event_settings,
    own_onsets,
    unexplained,
)
from ingest.cambridge.stems import AMBIENT_ROLES, ONSET_ROLES

DATASET = "cambridge"
MEMBER_SEPARATOR = "#"
ANALYSIS_SR = 44100
HEAD_S = 0.03


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
    keep: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))


def _ring_db(signal: np.ndarray, time_s: float, sr: int, start_s: float, end_s: float) -> float:
    """RMS level of [t+start, t+end] relative to the first 30 ms after t."""
    onset = int(time_s * sr)
    head = _rms(signal, onset, onset + int(HEAD_S * sr))
    tail = _rms(signal, onset + int(start_s * sr), onset + int(end_s * sr))
    return 20 * np.log10(tail / head)


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
    events: list[Event] = []
    index = 0
    while index < len(times):
        techniques: list[str] = []
        time_s, level, strength = float(times[index]), float(levels[index]), float(strengths[index])
        gap = float(times[index + 1] - time_s) if index + 1 < len(times) else 1.0
        if rules.flam_min_s <= gap <= rules.flam_max_s:
            techniques.append("flam")
            level = max(level, float(levels[index + 1]))
            index += 1
        relative = level - typical
        if relative <= rules.ghost_db:
            techniques.append("ghost")
        elif relative >= rules.accent_db:
            techniques.append("accent")
        attributes = {"level_db": round(level, 2)}
        if stem.instrument == "hihat":
            ring = _ring_db(stem.signal, time_s, sr, 0.1, 0.2)
            techniques.append("open" if ring > rules.open_hat_ring_db else "closed")
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


# Reading stems ---------------------------------------------------------------------------------


def zip_member_of(session: dict[str, Any], file_path: str) -> str | None:
    """The member name when `file_path` lies in the session's zip: `<archive>#<member>`, cut
    after the archive's own name (which may hold `#` itself), never at the first `#`."""
    archive = str(session.get("path", ""))
    packaging = session.get("packaging") or ("zip" if archive.lower().endswith(".zip") else "folder")
    prefix = f"{archive}{MEMBER_SEPARATOR}"
    if packaging != "zip" or not file_path.startswith(prefix):
        return None
    return file_path[len(prefix) :]


def _open_stem(root: Path, session: dict[str, Any], file_path: str) -> tuple[np.ndarray, int]:
    member = zip_member_of(session, file_path)
    if member is None:
        return read_mono(root / PurePosixPath(file_path), ANALYSIS_SR)
    archive_path = root / PurePosixPath(session["path"])
    label = f"{archive_path}{MEMBER_SEPARATOR}{member}"
    if zip_member_escapes(member):
        raise DrumgateError("zip member escapes the archive", path=label, hint="re-download it")
    try:
        with zipfile.ZipFile(archive_path) as archive:
            with open_zip_member(archive, archive.getinfo(member), label) as handle:
                return read_mono(handle, ANALYSIS_SR, name=label)
    except (zipfile.BadZipFile, KeyError, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
        raise DrumgateError(f"cannot read zip member ({exc})", path=label) from exc


def read_session_stems(
    config: DatasetConfig, row: dict[str, Any], params: dict[str, OnsetParams], problems: list[str]
) -> tuple[list[StemOnsets], list[StemOnsets]]:
    """The session's close-mic and sample stems, and its overhead and room stems, with their onsets."""
    root = config.root(row["tier"])
    stems: list[StemOnsets] = []
    ambient: list[StemOnsets] = []
    for entry in row["files"]:
        role, instrument = entry.get("role"), entry.get("instrument")
        if entry["status"] != "ok" or role not in ONSET_ROLES | AMBIENT_ROLES:
            continue
        try:
            signal, sr = _open_stem(root.path, row, entry["path"])
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
    return stems, ambient


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


def session_events(
    config: DatasetConfig,
    row: dict[str, Any],
    taxonomy: Taxonomy,
    params: dict[str, OnsetParams],
    problems: list[str],
    settings: EventSettings,
) -> list[dict[str, Any]]:
    stems, ambient = read_session_stems(config, row, params, problems)
    return derive_events(row, stems, ambient, taxonomy, settings)


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
    cli.add_json_option(parser, "the event counts per class, offline sessions and problems")


def run(args: argparse.Namespace) -> int:
    ws = cli.workspace_from(args)
    config = load_datasets(ws).get(DATASET)
    grouplock.hold(ws, [config.group])
    taxonomy = load_taxonomy(ws)
    sessions_path = ws.user_path(args.sessions) if args.sessions else ws.sessions_manifest(DATASET)
    output = ws.user_path(args.output) if args.output else ws.events_manifest(DATASET)
    params = onset_params_by_class(ws, taxonomy)
    settings = load_event_settings(ws)
    problems: list[str] = []
    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    committed = _committed_events(ws)
    for _, session in progress(iter_jsonl(sessions_path), "cambridge events", "session"):
        if session.get("status") == "tier_offline" or not config.root(session["tier"]).online:
            skipped.append(session["session_id"])
            rows.extend(committed.get(session["session_id"], []))
            continue
        rows.extend(session_events(config, session, taxonomy, params, problems, settings))
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
        ws.configs / "cambridge_events.json",
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
        note = f"note: {session_id}: storage tier offline, {kept} events carried forward from the committed manifest"
        print(log_text(note))
    for problem in problems:
        print(problem, file=sys.stderr)
    cli.emit_json(args, {
        "dataset": DATASET, "events": len(rows), "classes": dict(sorted(counts.items())),
        "offline_sessions": {session_id: len(committed.get(session_id, [])) for session_id in skipped},
        "problems": problems, "written": [ws.rel(output)],
    })
    return EXIT_FINDINGS if problems else EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run_module(sys.modules[__name__], argv, prog="python -m ingest.cambridge.events")


if __name__ == "__main__":
    raise SystemExit(main())
