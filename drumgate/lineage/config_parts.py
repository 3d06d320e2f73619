"""The part of `configs/datasets.toml` an artifact group reads, fingerprinted apart from the rest.

Every group's artifacts list `configs/datasets.toml` as an input. Fingerprinted whole, a comment or
another dataset's gate made every group stale, and at corpus scale that is hours of `drumgate repro`
for a typo. So a lock records, beside the file's digest, which tables it covers (`input_parts`):

- a dataset group reads its own datasets' tables (`datasets.<ds>`, with their roots, options and
  gates) and the file's `version`;
- any other group (the combined manifest, which mixes and judges every dataset, and the docs) reads
  every table: ALL_TABLES.

The digest is the sha256 of those tables as parsed, in canonical JSON, so comments, blank lines,
key order and TOML spelling never count. A lock entry without `input_parts` (written before them)
keeps the whole file's sha256, and is judged by it.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

PARTED_INPUT = "configs/datasets.toml"
ALL_TABLES = "*"
UNNAMED = frozenset({ALL_TABLES, "version"})  # parts a staleness message does not name


def _tables(path: Path) -> dict[str, Any] | None:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None


def group_parts(path: Path, group: str) -> list[str]:
    """The tables of the datasets config at `path` that `group`'s artifacts read (sorted)."""
    document = _tables(path)
    datasets = document.get("datasets") if document else None
    if not isinstance(datasets, dict):
        return [ALL_TABLES]
    own = [f"datasets.{name}" for name, table in datasets.items()
           if isinstance(table, dict) and table.get("group", name) == group]
    return sorted([*own, "version"]) if own else [ALL_TABLES]


def named(source: str, parts: Sequence[str]) -> str:
    """`source` as a staleness message names it: with the dataset tables it was read by, if any."""
    tables = ", ".join(f"[{part}]" for part in parts if part not in UNNAMED)
    return f"{source} {tables}" if tables else source


def _part(document: dict[str, Any], part: str) -> Any:
    if part == ALL_TABLES:
        return document
    value: Any = document
    for key in part.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value


def parts_digest(path: Path, parts: Sequence[str]) -> str | None:
    """sha256 of the named tables of the TOML file at `path` as parsed, or None when it cannot be
    read or parsed (the caller falls back on the whole file's sha256, which then differs)."""
    document = _tables(path)
    if document is None:
        return None
    chosen = {part: _part(document, part) for part in parts}
    try:
        text = orjson.dumps(chosen, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # a TOML value JSON has no spelling for (never in a valid datasets config)
        return None
    return hashlib.sha256(text).hexdigest()
