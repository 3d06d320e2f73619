"""The part of an input an artifact group reads, fingerprinted apart from the rest: the tables of
`configs/datasets.toml`, the front matter of a licence note, the meaning of the technique taxonomy.

Every group's artifacts list `configs/datasets.toml` as an input. Fingerprinted whole, a comment or
another dataset's gate made every group stale, and at corpus scale that is hours of `drumgate repro`
for a typo. So a lock records, beside the file's digest, which tables it covers (`input_parts`):

- a dataset group reads its own datasets' tables (`datasets.<ds>`, with their roots, options and
  gates) and the file's `version`;
- any other group (the combined manifest, which mixes and judges every dataset, and the docs) reads
  every table: ALL_TABLES.

The digest is the sha256 of those tables as parsed, in canonical JSON, so comments, blank lines,
key order and TOML spelling never count.

A licence note (`data/licenses/*.md`) is read by ingest and combine for its front matter only (the
constraints provenance records): its digest is that of the parsed front matter (FRONT_MATTER), so a
prose edit in its body stales nothing. A note kept elsewhere (datasets.toml may name any file) is
fingerprinted whole.

The technique taxonomy (`configs/technique_taxonomy.json`) is read by every group, and was
fingerprinted whole: renaming a class's display `name` or rewording a vocabulary's `description`
made every group stale, hours of `drumgate repro` for a wording change. Its prose is read by no
artifact: `drumgate.taxonomy` loads it into `TaxonomyClass.name`, `Technique.name` and
`Vocabulary.description`, and nothing reads those (renderers, templates, docs, health pages, the PR
comment show ids, vocabulary labels and gate names; the docs do not read the taxonomy at all). So a
lock records it by its meaning (MEANING): the document as parsed without those three prose fields,
in canonical JSON. That keeps every id, parent, alias, `applies_to`, vocabulary rule (in order: the
first matching rule wins), `crash_family`, `version` and any key added later, so whatever can change
a label, a count or a weight still stales every group. Provenance's `config_hashes` records the
taxonomy by the same digest (`config_digest`): whole, a prose edit changed every provenance row at
the next ingest (which repro always runs), and so every report that reads provenance. An artifact
that comes to show the prose must record the file whole: `input_parts` would then have to tell it
from the others (a group's docs and combined manifest share one lock).

A lock entry without `input_parts` (written before them), or without a part for a given input
(the taxonomy, before 2026-12-04), keeps the whole file's sha256 there, and is judged by it.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from drumgate.errors import DrumgateError
from drumgate.io.jsonio import read_json
from drumgate.licences import read_licence_note

PARTED_INPUT = "configs/datasets.toml"
LICENCE_NOTES = "data/licenses/"
ALL_TABLES = "*"
FRONT_MATTER = "front matter"
TAXONOMY_INPUT = "configs/technique_taxonomy.json"
MEANING = "meaning"
# the taxonomy's prose, which no artifact shows: (list or table of entries, the field each entry words)
PROSE = (("classes", "name"), ("techniques", "name"), ("vocabularies", "description"))
UNNAMED = frozenset({ALL_TABLES, "version"})  # parts a staleness message does not name


def input_parts(relative: str, path: Path, group: str) -> list[str] | None:
    """The parts of the workspace input `relative` (at `path`) that `group` reads, or None for a file
    read whole."""
    if relative == PARTED_INPUT:
        return group_parts(path, group)
    if relative.startswith(LICENCE_NOTES) and relative.endswith(".md"):
        return [FRONT_MATTER]
    if relative == TAXONOMY_INPUT:
        return [MEANING]
    return None


def config_digest(relative: str, path: Path, group: str | None) -> str | None:
    """The digest provenance's `config_hashes` records for the workspace config `relative` (at `path`):
    of the tables `group` reads for the datasets config, of the meaning for the taxonomy; None for a
    file recorded whole (or one that does not parse: its whole sha256 then differs)."""
    if relative == PARTED_INPUT and group is not None:
        return parts_digest(path, group_parts(path, group))
    if relative == TAXONOMY_INPUT:
        return parts_digest(path, [MEANING])
    return None


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
    """`source` as a staleness message names it: with the dataset tables, the front matter or the
    meaning it was read by, if any."""
    if list(parts) == [FRONT_MATTER]:
        return f"{source} (its front matter)"
    if list(parts) == [MEANING]:
        return f"{source} (its meaning, not only its prose)"
    tables = ", ".join(f"[{part}]" for part in parts if part not in UNNAMED)
    return f"{source} {tables}" if tables else source


def _part(document: dict[str, Any], part: str) -> Any:
    if part == ALL_TABLES:
        return document
    value: Any = document
    for key in part.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _front_matter(path: Path) -> dict[str, Any] | None:
    try:
        return {FRONT_MATTER: read_licence_note(path).fields}
    except DrumgateError:
        return None


def _meaning(path: Path) -> dict[str, Any] | None:
    """The taxonomy document at `path` without its prose (PROSE), or None when it does not parse."""
    try:
        document = read_json(path)  # as `drumgate.taxonomy` reads it
    except DrumgateError:
        return None
    if not isinstance(document, dict):
        return None
    meaning = dict(document)
    for key, field in PROSE:
        entries = meaning.get(key)
        if isinstance(entries, list):
            meaning[key] = [_without(entry, field) for entry in entries]
        elif isinstance(entries, dict):
            meaning[key] = {name: _without(entry, field) for name, entry in entries.items()}
    return {MEANING: meaning}


def _without(entry: Any, field: str) -> Any:
    return {k: v for k, v in entry.items() if k != field} if isinstance(entry, dict) else entry


def parts_digest(path: Path, parts: Sequence[str]) -> str | None:
    """sha256 of the named parts of the file at `path` as parsed (tables of a TOML file, a licence
    note's front matter, the taxonomy's meaning), or None when it cannot be read or parsed (the
    caller falls back on the whole file's sha256, which then differs)."""
    if list(parts) == [FRONT_MATTER]:
        chosen = _front_matter(path)
    elif list(parts) == [MEANING]:
        chosen = _meaning(path)
    else:
        document = _tables(path)
        chosen = None if document is None else {part: _part(document, part) for part in parts}
    if chosen is None:
        return None
    try:
        text = orjson.dumps(chosen, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # a TOML value JSON has no spelling for (never in a valid datasets config)
        return None
    return hashlib.sha256(text).hexdigest()
