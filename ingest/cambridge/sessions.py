"""Cambridge sessions on one storage root: found as folders or zips, their stems probed in place.

`list_sessions` turns one root's file listing (`drumgate.checksums.scan_root`) into sessions
without reading audio; `probe_session` reads one session's stems (zip members without
extracting) and names each by `configs/stem_names.json`. Used by `ingest.cambridge`.
"""

from __future__ import annotations

import os
import zipfile
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from drumgate.checksums import ScanResult
from drumgate.config import StorageRoot
from drumgate.errors import DrumgateError, format_finding
from drumgate.signal.audio import AudioFormat, open_zip_member, probe_wav, zip_member_escapes
from ingest.cambridge.stems import StemRules

DATASET = "cambridge"
ARCHIVE_SUFFIXES = ("_Full.zip", "_Excerpt.zip")
AUDIO_SUFFIXES = (".wav", ".wave")
MEMBER_SEPARATOR = "#"
STATUS_RANK = {"ok": 0, "missing_audio": 1, "unreadable": 2, "tier_offline": 3}
DEFAULT_SPLIT = "train"


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


def _scan_folder(scan: SessionScan, root: StorageRoot, files: Mapping[str, Path], rules: StemRules) -> None:
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


def list_sessions(root: StorageRoot, scanned: ScanResult) -> tuple[list[SessionScan], list[str]]:
    """Sessions on one online root (not probed yet), plus problems that belong to no session."""
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
    return [scan for _, scan in sorted(sessions.items())], loose


def probe_session(scan: SessionScan, root: StorageRoot, files: Mapping[str, Path], rules: StemRules) -> None:
    """Read the session's stems into `scan.files`; problems go to `scan.bad_input`, facts to `scan.warnings`."""
    if scan.packaging == "zip":
        _scan_archive(scan, root, files[f"{root.tier}/{scan.path}"], rules)
    else:
        _scan_folder(scan, root, files, rules)
    apply_session_rules(scan.files, rules)
    _consistency_warnings(scan)


def apply_session_rules(entries: list[dict[str, Any]], rules: StemRules) -> None:
    """Give the session's stems the instruments its session rules set (`session_rule` names the rule)."""
    for entry, given in zip(entries, rules.session_instruments([entry["rule"] for entry in entries]), strict=True):
        if given is not None:
            entry["instrument"], entry["session_rule"] = given


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
