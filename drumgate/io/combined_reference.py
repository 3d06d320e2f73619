"""The combined manifest as a reference to its sources' rows, not a copy of them (issue 15).

`drumgate combine` writes `data/manifests/prod_combined_events.json` (schema `combined_reference`):
for each mixed dataset, its events manifest (a file or a partitioned folder, relative to the
reference's folder) with the sha256 of the file that pins its rows (the manifest, or the folder's
`index.json`, which pins every part), its mix share, the counts, and
the song key of each session whose rows do not name their own; plus the crash dual-label map it
applied and a digest of the whole document. A reader rebuilds the combined rows from the sources:

- a source row is kept when sha256(`<dataset>` NUL `<event_id>`)'s first 8 bytes, read as a fraction
  of 2**64, fall below the mix share (`keep_event`), so a growing source keeps its earlier picks;
- `session_id` becomes `<dataset>:<session_id>`; `attributes.song_key` is the row's own, else the
  recorded key of its session;
- a crash-family event (a `variant`, or a label the reference lists as crash family) gets `label` =
  the variant's primary class, `labels` = [primary, secondary] and its `variant`.

Rows come in source order, each source's rows in its own order: exactly the rows the combined file
held before. Before a row is read every source is checked against the reference; a hand-edited
reference, a source missing or one whose sha256 differs is one line naming the file, with the fix
(`drumgate combine`). The rows are read through `jsonio.iter_jsonl`, which dispatches here for a
`.json` reference (or its `.jsonl` name when only the reference exists).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from drumgate.errors import EXIT_FINDINGS, DrumgateError
from drumgate.io.hashing import sha256_bytes, sha256_file
from drumgate.io.jsonio import check_schema, dumps_document, iter_jsonl, read_json
from drumgate.io.lines import ErrorSink
from drumgate.io.parts import INDEX_NAME, folder_of

KIND = "drumgate-combined-reference"
SCHEMA = "combined_reference"
SCHEMA_VERSION = 1
SUFFIX = ".json"
FIX = "fix: drumgate combine"
HASH_SPACE = 2**64
RULES = {
    "selection": "keep a row when int(sha256(dataset NUL event_id)[:8]) / 2**64 < ratio",
    "session_id": "<dataset>:<session_id>",
    "song_key": "the row's attributes.song_key, else song_keys[session_id] of its source",
}
Row = dict[str, Any]
SourceReader = Callable[[Mapping[str, Any]], Iterable[tuple[int, Row]]]


def keep_event(dataset: str, event_id: str, ratio: float) -> bool:
    """Deterministic subsampling: the event's hash position in [0, 1) falls below the ratio."""
    if ratio >= 1.0:
        return True
    if ratio <= 0.0:
        return False
    digest = hashlib.sha256(f"{dataset}\x00{event_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / HASH_SPACE < ratio


def combined_session_id(dataset: str, session_id: str) -> str:
    """A source session as the combined manifest names it (unique across datasets)."""
    return f"{dataset}:{session_id}"


def reference_path(path: str | Path) -> Path | None:
    """The reference `path` names: itself (`*.json`), or for `x_events.jsonl[.gz]` that exists in no
    other form, `x_events.json`; None when `path` is no reference."""
    source = Path(path)
    if source.suffix == SUFFIX:
        return source
    if source.exists() or (folder_of(source) / INDEX_NAME).is_file():
        return None
    candidate = folder_of(source).with_name(folder_of(source).name + SUFFIX)
    return candidate if candidate != source and candidate.is_file() else None


def source_files(manifest: Path, shown_from: Path) -> dict[str, str]:
    """The file that pins a source's rows -> its sha256, named relative to `shown_from`: the manifest
    itself, or a folder's `index.json`, which pins its pages and parts by sha256 (the reader checks
    every part against it). One line per source, so a change to 1% of a folder's parts rewrites one
    digest here, not one per part."""
    if manifest.is_dir():
        index = manifest / INDEX_NAME
        return {index.relative_to(shown_from).as_posix(): sha256_file(index)}
    return {manifest.relative_to(shown_from).as_posix(): sha256_file(manifest)}


def digest_of(reference: Mapping[str, Any]) -> str:
    """The sha256 of the reference's canonical JSON without its own digest."""
    return sha256_bytes(dumps_document({key: value for key, value in reference.items() if key != "digest"}))


def build(dataset: str, sources: Sequence[Mapping[str, Any]], crash_variants: Mapping[str, Mapping[str, str]],
          crash_labels: Sequence[str]) -> dict[str, Any]:
    """The reference document: `sources` as `source_entry` makes them, in mixing order."""
    reference: dict[str, Any] = {
        "kind": KIND,
        "schema_version": SCHEMA_VERSION,
        "dataset": dataset,
        "rules": dict(RULES),
        "crash_dual_label": {
            "family_labels": sorted(crash_labels),
            "variants": {name: {"primary": m["primary"], "secondary": m["secondary"]}
                         for name, m in sorted(crash_variants.items())},
        },
        "sources": list(sources),
        "rows": sum(int(source["events_kept"]) for source in sources),
    }
    reference["digest"] = digest_of(reference)
    return reference


def source_entry(dataset: str, ratio: float, manifest: Path, reference_folder: Path, counts: tuple[int, int],
                 song_keys: Mapping[str, str]) -> dict[str, Any]:
    """One mixed dataset: its manifest and files (relative to the reference's folder), share, counts
    (events read, kept) and the song keys its kept rows took from their session."""
    return {
        "dataset": dataset,
        "ratio": ratio,
        "manifest": manifest.relative_to(reference_folder).as_posix(),
        "files": source_files(manifest, reference_folder),
        "events_read": counts[0],
        "events_kept": counts[1],
        "song_keys": dict(sorted(song_keys.items())),
    }


def checked(document: Any, where: str | Path) -> dict[str, Any]:
    """A parsed reference, checked against its schema and its own digest (a hand edit is refused)."""
    reference = check_schema(document, SCHEMA, where, hint=FIX)
    if reference["digest"] != digest_of(reference):
        raise DrumgateError("differs from what drumgate combine wrote (edited by hand?)", path=where, hint=FIX,
                            exit_code=EXIT_FINDINGS)
    return dict(reference)


def load(path: Path) -> dict[str, Any]:
    return checked(read_json(path), path)


def check_sources(path: Path, reference: Mapping[str, Any]) -> None:
    """Every source as recorded: present, and each of its files with the recorded sha256."""
    folder = path.parent
    for source in reference["sources"]:
        recorded: Mapping[str, str] = source["files"]
        manifest = folder / source["manifest"]
        if not manifest.exists():
            raise DrumgateError(f"source manifest named by {path.name} is missing", path=manifest, hint=FIX,
                                exit_code=EXIT_FINDINGS)
        found = source_files(manifest, folder)
        for name in sorted(recorded.keys() | found.keys()):
            if name not in found:
                problem = f"listed in {path.name} but missing"
            elif name not in recorded:
                problem = f"not in {path.name} (the source changed since drumgate combine)"
            elif found[name] != recorded[name]:
                problem = f"sha256 differs from the one {path.name} recorded (changed since drumgate combine)"
            else:
                continue
            raise DrumgateError(problem, path=folder / name, hint=FIX, exit_code=EXIT_FINDINGS)


class Rewrite:
    """What the reference applies to every kept row of one source."""

    def __init__(self, path: Path, reference: Mapping[str, Any], source: Mapping[str, Any]) -> None:
        self.path = path
        self.dataset: str = source["dataset"]
        self.ratio = float(source["ratio"])
        self.song_keys: Mapping[str, str] = source["song_keys"]
        crash = reference["crash_dual_label"]
        self.crash_labels = frozenset(crash["family_labels"])
        self.variants = {name: [m["primary"], m["secondary"]] for name, m in crash["variants"].items()}

    @property
    def rule(self) -> str:
        """A digest of everything `row` applies (not the path it names in errors): two rewrites with
        the same rule make the same rows, so counts made of a part can be kept by it."""
        applied = (self.dataset, self.ratio, sorted(self.song_keys.items()), sorted(self.crash_labels),
                   sorted(self.variants.items()))
        return hashlib.sha256(repr(applied).encode()).hexdigest()

    def row(self, row: Row) -> Row | None:
        """The combined row for a source row; None when the selection leaves it out."""
        if not keep_event(self.dataset, str(row.get("event_id")), self.ratio):
            return None
        session_id = str(row.get("session_id"))
        attributes = dict(row.get("attributes") or {})
        declared = attributes.get("song_key")
        if not (isinstance(declared, str) and declared):
            if session_id not in self.song_keys:
                raise DrumgateError(f"no song key recorded for {self.dataset} session {session_id!r}", path=self.path,
                                    hint=FIX, exit_code=EXIT_FINDINGS)
            attributes["song_key"] = self.song_keys[session_id]
        session = combined_session_id(self.dataset, session_id)
        return self._crash_mapped({**row, "session_id": session, "attributes": attributes})

    def _crash_mapped(self, row: Row) -> Row:
        variant = row.get("variant")
        if not (isinstance(variant, str) and variant):
            label = row.get("label")
            variant = label if isinstance(label, str) and label in self.crash_labels else None
        if variant is None:
            return row
        if variant not in self.variants:
            raise DrumgateError(f"crash variant {variant!r} is not in the recorded crash map", path=self.path,
                                hint=FIX, exit_code=EXIT_FINDINGS)
        labels = self.variants[variant]
        if row.get("label") == labels[0] and row.get("labels") == labels and row.get("variant") == variant:
            return row
        return {**row, "label": labels[0], "labels": list(labels), "variant": variant}


def combined_rows(where: str | Path, reference: Mapping[str, Any], read_source: SourceReader
                  ) -> Iterator[tuple[int, Row]]:
    """(row number, combined row) of a checked reference, each source's rows from `read_source`
    (the workspace's files here; `pr-report` passes the blobs of a revision)."""
    number = 0
    for source in reference["sources"]:
        rewrite = Rewrite(Path(where), reference, source)
        for _, row in read_source(source):
            combined = rewrite.row(row)
            if combined is not None:
                number += 1
                yield number, combined


def iter_reference(path: str | Path, on_error: ErrorSink | None = None, per_render: bool = True
                   ) -> Iterator[tuple[int, Row]]:
    """(row number, combined row), every source checked against the reference before the first row."""
    where = Path(path)
    reference = load(where)
    check_sources(where, reference)
    yield from combined_rows(where, reference,
                             lambda source: iter_jsonl(where.parent / source["manifest"], on_error, per_render))


def count_rows(path: str | Path) -> int:
    """The rows the reference yields, from the reference alone."""
    return int(load(Path(path))["rows"])
