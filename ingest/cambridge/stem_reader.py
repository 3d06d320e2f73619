"""A Cambridge session's drum stems read for event derivation: mono at the analysis rate, from a
folder or straight from the session's zip, with their onsets (`drumgate.signal.onsets`, parameters
per class in `configs/onsets.json`)."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from drumgate.config import DatasetConfig
from drumgate.errors import DrumgateError
from drumgate.signal.audio import open_zip_member, read_mono, zip_member_escapes
from drumgate.signal.onsets import OnsetParams, detect_onsets, load_onset_blocks
from drumgate.taxonomy import Taxonomy
from drumgate.workspace import Workspace
from ingest.cambridge.stems import AMBIENT_ROLES, ONSET_ROLES

MEMBER_SEPARATOR = "#"
ANALYSIS_SR = 44100


@dataclass
class StemOnsets:
    item_id: str
    stem: str
    instrument: str
    role: str
    signal: np.ndarray
    times: np.ndarray
    strengths: np.ndarray
    levels_db: np.ndarray = field(default_factory=lambda: np.zeros(0))
    keep: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))


def zip_member_of(session: dict[str, Any], file_path: str) -> str | None:
    """The member name when `file_path` lies in the session's zip: `<archive>#<member>`, cut
    after the archive's own name (which may hold `#` itself), never at the first `#`."""
    archive = str(session.get("path", ""))
    packaging = session.get("packaging") or ("zip" if archive.lower().endswith(".zip") else "folder")
    prefix = f"{archive}{MEMBER_SEPARATOR}"
    if packaging != "zip" or not file_path.startswith(prefix):
        return None
    return file_path[len(prefix) :]


def _open_stem(root: Path, session: dict[str, Any], file_path: str) -> tuple[np.ndarray, int]:
    member = zip_member_of(session, file_path)
    if member is None:
        return read_mono(root / PurePosixPath(file_path), ANALYSIS_SR)
    archive_path = root / PurePosixPath(session["path"])
    label = f"{archive_path}{MEMBER_SEPARATOR}{member}"
    if zip_member_escapes(member):
        raise DrumgateError("zip member escapes the archive", path=label, hint="re-download it")
    try:
        with zipfile.ZipFile(archive_path) as archive:
            with open_zip_member(archive, archive.getinfo(member), label) as handle:
                return read_mono(handle, ANALYSIS_SR, name=label)
    except (zipfile.BadZipFile, KeyError, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
        raise DrumgateError(f"cannot read zip member ({exc})", path=label) from exc


def read_session_stems(
    config: DatasetConfig, row: dict[str, Any], params: dict[str, OnsetParams], problems: list[str]
) -> tuple[list[StemOnsets], list[StemOnsets]]:
    """The session's close-mic and sample stems, and its overhead and room stems, with their onsets."""
    root = config.root(row["tier"])
    stems: list[StemOnsets] = []
    ambient: list[StemOnsets] = []
    for entry in row["files"]:
        role, instrument = entry.get("role"), entry.get("instrument")
        if entry["status"] != "ok" or role not in ONSET_ROLES | AMBIENT_ROLES:
            continue
        try:
            signal, sr = _open_stem(root.path, row, entry["path"])
        except DrumgateError as err:
            problems.append(f"{err} (session {row['session_id']} skipped this stem)")
            continue
        label = instrument if role in ONSET_ROLES else "crash"
        onsets = detect_onsets(signal, sr, params.get(label, params["default"]))
        target = stems if role in ONSET_ROLES else ambient
        target.append(
            StemOnsets(
                entry["path"],
                entry.get("stem", entry["path"]),
                label or "percussion",
                role,
                signal,
                onsets.times_s,
                onsets.strengths,
            )
        )
    return stems, ambient


def onset_params_by_class(ws: Workspace, taxonomy: Taxonomy) -> dict[str, OnsetParams]:
    from drumgate.config import load_config_json

    path = ws.configs / "onsets.json"
    taxonomy.require_class_ids(load_config_json(ws, path.name, "onsets").get("per_class", {}), path, "per_class")
    return load_onset_blocks(ws, taxonomy.classes, ANALYSIS_SR)
