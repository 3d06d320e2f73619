"""A partitioned manifest (drumgate.io.parts) at one revision, read from git objects for pr-report.

The folder's index (and its pages) is read at the revision and every file it lists must be in that
revision's tree. Health's event counts are merged from the entries' aggregates by
`parts.counts_of_entries`, the path `drumgate health` takes on a folder, so no row is read for them.
Only an entry that differs from the other side's entry for the same file (or whose blob does) is
opened: its bytes must match the index's sha256 and its rows must give the aggregates the index
claims, so neither a changed part nor an edited index can bring counts the rows do not hold. A
sessions folder is small and read whole (its parts checked against the index as they are read).

Sampling weights count events per render (session, item, label, split), which no index holds: every
events part is read for them, each stored row once however many renders play it, and a part both
sides hold once for both (E-GMD at full size: its 7.5 MB of stored hits, not 13.66 M rows).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from drumgate.errors import DrumgateError
from drumgate.github.git_tree import GitTree, short_sha
from drumgate.io import parts
from drumgate.io.combined_reference import Rewrite
from drumgate.io.jsonio import loads_reference
from drumgate.reports.part_counts import ExcerptKey, PartTally, add_pairs, excerpt_pairs, tally_part

Row = dict[str, Any]
ErrorSink = Callable[[DrumgateError], None]


class PartitionError(DrumgateError):
    """A partitioned folder that disagrees with its index at a revision: no report can stand for it,
    so pr-report stops with this one line (exit 2) instead of commenting on half a group."""


@dataclass(frozen=True)
class GitFolder:
    """One partitioned folder at one revision: its files (blob id, size) and its assembled index."""

    rev: str
    rel: str
    files: Mapping[str, tuple[str, int]]
    index: Mapping[str, Any]

    @property
    def where(self) -> Path:
        return Path(f"{short_sha(self.rev)}:{self.rel}")

    def entries_by_file(self) -> dict[str, Mapping[str, Any]]:
        return {entry["file"]: entry for entry in self.index["parts"]}

    def refuse(self, message: str, name: str) -> PartitionError:
        return PartitionError(message, path=self.where / name, hint=parts.fix_for(self.where))


def folder_of_manifest(rel: str) -> str:
    """`data/manifests/x_events.jsonl` -> `data/manifests/x_events`, the folder form git may hold."""
    return parts.folder_of(rel).as_posix()


def index_rel(rel: str) -> str:
    return f"{folder_of_manifest(rel)}/{parts.INDEX_NAME}"


def _blob(tree: GitTree, blob: tuple[str, int]) -> bytes:
    return next(data for _, data in tree.blobs([blob]))


def open_folder(tree: GitTree, rev: str, rel: str) -> GitFolder:
    """The folder at `rev` with its index read and checked against the files the revision holds
    (memoised on the tree: base and head each open the other side's folder once more)."""
    if ("folder", rev, rel) not in tree.memo:
        tree.memo[("folder", rev, rel)] = _read_folder(tree, rev, rel)
    folder: GitFolder = tree.memo[("folder", rev, rel)]
    return folder


def _read_folder(tree: GitTree, rev: str, rel: str) -> GitFolder:
    files = tree.listing(rev, rel)
    where = Path(f"{short_sha(rev)}:{rel}")
    if parts.INDEX_NAME not in files:
        raise PartitionError("partitioned manifest folder has no index.json", path=where, hint=parts.fix_for(where))
    try:
        document = loads_reference(_blob(tree, files[parts.INDEX_NAME]).decode("utf-8"))
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise PartitionError(f"invalid JSON: {exc}", path=where / parts.INDEX_NAME, hint=parts.fix_for(where)) from exc

    pages = document.get("pages") if isinstance(document, dict) else None
    wanted = {files[page["file"]] for page in pages or () if isinstance(page, dict) and page.get("file") in files}
    fetched = dict(tree.blobs(sorted(wanted)))  # every page in one call, not one git per page

    def read_page(name: str) -> bytes:
        if name not in files:
            raise PartitionError("index page listed in index.json but missing", path=where / name,
                                 hint=parts.fix_for(where))
        return fetched[files[name][0]]

    try:
        index = parts.assemble_index(document, where, read_page)
    except PartitionError:
        raise
    except DrumgateError as err:  # the schema's or a page's wording, as a refusal of the whole report
        raise PartitionError(err.message, path=err.path, line=err.line, hint=err.hint) from err
    folder = GitFolder(rev, rel, files, index)
    _check_listing(folder)
    return folder


def _check_listing(folder: GitFolder) -> None:
    """The checks a folder on disk gets before a row is read, on the revision's tree: every listed
    file present at its listed size and under the limit, no part unlisted, no key claimed twice."""
    keys: dict[str, str] = {}
    for entry in folder.index["parts"]:
        if entry["key"] in keys:
            raise folder.refuse(f"two parts claim the key {entry['key']!r} ({keys[entry['key']]})", entry["file"])
        keys[entry["key"]] = entry["file"]
    listed = parts.listed_files(folder.index)
    for name, (_, size) in listed.items():
        if name not in folder.files:
            raise folder.refuse("listed in index.json but missing", name)
        actual = folder.files[name][1]
        if actual > parts.MAX_PART_BYTES:
            raise folder.refuse(f"part is {actual >> 20} MiB, over the {parts.MAX_PART_BYTES >> 20} MiB limit", name)
        if actual != size:
            raise folder.refuse(f"is {actual} bytes, index.json lists {size} (edited or replaced?)", name)
    for name in sorted(folder.files):
        top, _, rest = name.partition("/")
        is_part = name.endswith(parts.PART_SUFFIX) and (not rest or top == parts.RENDERS_DIR)
        if is_part and name not in listed:
            raise folder.refuse("part not listed in index.json", name)


def _part_bytes(tree: GitTree, folder: GitFolder, names: Sequence[str]) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of listed files, each checked against the index's sha256 as it arrives."""
    listed = parts.listed_files(folder.index)
    by_id: dict[str, list[str]] = {}
    for name in names:
        by_id.setdefault(folder.files[name][0], []).append(name)
    sizes = {blob_id: size for blob_id, size in folder.files.values()}
    for blob_id, data in tree.blobs([(blob_id, sizes[blob_id]) for blob_id in by_id]):
        digest = hashlib.sha256(data).hexdigest()
        for name in by_id[blob_id]:
            if digest != listed[name][0]:
                raise folder.refuse("sha256 differs from index.json (edited or replaced?)", name)
            yield name, data


def _unmatched(folder: GitFolder, peer: GitFolder | None) -> list[Mapping[str, Any]]:
    """Entries not identical, with the same blobs, to the peer revision's entry for the same file."""
    if peer is None:
        return list(folder.index["parts"])
    theirs = peer.entries_by_file()
    found = []
    for entry in folder.index["parts"]:
        other = theirs.get(entry["file"])
        same = other == entry and all(folder.files[name] == peer.files.get(name) for name in _entry_files(entry))
        if not same:
            found.append(entry)
    return found


def _entry_files(entry: Mapping[str, Any]) -> list[str]:
    return [entry["file"], *([entry["renders"]["file"]] if "renders" in entry else [])]


def event_counts(tree: GitTree, rev: str, rel: str, peer_rev: str | None, on_error: ErrorSink) -> Any:
    """`EventCounts` of the events folder at `rev`, merged from its index; the entries that differ
    from `peer_rev`'s are checked against their parts' rows first. Malformed rows go to `on_error`
    (and then the part's aggregates cannot be checked: the rows shown in the comment say why)."""
    folder = open_folder(tree, rev, rel)
    peer = None
    if peer_rev is not None and tree.existing(peer_rev, [f"{rel}/{parts.INDEX_NAME}"]):
        peer = open_folder(tree, peer_rev, rel)
    unmatched = _unmatched(folder, peer)
    flagged = [entry for entry in folder.index["parts"] if entry["aggregates"].get("malformed")]
    _parse(tree, folder, [*unmatched, *flagged])  # an entry both lists name is parsed once
    for entry in unmatched:
        rows, renders, malformed = tree.memo[_parsed_key(folder, entry)]
        for error in malformed:
            on_error(error)
        if not malformed and parts.aggregate(rows, renders).as_json() != parts.Aggregates.from_json(
                entry["aggregates"]).as_json():
            raise folder.refuse("index.json aggregates differ from the part's rows (edited index?)", entry["file"])
    for entry in flagged:  # the rows its index counts as malformed, each as `part:line` worded as health words it
        rows = tree.memo[_parsed_key(folder, entry)][0]
        parts.refused_rows(rows, parts.at_part(folder.where / entry["file"], on_error))
    return parts.counts_of_entries(folder.index["parts"])


def folder_rows(tree: GitTree, rev: str, rel: str, on_error: ErrorSink) -> Iterator[Row]:
    """Every row of a (small) folder at `rev` in index order, each part checked against its sha256;
    a part's rows (and its malformed ones, given to `on_error` again) are kept by blob id, so a part
    both sides hold is read once."""
    folder = open_folder(tree, rev, rel)
    names = [entry["file"] for entry in folder.index["parts"]]
    unread = [name for name in names if ("rows", folder.files[name][0]) not in tree.memo]
    for name, data in _part_bytes(tree, folder, unread):
        malformed: list[DrumgateError] = []
        rows = [row for _, row in parts.part_rows(folder.where / name, data, malformed.append)]
        tree.memo[("rows", folder.files[name][0])] = (rows, malformed)
    for name in names:
        rows, malformed = tree.memo[("rows", folder.files[name][0])]
        for error in malformed:
            on_error(error)
        yield from rows


def folder_render_rows(tree: GitTree, rev: str, rel: str, on_error: ErrorSink) -> Iterator[Row]:
    """Every row of a folder at `rev` as `drumgate.events.read` yields them, one per render-hit
    (what the combined manifest's reference selects from), each part checked against its sha256."""
    folder = open_folder(tree, rev, rel)
    for entry in folder.index["parts"]:
        names = [entry["file"], *([entry["renders"]["file"]] if "renders" in entry else [])]
        stored = dict(_part_bytes(tree, folder, names))
        found = [[row for _, row in parts.part_rows(folder.where / name, stored[name], on_error)] for name in names]
        yield from parts.rendered(*found) if len(found) == 2 else found[0]


def excerpt_counts(tree: GitTree, rev: str, rel: str, on_error: ErrorSink) -> dict[ExcerptKey, int]:
    """The events per (session, item, label, split) of the folder at `rev`, one per render-hit, as
    `weights.count_excerpts` counts the rows `drumgate.events.read` yields and in the same order:
    each stored row is read once and counted once per render that plays it. Counts are kept by blob
    ids, so a part both sides hold is read once."""
    folder = open_folder(tree, rev, rel)

    def count(entry: Mapping[str, Any], rows: list[Row], renders: list[Row] | None, where: Path
              ) -> tuple[list[tuple[ExcerptKey, int]], list[DrumgateError]]:
        malformed: list[DrumgateError] = []
        return excerpt_pairs(enumerate(rows, 1), renders, where, malformed.append), malformed

    counts: dict[ExcerptKey, int] = {}
    for (pairs, malformed), read_errors in _per_entry(tree, folder, ("excerpts",), count):
        for error in [*read_errors, *malformed]:
            on_error(error)
        add_pairs(counts, pairs)
    return counts


def combined_tallies(tree: GitTree, rev: str, rel: str, rewrite: Rewrite, on_error: ErrorSink) -> Iterator[PartTally]:
    """The combined rows `rewrite` makes of each part of the folder at `rev`, counted from the stored
    rows (drumgate.reports.part_counts), each part checked against its sha256. Tallies are kept by
    blob ids and the rewrite, so a part base and head share is read and counted once."""
    folder = open_folder(tree, rev, rel)

    def tally(entry: Mapping[str, Any], rows: list[Row], renders: list[Row] | None, where: Path) -> PartTally:
        # the index's aggregates are as trusted as for health: event_counts checks each entry that
        # differs from the other side's against its rows
        return tally_part(rewrite, rows, renders, where, indexed=entry["aggregates"])

    for found, read_errors in _per_entry(tree, folder, ("tally", rewrite.rule), tally):
        for error in read_errors:
            on_error(error)
        yield found


T = TypeVar("T")


def _parsed_key(folder: GitFolder, entry: Mapping[str, Any]) -> tuple[str, ...]:
    return ("parsed", *(folder.files[name][0] for name in _entry_files(entry)))


def _parse(tree: GitTree, folder: GitFolder, entries: Sequence[Mapping[str, Any]]) -> None:
    """Keep on the tree, by blob ids, each entry's parsed rows, renders (or None) and the errors met
    reading them, so every count made of a part (health's check, weights, the combined tallies) and
    both sides when they share it read it once."""
    owner = {name: entry for entry in entries if _parsed_key(folder, entry) not in tree.memo
             for name in _entry_files(entry)}
    arrived: dict[str, bytes] = {}
    for name, data in _part_bytes(tree, folder, list(owner)):
        arrived[name] = data
        entry = owner[name]
        names = _entry_files(entry)
        if all(file in arrived for file in names):
            errors: list[DrumgateError] = []
            found = [[row for _, row in parts.part_rows(folder.where / file, arrived.pop(file), errors.append)]
                     for file in names]
            tree.memo[_parsed_key(folder, entry)] = (found[0], found[1] if len(found) == 2 else None, errors)


def _per_entry(tree: GitTree, folder: GitFolder, kind: tuple[str, ...],
               compute: Callable[[Mapping[str, Any], list[Row], list[Row] | None, Path], T]
               ) -> list[tuple[T, list[DrumgateError]]]:
    """`compute(entry, rows, renders, part path)` of every entry of the folder in index order, with the errors
    met reading the entry's files. Results are kept on the tree by `kind` and blob ids (the parsed rows
    by `_parse`), so a part base and head share is read once for every count made of it."""
    def done_key(entry: Mapping[str, Any]) -> tuple[str, ...]:
        return (*kind, *_parsed_key(folder, entry)[1:])

    entries = folder.index["parts"]
    _parse(tree, folder, [entry for entry in entries if done_key(entry) not in tree.memo])
    results = []
    for entry in entries:
        done = done_key(entry)
        if done not in tree.memo:
            rows, renders, errors = tree.memo[_parsed_key(folder, entry)]
            tree.memo[done] = (compute(entry, rows, renders, folder.where / entry["file"]), errors)
        results.append(tree.memo[done])
    return results
