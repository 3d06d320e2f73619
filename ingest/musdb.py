"""MUSDB18-HQ: session inventory, provenance and drum-hit events from the `drums.wav` stems.

Dataset card
------------
- Origin: SigSep (Rafii, Liutkus, Stoeter, Mimilakis, Bittner 2017), Zenodo record 3338373 (HQ).
- Size: 150 tracks, about 10 h; `train` 100 (54 DSD100 + 46 MedleyDB), `test` 50. The official
  14-track validation subset of `train` (`configs/musdb.json` `validation_tracks`) gets
  `split: validation`.
- Layout: `{train,test}/<Artist - Title>/{mixture,drums,bass,other,vocals}.wav`, stereo 44.1 kHz.
- Licence: academic use only, no redistribution; DSD tracks are Cambridge "Mixing Secrets"
  sessions ("Restricted"), MedleyDB tracks CC BY-NC-SA 4.0 (`data/licenses/musdb_hq.md`).
- Known drum-stem errata (`configs/musdb.json` `errata`): Detsky Sad - Walkie Talkie,
  Leaf - Wicked, PR - Oh No. They are printed as `warning:` lines and kept in the session's
  `warnings`; they do not change the exit code (they are facts of the release, not faults).
- Leakage: all DSD tracks are Cambridge sessions and 12 Music Delta tracks are MDB Drums songs;
  every row's `attributes.song_key` (`drumgate.overlap.song_key`) lets the combined gate see one
  song across datasets. `--cambridge-sessions FILE` prints the overlap list.

Events
------
Onsets come from `drumgate.onsets` (`configs/onsets.json`); each onset is classified by
semi-adaptive NMF (`drumgate.transcribe`, settings in `configs/musdb.json` `transcription`) into
kick, snare, hihat, tom or cymbal with a confidence (`label_source: derived`).

Pseudo labels: when `drums.pseudo.tsv` sits beside a track's stems (from an external
transcription model), its rows replace the derived events (`label_source: pseudo`). Format,
one hit per line, `#` comments and blank lines ignored:

    time_seconds<TAB>label[<TAB>velocity]
    0.512	kick	100
    0.750	sd

`label` must be a taxonomy class id or alias (resolved to the id); `velocity` is 0-127. A bad
line is reported as `path:line: ...` and skipped; its neighbours stay.

Findings (one line each on stderr, the run continues, exit 1; 0 when clean): missing stems,
unreadable stems, mono or wrong-rate stems, stems of unequal length, folder names not of the form
`Artist - Title`, an empty root, bad pseudo-label lines.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drumgate import __version__, cli, grouplock, lineage
from drumgate.artifacts import ALLOW_EMPTY_HELP, refuse_emptying
from drumgate.config import load_datasets, validate_against_schema
from drumgate.errors import EXIT_FINDINGS, EXIT_OK, DrumgateError, format_finding
from drumgate.hashing import sha256_bytes, sha256_file
from drumgate.jsonio import read_json, write_jsonl
from drumgate.licences import licence_for_ingest
from drumgate.overlap import OverlapConfig, find_overlaps, song_key
from drumgate.progress import progress
from drumgate.provenance import config_hashes, ingest_commit, report_date
from drumgate.taxonomy import Taxonomy, load_taxonomy
from drumgate.workspace import Workspace

DATASET = "musdb_hq"
SPLIT_FOLDERS = ("train", "test")
TRACK_NAME = re.compile(r"^\S.* - \S.*$")
CONFIG_FILES = ("musdb.json", "onsets.json", "technique_taxonomy.json", "crash_dual_label.json", "datasets.toml")


@dataclass
class Findings:
    lines: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def add(self, path: str | Path, message: str, line: int | None = None, hint: str | None = None) -> str:
        text = format_finding(path, message, line, hint)
        self.lines.append(text)
        return message

    def warn(self, path: str | Path, message: str) -> str:
        self.warnings.append("warning: " + format_finding(path, message))
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
    files: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    status: str = "ok"
    seconds: float = 0.0


def load_settings(ws: Workspace) -> Settings:
    path = ws.configs / "musdb.json"
    raw = read_json(path)
    validate_against_schema(raw, ws.schemas / "musdb.schema.json", path)
    return Settings(raw, OverlapConfig.from_musdb_config(raw))


def discover(root: Path, settings: Settings, findings: Findings) -> list[Track]:
    """Track folders under `train/` and `test/`, sorted; an empty root is a finding."""
    validation = set(settings.raw["validation_tracks"])
    tracks: list[Track] = []
    for split in SPLIT_FOLDERS:
        folder = root / split
        if not folder.is_dir():
            continue
        for entry in sorted(folder.iterdir()):
            if not entry.is_dir():
                continue
            name = entry.name
            effective = "validation" if split == "train" and name in validation else split
            tracks.append(Track(entry, f"{split}/{name}", name, effective))
    if not tracks:
        findings.add(root, "no MUSDB tracks found", hint="expected train/<Artist - Title>/ and test/<Artist - Title>/")
    return tracks


def probe_track(track: Track, settings: Settings, findings: Findings) -> None:
    from drumgate.audio import probe_wav

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
        if not path.is_file():
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
    """Rows of a `drums.pseudo.tsv` file; bad lines are findings and are skipped."""
    hits: list[tuple[float, str, int | None]] = []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        findings.add(path, f"cannot read pseudo labels ({exc})", hint="save it as UTF-8 text")
        return hits
    for number, line in enumerate(text.splitlines(), start=1):
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
    ws: Workspace, track: Track, settings: Settings, taxonomy: Taxonomy, findings: Findings
) -> list[dict[str, Any]]:
    drum_stem = settings.raw["drum_stem"]
    drums = next(entry for entry in track.files if entry["role"] == drum_stem)
    if drums["status"] != "ok":
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
            rows = _derived_rows(ws, track.folder / f"{drum_stem}.wav", settings)
        except DrumgateError as err:
            # the header probed fine but the samples cannot be used (NaN/inf, too long): the
            # track stays in the inventory as unreadable, its neighbours go on
            drums["status"] = track.status = "unreadable"
            track.warnings.append(findings.add(err.path or item_id, err.message, hint=err.hint))
            return []
        source_file = item_id
    events: list[dict[str, Any]] = []
    for index, (time_s, label, velocity, confidence, label_source, extra) in enumerate(rows):
        if taxonomy.resolve_class(label) != label:
            findings.add(source_file, f"label {label!r} is not a taxonomy class id", hint="update the taxonomy")
            continue
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
    ws: Workspace, path: Path, settings: Settings
) -> list[tuple[float, str, None, float, str, dict[str, float]]]:
    from drumgate.audio import read_mono
    from drumgate.onsets import detect_onsets, load_onset_params
    from drumgate.transcribe import TranscribeParams, transcribe

    signal, sr = read_mono(path, target_sr=settings.raw["sample_rate"])
    onsets = detect_onsets(signal, sr, load_onset_params(ws))
    params = TranscribeParams.from_mapping(settings.raw["transcription"])
    result = transcribe(signal, sr, onsets.times_s, params)
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
                hint="add it to configs/crash_dual_label.json",
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
        "tier": "primary",
        "path": track.rel,
        "split": track.split,
        "files": track.files,
        "seconds": round(track.seconds, 6),
        "status": track.status,
        "warnings": track.warnings,
        "attributes": {"song_key": key, "release_split": track.rel.split("/")[0], "mdb_drums_song": key in mdb},
    }


def provenance_row(
    ws: Workspace, track: Track, settings: Settings, licence: dict[str, str], date: str | None
) -> dict[str, Any]:
    sources = []
    for entry in track.files:
        path = track.folder / Path(entry["path"]).name
        present = entry["status"] != "missing_audio" and path.is_file()
        sources.append(
            {
                "path": entry["path"],
                "sha256": sha256_file(path) if present else None,
                "bytes": path.stat().st_size if present else None,
            }
        )
    pseudo = track.folder / settings.raw["pseudo_label_file"]
    if pseudo.is_file():
        sources.append(
            {"path": f"{track.rel}/{pseudo.name}", "sha256": sha256_file(pseudo), "bytes": pseudo.stat().st_size}
        )
    row = {
        "session_id": track.name,
        "dataset": DATASET,
        "tier": "primary",
        "source_files": sources,
        "ingest_commit": ingest_commit(),
        "tool_version": __version__,
        "config_hashes": config_hashes(ws, CONFIG_FILES),
        "licence": licence,
        "song_key": song_key(DATASET, track.name, settings.overlap),
    }
    if date is not None:
        row["ingest_date"] = date
    return row


def root_fingerprint(provenance_rows: Sequence[dict[str, Any]]) -> str:
    lines = sorted(f"{src['path']} {src['sha256']}" for row in provenance_rows for src in row["source_files"])
    return sha256_bytes("\n".join(lines).encode("utf-8"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--root", default=None, help="MUSDB18-HQ folder holding train/ and test/ (default: datasets.toml)"
    )
    parser.add_argument("--output", default=None, help="events manifest (default data/manifests/musdb_hq_events.jsonl)")
    parser.add_argument(
        "--sessions", default=None, help="session inventory (default data/manifests/musdb_hq_sessions.jsonl)"
    )
    parser.add_argument(
        "--provenance", default=None, help="provenance rows (default data/provenance/musdb_hq_provenance.jsonl)"
    )
    parser.add_argument(
        "--date", default=None, help="YYYY-MM-DD recorded in provenance (else SOURCE_DATE_EPOCH; else none)"
    )
    parser.add_argument(
        "--cambridge-sessions",
        default=None,
        help="Cambridge sessions manifest: print the MUSDB/Cambridge and MDB Drums overlap list",
    )
    parser.add_argument("--allow-empty", action="store_true", help=ALLOW_EMPTY_HELP)
    cli.add_json_option(parser, "the track, event and finding counts")


def _argv(ws: Workspace, args: argparse.Namespace) -> list[str]:
    argv = ["ingest", "musdb"]
    for flag in ("root", "output", "sessions", "provenance", "cambridge_sessions"):
        value = getattr(args, flag)
        if value is not None:
            argv += [f"--{flag.replace('_', '-')}", ws.rel(value)]
    if args.date is not None:
        argv += ["--date", args.date]
    if args.allow_empty:
        argv.append("--allow-empty")
    return argv


def _cambridge_ids(path: Path) -> list[str]:
    from drumgate.jsonio import iter_jsonl

    return [str(row.get("session_id")) for _, row in iter_jsonl(path) if row.get("session_id")]


def run(args: argparse.Namespace) -> int:
    ws = cli.workspace_from(args)
    config = load_datasets(ws).get(DATASET)
    settings = load_settings(ws)
    taxonomy = load_taxonomy(ws)
    root = Path(args.root) if args.root else config.root("primary").path
    if not root.is_dir():
        raise DrumgateError("MUSDB root folder not found", path=root, hint="pass --root DIR or set DRUMGATE_MUSDB_ROOT")
    date = None
    if args.date is not None or "SOURCE_DATE_EPOCH" in os.environ:
        date = report_date(args.date).isoformat()
    grouplock.hold(ws, [config.group])
    findings = Findings()
    licence = licence_for_ingest(ws.path(config.licence_note), config.licence_note, "drumgate ingest musdb")
    tracks = discover(root, settings, findings)
    sessions, events, provenance = [], [], []
    for track in progress(tracks, "musdb_hq", "track"):
        probe_track(track, settings, findings)
        events.extend(track_events(ws, track, settings, taxonomy, findings))
        sessions.append(session_row(track, settings))
        provenance.append(provenance_row(ws, track, settings, licence, date))
    outputs = {
        "events": ws.user_path(args.output) if args.output else ws.events_manifest(DATASET),
        "sessions": ws.user_path(args.sessions) if args.sessions else ws.sessions_manifest(DATASET),
        "provenance": ws.user_path(args.provenance) if args.provenance else ws.provenance(DATASET),
    }
    counts = dict(zip(outputs.values(), (len(events), len(sessions), len(provenance)), strict=True))
    refuse_emptying(counts, args.allow_empty, ws.rel, f"{len(tracks)} tracks found, {len(events)} drum events")
    write_jsonl(outputs["events"], events)
    write_jsonl(outputs["sessions"], sessions)
    write_jsonl(outputs["provenance"], provenance)
    argv = _argv(ws, args)
    inputs = [ws.configs / name for name in CONFIG_FILES if (ws.configs / name).is_file()]
    external = {"musdb_root": root_fingerprint(provenance)}
    for path in outputs.values():
        lineage.record(ws, config.group, path, argv, inputs=inputs, external_inputs=external)
    if args.cambridge_sessions:
        report = find_overlaps(
            [t.name for t in tracks], _cambridge_ids(ws.user_path(args.cambridge_sessions)), settings.overlap
        )
        overlap_lines = report.lines()
        for line in overlap_lines:
            print(f"overlap\t{line}")
    for line in findings.warnings + findings.lines:
        print(line, file=sys.stderr)
    print(
        f"musdb_hq: {len(sessions)} tracks, {len(events)} events, {len(findings.lines)} findings, "
        f"{len(findings.warnings)} warnings -> {ws.rel(outputs['events'])}"
    )
    cli.emit_json(args, {
        "dataset": DATASET, "tracks": len(sessions), "events": len(events),
        "findings": list(findings.lines), "warnings": list(findings.warnings),
        "overlap": overlap_lines if args.cambridge_sessions else None,
        "written": [ws.rel(path) for path in outputs.values()],
    })
    return EXIT_FINDINGS if findings.lines else EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run_module(sys.modules[__name__], argv, prog="python -m ingest.musdb")


if __name__ == "__main__":
    raise SystemExit(main())
