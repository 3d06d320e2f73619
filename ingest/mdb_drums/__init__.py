"""MDB Drums: drum-only mixes with human onset annotations, ingested through the ingestor contract.

Dataset card
------------
- Origin: Southall, Wu, Lerch, Hockman, "MDB Drums - An Annotated Subset of MedleyDB for Automatic
  Drum Transcription" (ISMIR 2017), published as the CarlSouthall/MDBDrums repository. Audio from
  MedleyDB's "Music Delta" tracks; used in the MIREX 2017 drum transcription evaluation.
- Size: 23 tracks (about 12 minutes), 7,994 annotated onsets in 6 classes (KD, SD, HH, TT, CY,
  OT) and 21 subclasses (playing technique and instrument, e.g. CHH, OHH, SST, SDG, CRC, CHC).
- Layout: `audio/drum_only/<Track>_Drum.wav` (mono 44.1 kHz 16-bit),
  `annotations/subclass/<Track>_subclass.txt` and `annotations/class/<Track>_class.txt`, one
  `time \\t LABEL` line per onset with spaces around the tab; also `audio/full_mix/`,
  `audio/multi-tracks/` and `annotations/beats/`, which this ingestor does not read. `<Track>` is
  `MusicDelta_<Song>`; 12 songs are also MUSDB18 train tracks (`drumgate.reports.overlap.song_key`).
- Licence: CC BY-NC-SA 4.0 (`data/licenses/mdb_drums.md`): non-commercial, share-alike. An
  evaluation set: `[combined] mix` does not name it.

What this ingestor writes
-------------------------
Settings come from `configs/mdb_drums.json` (which folders, which label maps to which taxonomy
class and techniques, the split every track gets; default: subclass annotations, split `test`).

- events (`data/manifests/mdb_drums_events.jsonl`): one row per annotation line, in file order,
  `label_source: annotation`, confidence 1, no velocity; a crash-family class is written as
  `drumgate crash-map` leaves it (`label` the primary, `labels` the dual label from
  `configs/crash_dual_label.json`, `variant` the class); `attributes` hold the raw label and song key.
- sessions (`data/manifests/mdb_drums_sessions.jsonl`): one row per track with two files, its
  drum-only audio (format: rate, channels, subtype, frames, seconds; status) and its annotation file
  (status `unreadable` when no onset could be read from it: missing, unreadable, empty, or every line
  refused). The track's status is the audio's, else the annotation's, so a track that cannot be
  evaluated counts against `max_missing_audio_fraction` (0 for MDB Drums) and health fails.
- provenance (`data/provenance/mdb_drums_provenance.jsonl`): one row per track naming the audio
  and the annotation file with sha256 and bytes.
- layout: single files for the 23 tracks; with `--layout parts` (or above `partition_sessions`
  in configs/datasets.toml) each is a folder of per-track `*.jsonl.gz` parts with an `index.json`
  (`docs/architecture.md`).

Failure policy
--------------
Through the contract driver (`ingest/contract.py`): an incomplete licence note or a bad
`configs/mdb_drums.json` stops the run before anything is written (one line, exit 2). Per track,
one line each and the run goes on (exit 1): audio missing, empty, truncated or unreadable (the
track stays in the inventory with that status and keeps its events); annotation file missing,
unreadable or empty (the track is `unreadable`); an annotation line that is not `time \\t LABEL`
or names a label the config does not map (the line is skipped, its neighbours stay); a root holding
no track (its manifests are written empty). An onset after the end of the audio is a warning.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from drumgate.config import load_config_json
from drumgate.errors import DrumgateError, format_finding
from drumgate.reports.health_sessions import ANNOTATION_ROLE
from drumgate.reports.overlap import song_key
from drumgate.signal.audio import probe_wav
from drumgate.taxonomy import Taxonomy, load_taxonomy
from drumgate.workspace import Workspace
from ingest import contract
from ingest.contract import IngestContext, Item, ItemRows

CONFIG_FILE = "mdb_drums.json"
AUDIO_ROLE = "drum_only"
MAX_ONSET_S = 1e6


@dataclass(frozen=True)
class LabelMap:
    label: str
    techniques: tuple[str, ...]


@dataclass(frozen=True)
class Settings:
    split: str
    audio_folder: str
    audio_suffix: str
    annotation_folder: str
    annotation_suffix: str
    labels: dict[str, LabelMap]

    def audio(self, track: str) -> str:
        return f"{self.audio_folder}/{track}{self.audio_suffix}"

    def annotation(self, track: str) -> str:
        return f"{self.annotation_folder}/{track}{self.annotation_suffix}"


def label_problems(raw: dict[str, Any], taxonomy: Taxonomy) -> list[tuple[str, str]]:
    """(what is wrong, what to do) for each label of a schema-checked mdb_drums.json the taxonomy refuses."""
    problems: list[tuple[str, str]] = []
    first_spelling: dict[str, str] = {}
    for name, target in raw["labels"].items():
        # annotations are matched case-blind, so two spellings of one label would silently keep the last
        earlier = first_spelling.setdefault(name.upper(), name)
        if earlier != name:
            problems.append((f"labels.{name}: the same label as labels.{earlier} (labels are matched whatever their"
                             " case)", f"fix: remove one of {earlier!r} and {name!r} from configs/{CONFIG_FILE}"))
            continue
        class_id = taxonomy.resolve_class(target["class"])  # an alias names its class (a renamed one keeps it)
        if class_id is None:
            problems.append((f"labels.{name}: class {target['class']!r} is not a taxonomy class id",
                             taxonomy.class_fix(target["class"], f"as labels.{name}.class in configs/{CONFIG_FILE}")))
            continue
        problems.extend((f"labels.{name}: technique {technique!r} does not apply to {class_id}",
                         f"fix: remove it from labels.{name}.techniques in configs/{CONFIG_FILE}, or add"
                         f" {class_id!r} to its applies_to in configs/technique_taxonomy.json")
                        for technique in target["techniques"] if not taxonomy.technique_allowed(technique, class_id))
    return problems


def load_settings(ws: Workspace, taxonomy: Taxonomy) -> Settings:
    """configs/mdb_drums.json, checked against its schema and the taxonomy before any track is read."""
    path = ws.configs / CONFIG_FILE
    raw = load_config_json(ws, CONFIG_FILE, "mdb_drums")
    problems = label_problems(raw, taxonomy)
    if problems:
        raise DrumgateError(problems[0][0], path=path, hint=problems[0][1])
    labels = {name.upper(): LabelMap(taxonomy.resolve_class(target["class"]) or target["class"],
                                     tuple(target["techniques"]))
              for name, target in raw["labels"].items()}
    return Settings(raw["split"], raw["audio_folder"], raw["audio_suffix"], raw["annotation_folder"],
                    raw["annotation_suffix"], labels)


def read_annotation_lines(text: str) -> list[tuple[int, float | str, str]]:
    """(line number, onset seconds or what is wrong, raw label) for each non-blank line."""
    parsed: list[tuple[int, float | str, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [part.strip() for part in line.split("\t")]
        if len(parts) != 2 or not parts[1]:
            parsed.append((number, f"{len(parts)} tab-separated fields, expected `time \\t LABEL`", ""))
            continue
        try:
            onset = float(parts[0])
        except ValueError:
            parsed.append((number, f"time {parts[0][:40]!r} is not a number", parts[1]))
            continue
        if not 0 <= onset < MAX_ONSET_S:
            parsed.append((number, f"time {parts[0][:40]!r} out of range", parts[1]))
            continue
        parsed.append((number, onset, parts[1]))
    return parsed


class MdbDrums(contract.Ingestor):
    dataset = "mdb_drums"
    command = "mdb_drums"
    aliases = ("mdb", "mdbdrums", "mdb-drums")
    config_files = (CONFIG_FILE, "technique_taxonomy.json", "crash_dual_label.json")
    item_unit = "track"

    def __init__(self, ctx: IngestContext) -> None:
        super().__init__(ctx)
        self.taxonomy = load_taxonomy(ctx.ws)
        self.settings = load_settings(ctx.ws, self.taxonomy)

    def list_items(self) -> list[Item]:
        """Every track with drum-only audio or an annotation file, so either one missing is reported."""
        items: list[Item] = []
        for root in self.ctx.roots:
            tracks: set[str] = set()
            for folder, suffix in ((self.settings.audio_folder, self.settings.audio_suffix),
                                   (self.settings.annotation_folder, self.settings.annotation_suffix)):
                if (root.path / folder).is_dir():
                    tracks.update(p.name.removesuffix(suffix) for p in (root.path / folder).iterdir()
                                  if p.name.endswith(suffix) and p.name != suffix)
            items += [Item(track, root.tier, root.path) for track in sorted(tracks)]
            if not tracks:  # as MUSDB's and E-GMD's: an empty root is a finding, not a quiet empty manifest
                settings = self.settings
                hint = (f"expected {settings.audio_folder}/<Track>{settings.audio_suffix} and "
                        f"{settings.annotation_folder}/<Track>{settings.annotation_suffix}")
                self.listing.findings.append(format_finding(root.path, "no MDB Drums tracks found", hint=hint))
        return items

    def ingest_item(self, item: Item) -> ItemRows:
        rows = ItemRows()
        audio_rel, annotation_rel = self.settings.audio(item.item_id), self.settings.annotation(item.item_id)
        entry = self._probe(item, audio_rel, rows)
        events = self._events(item, audio_rel, annotation_rel, rows)
        # the annotations are half of an evaluation track: a track none could be read from is unusable
        labels = {"path": annotation_rel, "role": ANNOTATION_ROLE, "instrument": "drums", "format": None,
                  "status": "ok" if events else "unreadable"}
        unusable = [] if events else [f"{annotation_rel}: no onset could be read, so the track cannot be evaluated"]
        status = entry["status"] if entry["status"] != "ok" else labels["status"]
        seconds = entry["format"]["seconds"] if entry["format"] else None
        late = [event["onset_s"] for event in events if seconds is not None and event["onset_s"] > seconds]
        if late:
            rows.warnings.append(f"{annotation_rel}: {len(late)} onsets after the audio ends at {seconds:.3f} s "
                                 f"(first at {late[0]:.3f} s)")
        key = song_key(self.dataset, item.item_id)
        rows.events = events
        rows.sessions.append({
            "session_id": item.item_id, "dataset": self.dataset, "tier": item.tier, "path": audio_rel,
            "split": self.settings.split, "seconds": seconds or 0.0, "files": [entry, labels], "status": status,
            "warnings": [*rows.warnings, *unusable], "attributes": {"song_key": key, "annotation": annotation_rel},
        })
        rows.provenance.append({
            "session_id": item.item_id, "tier": item.tier, "split": self.settings.split, "song_key": key,
            "source_files": [contract.source_file(item.root, rel) for rel in (audio_rel, annotation_rel)],
        })
        return rows

    def _probe(self, item: Item, audio_rel: str, rows: ItemRows) -> dict[str, Any]:
        entry: dict[str, Any] = {"path": audio_rel, "role": AUDIO_ROLE, "instrument": "drums", "format": None}
        path = item.root / audio_rel
        if not path.is_file():
            rows.findings.append(format_finding(path, "drum-only audio missing", hint="restore it from the release"))
            return {**entry, "status": "missing_audio"}
        try:
            fmt = probe_wav(path)
        except DrumgateError as err:
            rows.findings.append(str(err))
            return {**entry, "status": "unreadable"}
        return {**entry, "format": fmt.as_dict(), "status": "ok"}

    def _events(self, item: Item, audio_rel: str, annotation_rel: str, rows: ItemRows) -> list[dict[str, Any]]:
        path = item.root / annotation_rel
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            rows.findings.append(format_finding(path, "annotation file missing", hint="restore it from the release"))
            return []
        except (OSError, UnicodeDecodeError) as exc:
            rows.findings.append(format_finding(path, f"cannot read annotations ({exc})", hint="restore it"))
            return []
        events: list[dict[str, Any]] = []
        lines = read_annotation_lines(text)
        if not lines:
            rows.findings.append(format_finding(path, "annotation file holds no onsets",
                                                hint="restore it from the release"))
            return []
        for number, onset, raw_label in lines:
            if isinstance(onset, str):
                rows.findings.append(format_finding(path, onset, number, "expected `time \\t LABEL`"))
                continue
            mapping = self.settings.labels.get(raw_label.upper())
            if mapping is None:
                rows.findings.append(format_finding(path, f"label {raw_label[:40]!r} is not mapped", number,
                                                    f"map it in configs/{CONFIG_FILE} labels"))
                continue
            event = self._event(item, audio_rel, annotation_rel, len(events), onset, raw_label, mapping)
            if event is None:
                fix = (f'fix: add {json.dumps(mapping.label)}: {{"primary": "crash", "secondary": "crash"}} under'
                       " variants in configs/crash_dual_label.json")
                rows.findings.append(format_finding(path, f"crash-family class {mapping.label!r} has no crash map "
                                                    "variant", number, fix))
                continue
            events.append(event)
        return events

    def _event(self, item: Item, audio_rel: str, annotation_rel: str, index: int, onset: float, raw_label: str,
               mapping: LabelMap) -> dict[str, Any] | None:
        row: dict[str, Any] = {
            "event_id": f"{self.dataset}/{item.item_id}#{index}", "dataset": self.dataset,
            "session_id": item.item_id, "item_id": audio_rel, "split": self.settings.split,
            "onset_s": round(onset, 6), "label": mapping.label, "labels": [], "techniques": list(mapping.techniques),
            "velocity": None, "label_source": "annotation", "confidence": 1.0, "source": {"file": annotation_rel},
            "attributes": {"annotation": raw_label, "song_key": song_key(self.dataset, item.item_id)},
        }
        if self.taxonomy.is_crash_family(mapping.label):
            dual = self.taxonomy.crash_labels(mapping.label)
            if dual is None:
                return None
            # written as `drumgate crash-map` would leave it, so a later crash-map run changes nothing
            row.update(label=dual.primary, labels=[dual.primary, dual.secondary], variant=mapping.label)
        return row


INGESTOR = MdbDrums
