"""Cambridge-MT "Mixing Secrets" multitrack library: session inventory across storage tiers.

Dataset card
------------
- Origin: Mike Senior's multitrack library for *Mixing Secrets for the Small Studio*
  (Cambridge Music Technology); 100 of its sessions are the DSD100 part of MUSDB18.
- Size: about 1,400 sessions. Audio is WAV, mostly 24-bit 44.1 kHz, mono close mics, stereo
  overheads; formats vary per file. No annotations: events are derived from the stems
  (`drumgate events cambridge`).
- Packaging: one zip per session, `<Artist>_<Song>_Full.zip` or `_Excerpt.zip`, holding
  `NN_Name.wav` stems (two-digit 1-based index, CamelCase names, drums first): close mics such
  as `KickIn`, `SnareUp`/`SnareDown`, `HiHat`, `Tom1`..`Tom3`, ambience `Overheads`/`DrumsRoom`,
  triggered `*Sample` stems, and free-form names (`Kick DTP 640 REX Condenser Capsule.wav`).
- Layout: each storage root of `configs/datasets.toml` (tiers `primary` = `data/raw/cambridge`,
  `external` = a drive; env variables override, `--root` stands in for the primary) holds
  sessions as unpacked folders or as the original zips, which are probed in place without
  extracting. A tier whose root is not mounted is carried forward (`tier_offline`).
- Licence: no formal licence; treated as research/education only, no redistribution, no
  commercial use (`data/licenses/cambridge.md`), recorded on every provenance row.

What this ingestor writes
-------------------------
- sessions (`data/manifests/cambridge_sessions.jsonl`, `--output`): one row per session with
  its tier, packaging (`folder` or `zip`), every stem (`path`, `stem`, `instrument`, `role` and
  `rule` from `configs/stem_names.json`, format, status) and warnings (mixed rates or lengths,
  unmatched stem names, no readable drum stem). `--dry-run` writes
  `data/manifests/cambridge_sessions_dryrun.jsonl` instead, and no provenance.
- provenance (`data/provenance/cambridge_provenance.jsonl`, `--provenance`): one row per session
  naming its files as `<tier>/<path>` with bytes and the sha256 of `drumgate checksums generate
  cambridge` (none before that has run); written with the workspace's sessions manifest, or
  when `--provenance` is given.
- layout: above `partition_sessions` sessions (configs/datasets.toml, default 500), with
  `--layout parts`, or when the folders are already there, each is a folder of per-session
  `*.jsonl.gz` parts with an `index.json` (`data/manifests/cambridge_sessions/`,
  `data/provenance/cambridge_provenance/`; `docs/architecture.md`); `--layout file` goes back.

Failure policy
--------------
Through the contract driver (`ingest/contract.py`): an incomplete licence note or a bad
`configs/stem_names.json` stops the run before anything is written (one line, exit 2). A run
that finds no session on any tier (online or carried forward) stops with exit 1 unless
`--allow-empty`. Findings, one line each, the run goes on (exit 1): unreadable, truncated,
empty or Git LFS stems, bad zips and zip members (the session is `unreadable` or
`missing_audio`), links that loop or leave the root, zips not named as sessions, and a session
on two tiers (the first tier's copy is kept). Per-session facts are `warning:` lines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import Any

from drumgate.checksums import parts as checksum_parts
from drumgate.checksums import scan_root
from drumgate.errors import format_finding
from drumgate.taxonomy import load_taxonomy
from drumgate.workspace import Workspace
from ingest import contract
from ingest.cambridge.sessions import DATASET, list_sessions, probe_session
from ingest.cambridge.stems import load_stem_rules
from ingest.contract import IngestContext, Item, ItemRows

__all__ = ["INGESTOR", "Cambridge"]


class Cambridge(contract.Ingestor):
    dataset = DATASET
    command = "cambridge"
    config_files = ("datasets.toml", "stem_names.json", "technique_taxonomy.json")
    options = (contract.Option("dry_run", "write data/manifests/cambridge_sessions_dryrun.jsonl (no provenance)",
                               default=False, parse=None),)
    outputs = ("sessions", "provenance")
    output_flags = MappingProxyType({"sessions": "--output", "provenance": "--provenance"})
    item_unit = "session"
    no_sessions = "no Cambridge sessions found on any storage root"

    def __init__(self, ctx: IngestContext) -> None:
        super().__init__(ctx)
        self.rules = load_stem_rules(ctx.ws, set(load_taxonomy(ctx.ws).classes))
        self.digests = _manifest_digests(ctx.ws)

    @classmethod
    def targets(cls, ws: Workspace, typed: Mapping[str, str | None], settings: Mapping[str, Any]) -> dict[str, Path]:
        """A dry run or a typed `--output` writes no provenance unless `--provenance` names where."""
        committed = ws.sessions_manifest(DATASET)
        typed_sessions = typed.get("sessions")
        sessions = ws.user_path(typed_sessions) if typed_sessions else ws.sessions_manifest(
            DATASET, dry_run=bool(settings.get("dry_run")))
        targets = {"sessions": sessions}
        typed_provenance = typed.get("provenance")
        if typed_provenance:
            targets["provenance"] = ws.user_path(typed_provenance)
        elif sessions == committed:
            targets["provenance"] = ws.provenance(DATASET)
        return targets

    def list_items(self) -> list[Item]:
        """Every session on the online tiers, by session id; a session already seen on an earlier tier is a finding."""
        items: list[Item] = []
        seen: dict[str, str] = {}
        for root in self.ctx.roots:
            scanned = scan_root(root)
            sessions, loose = list_sessions(root, scanned)
            self.listing.findings.extend(loose)
            for scan in sessions:
                if scan.session_id in seen:
                    self.listing.findings.append(format_finding(
                        root.path / scan.path, f"session {scan.session_id} is also on tier {seen[scan.session_id]}",
                        hint="keep one copy; the first tier's copy is used"))
                    continue
                seen[scan.session_id] = root.tier
                items.append(Item(scan.session_id, root.tier, root.path,
                                  {"scan": scan, "root": root, "files": scanned.files}))
        return sorted(items, key=lambda item: (item.item_id, item.tier))

    def ingest_item(self, item: Item) -> ItemRows:
        scan = item.facts["scan"]
        probe_session(scan, item.facts["root"], item.facts["files"], self.rules)
        sources = [self._source_file(item.root, key) for key in scan.source_files]
        return ItemRows(
            sessions=[scan.row()],
            provenance=[{"dataset": DATASET, "session_id": scan.session_id, "tier": scan.tier,
                         "source_files": sources}],
            findings=list(scan.bad_input),
            warnings=[f"{scan.session_id} ({scan.tier}): {warning}" for warning in scan.warnings],
        )

    def lineage_inputs(self, kind: str) -> Sequence[Path]:
        checksums = checksum_parts.location(self.ctx.ws.checksums(DATASET))
        return [checksums] if kind == "provenance" and checksums.exists() else []

    def _source_file(self, root: Path, key: str) -> dict[str, Any]:
        """`<tier>/<path>` with its bytes and the checksum manifest's sha256 (zips are hashed there, once)."""
        relative = key.split("/", 1)[1]
        try:
            size: int | None = (root / PurePosixPath(relative)).stat().st_size
        except OSError:
            size = None
        return {"path": key, "sha256": self.digests.get(key), "bytes": size}


def _manifest_digests(ws: Workspace) -> dict[str, str]:
    path = ws.checksums(DATASET)
    if not checksum_parts.exists(path):
        return {}
    return {entry.path: entry.sha256 for entry in checksum_parts.read(path, DATASET).entries}


INGESTOR = Cambridge
