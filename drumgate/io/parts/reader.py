"""Reading and verifying a partitioned folder: the index (and its pages) checked against its schema,
every part against the index's sha256, rows through the one line reader (drumgate.io.lines).

A folder that disagrees with its index (a part missing, unlisted, edited, over the size limit, a
key claimed twice, an old single file beside it) is refused before a row is read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson

from drumgate.errors import EXIT_FINDINGS, EXIT_USAGE, DrumgateError
from drumgate.io.hashing import sha256_file
from drumgate.io.jsonio import check_schema, read_json
from drumgate.io.lines import (
    LFS_POINTER_PREFIX,
    MAX_INFLATED_BYTES,
    inflate_capped,
    lfs_pointer_error,
    numbered_lines_of,
    rows_of_lines,
)
from drumgate.io.parts.layout import (
    INDEX_NAME,
    MAX_PART_BYTES,
    MIGRATE_FIX,
    ErrorSink,
    Row,
    fix_for,
    listed_files,
    named_as_manifest,
    owning_folder,
    part_files,
    single_files_of,
)


def read_index(folder: Path) -> dict[str, Any]:
    """The folder's index, checked against its schema; a folder without one is refused."""
    path = folder / INDEX_NAME
    if not path.is_file():
        named = named_as_manifest(folder)
        what = "partitioned manifest folder has no index.json" if named else "a folder, not a manifest"
        raise DrumgateError(what, path=folder, hint=fix_for(folder))
    return assemble_index(read_json(path), folder, lambda page: _read_listed(
        folder / page, "index page listed in index.json but missing", folder))


def assemble_index(document: Any, folder: Path, read_page: Callable[[str], bytes]) -> dict[str, Any]:
    """An index document checked, its pages (when paged) read through `read_page(name)`, checked
    against the sha256 the root pins and merged into one `parts` list in key order. `folder` names
    the files in errors (a path, or `rev:path` for a folder read from git)."""
    path = folder / INDEX_NAME
    index = check_schema(document, "parts_index", path, hint=fix_for(folder))
    if "pages" not in index:
        return index
    entries: list[dict[str, Any]] = []
    for page in index.pop("pages"):
        page_path = folder / page["file"]
        data = read_page(page["file"])
        if hashlib.sha256(data).hexdigest() != page["sha256"]:
            raise DrumgateError("index page sha256 differs from index.json (edited or replaced?)", path=page_path,
                                hint=fix_for(folder))
        try:
            listed = orjson.loads(data)["parts"]
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            raise DrumgateError("index page is not an object with a parts list", path=page_path,
                                hint=fix_for(folder)) from exc
        entries.extend(listed if isinstance(listed, list) else [listed])
    index["parts"] = sorted(entries, key=lambda entry: str(entry.get("key")) if isinstance(entry, dict) else "")
    return check_schema(index, "parts_index", path, hint=fix_for(folder))


def problems(folder: Path, index: Mapping[str, Any] | None = None, hash_parts: bool = True) -> list[DrumgateError]:
    """Every way the folder disagrees with its index, one error per file (nothing raised)."""
    found: list[DrumgateError] = []
    index = index if index is not None else read_index(folder)
    hint = fix_for(folder)
    for single in single_files_of(folder):
        if single.exists():
            found.append(DrumgateError("single-file manifest beside its partitioned folder (from before parts)",
                                       path=single, hint=MIGRATE_FIX.format(path=single), exit_code=EXIT_USAGE))
    keys: dict[str, str] = {}
    for entry in index["parts"]:
        if entry["key"] in keys:
            found.append(DrumgateError(f"two parts claim the key {entry['key']!r} ({keys[entry['key']]})",
                                       path=folder / entry["file"], hint=hint, exit_code=EXIT_FINDINGS))
        keys.setdefault(entry["key"], entry["file"])
    listed = listed_files(index)
    for name, (digest, size) in listed.items():
        path = folder / name
        if not path.is_file():
            found.append(DrumgateError("listed in index.json but missing", path=path, hint=hint,
                                       exit_code=EXIT_FINDINGS))
            continue
        actual_size = path.stat().st_size
        if actual_size > MAX_PART_BYTES:
            found.append(DrumgateError(f"part is {actual_size >> 20} MiB, over the {MAX_PART_BYTES >> 20} MiB limit",
                                       path=path, hint=hint, exit_code=EXIT_FINDINGS))
        elif hash_parts and (actual_size != size or sha256_file(path) != digest):
            found.append(DrumgateError("sha256 differs from index.json (edited or replaced?)", path=path, hint=hint,
                                       exit_code=EXIT_FINDINGS))
    for name in sorted(part_files(folder)):
        if name not in listed:
            found.append(DrumgateError("part not listed in index.json", path=folder / name, hint=hint,
                                       exit_code=EXIT_FINDINGS))
    return found


def part_problem(folder: Path, name: str, digest: str, listed: Mapping[str, tuple[str, int]]) -> str | None:
    """What is wrong between one part (`name` inside `folder`, its bytes' sha256) and its index."""
    if name not in listed:
        return "part not listed in index.json"
    if listed[name][0] != digest:
        return "sha256 differs from index.json (edited or replaced?)"
    return None


def verify(folder: Path, hash_parts: bool = True) -> dict[str, Any]:
    """The index when the folder matches it; else the first problem raised as a one-line error."""
    index = read_index(folder)
    found = problems(folder, index, hash_parts)
    if found:
        raise found[0]
    return index


def _read_listed(path: Path, missing: str, folder: Path) -> bytes:
    """The bytes of a file the index lists; a missing one is worded as such, with the folder's fix."""
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise DrumgateError(missing, path=path, hint=fix_for(folder)) from exc
    except OSError as exc:
        raise DrumgateError(f"cannot read: {exc.strerror or exc}", path=path) from exc


def part_rows(path: Path, stored: bytes, on_error: ErrorSink | None = None) -> Iterator[tuple[int, Row]]:
    """(line, row) of a part's stored bytes: inflated whole (parts are small; a stream inflating past
    MAX_INFLATED_BYTES is refused), then read by the one line reader."""
    if stored.startswith(LFS_POINTER_PREFIX):
        raise lfs_pointer_error(path)
    inflated = inflate_capped(stored, MAX_INFLATED_BYTES)
    if inflated is None:
        raise DrumgateError(f"damaged gzip stream, or one inflating past {MAX_INFLATED_BYTES >> 20} MiB", path=path,
                            hint=fix_for(owning_folder(path)))
    yield from rows_of_lines(numbered_lines_of(inflated), path, on_error)


def read_part(folder: Path, name: str, digest: str, on_error: ErrorSink | None = None) -> Iterator[tuple[int, Row]]:
    """(line, row) of one part after checking its bytes against the index's sha256 (one read)."""
    path = folder / name
    data = _read_listed(path, "listed in index.json but missing", folder)
    if hashlib.sha256(data).hexdigest() != digest:
        raise DrumgateError("sha256 differs from index.json (edited or replaced?)", path=path, hint=fix_for(folder))
    yield from part_rows(path, data, on_error)


def expand_render(row: Row, render: Mapping[str, Any]) -> Row:
    """A stored row as the render `render` plays it: its item, event id, MIDI file and split."""
    stored_item = str(row["item_id"])
    item = render["item_id"]
    if item == stored_item and render["split"] == row.get("split"):
        return row
    out = dict(row)
    out["item_id"] = item
    prefix = f"{row.get('dataset')}:{stored_item}:"
    event_id = str(row.get("event_id", ""))
    if event_id.startswith(prefix):
        out["event_id"] = f"{row.get('dataset')}:{item}:{event_id[len(prefix):]}"
    source = row.get("source")
    if isinstance(source, dict):
        out["source"] = {**source, "file": render["midi"]}
    out["split"] = render["split"]
    return out


def rendered(rows: Iterable[Row], renders: Iterable[Row]) -> Iterator[Row]:
    """A part's stored rows once per render that plays them (`events_item`), in render order."""
    stored: dict[str, list[Row]] = {}
    for row in rows:
        stored.setdefault(str(row.get("item_id")), []).append(row)
    for render in renders:
        for row in stored.get(render.get("events_item", ""), ()):
            yield expand_render(row, render)


StoredPart = tuple[dict[str, Any], list[Row], "list[Row] | None"]


def plays_of(renders: Iterable[Row] | None) -> dict[str, int] | None:
    """How many renders play each stored item (`events_item`); None for a part without renders."""
    if renders is None:
        return None
    plays: dict[str, int] = {}
    for render in renders:
        item = str(render.get("events_item"))
        plays[item] = plays.get(item, 0) + 1
    return plays


def weighted_rows(rows: Iterable[Row], renders: Iterable[Row] | None) -> Iterator[tuple[Row, int]]:
    """Each stored row of a part with how many renders play it: 1 for a part without renders, 0 for
    a row no render plays (the rows a single file would hold, counted without repeating them)."""
    plays = plays_of(renders)
    for row in rows:
        yield row, 1 if plays is None else plays.get(str(row.get("item_id")), 0)


def stored_parts(folder: Path, on_error: ErrorSink | None = None) -> Iterator[StoredPart]:
    """(index entry, stored rows, renders or None) of every part in key order, each part checked
    against its sha256 as it is read (the rows as stored: one per hit, not per render-hit)."""
    index = verify(folder, hash_parts=False)
    for entry in index["parts"]:
        rows = [row for _, row in read_part(folder, entry["file"], entry["sha256"], on_error)]
        renders_entry = entry.get("renders")
        renders = None if renders_entry is None else [
            row for _, row in read_part(folder, renders_entry["file"], renders_entry["sha256"], on_error)]
        yield entry, rows, renders


def iter_folder(folder: Path, on_error: ErrorSink | None = None, per_render: bool = True
                ) -> Iterator[tuple[int, Row]]:
    """(row number, row) over every part in index order; E-GMD rows once per render unless told not to.

    Row numbers count rows across the folder; a bad line is reported with its part's path and line.
    """
    index = read_index(folder)
    for single in single_files_of(folder):
        if single.exists():
            raise DrumgateError("single-file manifest beside its partitioned folder (from before parts)",
                                path=single, hint=MIGRATE_FIX.format(path=single), exit_code=EXIT_USAGE)
    number = 0
    for entry in index["parts"]:
        rows = read_part(folder, entry["file"], entry["sha256"], on_error)
        renders_entry = entry.get("renders")
        if renders_entry is None or not per_render:
            for _, row in rows:
                number += 1
                yield number, row
            continue
        renders = read_part(folder, renders_entry["file"], renders_entry["sha256"], on_error)
        for row in rendered((row for _, row in rows), (render for _, render in renders)):
            number += 1
            yield number, row
