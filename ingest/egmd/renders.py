"""One E-GMD performance: its renders' MIDI parsed once per distinct performance, their events
encoded, their audio probed and hashed, and the session and provenance rows they make.

Audio goes through the one prober (`drumgate.signal.audio.probe_wav`): an empty file, a Git LFS
pointer or a WAV cut short is `unreadable`, a finding, never `ok`; samples are never read.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import orjson

from drumgate.errors import DrumgateError, format_finding
from drumgate.io.fsutil import read_regular_file
from drumgate.io.hashing import sha256_bytes, sha256_file
from drumgate.signal.audio import probe_wav
from ingest.egmd.drum_events import PerformanceEvents, build_events, class_counts
from ingest.egmd.event_encoding import (
    EncodedEvents,
    EventContext,
    EventEncoder,
    RenderTemplate,
    TemplateFill,
    encode_events_reference,
    expand_single_fills,
    render_template,
)
from ingest.egmd.metadata import Exclusion, RenderRow
from ingest.egmd.midi import MidiPerformance, parse_midi_bytes, performance_key
from ingest.egmd.note_map import NOTE_MAP_FILE, NoteMap

DATASET = "egmd"
TIER = "primary"
# A render's raw file is named by its full path (the CSV names it inside the root) with the way back
RAW_FIX = f"fix: copy it again from the download, then drumgate repro {DATASET}"
# a copy that holds only part of the corpus (a Groove MIDI subset) lacks most of the CSV's files
ABSENT_FIX = (f"{RAW_FIX}; for a copy that holds only part of the corpus, set partial_copy = true under"
              f" [datasets.{DATASET}] in configs/datasets.toml")


@dataclass(frozen=True)
class IngestSettings:
    root: Path
    note_map: NoteMap
    provenance_common: dict[str, Any]
    duration_tolerance_s: float
    encoder: EventEncoder | None  # None: the reference dict + orjson encoding
    compiled: bool = True  # numba loops; False runs them interpreted (same results, no compile)
    partial_copy: bool = False  # `partial_copy` in configs/datasets.toml: a MIDI file absent is left out


@dataclass
class PerformanceResult:
    events: list[EncodedEvents]
    session: dict[str, Any] | None
    provenance_rows: list[dict[str, Any]]
    classes: Counter[str] = field(default_factory=Counter)
    unknown_notes: Counter[int] = field(default_factory=Counter)
    event_count: int = 0
    renders: int = 0
    audio_seconds: float = 0.0
    midi_seconds: float = 0.0
    exclusions: list[Exclusion] = field(default_factory=list)
    absent: int = 0  # renders whose MIDI a partial copy lacks: left out, no finding
    warnings: list[str] = field(default_factory=list)
    unreadable_audio: list[str] = field(default_factory=list)
    # (render, performance_key of its MIDI), one per entry of `events`: the partitioned layout stores
    # the events of each distinct MIDI once and lists the renders that play them.
    played: list[tuple[RenderRow, str]] = field(default_factory=list)


def _inside_root(root: Path, path: Path, real_folders: dict[Path, str]) -> bool:
    """True when the path, symlinks followed, stays inside the dataset root.

    Each folder is resolved once per performance (`real_folders`, kept by its PerformanceCache: the
    43 renders of a performance share one folder): a file that is not a link is its folder's real
    path plus its name, so a render costs one `lstat` instead of one per path component (resolving
    every path whole was 1.3 s of a 3.4 s ingest of 4,300 renders)."""

    def real(folder: Path) -> str:
        if folder not in real_folders:
            real_folders[folder] = os.path.realpath(folder)
        return real_folders[folder]

    try:
        real_root = real(root)
        if os.path.islink(path):
            target = str(path.resolve())  # raises on a link loop, as before
        else:
            target = os.path.normpath(os.path.join(real(path.parent), path.name))
    except (ValueError, OSError, RuntimeError):
        return False
    return target == real_root or target.startswith(real_root.rstrip(os.sep) + os.sep)


def _audio_digest(path: Path) -> tuple[str | None, int | None]:
    """sha256 and size of a render's audio; none when it cannot be read (its probe already said why)."""
    try:
        return sha256_file(path), path.stat().st_size
    except (DrumgateError, OSError):
        return None, None


def _render_audio(
    row: RenderRow, settings: IngestSettings, midi_end_s: float | None, result: PerformanceResult,
    cache: PerformanceCache,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The session file entry and the provenance entry for one render's audio (its length checked
    against `midi_end_s` when the MIDI was read)."""
    entry: dict[str, Any] = {"path": row.audio_filename or row.midi_filename, "role": "render",
                             "instrument": row.kit_name, "midi": row.midi_filename}
    if not row.audio_filename:
        entry.update(status="missing_audio", format=None)
        result.warnings.append(f"{row.midi_filename}: no audio listed in the metadata CSV")
        return entry, {"path": "", "role": "audio", "sha256": None, "bytes": None}
    path = settings.root / row.audio_filename
    source: dict[str, Any] = {"path": row.audio_filename, "role": "audio", "sha256": None, "bytes": None}
    fmt: dict[str, Any] | None = None
    if not _inside_root(settings.root, path, cache.real_folders):
        entry.update(status="unreadable", format=None)
        outside = "audio resolves outside the dataset root (symlink?)"
        result.unreadable_audio.append(format_finding(shown_in_root(settings, row.audio_filename), outside,
                                                      hint=RAW_FIX))
        return entry, source
    if not path.is_file():
        entry.update(status="missing_audio", format=None)
        result.warnings.append(f"{row.audio_filename}: audio file not found")
        return entry, source
    try:
        fmt = probe_wav(path).as_dict()
    except DrumgateError as err:
        result.unreadable_audio.append(format_finding(shown_in_root(settings, row.audio_filename), err.message,
                                                      hint=RAW_FIX))
    entry.update(status="ok" if fmt is not None else "unreadable", format=fmt)
    source["sha256"], source["bytes"] = _audio_digest(path)
    if fmt is not None:
        result.audio_seconds += fmt["seconds"]
    if fmt is not None and midi_end_s is not None:
        gap = abs(fmt["seconds"] - midi_end_s)
        if gap > settings.duration_tolerance_s:
            result.warnings.append(
                f"{row.audio_filename}: audio lasts {fmt['seconds']:.2f}s, MIDI {midi_end_s:.2f}s "
                f"(differs by {gap:.2f}s > {settings.duration_tolerance_s:g}s)"
            )
    return entry, source


@dataclass
class BuiltMidi:
    performance: MidiPerformance
    events: PerformanceEvents
    classes: Counter[str]


@dataclass
class PerformanceCache:
    """Work shared by the renders of one performance: parsed MIDI by `performance_key`, templates,
    the real paths of their folders."""

    built: dict[str, BuiltMidi] = field(default_factory=dict)
    templates: dict[tuple[str, str, str], RenderTemplate | None] = field(default_factory=dict)
    seen: set[tuple[str, str, str]] = field(default_factory=set)
    real_folders: dict[Path, str] = field(default_factory=dict)


def _encode_render(
    row: RenderRow, midi_key: str, events: PerformanceEvents, settings: IngestSettings, cache: PerformanceCache
) -> EncodedEvents:
    """The render's event rows; later renders sharing MIDI (`performance_key`), split and suffix fill a template."""
    ctx = EventContext(DATASET, row.performance_id, row.item_id, row.split, row.midi_filename)
    encoder = settings.encoder
    if encoder is None:
        return encode_events_reference(events, settings.note_map, ctx)
    suffix = row.midi_suffix
    if row.midi_filename == row.item_id + suffix:
        key = (midi_key, row.split, suffix)
        if key not in cache.seen:
            cache.seen.add(key)
            return encoder.encode(events, ctx)
        if key not in cache.templates:
            cache.templates[key] = render_template(encoder, events, DATASET, row.performance_id, row.split, suffix)
        template = cache.templates[key]
        if template is not None:
            return TemplateFill(template, row.item_id)
    return encoder.encode(events, ctx)


def _excluded(settings: IngestSettings, row: RenderRow, reason: str, hint: str = RAW_FIX) -> Exclusion:
    return Exclusion(shown_in_root(settings, row.midi_filename), reason, row.performance_id, hint=hint)


def shown_in_root(settings: IngestSettings, name: str) -> str:
    """A file the CSV names, by its full path and as the CSV spells it (a Path would fold its `//`)."""
    return f"{settings.root}/{name}"


def _ingest_render(
    row: RenderRow,
    settings: IngestSettings,
    result: PerformanceResult,
    cache: PerformanceCache,
) -> dict[str, Any] | None:
    """One render: its events and provenance into `result`; MIDI differing only in names is parsed once."""
    midi_path = settings.root / row.midi_filename
    if not _inside_root(settings.root, midi_path, cache.real_folders):
        result.exclusions.append(
            _excluded(settings, row, "MIDI file resolves outside the dataset root (symlink?)")
        )
        return None
    try:
        data = read_regular_file(midi_path)
    except FileNotFoundError:
        if settings.partial_copy:
            result.absent += 1
        else:
            result.exclusions.append(_excluded(settings, row, "MIDI file not found", ABSENT_FIX))
        return None
    except OSError as exc:
        result.exclusions.append(_excluded(settings, row, f"cannot read MIDI ({exc.strerror})"))
        return _unreadable_midi(row, settings, result, cache, None)
    midi_sha256 = sha256_bytes(data)
    nm = settings.note_map
    key = performance_key(data)
    midi = cache.built.get(key)
    if midi is None:
        try:
            perf = parse_midi_bytes(data, row.midi_filename, compiled=settings.compiled)
        except DrumgateError as err:
            result.exclusions.append(_excluded(settings, row, err.message))
            return _unreadable_midi(row, settings, result, cache, data)
        events = build_events(perf, nm, compiled=settings.compiled)
        midi = BuiltMidi(perf, events, class_counts(events, nm))
        cache.built[key] = midi
    perf, events = midi.performance, midi.events
    result.events.append(_encode_render(row, key, events, settings, cache))
    result.played.append((row, key))
    result.event_count += len(events)
    result.classes.update(midi.classes)
    if events.unknown_notes:
        result.unknown_notes.update(events.unknown_notes)
        listed = ", ".join(f"note {n} x{c}" for n, c in sorted(events.unknown_notes.items()))
        result.warnings.append(
            f"{row.midi_filename}: {sum(events.unknown_notes.values())} unmapped notes ({listed}), counted as unknown "
            f"labels in health: map them in configs/{NOTE_MAP_FILE}"
        )
    result.warnings.extend(f"{row.midi_filename}: {w}" for w in events.warnings)
    result.midi_seconds += perf.end_s
    result.renders += 1
    entry, audio_source = _render_audio(row, settings, perf.end_s, result, cache)
    entry["events"] = len(events)
    _provenance(row, settings, result, {"path": row.midi_filename, "role": "midi", "sha256": midi_sha256,
                                        "bytes": len(data)}, audio_source)
    return entry


def _unreadable_midi(row: RenderRow, settings: IngestSettings, result: PerformanceResult,
                     cache: PerformanceCache, data: bytes | None) -> dict[str, Any]:
    """A render whose MIDI cannot be read or parsed stays in the inventory, `unreadable` and without
    events, as one with damaged audio does: a damaged file never drops a committed performance unseen
    (its exclusion is the run's finding; health counts the session)."""
    entry, audio_source = _render_audio(row, settings, None, result, cache)
    entry.update(status="unreadable", events=0)
    midi = {"path": row.midi_filename, "role": "midi", "sha256": sha256_bytes(data) if data is not None else None,
            "bytes": len(data) if data is not None else None}
    _provenance(row, settings, result, midi, audio_source)
    return entry


def _provenance(row: RenderRow, settings: IngestSettings, result: PerformanceResult,
                midi_source: dict[str, Any], audio_source: dict[str, Any]) -> None:
    sources = [midi_source] + ([audio_source] if audio_source["path"] else [])
    result.provenance_rows.append(
        {
            "session_id": row.performance_id,
            "item_id": row.item_id,
            "dataset": DATASET,
            "tier": TIER,
            "split": row.split,
            "kit_name": row.kit_name,
            "source_files": sources,
            **settings.provenance_common,
        }
    )


def _session_status(files: list[dict[str, Any]]) -> str:
    statuses = {f["status"] for f in files}
    for status in ("unreadable", "missing_audio"):
        if status in statuses:
            return status
    return "ok"


def ingest_performance(performance_id: str, rows: list[RenderRow], settings: IngestSettings) -> PerformanceResult:
    result = PerformanceResult([], None, [])
    cache = PerformanceCache()
    files = [entry for row in rows if (entry := _ingest_render(row, settings, result, cache)) is not None]
    result.events = expand_single_fills(result.events)
    if not files:
        return result
    splits = sorted({row.split for row in rows})
    warnings = list(result.warnings)
    if len(splits) > 1:
        message = f"{performance_id}: renders disagree on split ({', '.join(splits)})"
        warnings.append(message)
        result.warnings.append(message)
    first = rows[0]
    result.session = {
        "session_id": performance_id,
        "dataset": DATASET,
        "tier": TIER,
        "path": str(PurePosixPath(first.midi_filename).parent),
        "split": first.split,
        "seconds": round(sum(f["format"]["seconds"] for f in files if f["format"]), 6),
        "drummer": first.drummer,
        "style": first.style,
        "bpm": first.bpm,
        "beat_type": first.beat_type,
        "time_signature": first.time_signature,
        "files": files,
        "status": _session_status(files),
        "warnings": warnings,
    }
    if result.unknown_notes:  # never dropped silently: health counts them as unknown labels
        result.session["unmapped_notes"] = {str(note): n for note, n in sorted(result.unknown_notes.items())}
    return result


def decode_events(chunks: Iterable[EncodedEvents]) -> list[dict[str, Any]]:
    """Event rows back from their encoded lines (a template fill expanded first)."""
    rows: list[dict[str, Any]] = []
    for chunk in chunks:
        data = chunk.encode() if isinstance(chunk, TemplateFill) else chunk
        rows.extend(orjson.loads(line) for line in data.splitlines())
    return rows
