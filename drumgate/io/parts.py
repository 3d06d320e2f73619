"""Partitioned manifests (DESIGN §3, "At corpus scale"): a folder of deterministic `*.jsonl.gz` parts.

A large manifest `data/manifests/<ds>_events.jsonl` may instead be the folder
`data/manifests/<ds>_events/`, holding one gzip part per value of a stable key (E-GMD: the
performance; Cambridge and MUSDB: the session), each written with gzip mtime 0 and in a stable row
order, and `index.json` (schema `parts_index`) listing every part's file, key, sha256, rows, bytes
and health aggregates. The index pins the parts: the lock records the index, so one sha256 pins
the whole folder.

E-GMD stores a performance's events once: the part holds the rows of one render per distinct MIDI
(the representative, named by `item_id`), and `renders/<part>.jsonl.gz` lists every render (kit,
audio file, duration, split, and `events_item`, the representative whose rows it plays). Readers
that want one row per render-hit get them expanded (`drumgate.events.read`).

A re-ingest encodes every part in memory and renames only those whose bytes differ, so a change to
1% of the performances rewrites about 1% of the folder plus its index.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from drumgate.errors import EXIT_FINDINGS, EXIT_USAGE, DrumgateError
from drumgate.io.fsutil import atomic_writer, read_bytes
from drumgate.io.jsonio import (
    LFS_POINTER_PREFIX,
    MAX_LINE_BYTES,
    check_schema,
    dumps_row,
    iter_capped_lines,
    long_line_error,
    parse_line,
    rows_of_lines,
)

INDEX_NAME = "index.json"
RENDERS_DIR = "renders"
PART_SUFFIX = ".jsonl.gz"
INDEX_SCHEMA_VERSION = 1
PAGE_DIR = "index"
# Above this many parts the entries go to pages (`index/<bucket>.json`, 256 buckets) that index.json
# pins by sha256: a 1% change then rewrites a few small pages, not an index of every part. Below it
# one index.json is the smaller diff and the simpler file to read.
PAGED_ABOVE = 64
# GitHub warns at 50 MB and refuses 100 MB; a part stays far below so a key can grow without a re-cut.
MAX_PART_BYTES = 25 << 20
GZIP_LEVEL = 6
VELOCITY_BIN_WIDTH = 16
VELOCITY_BINS = 8
_SLUG = re.compile(r"[^A-Za-z0-9._-]+")
REPRO_FIX = "fix: drumgate repro {group}"
MIGRATE_FIX = "fix: drumgate migrate {path}"

ErrorSink = Callable[[DrumgateError], None]
Row = dict[str, Any]


def part_stem(key: str) -> str:
    """A file name for a key: readable, and unique because it ends in the key's own digest."""
    slug = _SLUG.sub("_", key).strip("_.")[:48] or "part"
    return f"{slug}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


def gzip_rows(rows: Iterable[Row]) -> bytes:
    """Rows as deterministic gzip bytes: sorted keys, LF, mtime 0, no file name."""
    return gzip.compress(b"".join(dumps_row(row) + b"\n" for row in rows), compresslevel=GZIP_LEVEL, mtime=0)


def folder_of(path: str | Path) -> Path:
    """`x/egmd_events.jsonl[.gz]` -> `x/egmd_events`: the folder form of a single-file manifest."""
    source = Path(path)
    name = source.name
    for suffix in (".jsonl.gz", ".jsonl"):
        if name.endswith(suffix):
            return source.with_name(name[: -len(suffix)])
    return source


def single_files_of(folder: Path) -> list[Path]:
    return [folder.with_name(folder.name + suffix) for suffix in (".jsonl", ".jsonl.gz")]


def is_partitioned(path: str | Path) -> bool:
    source = Path(path)
    return source.is_dir() or (not source.exists() and (folder_of(source) / INDEX_NAME).is_file())


def resolve(path: str | Path) -> Path:
    """The manifest a path names: the file itself, or its partitioned folder when only that exists."""
    source = Path(path)
    if source.exists():
        return source
    folder = folder_of(source)
    return folder if (folder / INDEX_NAME).is_file() else source


# ---------------------------------------------------------------- aggregates


def _velocity_bin(velocity: Any) -> int:
    if type(velocity) is not int:
        return VELOCITY_BINS  # the last slot counts missing velocities
    return min(max(velocity, 0) // VELOCITY_BIN_WIDTH, VELOCITY_BINS - 1)


def pair_key(label: Any, techniques: Any) -> str:
    names = techniques if isinstance(techniques, list) else []
    return f"{label}|{','.join(str(name) for name in names)}"


PlaceKey = tuple[str, str, Any]  # session, split, performance (health's place key without the item)


@dataclass
class Aggregates:
    """What health needs from a part, counted once per stored row and weighted by its renders."""

    events: int = 0
    stored_events: int = 0
    renders: int = 0
    pairs: Counter[str] = field(default_factory=Counter)
    label_sources: Counter[str] = field(default_factory=Counter)
    velocity_bins: list[int] = field(default_factory=lambda: [0] * (VELOCITY_BINS + 1))
    place_events: Counter[PlaceKey] = field(default_factory=Counter)
    place_items: Counter[PlaceKey] = field(default_factory=Counter)

    def as_json(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "stored_events": self.stored_events,
            "renders": self.renders,
            "pairs": dict(sorted(self.pairs.items())),
            "label_sources": dict(sorted(self.label_sources.items())),
            "velocity_bins": self.velocity_bins,
            "places": [[*key, n, self.place_items[key]] for key, n in sorted(self.place_events.items(), key=repr)],
        }

    def add(self, other: Aggregates) -> None:
        self.events += other.events
        self.stored_events += other.stored_events
        self.renders += other.renders
        self.pairs.update(other.pairs)
        self.label_sources.update(other.label_sources)
        self.velocity_bins = [a + b for a, b in zip(self.velocity_bins, other.velocity_bins, strict=True)]
        self.place_events.update(other.place_events)
        self.place_items.update(other.place_items)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Aggregates:
        agg = cls(data["events"], data["stored_events"], data["renders"], Counter(data["pairs"]),
                  Counter(data["label_sources"]), list(data["velocity_bins"]))
        for session, split, performance, events, items in data["places"]:
            agg.place_events[(session, split, performance)] += events
            agg.place_items[(session, split, performance)] += items
        return agg


def _performance(row: Mapping[str, Any]) -> Any:
    attributes = row.get("attributes")
    return attributes.get("performance") if isinstance(attributes, dict) else None


def aggregate(rows: Sequence[Row], renders: Sequence[Row] | None) -> Aggregates:
    """Per-part health aggregates: every count is of rendered rows (what a single file would hold)."""
    plays: dict[str, list[tuple[str, str]]] | None = None
    if renders is not None:
        plays = {}
        for render in renders:
            plays.setdefault(render["events_item"], []).append((render["item_id"], render["split"]))
    agg = Aggregates(stored_events=len(rows), renders=len(renders or ()))
    per_item: Counter[tuple[str, str, str, Any]] = Counter()
    for row in rows:
        item = str(row.get("item_id"))
        n = len(plays.get(item, ())) if plays is not None else 1
        agg.events += n
        agg.pairs[pair_key(row.get("label"), row.get("techniques"))] += n
        agg.label_sources[str(row.get("label_source"))] += n
        agg.velocity_bins[_velocity_bin(row.get("velocity"))] += n
        per_item[(item, str(row.get("session_id")), str(row.get("split")), _performance(row))] += 1
    items: dict[PlaceKey, set[str]] = {}
    for (item, session, split, performance), count in per_item.items():
        playing = plays.get(item, ()) if plays is not None else ((item, split),)
        for render_item, render_split in playing:
            key = (session, render_split, performance)
            agg.place_events[key] += count
            items.setdefault(key, set()).add(render_item)
    for key, members in items.items():
        agg.place_items[key] = len(members)
    return agg


# ---------------------------------------------------------------- writing


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


def _write_if_changed(path: Path, data: bytes, result: WriteResult, name: str) -> str:
    digest = hashlib.sha256(data).hexdigest()
    if path.is_file() and path.stat().st_size == len(data) and read_bytes(path) == data:
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


def encode_index(index: Mapping[str, Any], listed: str = "parts") -> bytes:
    """The index (or a page) as JSON with one entry per line, so a changed part is a one-line diff."""
    head = {key: value for key, value in index.items() if key != listed}
    body = b",\n".join(dumps_row(entry) for entry in index[listed])
    opening = dumps_row(head)[:-1]
    separator = b"," if head else b""
    return opening + separator + f'"{listed}":[\n'.encode() + body + b"\n]}\n"


def page_of(key: str) -> str:
    """The page a key's entry lives in: a stable bucket, so adding a part never moves the others."""
    return f"{PAGE_DIR}/{hashlib.sha256(key.encode()).hexdigest()[:2]}.json"


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

    def add(self, part: PartInput) -> None:
        if self._last is not None and part.key <= self._last:
            problem = "two parts claim" if part.key == self._last else "parts out of key order at"
            raise DrumgateError(f"{problem} the key {part.key!r}", path=self.folder)
        self._last = part.key
        name = part_stem(part.key) + PART_SUFFIX
        data = gzip_rows(part.rows)
        entry: dict[str, Any] = {"key": part.key, "file": name, "rows": len(part.rows), "bytes": len(data),
                                 "sha256": _write_if_changed(self.folder / name, data, self.result, name)}
        if part.renders is not None:
            renders_name = f"{RENDERS_DIR}/{name}"
            renders_data = gzip_rows(part.renders)
            entry["renders"] = {
                "file": renders_name, "rows": len(part.renders), "bytes": len(renders_data),
                "sha256": _write_if_changed(self.folder / renders_name, renders_data, self.result, renders_name),
            }
        agg = aggregate(part.rows, part.renders)
        entry["aggregates"] = agg.as_json()
        self.result.rows += agg.events
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


SHARD_KIND = "drumgate-parts-shard"


def _totals(entries: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    total = Aggregates()
    for entry in entries:
        total.add(Aggregates.from_json(entry["aggregates"]))
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
    for stray in sorted(_part_files(folder)):
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
    from drumgate.io.jsonio import read_jsonl

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


def _part_files(folder: Path) -> list[str]:
    found = [p.name for p in folder.glob(f"*{PART_SUFFIX}")]
    found += [f"{RENDERS_DIR}/{p.name}" for p in (folder / RENDERS_DIR).glob(f"*{PART_SUFFIX}")]
    return found


# ---------------------------------------------------------------- reading and verifying


def _group(folder: Path) -> str:
    name = folder.name
    for suffix in ("_events", "_sessions", "_provenance"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def fix_for(folder: Path) -> str:
    return REPRO_FIX.format(group=_group(folder))


def read_index(folder: Path) -> dict[str, Any]:
    """The folder's index, checked against its schema; a folder without one is refused."""
    from drumgate.io.jsonio import read_json

    path = folder / INDEX_NAME
    if not path.is_file():
        raise DrumgateError("partitioned manifest folder has no index.json", path=folder, hint=fix_for(folder))
    index = check_schema(read_json(path), "parts_index", path, hint=fix_for(folder))
    if "pages" not in index:
        return index
    entries: list[dict[str, Any]] = []
    for page in index.pop("pages"):
        page_path = folder / page["file"]
        try:
            data = read_bytes(page_path)
        except FileNotFoundError as exc:
            raise DrumgateError("index page listed in index.json but missing", path=page_path,
                                hint=fix_for(folder)) from exc
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
        elif hash_parts and (actual_size != size or hashlib.sha256(read_bytes(path)).hexdigest() != digest):
            found.append(DrumgateError("sha256 differs from index.json (edited or replaced?)", path=path, hint=hint,
                                       exit_code=EXIT_FINDINGS))
    for name in sorted(_part_files(folder)):
        if name not in listed:
            found.append(DrumgateError("part not listed in index.json", path=folder / name, hint=hint,
                                       exit_code=EXIT_FINDINGS))
    return found


def listed_files(index: Mapping[str, Any]) -> dict[str, tuple[str, int]]:
    """Every file the index lists (parts and `renders/` parts) -> (sha256, bytes)."""
    listed: dict[str, tuple[str, int]] = {}
    for entry in index["parts"]:
        listed[entry["file"]] = (entry["sha256"], entry["bytes"])
        if "renders" in entry:
            listed[entry["renders"]["file"]] = (entry["renders"]["sha256"], entry["renders"]["bytes"])
    return listed


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


def _owning_folder(path: Path) -> Path:
    """The manifest folder a part belongs to (a `renders/` part's is the folder above)."""
    return path.parent.parent if path.parent.name == RENDERS_DIR else path.parent


def _lines(path: Path, data: bytes, on_error: ErrorSink | None) -> Iterator[tuple[int, Row]]:
    from drumgate.io.chunkscan import MAX_INFLATED_BYTES, has_long_line, inflate_capped

    if data.startswith(LFS_POINTER_PREFIX):
        raise DrumgateError("Git LFS pointer, not a manifest part", path=path, hint="fix: git lfs pull")
    inflated = inflate_capped(data, MAX_INFLATED_BYTES)
    if inflated is None:
        raise DrumgateError(f"damaged gzip stream, or one inflating past {MAX_INFLATED_BYTES >> 20} MiB", path=path,
                            hint=fix_for(_owning_folder(path)))
    if has_long_line(inflated, MAX_LINE_BYTES):
        yield from _careful_lines(path, inflated, on_error)
        return
    # the common case: one orjson call per line (jsonio's fast path)
    yield from rows_of_lines(enumerate(inflated.split(b"\n"), start=1), path, on_error)


def _careful_lines(path: Path, inflated: bytes, on_error: ErrorSink | None) -> Iterator[tuple[int, Row]]:
    import io

    for line_no, raw in iter_capped_lines(io.BytesIO(inflated)):
        if raw is not None and not raw.strip():
            continue
        try:
            if raw is None:
                raise long_line_error(path, line_no)
            yield line_no, parse_line(raw, path, line_no)
        except DrumgateError as err:
            if on_error is None:
                raise
            on_error(err)


def read_part(folder: Path, name: str, digest: str, on_error: ErrorSink | None = None) -> Iterator[tuple[int, Row]]:
    """(line, row) of one part after checking its bytes against the index's sha256 (one read)."""
    path = folder / name
    try:
        data = read_bytes(path)
    except FileNotFoundError as exc:
        raise DrumgateError("listed in index.json but missing", path=path, hint=fix_for(folder)) from exc
    if hashlib.sha256(data).hexdigest() != digest:
        raise DrumgateError("sha256 differs from index.json (edited or replaced?)", path=path, hint=fix_for(folder))
    yield from _lines(path, data, on_error)


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
        stored: dict[str, list[Row]] = {}
        for _, row in rows:
            stored.setdefault(str(row.get("item_id")), []).append(row)
        for _, render in read_part(folder, renders_entry["file"], renders_entry["sha256"], on_error):
            for row in stored.get(render.get("events_item", ""), ()):
                number += 1
                yield number, expand_render(row, render)


# ---------------------------------------------------------------- health from the index


def merged_aggregates(index: Mapping[str, Any]) -> Aggregates:
    total = Aggregates()
    for entry in index["parts"]:
        total.add(Aggregates.from_json(entry["aggregates"]))
    return total


def counts_from_index(folder: Path) -> Any:
    """`health.EventCounts` with the marginals health reports (pairs, sources, velocity bins, places),
    merged from a fresh index: every part's sha256 is checked first, so no row needs reading.

    Health uses only marginals of the joint (label, techniques, source, velocity) table, so the
    table is rebuilt by filling the three marginals in order (any table with those marginals gives
    the same report); each velocity bin stands for its lowest velocity. Place keys get one
    synthetic item name per distinct item (health counts them, never reads them)."""
    from drumgate.reports.health_counts import EventCounts

    index = verify(folder, hash_parts=True)
    total = merged_aggregates(index)
    counts = EventCounts()
    pairs = [(key.split("|", 1), n) for key, n in sorted(total.pairs.items()) if n]
    sources = [(key, n) for key, n in sorted(total.label_sources.items()) if n]
    velocities = [(None if slot == VELOCITY_BINS else slot * VELOCITY_BIN_WIDTH, n)
                  for slot, n in enumerate(total.velocity_bins) if n]
    line = 0
    for (pair, source, velocity), n in _fill_marginals(pairs, sources, velocities):
        label, techniques = pair
        key = (label, tuple(techniques.split(",")) if techniques else (), source, velocity)
        counts.labels[key] = counts.labels.get(key, 0) + n
        line += 1
        counts.first_line.setdefault(key, line)
    for (session, split, performance), events in sorted(total.place_events.items(), key=repr):
        items = max(total.place_items[(session, split, performance)], 1)
        share, extra = divmod(events, items)
        for slot in range(items):
            key = (session, split, f"{session}#item{slot}", performance)
            counts.places[key] = share + (1 if slot < extra else 0)
            line += 1
            counts.first_line[key] = line
    return counts


def _fill_marginals(*margins: list[tuple[Any, int]]) -> Iterator[tuple[tuple[Any, ...], int]]:
    """Cells of a table whose marginals are `margins` (all with the same total), filled in order."""
    queues = [list(margin) for margin in margins]
    positions = [0] * len(queues)
    left = [queue[0][1] if queue else 0 for queue in queues]
    while all(position < len(queue) for position, queue in zip(positions, queues, strict=True)):
        take = min(left)
        if take:
            yield tuple(queue[position][0] for queue, position in zip(queues, positions, strict=True)), take
        for slot, queue in enumerate(queues):
            left[slot] -= take
            if left[slot] == 0:
                positions[slot] += 1
                if positions[slot] < len(queue):
                    left[slot] = queue[positions[slot]][1]
