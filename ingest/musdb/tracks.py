"""MUSDB18-HQ per track: stems probed, pseudo labels read, drum events derived, one session row.

What `ingest.musdb` (the contract's MUSDB ingestor) calls for each track folder; a bad stem or
label line is a finding on the track, never an exception, so its neighbours go on.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drumgate.config import load_config_json
from drumgate.errors import DrumgateError, format_finding
from drumgate.reports.overlap import OverlapConfig, song_key
from drumgate.taxonomy import Taxonomy
from drumgate.workspace import Workspace
from ingest.musdb.settings_checks import check_musdb

if TYPE_CHECKING:
    from drumgate.signal.onsets import OnsetParams
    from drumgate.signal.transcribe import TranscribeParams

DATASET = "musdb_hq"
SPLIT_FOLDERS = ("train", "test")
TRACK_NAME = re.compile(r"^\S.* - \S.*$")


@dataclass
class Findings:
    lines: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def add(self, path: str | Path, message: str, line: int | None = None, hint: str | None = None) -> str:
        text = format_finding(path, message, line, hint)
        self.lines.append(text)
        return message

    def warn(self, path: str | Path, message: str) -> str:
        self.warnings.append(format_finding(path, message))
        return message


@dataclass(frozen=True)
class Settings:
    raw: dict[str, Any]
    overlap: OverlapConfig

    @property
    def stems(self) -> list[str]:
        return list(self.raw["stems"])


@dataclass
class Track:
    folder: Path
    rel: str
    name: str
    split: str
    tier: str
    files: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    status: str = "ok"
    seconds: float = 0.0


def load_settings(ws: Workspace) -> Settings:
    path = ws.configs / "musdb.json"
    raw = load_config_json(ws, path.name, "musdb")
    check_musdb(path, raw)
    return Settings(raw, OverlapConfig.from_musdb_config(raw))


@dataclass(frozen=True)
class Analysis:
    """What derives a track's events from its drum stem: onset and transcription parameters."""

    onsets: OnsetParams
    transcription: TranscribeParams


def load_analysis(ws: Workspace, settings: Settings) -> Analysis:
    """Read once before any track: a bad `configs/onsets.json` or `transcription` block stops the run
    (exit 2) instead of becoming one finding per track and then an empty manifest refused. The
    `transcription` block was checked with the rest of `configs/musdb.json` by `load_settings`."""
    from drumgate.signal.onsets import load_onset_blocks
    from drumgate.signal.transcribe import TranscribeParams

    onsets = load_onset_blocks(ws, sr=int(settings.raw["sample_rate"]))["default"]
    return Analysis(onsets, TranscribeParams.from_mapping(settings.raw["transcription"]))


def probe_track(track: Track, settings: Settings, findings: Findings) -> None:
    from drumgate.signal.audio import probe_wav

    if not TRACK_NAME.match(track.name):
        track.warnings.append(
            findings.add(
                track.folder,
                "track folder name does not follow 'Artist - Title'",
                hint="rename the folder to '<Artist> - <Title>'",
            )
        )
    erratum = settings.raw["errata"].get(track.name)
    if erratum:
        track.warnings.append(findings.warn(track.folder, f"known drum-stem erratum: {erratum}"))
    frames: dict[str, int] = {}
    for stem in settings.stems:
        path = track.folder / f"{stem}.wav"
        entry: dict[str, Any] = {
            "path": f"{track.rel}/{stem}.wav",
            "role": stem,
            "instrument": "drums" if stem == settings.raw["drum_stem"] else None,
            "format": None,
            "status": "ok",
        }
        track.files.append(entry)
        try:
            present = path.is_file()
        except OSError as exc:  # a folder it may not enter: unreadable, not missing
            entry["status"] = "unreadable"
            track.warnings.append(findings.add(path, f"cannot read: {exc.strerror}",
                                               hint="make its folder readable, then drumgate ingest musdb"))
            continue
        if not present:
            entry["status"] = "missing_audio"
            track.warnings.append(findings.add(path, f"missing stem {stem}.wav", hint="restore it from the release"))
            continue
        try:
            audio = probe_wav(path)
        except DrumgateError as err:
            entry["status"] = "unreadable"
            track.warnings.append(findings.add(path, err.message, hint=err.hint))
            continue
        entry["format"] = audio.as_dict()
        frames[stem] = audio.frames
        track.seconds = max(track.seconds, audio.seconds)
        _check_format(path, audio.channels, audio.rate, settings, track, findings)
    if len(set(frames.values())) > 1:
        sizes = ", ".join(f"{stem} {count}" for stem, count in frames.items())
        track.warnings.append(
            findings.add(
                track.folder, f"stems of unequal length (frames: {sizes})", hint="re-export the stems from one session"
            )
        )
    statuses = {entry["status"] for entry in track.files}
    track.status = (
        "unreadable" if "unreadable" in statuses else "missing_audio" if "missing_audio" in statuses else "ok"
    )


def _check_format(path: Path, channels: int, rate: int, settings: Settings, track: Track, findings: Findings) -> None:
    if channels != settings.raw["channels"]:
        kind = "mono" if channels == 1 else f"{channels}-channel"
        track.warnings.append(
            findings.add(path, f"{kind} stem (MUSDB18-HQ stems are stereo)", hint="re-export the stem in stereo")
        )
    if rate != settings.raw["sample_rate"]:
        track.warnings.append(
            findings.add(
                path,
                f"sample rate {rate} Hz (MUSDB18-HQ is {settings.raw['sample_rate']} Hz)",
                hint="use the HQ release or resample",
            )
        )


def read_pseudo_labels(path: Path, taxonomy: Taxonomy, findings: Findings) -> list[tuple[float, str, int | None]]:
    """Rows of a `drums.pseudo.tsv` file; bad lines are findings and are skipped.

    Each line is decoded on its own: one stray byte costs its line, not the track's every label."""
    hits: list[tuple[float, str, int | None]] = []
    try:
        raw = path.read_bytes()
    except OSError as exc:
        findings.add(path, f"cannot read pseudo labels ({exc.strerror or exc})", hint="restore the file")
        return hits
    for number, encoded in enumerate(raw.splitlines(), start=1):
        try:
            line = encoded.decode("utf-8")
        except UnicodeDecodeError as exc:
            findings.add(path, f"not valid UTF-8 at byte {exc.start + 1} (line skipped)", line=number,
                         hint="save the file as UTF-8 text")
            continue
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parsed = _parse_pseudo_line(line, taxonomy)
        if isinstance(parsed, str):
            findings.add(path, parsed, line=number, hint="expected time<TAB>label[<TAB>velocity]")
            continue
        hits.append(parsed)
    return sorted(hits, key=lambda hit: (hit[0], hit[1]))


def _parse_pseudo_line(line: str, taxonomy: Taxonomy) -> tuple[float, str, int | None] | str:
    parts = [part.strip() for part in line.split("\t")]
    if len(parts) not in (2, 3):
        return f"{len(parts)} tab-separated fields, expected 2 or 3"
    try:
        time_s = float(parts[0])
    except ValueError:
        return f"time {parts[0]!r} is not a number"
    if not (time_s >= 0 and time_s < 1e6):
        return f"time {parts[0]!r} out of range"
    label = taxonomy.resolve_class(parts[1])
    if label is None:
        return f"label {parts[1]!r} is not a taxonomy class id or alias"
    velocity: int | None = None
    if len(parts) == 3 and parts[2]:
        if not parts[2].isdigit() or int(parts[2]) > 127:
            return f"velocity {parts[2]!r} is not an integer 0-127"
        velocity = int(parts[2])
    return time_s, label, velocity


def track_events(
    analysis: Analysis, track: Track, settings: Settings, taxonomy: Taxonomy, findings: Findings
) -> list[dict[str, Any]]:
    drum_stem = settings.raw["drum_stem"]
    drums = next((entry for entry in track.files if entry["role"] == drum_stem), None)
    if drums is None or drums["status"] != "ok":  # None only for settings that skipped check_musdb
        return []
    item_id = drums["path"]
    key = song_key(DATASET, track.name, settings.overlap)
    pseudo = track.folder / settings.raw["pseudo_label_file"]
    if pseudo.is_file():
        rows = [
            (time_s, label, velocity, 1.0, "pseudo", {})
            for time_s, label, velocity in read_pseudo_labels(pseudo, taxonomy, findings)
        ]
        source_file = f"{track.rel}/{settings.raw['pseudo_label_file']}"
    else:
        try:
            rows = _derived_rows(track.folder / f"{drum_stem}.wav", settings, analysis)
        except DrumgateError as err:
            # the header probed fine but the samples cannot be used (NaN/inf, too long): the
            # track stays in the inventory as unreadable, its neighbours go on
            drums["status"] = track.status = "unreadable"
            track.warnings.append(findings.add(err.path or item_id, err.message, hint=err.hint))
            return []
        source_file = item_id
    events: list[dict[str, Any]] = []
    for index, (time_s, label, velocity, confidence, label_source, extra) in enumerate(rows):
        class_id = taxonomy.resolve_class(label)  # a template's class by an alias (a renamed `hihat`) is its id
        if class_id is None:
            findings.add(source_file, f"label {label!r} is not a taxonomy class id or alias",
                         hint="fix: add it to configs/technique_taxonomy.json, or map the template to a class there")
            continue
        label = class_id
        row = _event_row(
            track,
            item_id,
            index,
            time_s,
            label,
            velocity,
            confidence,
            label_source,
            source_file,
            {"song_key": key, **extra},
            taxonomy,
            findings,
        )
        if row is not None:
            events.append(row)
    return events


def _derived_rows(
    path: Path, settings: Settings, analysis: Analysis
) -> list[tuple[float, str, None, float, str, dict[str, float]]]:
    from drumgate.signal.audio import read_mono
    from drumgate.signal.onsets import detect_onsets
    from drumgate.signal.transcribe import transcribe

    signal, sr = read_mono(path, target_sr=settings.raw["sample_rate"])
    onsets = detect_onsets(signal, sr, analysis.onsets)
    result = transcribe(signal, sr, onsets.times_s, analysis.transcription)
    return [
        (
            hit.time_s,
            hit.label,
            None,
            hit.confidence,
            "derived",
            {"activation": hit.activation, "snapped_to_onset": int(hit.snapped)},
        )
        for hit in result.hits
    ]


def _event_row(
    track: Track,
    item_id: str,
    index: int,
    time_s: float,
    label: str,
    velocity: int | None,
    confidence: float,
    label_source: str,
    source_file: str,
    attributes: dict[str, Any],
    taxonomy: Taxonomy,
    findings: Findings,
) -> dict[str, Any] | None:
    row: dict[str, Any] = {
        "event_id": f"{DATASET}/{item_id}#{index}",
        "dataset": DATASET,
        "session_id": track.name,
        "item_id": item_id,
        "split": track.split,
        "onset_s": round(float(time_s), 6),
        "label": label,
        "labels": [],
        "techniques": [],
        "velocity": velocity,
        "label_source": label_source,
        "confidence": round(float(confidence), 4),
        "source": {"file": source_file, "stem": "drums"},
        "attributes": attributes,
    }
    if taxonomy.is_crash_family(label):
        dual = taxonomy.crash_labels(label)
        if dual is None:
            findings.add(
                source_file,
                f"crash-family label {label!r} has no crash map variant",
                hint=f'fix: add {json.dumps(label)}: {{"primary": "crash", "secondary": "crash"}} under'
                     " variants in configs/crash_dual_label.json",
            )
            return None
        row["labels"] = [dual.primary, dual.secondary]
        row["variant"] = label
    return row


def session_row(track: Track, settings: Settings) -> dict[str, Any]:
    mdb = {song_key(DATASET, name, settings.overlap) for name in settings.raw["mdb_drums_overlap"]}
    key = song_key(DATASET, track.name, settings.overlap)
    return {
        "session_id": track.name,
        "dataset": DATASET,
        "tier": track.tier,
        "path": track.rel,
        "split": track.split,
        "files": track.files,
        "seconds": round(track.seconds, 6),
        "status": track.status,
        "warnings": track.warnings,
        "attributes": {"song_key": key, "release_split": track.rel.split("/")[0], "mdb_drums_song": key in mdb},
    }
