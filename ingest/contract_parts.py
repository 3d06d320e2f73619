"""The partitioned layout of the contract's ingestors (issue 15): `--layout auto|file|parts`.

With `parts` (or `auto` above the dataset's `partition_sessions`, or when the folder form is
already there) each manifest is written as its folder of per-session parts keyed by `session_id`
(`drumgate.io.parts`: deterministic `*.jsonl.gz`, index.json with per-part sha256, rows, bytes and
aggregates). Only parts whose bytes change are rewritten, the old single file goes, and the lock
records each folder's index.json in place of the file; a `file` run removes the folders and the
lock forgets their indexes. E-GMD's driver shares these helpers for its own parts.

Items need not come in key order (MUSDB lists train/ before test/), so the rows are held until every
item is in and then written in key order: at MUSDB's full size a few hundred thousand rows.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from drumgate import lineage
from drumgate.io import parts
from drumgate.io.parts.layout import wants_parts
from drumgate.workspace import Workspace

PARTITION_SESSIONS = 500  # configs/datasets.toml `partition_sessions` when a dataset does not set it
KEY_FIELD = "session_id"
Row = dict[str, Any]


def partitioned(layout: str, dataset_options: Mapping[str, Any], sessions: int, targets: Iterable[Path]) -> bool:
    """Whether this run writes folders: `--layout` as told, or `auto` (a committed folder, or more
    sessions than the dataset's `partition_sessions`)."""
    committed = any(has_folder(path) for path in targets)
    threshold = dataset_options.get("partition_sessions", PARTITION_SESSIONS)
    return wants_parts(layout, sessions, threshold, committed)


def index_of(path: Path) -> Path:
    """The file the lock records for a manifest written as a folder."""
    return parts.folder_of(path) / parts.INDEX_NAME


def has_folder(path: Path) -> bool:
    """Whether the manifest `path` names is (also) there as a partitioned folder with its index."""
    return index_of(path).is_file()


def drop_folders(paths: Iterable[Path]) -> None:
    """A single-file run replaces a partitioned folder of the same manifest (readers refuse both side by side)."""
    for path in paths:
        if has_folder(path):
            shutil.rmtree(parts.folder_of(path))


def forget_other_form(ws: Workspace, group: str, files: Iterable[Path], written_parts: bool) -> None:
    """The lock keeps only the form just written: the folders' indexes replace the single files, and back."""
    names = list(files)
    lineage.forget(ws, group, names if written_parts else [index_of(path) for path in names])


class SessionParts:
    """Every kind's rows grouped by session, each session's rows in the order they arrived; written
    as one part per session once all items are in (items need not come in key order)."""

    def __init__(self, kinds: Iterable[str]) -> None:
        self.rows: dict[str, dict[str, list[Row]]] = {kind: {} for kind in kinds}

    def add(self, kind: str, rows: Iterable[Row]) -> None:
        grouped = self.rows[kind]
        for row in rows:
            grouped.setdefault(str(row.get(KEY_FIELD, "")), []).append(row)

    def write(self, targets: Mapping[str, Path], dataset: str) -> dict[str, Path]:
        """Each target's folder (changed parts, then the index); kind -> the index.json the lock records."""
        for kind, path in targets.items():
            inputs = [parts.PartInput(key, rows) for key, rows in self.rows[kind].items()]
            parts.write_parts(parts.folder_of(path), kind, dataset, KEY_FIELD, inputs)
        return {kind: index_of(path) for kind, path in targets.items()}
