"""E-GMD's metadata CSV: one row per render, read into `RenderRow`s and grouped into performances.

The CSV is E-GMD's (12 columns) or GMD's (11); the header decides which, anything else is refused.
A bad row becomes an `Exclusion` (reported, exit 1), never an exception: its neighbours go on. Only
a short last row stops the run: that is a file cut off, whose lost rows no finding would name.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Any

from drumgate.errors import DrumgateError, format_finding
from drumgate.io.hashing import sha256_bytes

SPLITS = ("train", "validation", "test")
EGMD_HEADER = (
    "drummer,session,id,style,bpm,beat_type,time_signature,duration,split,midi_filename,audio_filename,kit_name"
).split(",")
GMD_HEADER = (
    "drummer,session,id,style,bpm,beat_type,time_signature,midi_filename,audio_filename,duration,split"
).split(",")
CSV_NAMES = ("e-gmd-v1.0.0.csv", "info.csv")
MISSING_ROOT = "dataset root not found (offline or not downloaded)"
NO_CSV = "no e-gmd-v1.0.0.csv or info.csv in the dataset root"
NO_CSV_HINT = "point --root at the folder holding the metadata CSV"
RERUN = "then rerun drumgate ingest egmd"
RESTORE_CSV_HINT = f"fix: restore it from the release (or pass --root the folder holding it), {RERUN}"
ROW_HINT = f"fix: correct that row or restore the CSV from the release, {RERUN}"


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
    hint: str | None = None

    def render(self) -> str:
        return format_finding(self.path, self.reason, self.line, self.hint)


@dataclass
class Metadata:
    kind: str
    csv_path: Path
    csv_sha256: str
    rows: list[RenderRow]
    exclusions: list[Exclusion]


def metadata_csv(root: Path) -> Path | None:
    """The root's metadata CSV (E-GMD's name first), or None when it holds neither."""
    return next((root / name for name in CSV_NAMES if (root / name).is_file()), None)


def find_metadata_csv(root: Path) -> Path:
    """The root's metadata CSV; a root without one (or with a folder in its place) stops the run."""
    found = metadata_csv(root)
    if found is not None:
        return found
    if not root.is_dir():
        raise DrumgateError(MISSING_ROOT, path=root, hint="pass --root or set DRUMGATE_EGMD_ROOT")
    blocked = next((root / name for name in CSV_NAMES if (root / name).exists()), None)
    if blocked is not None:
        what = "a folder" if blocked.is_dir() else "not a regular file"
        raise DrumgateError(f"is {what}, expected the metadata CSV", path=blocked,
                            hint=f"fix: move it away and restore the CSV from the release, {RERUN}")
    raise DrumgateError(f"metadata CSV not found (nor GMD's {CSV_NAMES[1]})", path=root / CSV_NAMES[0],
                        hint=RESTORE_CSV_HINT)


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
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DrumgateError(f"cannot read the metadata CSV: {exc.strerror}", path=path) from exc
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
    last = (0, len(names))  # line and field count of the last record that is not blank
    for values in _csv_records(reader, path, exclusions):
        line = reader.line_num
        if not any(value.strip() for value in values):
            continue
        last = (line, len(values))
        if len(values) != len(names):
            wrong = f"{len(values)} fields, expected {len(names)}"
            exclusions.append(Exclusion(str(path), wrong, None, line, ROW_HINT))
            continue
        row = _row_from_fields(kind, dict(zip(names, values, strict=True)), line)
        problem = _row_problem(row, first_line)
        if problem:
            exclusions.append(Exclusion(str(path), problem, row.performance_id or None, line, ROW_HINT))
            continue
        first_line[row.midi_filename] = line
        rows.append(row)
    if last[1] < len(names):
        # A short row in the middle is one bad row; a short last row is a file cut off (a copy that
        # stopped), whose missing rows would silently leave the manifests.
        raise DrumgateError(f"last row has {last[1]} of {len(names)} fields: the file is cut off", path=path,
                            line=last[0], hint=f"fix: restore the whole file from the release, {RERUN}")
    return Metadata(kind, path, sha256_bytes(raw), rows, exclusions)


def _csv_records(reader: Any, path: Path, exclusions: list[Exclusion]) -> Iterator[list[str]]:
    """The CSV's records; one the csv module refuses (a field over its 131,072-character limit, a
    stray NUL) becomes an exclusion of its line and reading goes on with the next one."""
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            exclusions.append(Exclusion(str(path), f"unreadable CSV row ({exc})", None, reader.line_num, ROW_HINT))
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


def root_fingerprint(root: Path, metadata: Metadata) -> str:
    """sha256 over the CSV and every listed file's path and size (no mtimes): same tree, same value."""
    listed = sorted({name for row in metadata.rows for name in (row.midi_filename, row.audio_filename) if name})
    lines = [metadata.csv_sha256]
    for name in listed:
        try:
            size = os.stat(os.path.join(root, name)).st_size
        except OSError:
            size = -1
        lines.append(f"{name}\t{size}")
    return sha256_bytes("\n".join(lines).encode())
