"""Writing a partitioned folder: deterministic gzip parts, index (or index pages) last, strays removed.

A re-ingest encodes every part's lines in memory and compresses and renames only those whose lines
differ (an unchanged part also keeps its index aggregates); a `--shard`
run leaves its parts and index entries for `drumgate merge` to join.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drumgate.errors import DrumgateError
from drumgate.io.fsutil import atomic_writer, read_bytes
from drumgate.io.jsonio import dumps_row, read_jsonl
from drumgate.io.lines import inflate_capped
from drumgate.io.parts.aggregates import aggregate, merged_aggregates
from drumgate.io.parts.layout import (
    INDEX_NAME,
    INDEX_SCHEMA_VERSION,
    MAX_PART_BYTES,
    PAGE_DIR,
    PAGED_ABOVE,
    PART_SUFFIX,
    RENDERS_DIR,
    SHARD_KIND,
    Row,
    listed_files,
    page_of,
    part_files,
    part_stem,
    single_files_of,
)
from drumgate.io.parts.reader import read_index

GZIP_LEVEL = 6


def gzip_lines(lines: bytes) -> bytes:
    """A part's lines as deterministic gzip bytes: mtime 0, no file name."""
    return gzip.compress(lines, compresslevel=GZIP_LEVEL, mtime=0)


def gzip_rows(rows: Iterable[Row]) -> bytes:
    """Rows as deterministic gzip bytes: sorted keys, LF, mtime 0, no file name."""
    return gzip_lines(encode_rows(rows))


def encode_rows(rows: Iterable[Row]) -> bytes:
    """A part's lines before compression: each row's canonical JSON and LF."""
    return b"".join(dumps_row(row) + b"\n" for row in rows)


# What gzip_rows' first ten bytes always are (magic, deflate, no flags, mtime 0, XFL, OS).
CANONICAL_HEADER = gzip_lines(b"")[:10]


@dataclass(frozen=True)


class PartInput:
    key: str
    rows: list[Row]
    renders: list[Row] | None = None


@dataclass


class WriteResult:
    written: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    bytes_written: int = 0
    rows: int = 0


def _write_if_changed(path: Path, data: bytes, result: WriteResult, name: str, existing: bytes | None = None) -> str:
    """`data` renamed in unless the file already holds it (`existing`: its bytes, when already read)."""
    digest = hashlib.sha256(data).hexdigest()
    if existing is not None:
        unchanged = existing == data
    else:
        unchanged = path.is_file() and path.stat().st_size == len(data) and read_bytes(path) == data
    if unchanged:
        result.kept.append(name)
        return digest
    if len(data) > MAX_PART_BYTES:
        raise DrumgateError(f"part would be {len(data) >> 20} MiB, over the {MAX_PART_BYTES >> 20} MiB limit",
                            path=path, hint="cut the manifest along a finer key")
    with atomic_writer(path) as handle:
        handle.write(data)
    result.written.append(name)
    result.bytes_written += len(data)
    return digest


def _write_part(path: Path, lines: bytes, result: WriteResult, name: str) -> tuple[str, int]:
    """(sha256, bytes) of the part holding `lines`: the file already there when it holds exactly those
    lines in a canonical gzip stream (inflating is about five times cheaper than deflating, and a part
    a different zlib build compressed is not rewritten for that), else the lines compressed and
    renamed in."""
    try:
        existing = read_bytes(path) if path.is_file() else None
    except OSError:
        existing = None
    if existing is not None and existing[:10] == CANONICAL_HEADER and inflate_capped(existing, len(lines)) == lines:
        result.kept.append(name)
        return hashlib.sha256(existing).hexdigest(), len(existing)
    data = gzip_lines(lines)
    return _write_if_changed(path, data, result, name, existing), len(data)


def _previous_entries(folder: Path) -> dict[str, Mapping[str, Any]]:
    """The entries of the folder's current index by key ({} when there is none or it cannot be read):
    a part whose bytes (and renders) are unchanged keeps its aggregates. The index is pinned by the
    group's lock, so the freshness hook refuses a hand-edited one before its numbers could travel."""
    if not (folder / INDEX_NAME).is_file():
        return {}
    try:
        index = read_index(folder)
    except DrumgateError:
        return {}
    if index.get("schema_version") != INDEX_SCHEMA_VERSION:
        return {}
    return {str(entry["key"]): entry for entry in index["parts"]}


def encode_index(index: Mapping[str, Any], listed: str = "parts") -> bytes:
    """The index (or a page) as JSON with one entry per line, so a changed part is a one-line diff."""
    head = {key: value for key, value in index.items() if key != listed}
    body = b",\n".join(dumps_row(entry) for entry in index[listed])
    opening = dumps_row(head)[:-1]
    separator = b"," if head else b""
    return opening + separator + f'"{listed}":[\n'.encode() + body + b"\n]}\n"


class PartsWriter:
    """Write a folder part by part, in ascending key order (so rows stream and nothing is sorted in
    memory): parts whose bytes changed are renamed in, the index comes last, unlisted parts go.

    A killed run leaves the previous index; the parts it lists are unchanged or rewritten with the
    same bytes the new index would list, so a reader either sees the old index's sha256 mismatch
    (refused, fix: repro) or the complete new folder."""

    def __init__(self, folder: Path, manifest: str, dataset: str, key_field: str) -> None:
        self.folder, self.manifest, self.dataset, self.key_field = folder, manifest, dataset, key_field
        self.result = WriteResult()
        self.entries: list[dict[str, Any]] = []
        self._last: str | None = None
        self._previous = _previous_entries(folder)

    def add(self, part: PartInput) -> None:
        if self._last is not None and part.key <= self._last:
            problem = "two parts claim" if part.key == self._last else "parts out of key order at"
            raise DrumgateError(f"{problem} the key {part.key!r}", path=self.folder)
        self._last = part.key
        name = part_stem(part.key) + PART_SUFFIX
        digest, size = _write_part(self.folder / name, encode_rows(part.rows), self.result, name)
        entry: dict[str, Any] = {"key": part.key, "file": name, "rows": len(part.rows), "bytes": size,
                                 "sha256": digest}
        if part.renders is not None:
            renders_name = f"{RENDERS_DIR}/{name}"
            renders_digest, renders_size = _write_part(self.folder / renders_name, encode_rows(part.renders),
                                                       self.result, renders_name)
            entry["renders"] = {"file": renders_name, "rows": len(part.renders), "bytes": renders_size,
                                "sha256": renders_digest}
        previous = self._previous.get(part.key)
        same = previous is not None and all(previous.get(field_name) == entry.get(field_name)
                                            for field_name in ("file", "rows", "bytes", "sha256", "renders"))
        if same and previous is not None and "aggregates" in previous:
            entry["aggregates"] = previous["aggregates"]
        else:
            # sessions and provenance rows are not events: none is judged as one (their index counts rows)
            refused = None if self.manifest == "events" else ()
            entry["aggregates"] = aggregate(part.rows, part.renders, refused).as_json()
        self.result.rows += entry["aggregates"]["events"]
        self.entries.append(entry)

    def close(self) -> WriteResult:
        finish_folder(self.folder, self.manifest, self.dataset, self.key_field, self.entries, self.result)
        return self.result

    def close_shard(self, shard_file: Path) -> WriteResult:
        """End a `--shard I/N` run: the parts stay in this (shard) folder and their index entries go to
        `shard_file` as JSON lines, a header first; `drumgate merge` joins the shards' entries."""
        header = {"kind": SHARD_KIND, "manifest": self.manifest, "dataset": self.dataset, "key": self.key_field}
        with atomic_writer(shard_file) as handle:
            handle.write(b"".join(dumps_row(row) + b"\n" for row in [header, *self.entries]))
        return self.result


def _totals(entries: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    total = merged_aggregates(entries)
    return {"parts": len(entries), "rows": sum(e["rows"] for e in entries), "events": total.events,
            "renders": total.renders,
            "bytes": sum(e["bytes"] + e.get("renders", {}).get("bytes", 0) for e in entries)}


def finish_folder(folder: Path, manifest: str, dataset: str, key_field: str, entries: Sequence[Mapping[str, Any]],
                  result: WriteResult) -> None:
    """Write the index of `entries` (parts already in place), then remove unlisted parts and the old
    single file: the last step of a run, and all of a merge."""
    index = {
        "schema_version": INDEX_SCHEMA_VERSION,
        "kind": "drumgate-parts",
        "manifest": manifest,
        "dataset": dataset,
        "key": key_field,
        "totals": _totals(entries),
        "parts": list(entries),
    }
    listed = listed_files(index)
    folder.mkdir(parents=True, exist_ok=True)
    pages = _write_pages(folder, entries, result) if len(entries) > PAGED_ABOVE else None
    if pages is not None:
        del index["parts"]
        index["pages"] = pages
    _write_if_changed(folder / INDEX_NAME, encode_index(index, "parts" if pages is None else "pages"), result,
                      INDEX_NAME)
    for stray in sorted((folder / PAGE_DIR).glob("*.json")):
        if pages is None or f"{PAGE_DIR}/{stray.name}" not in {page["file"] for page in pages}:
            stray.unlink()
            result.removed.append(f"{PAGE_DIR}/{stray.name}")
    if pages is None and (folder / PAGE_DIR).is_dir() and not any((folder / PAGE_DIR).iterdir()):
        (folder / PAGE_DIR).rmdir()
    for stray in sorted(part_files(folder)):
        if stray not in listed:
            (folder / stray).unlink()
            result.removed.append(stray)
    for single in single_files_of(folder):  # the folder replaces an older single-file manifest
        if single.exists():
            single.unlink()
            result.removed.append(single.name)


def _write_pages(folder: Path, entries: Sequence[Mapping[str, Any]], result: WriteResult) -> list[dict[str, Any]]:
    """Entries into their pages (key order inside each); the pages' list for index.json."""
    by_page: dict[str, list[Mapping[str, Any]]] = {}
    for entry in entries:
        by_page.setdefault(page_of(entry["key"]), []).append(entry)
    pages = []
    for name in sorted(by_page):
        digest = _write_if_changed(folder / name, encode_index({"parts": by_page[name]}), result, name)
        pages.append({"file": name, "parts": len(by_page[name]), "sha256": digest})
    return pages


def read_shard_entries(shard_file: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(header, index entries) of a shard's entries file written by `close_shard`."""
    rows = read_jsonl(shard_file)
    if not rows or rows[0].get("kind") != SHARD_KIND:
        raise DrumgateError("not a partitioned shard's index entries", path=shard_file,
                            hint="re-run the shard's ingest to rewrite it")
    return rows[0], rows[1:]


def adopt_part(source: Path, target: Path, result: WriteResult, name: str) -> None:
    """Move a shard's part into the folder, keeping the folder's file when its bytes are the same."""
    data = read_bytes(source)
    _write_if_changed(target, data, result, name)
    source.unlink()


def write_parts(
    folder: Path, manifest: str, dataset: str, key_field: str, parts: Iterable[PartInput]
) -> WriteResult:
    """Write a whole folder from parts given in any order (sorted here by key)."""
    writer = PartsWriter(folder, manifest, dataset, key_field)
    for part in sorted(parts, key=lambda p: p.key):
        writer.add(part)
    return writer.close()
