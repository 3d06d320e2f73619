"""Expanded Groove MIDI Dataset (E-GMD) v1.0.0, and its parent the Groove MIDI Dataset (GMD).

Dataset card
------------
- Origin: Google Magenta. GMD: 13.6 h of drumming by 10 drummers on a Roland TD-11, recorded as
  MIDI. E-GMD: the same performances re-rendered through 43 drum kits on a Roland TD-17, with audio.
- Size: E-GMD 45,537 renders of 1,059 performances (444 h; train 35,217, validation 5,031,
  test 5,289); GMD 1,150 MIDI files, 1,090 with audio.
- Layout: E-GMD `e-gmd-v1.0.0.csv` (12 columns: drummer, session, id, style, bpm, beat_type,
  time_signature, duration, split, midi_filename, audio_filename, kit_name) beside
  `drummerN/<session>/<n>_<style>_<bpm>_<beat|fill>_<num-den>_<kit>.midi|.wav`; GMD `info.csv`
  (11 columns: ..., time_signature, midi_filename, audio_filename, duration, split) with `.mid`
  files. Either CSV may use CRLF or LF. The header decides which it is; anything else is refused.
- Licence: CC BY 4.0 (see `data/licenses/egmd.md`).

What this ingestor writes
-------------------------
- events (`data/manifests/egmd_events.jsonl`): one row per mapped note-on, in file order, with
  the class, crash dual label and techniques from `configs/roland_note_map.json`.
- sessions (`data/manifests/egmd_sessions.jsonl`): one row per performance (`id`), whose files are
  its kit renders with the probed audio format and status.
- provenance (`data/provenance/egmd_provenance.jsonl`): one row per render (not per performance),
  naming its MIDI and audio files relative to the dataset root with their sha256 and size.

Rows are keyed on the MIDI file name (the `id` repeats across kits). A row whose MIDI file is
missing or unreadable, a duplicate row or a row with a bad split is excluded and reported; the
run completes and exits 1. Missing audio, duration mismatches, renders of one performance that
disagree on their split and unmapped notes are warnings. Output is ordered by performance id,
then file name, so `--shard I/N` (contiguous blocks of performances) concatenated by
`drumgate merge` equals the single run byte for byte.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import math
import multiprocessing
import os
import re
import shutil
import sys
from collections import Counter, deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Any

import orjson

from drumgate import __version__, cli, lineage
from drumgate.artifacts import ALLOW_EMPTY_HELP, refuse_emptying
from drumgate.config import load_datasets
from drumgate.errors import EXIT_FINDINGS, EXIT_OK, DrumgateError, format_finding
from drumgate.io import parts
from drumgate.io.fsutil import atomic_writer, read_regular_file
from drumgate.io.jsonio import dumps_row, write_json
from drumgate.licences import licence_for_ingest
from drumgate.lineage import grouplock, provenance
from drumgate.progress import progress
from drumgate.render.textsafe import log_text
from drumgate.signal.audio import probe_wav
from drumgate.taxonomy import load_taxonomy
from drumgate.workspace import Workspace
from ingest.egmd.drum_events import (
    NOTE_MAP_FILE,
    EncodedEvents,
    EventContext,
    EventEncoder,
    NoteMap,
    PerformanceEvents,
    RenderTemplate,
    TemplateFill,
    build_events,
    class_counts,
    encode_events_reference,
    encoded_size,
    expand_single_fills,
    load_note_map,
    render_template,
    write_encoded,
    write_encoded_at,
)
from ingest.egmd.midi import MidiPerformance, parse_midi_bytes, performance_key

DATASET = "egmd"
TIER = "primary"
SPLITS = ("train", "validation", "test")
EGMD_HEADER = (
    "drummer,session,id,style,bpm,beat_type,time_signature,duration,split,midi_filename,audio_filename,kit_name"
).split(",")
GMD_HEADER = (
    "drummer,session,id,style,bpm,beat_type,time_signature,midi_filename,audio_filename,duration,split"
).split(",")
CSV_NAMES = ("e-gmd-v1.0.0.csv", "info.csv")
CONFIG_FILES = ("technique_taxonomy.json", "crash_dual_label.json", NOTE_MAP_FILE)
DEFAULT_DURATION_TOLERANCE_S = 2.0
MAX_IN_FLIGHT_PER_JOB = 4
SUMMARY_LIST_LIMIT = 20


# ---------------------------------------------------------------- metadata CSV


@dataclass(frozen=True)
class RenderRow:
    line: int
    performance_id: str
    drummer: str
    style: str
    bpm: str
    beat_type: str
    time_signature: str
    duration: float | None
    split: str
    midi_filename: str
    audio_filename: str
    kit_name: str | None

    @cached_property
    def item_id(self) -> str:
        return str(PurePosixPath(self.midi_filename).with_suffix(""))

    @cached_property
    def midi_suffix(self) -> str:
        return PurePosixPath(self.midi_filename).suffix


@dataclass(frozen=True)
class Exclusion:
    path: str
    reason: str
    performance_id: str | None = None
    line: int | None = None

    def render(self) -> str:
        return format_finding(self.path, self.reason, self.line)


@dataclass
class Metadata:
    kind: str
    csv_path: Path
    csv_sha256: str
    rows: list[RenderRow]
    exclusions: list[Exclusion]


def find_metadata_csv(root: Path) -> Path:
    for name in CSV_NAMES:
        if (root / name).is_file():
            return root / name
    if not root.is_dir():
        raise DrumgateError("dataset root not found (offline or not downloaded)", path=root,
                            hint="pass --root or set DRUMGATE_EGMD_ROOT")
    raise DrumgateError("no e-gmd-v1.0.0.csv or info.csv in the dataset root", path=root,
                        hint="point --root at the folder holding the metadata CSV")


def _detect_kind(header: list[str], path: Path) -> str:
    cleaned = [name.strip() for name in header]
    if cleaned == EGMD_HEADER:
        return "egmd"
    if cleaned == GMD_HEADER:
        return "gmd"
    raise DrumgateError(
        f"foreign CSV header ({len(cleaned)} columns: {','.join(cleaned[:4])}...)",
        path=path,
        line=1,
        hint="expected the E-GMD 12-column or the GMD 11-column header",
    )


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _row_from_fields(kind: str, fields: dict[str, str], line: int) -> RenderRow:
    duration = _number(fields["duration"])
    return RenderRow(
        line=line,
        performance_id=fields["id"].strip(),
        drummer=fields["drummer"].strip(),
        style=fields["style"].strip(),
        bpm=fields["bpm"].strip(),
        beat_type=fields["beat_type"].strip(),
        time_signature=fields["time_signature"].strip(),
        duration=duration,
        split=fields["split"].strip(),
        midi_filename=fields["midi_filename"].strip(),
        audio_filename=fields["audio_filename"].strip(),
        kit_name=fields["kit_name"].strip() if kind == "egmd" else None,
    )


def read_metadata(root: Path) -> Metadata:
    """Parse the metadata CSV; bad rows become exclusions, never exceptions."""
    path = find_metadata_csv(root)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DrumgateError("metadata CSV is not valid UTF-8", path=path) from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        raise DrumgateError("metadata CSV is empty", path=path)
    kind = _detect_kind(header, path)
    names = EGMD_HEADER if kind == "egmd" else GMD_HEADER
    rows: list[RenderRow] = []
    exclusions: list[Exclusion] = []
    first_line: dict[str, int] = {}
    for values in _csv_records(reader, path, exclusions):
        line = reader.line_num
        if not any(value.strip() for value in values):
            continue
        if len(values) != len(names):
            exclusions.append(Exclusion(str(path), f"{len(values)} fields, expected {len(names)}", None, line))
            continue
        row = _row_from_fields(kind, dict(zip(names, values, strict=True)), line)
        problem = _row_problem(row, first_line)
        if problem:
            exclusions.append(Exclusion(str(path), problem, row.performance_id or None, line))
            continue
        first_line[row.midi_filename] = line
        rows.append(row)
    return Metadata(kind, path, hashlib.sha256(raw).hexdigest(), rows, exclusions)


def _csv_records(reader: Any, path: Path, exclusions: list[Exclusion]) -> Iterator[list[str]]:
    """The CSV's records; one the csv module refuses (a field over its 131,072-character limit, a
    stray NUL) becomes an exclusion of its line and reading goes on with the next one."""
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            exclusions.append(Exclusion(str(path), f"unreadable CSV row ({exc})", None, reader.line_num))
            continue
        yield values


def _row_problem(row: RenderRow, first_line: dict[str, int]) -> str | None:
    if not row.performance_id:
        return "empty id"
    if not row.midi_filename:
        return "empty midi_filename"
    midi_path = PurePosixPath(row.midi_filename)
    if midi_path.is_absolute() or ".." in midi_path.parts:
        return f"midi_filename {row.midi_filename!r} leaves the dataset root"
    if row.split not in SPLITS:
        return f"split {row.split!r} is not one of {'|'.join(SPLITS)}"
    bpm = _number(row.bpm)
    if bpm is None or bpm <= 0:
        return f"bpm {row.bpm!r} is not a positive number"
    if row.duration is None or row.duration < 0:
        return "duration is not a non-negative number of seconds"
    if row.midi_filename in first_line:
        return f"duplicate row for {row.midi_filename} (first at line {first_line[row.midi_filename]})"
    return None


def group_performances(
    rows: list[RenderRow], exclusions: Sequence[Exclusion] = ()
) -> list[tuple[str, list[RenderRow]]]:
    """Performances sorted by id, each with its renders sorted by MIDI file name.

    Ids seen only on excluded rows are listed with no renders, so a shard owns their findings.
    """
    groups: dict[str, list[RenderRow]] = {e.performance_id: [] for e in exclusions if e.performance_id}
    for row in rows:
        groups.setdefault(row.performance_id, []).append(row)
    return [(pid, sorted(groups[pid], key=lambda r: r.midi_filename)) for pid in sorted(groups)]


MAX_SHARDS = 10_000
SHARD_PATTERN = re.compile(r"([0-9]{1,9})/([0-9]{1,9})")


def parse_shard(text: str) -> tuple[int, int]:
    """`I/N` in ASCII digits with 1 <= I <= N <= MAX_SHARDS (a bounded parse: no giant integers)."""
    match = SHARD_PATTERN.fullmatch(text)
    if match is None:
        raise DrumgateError(f"--shard {text[:40]!r}: not I/N (for example 2/4)")
    index, count = int(match.group(1)), int(match.group(2))
    if not 1 <= index <= count <= MAX_SHARDS:
        raise DrumgateError(f"--shard {text!r}: need 1 <= I <= N <= {MAX_SHARDS}")
    return index, count


def shard_bounds(total: int, index: int, count: int) -> tuple[int, int]:
    """Contiguous block [start, stop) of `total` performances for shard `index` (1-based) of `count`."""
    return (index - 1) * total // count, index * total // count


def root_fingerprint(root: Path, metadata: Metadata) -> str:
    """sha256 over the CSV and every listed file's path and size (no mtimes): same tree, same value."""
    digest = hashlib.sha256()
    digest.update(metadata.csv_sha256.encode())
    listed = sorted({name for row in metadata.rows for name in (row.midi_filename, row.audio_filename) if name})
    for name in listed:
        try:
            size = os.stat(os.path.join(root, name)).st_size
        except OSError:
            size = -1
        digest.update(f"\n{name}\t{size}".encode())
    return digest.hexdigest()


# ---------------------------------------------------------------- per performance work


@dataclass(frozen=True)
class IngestSettings:
    root: Path
    note_map: NoteMap
    provenance_common: dict[str, Any]
    duration_tolerance_s: float
    encoder: EventEncoder | None  # None: the reference dict + orjson encoding


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
    warnings: list[str] = field(default_factory=list)
    unreadable_audio: list[str] = field(default_factory=list)
    # (render, performance_key of its MIDI), one per entry of `events`: the partitioned layout stores
    # the events of each distinct MIDI once and lists the renders that play them.
    played: list[tuple[RenderRow, str]] = field(default_factory=list)


def _sha256_stream(path: Path) -> tuple[str, int]:
    with open(path, "rb") as handle:
        digest = hashlib.file_digest(handle, "sha256")
    return digest.hexdigest(), path.stat().st_size


def _inside_root(root: Path, path: Path) -> bool:
    """True when the path, symlinks followed, stays inside the dataset root."""
    try:
        path.resolve().relative_to(root.resolve())
    except (ValueError, OSError, RuntimeError):
        return False
    return True


def probe_audio(path: Path) -> tuple[str, dict[str, Any] | None, str | None]:
    """(status, format, problem) from the one audio prober (drumgate.signal.audio.probe_wav): an empty file,
    a Git LFS pointer or a WAV cut short is `unreadable`, never `ok`; samples are never read."""
    if not path.is_file():
        return "missing_audio", None, "audio file not found"
    try:
        return "ok", probe_wav(path).as_dict(), None
    except DrumgateError as err:
        return "unreadable", None, f"{err.message} ({err.hint})" if err.hint else err.message


def _render_audio(
    row: RenderRow, settings: IngestSettings, midi_end_s: float, result: PerformanceResult
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The session file entry and the provenance entry for one render's audio."""
    entry: dict[str, Any] = {"path": row.audio_filename or row.midi_filename, "role": "render",
                             "instrument": row.kit_name, "midi": row.midi_filename}
    if not row.audio_filename:
        entry.update(status="missing_audio", format=None)
        result.warnings.append(f"{row.midi_filename}: no audio listed in the metadata CSV")
        return entry, {"path": "", "role": "audio", "sha256": None, "bytes": None}
    path = settings.root / row.audio_filename
    if _inside_root(settings.root, path):
        status, fmt, problem = probe_audio(path)
    else:
        status, fmt, problem = "unreadable", None, "audio resolves outside the dataset root (symlink?)"
    entry.update(status=status, format=fmt)
    source: dict[str, Any] = {"path": row.audio_filename, "role": "audio", "sha256": None, "bytes": None}
    if status == "unreadable":
        result.unreadable_audio.append(format_finding(row.audio_filename, problem))
    elif problem:
        result.warnings.append(f"{row.audio_filename}: {problem}")
    if status != "missing_audio" and _inside_root(settings.root, path):
        source["sha256"], source["bytes"] = _sha256_stream(path)
    if fmt is not None:
        result.audio_seconds += fmt["seconds"]
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
    """Work shared by the renders of one performance: parsed MIDI by `performance_key`, templates."""

    built: dict[str, BuiltMidi] = field(default_factory=dict)
    templates: dict[tuple[str, str, str], RenderTemplate | None] = field(default_factory=dict)
    seen: set[tuple[str, str, str]] = field(default_factory=set)


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


def _ingest_render(
    row: RenderRow,
    settings: IngestSettings,
    result: PerformanceResult,
    cache: PerformanceCache,
) -> dict[str, Any] | None:
    """One render: its events and provenance into `result`; MIDI differing only in names is parsed once."""
    midi_path = settings.root / row.midi_filename
    if not _inside_root(settings.root, midi_path):
        result.exclusions.append(
            Exclusion(row.midi_filename, "MIDI file resolves outside the dataset root (symlink?)", row.performance_id)
        )
        return None
    try:
        data = read_regular_file(midi_path)
    except FileNotFoundError:
        result.exclusions.append(Exclusion(row.midi_filename, "MIDI file not found", row.performance_id))
        return None
    except OSError as exc:
        result.exclusions.append(Exclusion(row.midi_filename, f"cannot read MIDI ({exc.strerror})", row.performance_id))
        return None
    midi_sha256 = hashlib.sha256(data).hexdigest()
    nm = settings.note_map
    key = performance_key(data)
    midi = cache.built.get(key)
    if midi is None:
        try:
            perf = parse_midi_bytes(data, row.midi_filename)
        except DrumgateError as err:
            result.exclusions.append(Exclusion(row.midi_filename, err.message, row.performance_id))
            return None
        events = build_events(perf, nm)
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
    entry, audio_source = _render_audio(row, settings, perf.end_s, result)
    entry["events"] = len(events)
    midi_source = {"path": row.midi_filename, "role": "midi",
                   "sha256": midi_sha256, "bytes": len(data)}
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
    return entry


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


_WORKER_SETTINGS: IngestSettings | None = None


def _init_worker(settings: IngestSettings) -> None:
    global _WORKER_SETTINGS
    _WORKER_SETTINGS = settings


def _work(task: tuple[str, list[RenderRow]]) -> PerformanceResult:
    assert _WORKER_SETTINGS is not None
    return ingest_performance(task[0], task[1], _WORKER_SETTINGS)


class _PooledEventWriter:
    """Event rows written by the pool workers at offsets the parent hands out in task order."""

    def __init__(self, pool: Any, fd: int, limit: int) -> None:
        self._pool, self._fd, self._limit = pool, fd, limit
        self._offset = os.lseek(fd, 0, os.SEEK_CUR)
        self._pending: deque[Any] = deque()

    def submit(self, chunks: list[EncodedEvents]) -> None:
        """Bytes are written here at once; runs of template fills go to a worker to expand and write."""
        fills: list[EncodedEvents] = []
        for chunk in chunks:
            if isinstance(chunk, bytes):
                self._send(fills)
                fills = []
                write_encoded_at(self._fd, [chunk], self._offset)
                self._offset += len(chunk)
            else:
                fills.append(chunk)
        self._send(fills)

    def _send(self, fills: list[EncodedEvents]) -> None:
        if not fills:
            return
        self._pending.append(self._pool.apply_async(write_encoded_at, (self._fd, fills, self._offset)))
        self._offset += encoded_size(fills)
        while len(self._pending) > self._limit:
            self._pending.popleft().get()

    def finish(self) -> None:
        while self._pending:
            self._pending.popleft().get()
        os.lseek(self._fd, self._offset, os.SEEK_SET)


def run_performances(
    tasks: list[tuple[str, list[RenderRow]]], settings: IngestSettings, jobs: int, events_fd: int | None = None
) -> Iterator[PerformanceResult]:
    """Results in task order. With several jobs at most jobs x 4 results are held at once.

    With several forked workers and `events_fd` (an unbuffered file position), the workers also
    write the event rows there in task order and the results come back with no events.
    """
    if jobs <= 1 or len(tasks) <= 1:
        for performance_id, rows in tasks:
            yield ingest_performance(performance_id, rows, settings)
        return
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    limit = jobs * MAX_IN_FLIGHT_PER_JOB
    with context.Pool(jobs, initializer=_init_worker, initargs=(settings,)) as pool:
        writer = _PooledEventWriter(pool, events_fd, limit) if events_fd is not None and method == "fork" else None
        pending: deque[Any] = deque()
        queue = iter(tasks)
        for task in queue:
            pending.append(pool.apply_async(_work, (task,)))
            if len(pending) >= limit:
                break
        while pending:
            result = pending.popleft().get()
            next_task = next(queue, None)
            if next_task is not None:
                pending.append(pool.apply_async(_work, (next_task,)))
            if writer is not None:
                writer.submit(result.events)
                result.events = []
            yield result
        if writer is not None:
            writer.finish()


# ---------------------------------------------------------------- run


@dataclass
class Summary:
    kind: str
    rows: int = 0
    renders: int = 0
    sessions: int = 0
    events: int = 0
    audio_seconds: float = 0.0
    midi_seconds: float = 0.0
    classes: Counter[str] = field(default_factory=Counter)
    unknown_notes: Counter[int] = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)
    exclusions: list[Exclusion] = field(default_factory=list)
    unreadable_audio: list[str] = field(default_factory=list)

    def add(self, result: PerformanceResult) -> None:
        self.renders += result.renders
        self.sessions += result.session is not None
        self.events += result.event_count
        self.audio_seconds += result.audio_seconds
        self.midi_seconds += result.midi_seconds
        self.classes.update(result.classes)
        self.unknown_notes.update(result.unknown_notes)
        self.warnings.extend(result.warnings)
        self.exclusions.extend(result.exclusions)
        self.unreadable_audio.extend(result.unreadable_audio)

    def lines(self) -> list[str]:
        out = [
            f"{DATASET} ({self.kind}): {self.rows} rows, {self.renders} renders ingested, "
            f"{len(self.exclusions)} excluded, {self.sessions} performances",
            f"events: {self.events}   audio hours: {self.audio_seconds / 3600:.3f}   "
            f"MIDI hours: {self.midi_seconds / 3600:.3f}",
            "events per class: " + ", ".join(f"{k} {v}" for k, v in sorted(self.classes.items())),
        ]
        unknown = ", ".join(f"{n}: {c}" for n, c in sorted(self.unknown_notes.items())) or "none"
        where = f" (map them in configs/{NOTE_MAP_FILE})" if self.unknown_notes else ""
        out.append(f"unknown notes: {unknown}{where}")
        out.append(f"warnings: {len(self.warnings)}")
        if self.exclusions:
            out.append(f"excluded ({len(self.exclusions)}, each reported above):")
            out.extend(f"  {e.render()}" for e in self.exclusions[:SUMMARY_LIST_LIMIT])
            if len(self.exclusions) > SUMMARY_LIST_LIMIT:
                out.append(f"  ... and {len(self.exclusions) - SUMMARY_LIST_LIMIT} more")
        return out

    def as_json(self, written: Sequence[str]) -> dict[str, Any]:
        """The summary for `--json`: the counts, every exclusion, warning and unmapped note."""
        return {
            "dataset": DATASET, "kind": self.kind, "rows": self.rows, "renders": self.renders,
            "performances": self.sessions, "events": self.events,
            "audio_hours": self.audio_seconds / 3600, "midi_hours": self.midi_seconds / 3600,
            "classes": dict(sorted(self.classes.items())),
            "unknown_notes": {str(note): count for note, count in sorted(self.unknown_notes.items())},
            "excluded": [e.render() for e in self.exclusions], "unreadable_audio": list(self.unreadable_audio),
            "warnings": list(self.warnings), "written": list(written),
        }


@dataclass(frozen=True)
class Targets:
    events: Path
    sessions: Path
    provenance: Path


def _targets(ws: Workspace, args: argparse.Namespace, shard: tuple[int, int] | None) -> tuple[Targets, Targets]:
    """(where to write now, the unsharded artifact each one stands for)."""
    final = Targets(
        ws.user_path(args.output) if args.output else ws.events_manifest(DATASET),
        ws.user_path(args.sessions) if args.sessions else ws.sessions_manifest(DATASET),
        ws.user_path(args.provenance) if args.provenance else ws.provenance(DATASET),
    )
    if shard is None:
        return final, final

    def shard_path(path: Path) -> Path:
        name = path.name
        stem, dot, ext = name.partition(".")
        return path.with_name(f"{stem}.shard-{shard[0]}-of-{shard[1]}{dot}{ext}")

    return Targets(shard_path(final.events), shard_path(final.sessions), shard_path(final.provenance)), final


def _regenerate_argv(ws: Workspace, args: argparse.Namespace, final: Targets) -> list[str]:
    argv = ["ingest", "egmd"]
    if args.root:
        argv += ["--root", ws.rel(args.root)]
    argv += ["--output", ws.rel(final.events), "--provenance", ws.rel(final.provenance),
             "--sessions", ws.rel(final.sessions)]
    if args.duration_tolerance != DEFAULT_DURATION_TOLERANCE_S:
        argv += ["--duration-tolerance", f"{args.duration_tolerance:g}"]
    if args.date:
        argv += ["--date", args.date]
    if args.allow_empty:
        argv.append("--allow-empty")
    if args.layout != "auto":
        argv += ["--layout", args.layout]
    return argv


class _OrderedWriters:
    """Stream bytes into the three artifacts in order, atomically."""

    def __init__(self, targets: Targets) -> None:
        self._contexts = [atomic_writer(targets.events), atomic_writer(targets.sessions),
                          atomic_writer(targets.provenance)]

    def __enter__(self) -> _OrderedWriters:
        self.events, self.sessions, self.provenance = (c.__enter__() for c in self._contexts)
        return self

    def __exit__(self, *exc: Any) -> None:
        for context in reversed(self._contexts):
            context.__exit__(*exc)


def ingest(ws: Workspace, args: argparse.Namespace) -> int:
    datasets = load_datasets(ws)
    config = datasets.get(DATASET)
    root = Path(args.root).resolve() if args.root else config.root(TIER).path
    shard = parse_shard(args.shard) if args.shard else None
    if shard is None:  # a shard run writes only its own shard files; merge takes the lock
        grouplock.hold(ws, [config.group])
    metadata = read_metadata(root)
    taxonomy = load_taxonomy(ws)
    note_map = load_note_map(ws, taxonomy)
    licence = licence_for_ingest(ws.path(config.licence_note), config.licence_note, "drumgate ingest egmd")
    common: dict[str, Any] = {
        "ingest_commit": provenance.ingest_commit(),
        "tool_version": __version__,
        "config_hashes": provenance.config_hashes(ws, CONFIG_FILES),
        "licence": licence,
    }
    if args.date:
        common["ingest_date"] = provenance.report_date(args.date).isoformat()
    encoder = None if args.reference_encoder else EventEncoder(note_map)
    settings = IngestSettings(root, note_map, common, args.duration_tolerance, encoder)
    performances = group_performances(metadata.rows, metadata.exclusions)
    start, stop = shard_bounds(len(performances), *shard) if shard else (0, len(performances))
    tasks = performances[start:stop]
    owned = {pid for pid, _ in tasks}
    first_shard = shard is None or shard[0] == 1
    summary = Summary(metadata.kind, rows=sum(len(rows) for _, rows in tasks))
    for exclusion in metadata.exclusions:
        if exclusion.performance_id in owned or (exclusion.performance_id is None and first_shard):
            summary.exclusions.append(exclusion)
            summary.rows += 1
    targets, final = _targets(ws, args, shard)
    jobs = args.jobs or os.cpu_count() or 1
    if _partitioned(args, config.options, len(metadata.rows)):
        targets = _write_partitioned(targets, final, tasks, settings, jobs, summary, args.allow_empty, ws,
                                     shard is None or not metadata.rows)
    else:
        _write_single(targets, final, tasks, settings, jobs, summary, args.allow_empty, ws, shard, metadata)
    replaced = (final.events, final.sessions, final.provenance)
    if targets != final:  # the folders' indexes replace the single files in the lock, and back
        lineage.forget(ws, config.group, replaced)
    elif shard is None:
        lineage.forget(ws, config.group, [parts.folder_of(path) / parts.INDEX_NAME for path in replaced])
    _record_lineage(ws, config.group, targets, final, shard, _regenerate_argv(ws, args, final),
                    root_fingerprint(root, metadata), licence_note=config.licence_note)
    for exclusion in summary.exclusions:
        print(exclusion.render(), file=sys.stderr)
    for finding in summary.unreadable_audio:
        print(finding, file=sys.stderr)
    for warning in summary.warnings:
        print(f"warning: {log_text(warning)}", file=sys.stderr)
    for line in summary.lines():
        print(line)
    cli.emit_json(args, summary.as_json([ws.rel(p) for p in (targets.events, targets.sessions, targets.provenance)]))
    return EXIT_FINDINGS if summary.exclusions or summary.unreadable_audio else EXIT_OK


def _drop_folders(final: Targets) -> None:
    """A single-file run replaces a partitioned folder of the same manifest (an explicit --layout file)."""
    for path in (final.events, final.sessions, final.provenance):
        folder = parts.folder_of(path)
        if (folder / parts.INDEX_NAME).is_file():
            shutil.rmtree(folder)


def _partitioned(args: argparse.Namespace, options: dict[str, Any], renders: int) -> bool:
    if args.layout != "auto":
        return bool(args.layout == "parts")
    threshold = options.get("partition_renders")
    return isinstance(threshold, int) and renders > threshold


def performance_parts(result: PerformanceResult) -> tuple[parts.PartInput, parts.PartInput, parts.PartInput]:
    """One performance's three parts: its events once per distinct MIDI, its renders, session and provenance."""
    assert result.session is not None
    key = result.session["session_id"]
    stored: list[dict[str, Any]] = []
    renders: list[dict[str, Any]] = []
    representative: dict[str, str] = {}
    for (row, midi_key), chunk in zip(result.played, result.events, strict=True):
        if midi_key not in representative:
            representative[midi_key] = row.item_id
            data = chunk.encode() if isinstance(chunk, TemplateFill) else chunk
            stored.extend(orjson.loads(line) for line in data.splitlines())
        renders.append({"item_id": row.item_id, "midi": row.midi_filename, "kit_name": row.kit_name,
                        "audio": row.audio_filename, "duration": row.duration, "split": row.split,
                        "events_item": representative[midi_key]})
    return (parts.PartInput(key, stored, renders), parts.PartInput(key, [result.session]),
            parts.PartInput(key, result.provenance_rows))


def _write_partitioned(
    targets: Targets, final: Targets, tasks: list[tuple[str, list[RenderRow]]], settings: IngestSettings,
    jobs: int, summary: Summary, allow_empty: bool, ws: Workspace, check_empty: bool,
) -> Targets:
    """The three manifests as folders of per-performance parts; only changed parts are rewritten.

    A `--shard I/N` run (`targets` differ from `final`) writes its parts into `<folder>.shard-I-of-N/`
    and their index entries to the shard file (`<name>.shard-I-of-N.jsonl`); `drumgate merge` moves
    the parts in and writes the index, so the merged folder equals an unsharded run's."""
    sharded = targets != final
    folders = Targets(*(parts.folder_of(path) for path in (targets.events, targets.sessions, targets.provenance)))
    if sharded:  # a shard folder holds this run's parts only
        for folder in (folders.events, folders.sessions, folders.provenance):
            shutil.rmtree(folder, ignore_errors=True)
    writers = [parts.PartsWriter(folders.events, "events", DATASET, "session_id"),
               parts.PartsWriter(folders.sessions, "sessions", DATASET, "session_id"),
               parts.PartsWriter(folders.provenance, "provenance", DATASET, "session_id")]
    for result in progress(run_performances(tasks, settings, jobs), DATASET, "performance", total=len(tasks)):
        summary.add(result)
        if result.session is not None:
            for writer, part in zip(writers, performance_parts(result), strict=True):
                writer.add(part)
    finals = (parts.folder_of(final.events), parts.folder_of(final.sessions), parts.folder_of(final.provenance))
    if check_empty:
        refuse_emptying({finals[0] / parts.INDEX_NAME: summary.events, finals[1] / parts.INDEX_NAME: summary.sessions,
                         finals[2] / parts.INDEX_NAME: summary.renders}, allow_empty, ws.rel, _empty_reason(summary))
    if sharded:
        for writer, shard_file in zip(writers, (targets.events, targets.sessions, targets.provenance), strict=True):
            writer.close_shard(shard_file)
        return targets
    for writer in writers:
        writer.close()
    return Targets(*(folder / parts.INDEX_NAME for folder in finals))


def _write_single(
    targets: Targets, final: Targets, tasks: list[tuple[str, list[RenderRow]]], settings: IngestSettings,
    jobs: int, summary: Summary, allow_empty: bool, ws: Workspace, shard: tuple[int, int] | None,
    metadata: Metadata,
) -> None:
    with _OrderedWriters(targets) as out:
        out.events.flush()
        results = run_performances(tasks, settings, jobs, events_fd=out.events.fileno())
        for result in progress(results, DATASET, "performance", total=len(tasks)):
            write_encoded(out.events, result.events)
            if result.session is not None:
                out.sessions.write(dumps_row(result.session) + b"\n")
            for row in result.provenance_rows:
                out.provenance.write(dumps_row(row) + b"\n")
            summary.add(result)
        if shard is None or not metadata.rows:  # a sharded run's total is known to merge, unless no row survived
            refuse_emptying({final.events: summary.events, final.sessions: summary.sessions,
                             final.provenance: summary.renders}, allow_empty, ws.rel, _empty_reason(summary))
    if shard is None:
        _drop_folders(final)


def _empty_reason(summary: Summary) -> str:
    if not summary.exclusions:
        return "no renders found"
    first = summary.exclusions[0]
    return f"{len(summary.exclusions)} CSV rows rejected, {summary.renders} renders ingested; first: {first.reason}"


def _record_lineage(
    ws: Workspace,
    group: str,
    targets: Targets,
    final: Targets,
    shard: tuple[int, int] | None,
    argv: list[str],
    fingerprint: str,
    licence_note: str,
) -> None:
    inputs = [ws.configs / name for name in CONFIG_FILES]
    if ws.path(licence_note).is_file():
        inputs.append(ws.path(licence_note))
    external = {f"{DATASET}_root": fingerprint}
    pairs = ((targets.events, final.events), (targets.sessions, final.sessions), (targets.provenance, final.provenance))
    for written, artifact in pairs:
        if shard is None:
            lineage.record(ws, group, written, argv, inputs=inputs, external_inputs=external)
            continue
        write_json(
            shard_sidecar(written),
            {
                "kind": "drumgate-shard",
                "shard": shard[0],
                "shards": shard[1],
                "group": group,
                "target": ws.rel(artifact),
                "argv": argv,
                "inputs": [ws.rel(p) for p in inputs],
                "external_inputs": external,
            },
        )


def shard_sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".shard.json")


# ---------------------------------------------------------------- CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", default=None, help="dataset root holding the CSV (default: the configured egmd root)")
    parser.add_argument("--output", default=None, help="events JSONL (default data/manifests/egmd_events.jsonl)")
    parser.add_argument("--provenance", default=None,
                        help="provenance JSONL (default data/provenance/egmd_provenance.jsonl)")
    parser.add_argument("--sessions", default=None,
                        help="sessions inventory JSONL (default data/manifests/egmd_sessions.jsonl)")
    parser.add_argument("--shard", default=None, metavar="I/N",
                        help="process the I-th of N contiguous blocks of performances (1-based); join with merge")
    parser.add_argument("--jobs", type=int, default=0, help="worker processes (default: all cores)")
    parser.add_argument("--duration-tolerance", type=float, default=DEFAULT_DURATION_TOLERANCE_S,
                        help="allowed MIDI/audio length difference in seconds (default 2)")
    parser.add_argument("--reference-encoder", action="store_true",
                        help="encode events as dicts through orjson (slow; the fast path is tested against it)")
    parser.add_argument("--date", default=None, help="YYYY-MM-DD recorded as the ingest date in provenance rows")
    parser.add_argument("--allow-empty", action="store_true", help=ALLOW_EMPTY_HELP)
    parser.add_argument("--layout", choices=("auto", "file", "parts"), default="auto",
                        help="single files, or folders of *.jsonl.gz parts per performance (default auto: parts "
                             "above partition_renders in configs/datasets.toml)")
    cli.add_json_option(parser, "the counts, exclusions and warnings")


def run(args: argparse.Namespace) -> int:
    return ingest(cli.workspace_from(args), args)


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run_module(sys.modules[__name__], argv, prog="python -m ingest.egmd")


if __name__ == "__main__":
    raise SystemExit(main())
