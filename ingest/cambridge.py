"""Cambridge-MT "Mixing Secrets" multitrack library: session inventory across storage tiers.

Dataset card
------------
- Origin: Mike Senior's multitrack library for *Mixing Secrets for the Small Studio*
  (Cambridge Music Technology), about 1,400 sessions; 100 of them are the DSD100 part of MUSDB18.
- Packaging: one zip per session, `<Artist>_<Song>_Full.zip` or `_Excerpt.zip`, holding
  `NN_Name.wav` stems (two-digit 1-based index, CamelCase names, drums first): close mics such
  as `KickIn`, `SnareUp`/`SnareDown`, `HiHat`, `Tom1`..`Tom3`, ambience `Overheads`/`DrumsRoom`,
  triggered `*Sample` stems, and free-form names (`Kick DTP 640 REX Condenser Capsule.wav`).
- Layout here: each storage root of `configs/datasets.toml` (tiers `primary` =
  `data/raw/cambridge`, `external` = a drive; env variables override) holds sessions as unpacked
  folders or as the original zips, which are probed in place without extracting.
- Audio: WAV, mostly 24-bit 44.1 kHz, mono close mics, stereo overheads; formats vary per file.
- Annotations: none. Events are derived from the stems (`drumgate events cambridge`).
- Licence: no formal licence; treated as research/education only, no redistribution, no
  commercial use (`data/licenses/cambridge.md`), recorded on every provenance row.

`drumgate ingest cambridge [--root DIR] [--date YYYY-MM-DD] [--allow-empty] [--dry-run] [--output FILE]
[--provenance FILE] [--json]`
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import os
import sys
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from drumgate import __version__, cli, grouplock, lineage
from drumgate.artifacts import ALLOW_EMPTY_HELP
from drumgate.audio import AudioFormat, open_zip_member, probe_wav, zip_member_escapes
from drumgate.checksums import parse_manifest, scan_root
from drumgate.config import DatasetConfig, StorageRoot, load_datasets
from drumgate.errors import EXIT_FINDINGS, EXIT_OK, DrumgateError, format_finding
from drumgate.jsonio import iter_jsonl, write_jsonl
from drumgate.licences import licence_for_ingest
from drumgate.provenance import config_hashes, ingest_commit, report_date
from drumgate.stems import StemRules, load_stem_rules
from drumgate.taxonomy import load_taxonomy
from drumgate.textsafe import log_text
from drumgate.workspace import Workspace

DATASET = "cambridge"
ARCHIVE_SUFFIXES = ("_Full.zip", "_Excerpt.zip")
AUDIO_SUFFIXES = (".wav", ".wave")
MEMBER_SEPARATOR = "#"
STATUS_RANK = {"ok": 0, "missing_audio": 1, "unreadable": 2, "tier_offline": 3}
DEFAULT_SPLIT = "train"
CONFIGS_USED = ("datasets.toml", "stem_names.json", "technique_taxonomy.json")


@dataclass
class SessionScan:
    session_id: str
    tier: str
    path: str
    packaging: str
    files: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    bad_input: list[str] = field(default_factory=list)
    source_files: list[str] = field(default_factory=list)  # `<tier>/<path>` entries hashed as files

    def row(self) -> dict[str, Any]:
        status = _session_status(self)
        seconds = max((f["format"]["seconds"] for f in self.files if f.get("format")), default=0.0)
        return {
            "dataset": DATASET,
            "session_id": self.session_id,
            "tier": self.tier,
            "path": self.path,
            "packaging": self.packaging,
            "split": DEFAULT_SPLIT,
            "files": self.files,
            "seconds": round(seconds, 6),
            "status": status,
            "warnings": self.warnings,
        }


def _session_status(scan: SessionScan) -> str:
    worst = max((STATUS_RANK[f["status"]] for f in scan.files), default=STATUS_RANK["missing_audio"])
    if scan.bad_input:
        worst = max(worst, STATUS_RANK["unreadable"])
    if not any(f.get("role") not in (None, "non_drum") and f["status"] == "ok" for f in scan.files):
        worst = max(worst, STATUS_RANK["missing_audio"])
    return next(name for name, rank in STATUS_RANK.items() if rank == worst)


def session_id_for(name: str) -> str:
    """Folder `Artist_Song_Full` or archive `Artist_Song_Full.zip` -> `Artist_Song_Full`."""
    return name[: -len(".zip")] if name.lower().endswith(".zip") else name


# Probing ---------------------------------------------------------------------------------------


def _file_entry(
    rel_path: str, file_name: str, rules: StemRules, fmt: AudioFormat | None, status: str
) -> dict[str, Any]:
    """`file_name` is the stem's own file name, given apart from `rel_path`: a `#` (the zip member
    separator) or a `/` in a session folder, zip or stem name must not change which name it is."""
    match = rules.match(file_name)
    return {
        "path": rel_path,
        "stem": rules.stem_name(file_name),
        "instrument": match.instrument if match else None,
        "role": match.role if match else None,
        "rule": match.rule if match else None,
        "format": fmt.as_dict() if fmt else None,
        "status": status,
    }


def _probe_into(scan: SessionScan, rel_path: str, file_name: str, label: str, source: Any, rules: StemRules) -> None:
    try:
        fmt = probe_wav(source, name=label)
    except DrumgateError as err:
        _record_unreadable(scan, rel_path, file_name, rules, err)
        return
    scan.files.append(_file_entry(rel_path, file_name, rules, fmt, "ok"))


def _record_unreadable(scan: SessionScan, rel_path: str, file_name: str, rules: StemRules, err: DrumgateError) -> None:
    status = "missing_audio" if "empty" in err.message or "no samples" in err.message else "unreadable"
    scan.files.append(_file_entry(rel_path, file_name, rules, None, status))
    # an empty stem is missing audio by status, and still a finding: someone must re-copy it
    scan.bad_input.append(str(err))


def _scan_folder(scan: SessionScan, root: StorageRoot, files: dict[str, Path], rules: StemRules) -> None:
    prefix = f"{root.tier}/{scan.path}/"
    for key in sorted(k for k in files if k.startswith(prefix)):
        relative = key[len(root.tier) + 1 :]
        if not relative.lower().endswith(AUDIO_SUFFIXES):
            continue
        scan.source_files.append(key)
        _probe_into(scan, relative, files[key].name, str(files[key]), files[key], rules)


def _scan_archive(scan: SessionScan, root: StorageRoot, path: Path, rules: StemRules) -> None:
    scan.source_files.append(f"{root.tier}/{scan.path}")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        scan.bad_input.append(format_finding(path, f"not a readable zip archive ({exc})", hint="re-download it"))
        return
    with archive:
        for info in sorted(archive.infolist(), key=lambda i: i.filename):
            if info.is_dir() or not info.filename.lower().endswith(AUDIO_SUFFIXES):
                continue
            if zip_member_escapes(info.filename):
                scan.bad_input.append(
                    format_finding(
                        f"{path}{MEMBER_SEPARATOR}{info.filename}",
                        "zip member escapes the archive",
                        hint="re-download it",
                    )
                )
                continue
            rel_path = f"{scan.path}{MEMBER_SEPARATOR}{info.filename}"
            label = f"{path}{MEMBER_SEPARATOR}{info.filename}"
            file_name = PurePosixPath(info.filename.replace("\\", "/")).name
            try:
                with open_zip_member(archive, info, label) as handle:
                    _probe_into(scan, rel_path, file_name, label, handle, rules)
            except DrumgateError as err:
                _record_unreadable(scan, rel_path, file_name, rules, err)
            except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
                scan.files.append(_file_entry(rel_path, file_name, rules, None, "unreadable"))
                scan.bad_input.append(format_finding(label, f"bad zip member ({exc})", hint="re-download the archive"))


def _consistency_warnings(scan: SessionScan) -> None:
    readable = [f for f in scan.files if f["format"]]
    rates = sorted({f["format"]["rate"] for f in readable})
    if len(rates) > 1:
        scan.warnings.append(f"stems have different sample rates: {', '.join(str(r) for r in rates)}")
    frames = Counter(round(f["format"]["seconds"], 2) for f in readable)
    if len(frames) > 1:
        longest = max(frames)
        short = [f["stem"] for f in readable if round(f["format"]["seconds"], 2) != longest]
        scan.warnings.append(f"stems have different lengths: {', '.join(short)} shorter than {longest:.2f} s")
    unmatched = [f["stem"] for f in scan.files if f["role"] is None]
    for stem in unmatched:
        scan.warnings.append(f"unmatched stem name {stem!r} (add a rule to configs/stem_names.json)")
    if not any(f["role"] not in (None, "non_drum") and f["status"] == "ok" for f in scan.files):
        scan.warnings.append("missing audio: no readable drum stems in this session")


def scan_tier(root: StorageRoot, rules: StemRules) -> tuple[list[SessionScan], list[str]]:
    """Sessions on one online root, plus problems that belong to no session."""
    scanned = scan_root(root)
    files = scanned.files
    sessions: dict[str, SessionScan] = {}
    loose: list[str] = []
    for key in sorted(files):
        relative = key[len(root.tier) + 1 :]
        top = relative.split("/", 1)[0]
        if "/" in relative:
            sessions.setdefault(top, SessionScan(session_id_for(top), root.tier, top, "folder"))
        elif top.endswith(ARCHIVE_SUFFIXES):
            sessions.setdefault(top, SessionScan(session_id_for(top), root.tier, top, "zip"))
        elif top.lower().endswith(".zip"):
            loose.append(
                format_finding(
                    files[key],
                    "zip name is not <Artist>_<Song>_Full.zip or _Excerpt.zip",
                    hint="rename it so it is read as a session",
                )
            )
    for problem in scanned.problems:
        owner = _problem_owner(problem, root, sessions)
        if owner is None:
            loose.append(problem)
        else:
            owner.bad_input.append(problem)
    for top, scan in sorted(sessions.items()):
        if scan.packaging == "zip":
            _scan_archive(scan, root, files[f"{root.tier}/{top}"], rules)
        else:
            _scan_folder(scan, root, files, rules)
        _consistency_warnings(scan)
    return list(sessions.values()), loose


def _shown(path: str) -> str:
    """How a finding spells `path` (findings escape what a terminal or log would act on)."""
    return format_finding(path, "-")[: -len(": -")]


def _problem_owner(problem: str, root: StorageRoot, sessions: dict[str, SessionScan]) -> SessionScan | None:
    """The session whose top-level entry a scan problem names, matched against the root's real
    entries: a `:` or `/` inside a folder name must not cut it short into a phantom session."""
    try:
        tops = os.listdir(root.path)
    except OSError:
        return None
    owners = []
    for listed in tops:
        top = os.fsencode(listed).decode("utf-8", "backslashreplace")  # as the scan names it
        shown = _shown(str(root.path / top))
        if problem.startswith((f"{shown}{os.sep}", f"{shown}: ")):
            owners.append(top)
    if not owners:
        return None
    top = max(owners, key=len)
    if top not in sessions:
        sessions[top] = SessionScan(session_id_for(top), root.tier, top, "folder")
    return sessions[top]


# Offline carry-forward -------------------------------------------------------------------------


def carried_forward(ws: Workspace, tier: str, root: StorageRoot) -> tuple[list[dict[str, Any]], str]:
    committed = ws.sessions_manifest(DATASET)
    note = f"tier {tier} offline ({root.path} not mounted)"
    if not committed.exists():
        return [], f"{note}: no committed manifest to carry its sessions forward from"
    rows = []
    for _, row in iter_jsonl(committed):
        if row.get("tier") != tier:
            continue
        row = dict(row)
        row["status"] = "tier_offline"
        row["files"] = [{**f, "status": "tier_offline"} for f in row.get("files", [])]
        message = f"tier {tier} offline: carried forward from {ws.rel(committed)}"
        row["warnings"] = [w for w in row.get("warnings", []) if not w.startswith(f"tier {tier} offline")] + [message]
        rows.append(row)
    return rows, f"{note}: {len(rows)} sessions carried forward from {ws.rel(committed)}"


# Provenance ------------------------------------------------------------------------------------


def _manifest_digests(ws: Workspace) -> dict[str, str]:
    path = ws.checksums(DATASET)
    if not path.exists():
        return {}
    entries, _ = parse_manifest(path)
    return {entry.path: entry.sha256 for entry in entries}


def _previous_provenance(ws: Workspace) -> dict[str, dict[str, Any]]:
    path = ws.provenance(DATASET)
    if not path.exists():
        return {}
    return {row["session_id"]: row for _, row in iter_jsonl(path) if "session_id" in row}


def provenance_rows(
    ws: Workspace,
    config: DatasetConfig,
    rows: list[dict[str, Any]],
    sources: dict[str, list[str]],
    date: str | None = None,
) -> list[dict[str, Any]]:
    digests = _manifest_digests(ws)
    previous = _previous_provenance(ws)
    licence = licence_for_ingest(ws.path(config.licence_note), config.licence_note, "drumgate ingest cambridge")
    hashes = config_hashes(ws, CONFIGS_USED)
    out = []
    for row in rows:
        session = row["session_id"]
        if row["status"] == "tier_offline" and session in previous:
            files = previous[session]["source_files"]
        else:
            files = [_source_file(ws, config, key, digests) for key in sources.get(session, [])]
        out.append(
            {
                "dataset": DATASET,
                "session_id": session,
                "tier": row["tier"],
                "source_files": files,
                "ingest_commit": ingest_commit(),
                "tool_version": __version__,
                "config_hashes": hashes,
                "licence": licence,
                **({"ingest_date": date} if date else {}),
            }
        )
    return out


def _source_file(ws: Workspace, config: DatasetConfig, key: str, digests: dict[str, str]) -> dict[str, Any]:
    tier, relative = key.split("/", 1)
    path = config.root(tier).path / PurePosixPath(relative)
    try:
        size: int | None = path.stat().st_size
    except OSError:
        size = None
    return {"path": key, "sha256": digests.get(key), "bytes": size}


# Command ---------------------------------------------------------------------------------------


@dataclass
class Inventory:
    rows: list[dict[str, Any]]
    sources: dict[str, list[str]]
    notes: list[str]
    findings: list[str]
    online: list[StorageRoot]


def build_inventory(ws: Workspace, config: DatasetConfig, rules: StemRules) -> Inventory:
    inventory = Inventory([], {}, [], [], [])
    seen: dict[str, str] = {}
    for root in config.roots:
        if not root.online:
            rows, note = carried_forward(ws, root.tier, root)
            inventory.rows.extend(rows)
            inventory.notes.append(note)
            continue
        inventory.online.append(root)
        sessions, loose = scan_tier(root, rules)
        inventory.findings.extend(loose)
        for scan in sessions:
            if scan.session_id in seen:
                inventory.findings.append(
                    format_finding(
                        root.path / scan.path,
                        f"session {scan.session_id} is also on tier {seen[scan.session_id]}",
                        hint="keep one copy; the first tier's copy is used",
                    )
                )
                continue
            seen[scan.session_id] = root.tier
            inventory.findings.extend(scan.bad_input)
            inventory.rows.append(scan.row())
            inventory.sources[scan.session_id] = scan.source_files
    inventory.rows.sort(key=lambda r: (r["session_id"], r["tier"]))
    return inventory


def _external_fingerprints(inventory: Inventory, config: DatasetConfig) -> dict[str, str]:
    prints = {}
    for root in config.roots:
        listing = "".join(
            f"{f['path']} {f.get('format') and f['format']['frames']}\n"
            for row in inventory.rows
            if row["tier"] == root.tier
            for f in row["files"]
        )
        state = "online" if root in inventory.online else "offline"
        prints[f"{root.tier}_root"] = f"{state}:{hashlib.sha256(listing.encode()).hexdigest()}"
    return prints


def print_summary(inventory: Inventory) -> None:
    per_tier: Counter[str] = Counter(row["tier"] for row in inventory.rows)
    status: Counter[str] = Counter(row["status"] for row in inventory.rows)
    stems = sum(len(row["files"]) for row in inventory.rows)
    drum_stems = sum(1 for row in inventory.rows for f in row["files"] if f.get("role") not in (None, "non_drum"))
    hours = sum(row.get("seconds", 0.0) for row in inventory.rows) / 3600
    tiers = ", ".join(f"{tier} {count}" for tier, count in sorted(per_tier.items())) or "none"
    print(
        f"cambridge: {len(inventory.rows)} sessions (tiers: {tiers}); {stems} stems, {drum_stems} drum stems; "
        f"{hours:.4f} h"
    )
    print("status: " + (", ".join(f"{k} {v}" for k, v in sorted(status.items())) or "none"))
    for note in inventory.notes:
        print(log_text(note))
    for row in inventory.rows:
        for warning in row["warnings"]:
            print(log_text(f"warning: {row['session_id']} ({row['tier']}): {warning}"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--root", default=None, help="folder of the primary tier's sessions (default: the configured cambridge root)"
    )
    parser.add_argument("--date", default=None, help="YYYY-MM-DD recorded as the ingest date in provenance rows")
    parser.add_argument("--allow-empty", action="store_true", help=ALLOW_EMPTY_HELP)
    parser.add_argument(
        "--dry-run", action="store_true", help="write data/manifests/cambridge_sessions_dryrun.jsonl (no provenance)"
    )
    parser.add_argument("--output", default=None, help="sessions manifest to write")
    parser.add_argument("--provenance", default=None, help="provenance file to write")
    cli.add_json_option(parser, "the session counts by tier and status, notes and findings")


def _with_primary_root(ws: Workspace, config: DatasetConfig, root: str | None) -> DatasetConfig:
    """The config with `--root` standing in for the first (primary) storage root."""
    if root is None:
        return config
    first = dataclasses.replace(config.roots[0], path=ws.user_path(root))
    return dataclasses.replace(config, roots=(first, *config.roots[1:]))


def _json_result(inventory: Inventory, written: Sequence[Path], ws: Workspace) -> dict[str, Any]:
    return {
        "dataset": DATASET,
        "sessions": len(inventory.rows),
        "by_tier": dict(Counter(row["tier"] for row in inventory.rows)),
        "by_status": dict(Counter(row["status"] for row in inventory.rows)),
        "stems": sum(len(row["files"]) for row in inventory.rows),
        "hours": sum(row.get("seconds", 0.0) for row in inventory.rows) / 3600,
        "notes": list(inventory.notes),
        "warnings": [f"{row['session_id']} ({row['tier']}): {w}" for row in inventory.rows for w in row["warnings"]],
        "findings": list(inventory.findings),
        "written": [ws.rel(path) for path in written],
    }


def run(args: argparse.Namespace) -> int:
    ws = cli.workspace_from(args)
    config = _with_primary_root(ws, load_datasets(ws).get(DATASET), args.root)
    date = report_date(args.date).isoformat() if args.date else None
    rules = load_stem_rules(ws, set(load_taxonomy(ws).classes))
    default_output = ws.sessions_manifest(DATASET, dry_run=args.dry_run)
    output = ws.user_path(args.output) if args.output else default_output
    licence_for_ingest(ws.path(config.licence_note), config.licence_note, "drumgate ingest cambridge")
    grouplock.hold(ws, [config.group])
    inventory = build_inventory(ws, config, rules)
    print_summary(inventory)
    if not inventory.rows and not args.allow_empty:
        raise DrumgateError(
            "no Cambridge sessions found on any storage root",
            path=ws.rel(config.roots[0].path),
            hint="mount or fill the roots, or pass --allow-empty",
            exit_code=EXIT_FINDINGS,
        )
    write_jsonl(output, inventory.rows)
    argv = _argv(ws, args, output)
    inputs = [ws.configs / name for name in CONFIGS_USED]
    external = _external_fingerprints(inventory, config)
    lineage.record(ws, config.group, output, argv, inputs=inputs, external_inputs=external)
    print(f"wrote {ws.rel(output)} ({len(inventory.rows)} sessions)")
    provenance_path = _provenance_target(ws, args, output)
    if provenance_path is not None:
        rows = provenance_rows(ws, config, inventory.rows, inventory.sources, date)
        write_jsonl(provenance_path, rows)
        prov_inputs = [*inputs, ws.path(config.licence_note)]
        if ws.checksums(DATASET).exists():
            prov_inputs.append(ws.checksums(DATASET))
        lineage.record(ws, config.group, provenance_path, argv, inputs=prov_inputs, external_inputs=external)
        print(f"wrote {ws.rel(provenance_path)} ({len(rows)} rows)")
    for finding in inventory.findings:
        print(finding, file=sys.stderr)
    cli.emit_json(args, _json_result(inventory, [output, *([provenance_path] if provenance_path else [])], ws))
    return EXIT_FINDINGS if inventory.findings else EXIT_OK


def _provenance_target(ws: Workspace, args: argparse.Namespace, output: Path) -> Path | None:
    if args.provenance:
        return ws.user_path(args.provenance)
    if output == ws.sessions_manifest(DATASET):
        return ws.provenance(DATASET)
    return None


def _argv(ws: Workspace, args: argparse.Namespace, output: Path) -> list[str]:
    argv = ["ingest", "cambridge"]
    if args.root:
        argv += ["--root", ws.rel(ws.user_path(args.root))]
    if args.date:
        argv += ["--date", args.date]
    if args.allow_empty:
        argv.append("--allow-empty")
    if args.dry_run:
        argv.append("--dry-run")
    if args.output:
        argv += ["--output", ws.rel(output)]
    if args.provenance:
        argv += ["--provenance", ws.rel(ws.user_path(args.provenance))]
    return argv


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run_module(sys.modules[__name__], argv, prog="python -m ingest.cambridge")


if __name__ == "__main__":
    raise SystemExit(main())
