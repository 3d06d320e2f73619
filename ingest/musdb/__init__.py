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
  every row's `attributes.song_key` (`drumgate.reports.overlap.song_key`) lets the combined gate see one
  song across datasets. `--cambridge-sessions FILE` prints the overlap list (`overlap` lines, and
  `overlap` in `--json`); it changes no artifact, so the regenerate command does not name it.

What this ingestor writes
-------------------------
- events (`data/manifests/musdb_hq_events.jsonl`): one row per drum hit of a track's `drums.wav`.
  Onsets come from `drumgate.signal.onsets` (`configs/onsets.json`); each onset is classified by
  semi-adaptive NMF (`drumgate.signal.transcribe`, settings in `configs/musdb.json` `transcription`) into
  kick, snare, hihat, tom or cymbal with a confidence (`label_source: derived`, `attributes` hold
  the activation and whether it snapped to an onset). A crash-family label carries its dual label.
- Pseudo labels: when `drums.pseudo.tsv` sits beside a track's stems (from an external
  transcription model), its rows replace the derived events (`label_source: pseudo`). Format,
  one hit per line, `#` comments and blank lines ignored:

      time_seconds<TAB>label[<TAB>velocity]
      0.512	kick	100
      0.750	sd

  `label` must be a taxonomy class id or alias (resolved to the id); `velocity` is 0-127.
- sessions (`data/manifests/musdb_hq_sessions.jsonl`): one row per track folder with each stem's
  format and status, the split, `song_key`, `release_split` and `mdb_drums_song`.
- provenance (`data/provenance/musdb_hq_provenance.jsonl`): one row per track naming every stem
  (and the pseudo-label file) with sha256 and bytes.
- layout: above `partition_sessions` tracks (100 in configs/datasets.toml, so the full release),
  with `--layout parts`, or when the folders are already there, each is a folder of per-track
  `*.jsonl.gz` parts keyed by `session_id` with an `index.json` (`data/manifests/musdb_hq_events/`
  and so on; `docs/architecture.md`); `--layout file` goes back.

Failure policy
--------------
Through the contract driver (`ingest/contract.py`): an incomplete licence note, a bad
`configs/musdb.json` or `configs/onsets.json` (also values that fail only together: a `drum_stem` not
among `stems`, a frequency band that keeps nothing, a hop longer than its window), a typed `--root`
that is not a folder or a configured root that is not there (and no committed manifest to carry
forward) stops the run before anything is written (one line, exit 2). Findings, one line each on stderr,
the run continues, exit 1: missing, unreadable, mono or wrong-rate stems, stems of unequal length,
drum samples that cannot be analysed (NaN/inf), folder names not of the form `Artist - Title`, an
empty root (also with `--allow-empty`), bad pseudo-label lines, one not valid UTF-8 among them
(skipped, their neighbours stay).
Errata are warnings.
"""

from __future__ import annotations

from drumgate.errors import format_finding
from drumgate.io.jsonio import iter_jsonl
from drumgate.reports.overlap import find_overlaps, song_key
from drumgate.taxonomy import load_taxonomy
from ingest import contract
from ingest.contract import IngestContext, Item, ItemRows
from ingest.musdb.tracks import (
    DATASET,
    SPLIT_FOLDERS,
    Findings,
    Track,
    load_analysis,
    load_settings,
    probe_track,
    session_row,
    track_events,
)

__all__ = ["INGESTOR", "Musdb", "load_settings"]


class Musdb(contract.Ingestor):
    dataset = DATASET
    command = "musdb"
    aliases = ("musdb_hq", "musdb18hq")
    config_files = ("musdb.json", "onsets.json", "technique_taxonomy.json", "crash_dual_label.json", "datasets.toml")
    options = (contract.Option(
        "cambridge_sessions", "Cambridge sessions manifest: print the MUSDB/Cambridge and MDB Drums overlap list",
        recorded=False, metavar="FILE"),)
    item_unit = "track"
    missing_root = root_not_found = "MUSDB root folder not found"

    def __init__(self, ctx: IngestContext) -> None:
        super().__init__(ctx)
        self.settings = load_settings(ctx.ws)
        self.analysis = load_analysis(ctx.ws, self.settings)
        self.taxonomy = load_taxonomy(ctx.ws)
        self.track_names: list[str] = []

    def list_items(self) -> list[Item]:
        """Track folders under `train/` and `test/`, sorted; an empty root is a finding."""
        validation = set(self.settings.raw["validation_tracks"])
        items: list[Item] = []
        for root in self.ctx.roots:
            found = 0
            for split in SPLIT_FOLDERS:
                folder = root.path / split
                if not folder.is_dir():
                    continue
                for entry in sorted(path for path in folder.iterdir() if path.is_dir()):
                    effective = "validation" if split == "train" and entry.name in validation else split
                    items.append(Item(f"{split}/{entry.name}", root.tier, root.path,
                                      {"name": entry.name, "split": effective}))
                    found += 1
            if not found:
                hint = "expected train/<Artist - Title>/ and test/<Artist - Title>/"
                self.listing.findings.append(format_finding(root.path, "no MUSDB tracks found", hint=hint))
        self.track_names = [item.facts["name"] for item in items]
        return items

    def ingest_item(self, item: Item) -> ItemRows:
        track = Track(item.root / item.item_id, item.item_id, item.facts["name"], item.facts["split"], item.tier)
        findings = Findings()
        probe_track(track, self.settings, findings)
        events = track_events(self.analysis, track, self.settings, self.taxonomy, findings)
        sources = [contract.source_file(item.root, entry["path"]) for entry in track.files]
        pseudo = track.folder / self.settings.raw["pseudo_label_file"]
        if pseudo.is_file():
            sources.append(contract.source_file(item.root, f"{track.rel}/{pseudo.name}"))
        provenance = {"session_id": track.name, "dataset": DATASET, "tier": track.tier, "source_files": sources,
                      "song_key": song_key(DATASET, track.name, self.settings.overlap)}
        return ItemRows(sessions=[session_row(track, self.settings)], events=events, provenance=[provenance],
                        findings=findings.lines, warnings=findings.warnings)

    def sections(self) -> dict[str, list[str]]:
        typed = self.ctx.settings["cambridge_sessions"]
        if not typed:
            return {}
        path = self.ctx.ws.user_path(typed)
        cambridge = [str(row["session_id"]) for _, row in iter_jsonl(path) if row.get("session_id")]
        return {"overlap": find_overlaps(self.track_names, cambridge, self.settings.overlap).lines()}


INGESTOR = Musdb
