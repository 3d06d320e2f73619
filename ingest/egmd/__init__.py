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

Rows are keyed on the MIDI file name (the `id` repeats across kits). Output is ordered by
performance id, then file name, so `--shard I/N` (contiguous blocks of performances) concatenated
by `drumgate merge` equals the single run byte for byte. Above `partition_renders` renders
(configs/datasets.toml) or with `--layout parts` each manifest is a folder of per-performance parts
that stores a performance's events once per distinct MIDI (`docs/architecture.md`).

Failure policy
--------------
The licence note is checked first, with every ingestor's policy: missing or incomplete, the run
stops with one line (exit 2) before anything is read or written. A missing dataset root (or a typed
`--root` that is not a folder), a missing, foreign or cut-off metadata CSV (a short last row), an
unreadable or unwritable lock and a bad `configs/roland_note_map.json` also stop it before anything is
written (exit 2); an empty root is a finding (exit 1) that `--allow-empty` writes over. A CSV row
whose MIDI file is missing, a duplicate row or a row with a bad split is excluded and reported (a
copy that holds only part of the corpus sets `partial_copy = true` under `[datasets.egmd]`: an absent
MIDI file is then left out and counted in the `metadata` line, not a finding); a
render whose MIDI cannot be read or parsed, or whose audio is empty, truncated, a Git LFS pointer or
unreadable, stays in the inventory as `unreadable` (a damaged MIDI's render with no events, so a
committed performance never vanishes unseen): one line each, the run completes and exits 1.
Missing audio, duration mismatches, renders of one performance that disagree on their split and
unmapped notes are warnings.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from drumgate.config import DatasetConfig
from drumgate.errors import format_finding
from drumgate.taxonomy import load_taxonomy
from drumgate.workspace import Workspace
from ingest import contract
from ingest.contract import IngestContext, IngestOptions, Item, ItemRows
from ingest.egmd import driver
from ingest.egmd.driver import DEFAULT_DURATION_TOLERANCE_S, EgmdSettings, layout
from ingest.egmd.event_encoding import EventEncoder
from ingest.egmd.metadata import (
    MISSING_ROOT,
    NO_CSV,
    NO_CSV_HINT,
    Exclusion,
    Metadata,
    group_performances,
    metadata_csv,
    read_metadata,
)
from ingest.egmd.note_map import NOTE_MAP_FILE, load_note_map
from ingest.egmd.renders import DATASET, IngestSettings, decode_events, ingest_performance
from ingest.egmd.sharding import parse_shard
from ingest.egmd.summary import Tally, findings_of
from ingest.ingest_report import IngestReport
from ingest.options import count_of_workers, seconds

CONFIG_FILES = ("technique_taxonomy.json", "crash_dual_label.json", NOTE_MAP_FILE)


class Egmd(contract.Ingestor):
    """One item per performance (`id`), whose renders are the CSV rows sharing it, sorted by MIDI file name."""

    dataset = DATASET
    command = "egmd"
    config_files = CONFIG_FILES
    item_unit = "performance"
    missing_root = MISSING_ROOT
    options = (
        contract.Option("shard", "process the I-th of N contiguous blocks of performances (1-based); join with "
                        "drumgate merge", metavar="I/N", recorded=False),
        contract.Option("jobs", "worker processes (default: DRUMGATE_WORKERS, else the CPUs this process may use)",
                        default=0, parse=count_of_workers, recorded=False),
        contract.Option("duration_tolerance", "allowed MIDI/audio length difference in seconds (default 2)",
                        default=DEFAULT_DURATION_TOLERANCE_S, parse=seconds),
        contract.Option("reference_encoder", "encode events as dicts through orjson (slow; the fast path is tested "
                        "against it)", default=False, parse=None, recorded=False),
        contract.Option("layout", "single files, or folders of *.jsonl.gz parts per performance (default auto: "
                        "parts above partition_renders in configs/datasets.toml)", default="auto", parse=layout,
                        metavar="{auto,file,parts}"),
    )

    def __init__(self, ctx: IngestContext) -> None:
        super().__init__(ctx)
        self.settings = EgmdSettings.from_settings(ctx.settings)
        note_map = load_note_map(ctx.ws, load_taxonomy(ctx.ws))
        root = ctx.roots[0].path if ctx.roots else ctx.config.roots[0].path
        encoder = None if self.settings.reference_encoder else EventEncoder(note_map)
        self.render_settings = IngestSettings(root, note_map, {}, self.settings.duration_tolerance, encoder,
                                              partial_copy=bool(ctx.config.options.get("partial_copy", False)))
        self.metadata: Metadata | None = None
        self.unattributed: list[Exclusion] = []  # rejected CSV rows with no performance id
        self.tally = Tally()

    @classmethod
    def drive(
        cls, ws: Workspace, options: IngestOptions, config: DatasetConfig, licence: dict[str, str], date: str | None
    ) -> IngestReport:
        """E-GMD writes through its own driver: shards, partitioned layout, a worker pool (ingest.egmd.driver)."""
        return driver.ingest(cls, ws, options, config, licence, date)

    @classmethod
    def targets(cls, ws: Workspace, typed: Mapping[str, str | None], settings: Mapping[str, Any]) -> dict[str, Path]:
        """The artifacts (or the typed paths); with `--shard I/N` the shard's own files beside them."""
        shard = EgmdSettings.from_settings(settings).shard
        return driver.shard_targets(ws, typed, parse_shard(shard) if shard else None)

    def list_items(self) -> list[Item]:
        """Performances sorted by id. A rejected CSV row is a finding of its performance (listed even when
        none of its rows survived, so a shard owns it), or of the listing when it has no id."""
        if not self.ctx.roots:
            return []
        root = self.ctx.roots[0]
        if metadata_csv(root.path) is None and _is_empty(root.path):
            # an empty root is the contract's empty listing (a finding; --allow-empty writes empty
            # manifests); a root holding renders without its CSV stops in read_metadata (exit 2)
            self.listing.findings.append(format_finding(root.path, NO_CSV, hint=NO_CSV_HINT))
            return []
        self.metadata = metadata = read_metadata(root.path)
        self.tally.kind = metadata.kind
        self.unattributed = [e for e in metadata.exclusions if e.performance_id is None]
        self.listing.findings.extend(exclusion.render() for exclusion in self.unattributed)
        self.tally.rows += len(self.unattributed)
        self.tally.exclusions.extend(self.unattributed)
        excluded: dict[str, list[Exclusion]] = {}
        for exclusion in metadata.exclusions:
            if exclusion.performance_id is not None:
                excluded.setdefault(exclusion.performance_id, []).append(exclusion)
        return [Item(pid, root.tier, root.path, {"renders": rows, "excluded": excluded.get(pid, [])})
                for pid, rows in group_performances(metadata.rows, metadata.exclusions)]

    def ingest_item(self, item: Item) -> ItemRows:
        """One performance as the contract's rows: events as dicts (the driver streams them encoded instead)."""
        result = ingest_performance(item.item_id, list(item.facts["renders"]), self.render_settings)
        self.tally.rows += len(item.facts["renders"]) + len(item.facts["excluded"])
        self.tally.exclusions.extend(item.facts["excluded"])
        self.tally.count(result)
        return ItemRows(
            sessions=[result.session] if result.session is not None else [],
            events=decode_events(result.events),
            provenance=result.provenance_rows,
            findings=[exclusion.render() for exclusion in item.facts["excluded"]] + findings_of(result),
            warnings=result.warnings,
        )

    def sections(self) -> dict[str, list[str]]:
        """The metadata CSV's counts and the unmapped MIDI notes (health counts them as unknown labels)."""
        return self.tally.sections()

    def figures(self) -> dict[str, int | float]:
        """The metadata CSV's counts as numbers: rows, renders ingested, rows excluded, MIDI hours."""
        return self.tally.figures()


def _is_empty(folder: Path) -> bool:
    """True for a folder holding nothing; one that cannot be listed is left to read_metadata to name."""
    try:
        with os.scandir(folder) as entries:
            return next(entries, None) is None
    except OSError:
        return False


INGESTOR = Egmd
