"""The combined manifest's health: which datasets it mixes, its sessions, song leaks across
datasets, and one gate per mixed dataset that holds the dataset's own gates.

`combined_counts` counts the rows the combined manifest's reference stands for without building
them for a partitioned source (drumgate.reports.part_counts): `drumgate combine` and `pr-report`
both take health's counts, weights' excerpt counts and the song splits from it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drumgate.config import DatasetsConfig
from drumgate.errors import DrumgateError, format_finding
from drumgate.io.combined_reference import Rewrite, combined_session_id
from drumgate.io.parts import counts_of_aggregates
from drumgate.reports.gates import SOURCE_GATE, HealthConfig, gate_result, overall_status
from drumgate.reports.health import compute_health
from drumgate.reports.health_counts import ErrorSink, EventCounts, EventRows, count_events
from drumgate.reports.part_counts import ExcerptKey, PartTally, SongSplits, add_pairs, merge_song_splits

SONG_LEAK_KIND = "song"


def record_song_splits(rows: EventRows, song_splits: SongSplits) -> Iterator[tuple[int, Mapping[str, Any]]]:
    """Pass combined event rows through, noting each song's splits per source dataset."""
    for line_no, row in rows:
        attributes = row.get("attributes")
        song = attributes.get("song_key") if isinstance(attributes, Mapping) else None
        if isinstance(song, str) and song:
            song_splits.setdefault(song, {}).setdefault(str(row.get("dataset")), set()).add(str(row.get("split")))
        yield line_no, row


HELD_OUT_SPLITS = frozenset({"test", "validation"})


def _held_out_song(row: Any) -> tuple[str, str | None] | None:
    """A held-out session's split and declared song (None: no `attributes.song_key`); None for a session
    in no held-out split or a schema-invalid row (the sessions check's finding)."""
    if not isinstance(row, Mapping):
        return None
    split = row.get("split")
    if not (isinstance(split, str) and split in HELD_OUT_SPLITS):
        return None
    attributes = row.get("attributes")
    song = attributes.get("song_key") if isinstance(attributes, Mapping) else None
    return split, song if isinstance(song, str) and song else None


def held_out_song_splits(dataset: str, session_rows: Iterable[Mapping[str, Any]]) -> SongSplits:
    """The songs a dataset `combine` does not mix holds out for evaluation: each session's declared
    `attributes.song_key` in a held-out split (MDB Drums, an evaluation set, is all `test`). Beside the
    combined rows' songs, `song_leaks` finds a song the production manifest trains on that such a set
    evaluates on; a left-out dataset's train split is in no manifest a model trains on, so it is not read."""
    found: SongSplits = {}
    for row in session_rows:
        held = _held_out_song(row)
        if held is not None and held[1] is not None:
            found.setdefault(held[1], {}).setdefault(dataset, set()).add(held[0])
    return found


UNCHECKED_HELD_OUT = "unchecked_held_out"  # the combined report's list of held-out sessions no song key names
SONG_KEY_FIX = ("fix: write each one's attributes.song_key (drumgate.reports.overlap.song_key, docs/musdb.md) as "
                "drumgate ingest mdb_drums does, then rerun drumgate combine")


def unchecked_held_out(dataset: str, sessions: str, session_rows: Iterable[Any]) -> dict[str, Any] | None:
    """A dataset `combine` does not mix whose held-out sessions (read from `sessions`) declare no
    `attributes.song_key`: the song leak check (`held_out_song_splits`) cannot compare them, so the
    leakage gate passes without having judged them. How many of its held-out sessions that is; None when
    every one declares its song."""
    held = unkeyed = 0
    for row in session_rows:
        found = _held_out_song(row)
        if found is not None:
            held += 1
            unkeyed += found[1] is None
    if not unkeyed:
        return None
    return {"dataset": dataset, "sessions": sessions, "held_out_sessions": held, "without_song_key": unkeyed}


def add_unchecked_held_out(report: dict[str, Any], unchecked: Iterable[Mapping[str, Any] | None]) -> None:
    """Record in the combined report the held-out sessions the song leak check could not compare
    (`unchecked_held_out`), by dataset; a report with none carries no such list."""
    found = sorted((dict(entry) for entry in unchecked if entry), key=lambda entry: str(entry["dataset"]))
    if found:
        report[UNCHECKED_HELD_OUT] = found


def unchecked_held_out_notes(combined: str, unchecked: Iterable[Mapping[str, Any]]) -> list[str]:
    """One `note:` line per `unchecked_held_out` entry, at its sessions manifest: the combined leakage
    gate did not judge those sessions, and how to make it."""
    return [
        "note: " + format_finding(
            str(entry["sessions"]),
            "held-out (test/validation) sessions without attributes.song_key: "
            f"{entry['without_song_key']} of {entry['held_out_sessions']}; {combined}'s leakage gate could not "
            "check them for songs the production manifest trains on",
            hint=SONG_KEY_FIX,
        )
        for entry in unchecked
    ]


def song_leaks(song_splits: Mapping[str, Mapping[str, set[str]]]) -> list[dict[str, Any]]:
    """Songs present in two or more datasets whose splits disagree."""
    leaks = []
    for song, per_dataset in sorted(song_splits.items()):
        splits = set().union(*per_dataset.values())
        if len(per_dataset) > 1 and len(splits) > 1:
            leaks.append(
                {
                    "kind": SONG_LEAK_KIND,
                    "key": song,
                    "splits": sorted(splits),
                    "sources": sorted(f"{ds}:{split}" for ds, found in per_dataset.items() for split in found),
                }
            )
    return leaks


def add_song_leaks(report: dict[str, Any], leaks: list[dict[str, Any]]) -> None:
    """Fold cross-dataset song leaks into the report's leakage list, leakage gate and status."""
    report["leakage"] = report["leakage"] + leaks
    for gate in report["gates"]:
        if gate["name"] == "leakage":
            gate["observed"] = len(report["leakage"])
            gate["status"] = "pass" if gate["observed"] == 0 else "fail"
    report["status"] = overall_status(report["gates"])


def mixed_datasets(config: DatasetsConfig, has_events: Callable[[str], bool]) -> list[str]:
    """Datasets `combine` mixes: a `[combined] mix` share above 0 and an events manifest (config order)."""
    mix = config.combined.get("mix", {})
    return [name for name in config.datasets if float(mix.get(name, 0.0)) > 0.0 and has_events(name)]


def waived_sources(config: DatasetsConfig) -> list[str]:
    """Sources whose failing gates `[combined] waive_source_gates` lets the combined gate accept."""
    names = sorted(str(name) for name in config.combined.get("waive_source_gates", []))
    for name in names:
        if name not in config.datasets:
            raise DrumgateError(
                f"[combined] waive_source_gates names {name!r}, which is not a dataset", path=config.path,
                hint=f"fix: use one of {', '.join(config.datasets)}",
            )
    return names


def combined_session_rows(dataset: str, rows: Iterable[Mapping[str, Any]]) -> Iterator[dict[str, Any]]:
    """A source's sessions rows as the combined manifest names them (`<ds>:<session_id>`)."""
    for row in rows:
        yield {**row, "session_id": combined_session_id(dataset, str(row.get("session_id", "")))}


SourceHashes = Mapping[str, set[str]]  # provenance's source-file sha256 -> its sessions (`read_source_hashes`)


def source_health(config: HealthConfig, events: EventRows | EventCounts, sessions: Iterable[Mapping[str, Any]] | None,
                  source_hashes: SourceHashes | None, *, source: Mapping[str, str | None] | None = None,
                  on_error: ErrorSink | None = None) -> dict[str, Any]:
    """A mixed dataset's own health as `drumgate health` computes it, what its `source_gates[<ds>]` judges:
    `source_hashes` are its provenance's (None without one), so the same audio bytes in two of its splits
    fail its leakage gate here as they do in its own report. `combine` and `pr-report` both call this."""
    return compute_health(config, events, sessions, source=source, on_error=on_error, source_hashes=source_hashes)


def combined_source_hashes(per_source: Mapping[str, SourceHashes | None]) -> dict[str, set[str]]:
    """The mixed sources' provenance hashes (the ones `source_health` takes), each session named as the
    combined manifest names it (`<ds>:<session_id>`): the combined health's `content_hash` leaks are the
    same audio bytes in two of its splits, within one source or across two. Not the combined provenance's:
    combine writes it after this report, one row per session (an E-GMD session's other renders left out)."""
    merged: dict[str, set[str]] = {}
    for dataset, hashes in sorted(per_source.items()):
        for digest, owners in (hashes or {}).items():
            merged.setdefault(digest, set()).update(combined_session_id(dataset, owner) for owner in owners)
    return merged


NO_EVENTS = "no events manifest"  # what a source that the mix names but that has no events fails


def add_source_gates(
    report: dict[str, Any], source_reports: Mapping[str, Mapping[str, Any]], waived: Iterable[str],
    unmade: Iterable[str] = (),
) -> None:
    """One `source_gates[<ds>]` gate per mixed dataset: it fails while that dataset fails its own gates,
    unless `[combined] waive_source_gates` names it (the gate then passes with `waived: true`, shown in
    every report). A dataset the mix gives a share but that has no events manifest (`unmade`) fails its
    gate, waived or not: a waiver accepts a source's gates, not its absence. `report["sources"]` records
    each source's failing gates."""
    waived_names = set(waived)
    missing = set(unmade)
    sources: dict[str, Any] = {}
    for dataset in sorted({*source_reports, *missing}):
        if dataset in missing:
            failing, waiver, status = [NO_EVENTS], False, "fail"
        else:
            source = source_reports[dataset]
            failing = [gate["name"] for gate in source["gates"] if gate["status"] == "fail"]
            waiver, status = bool(failing) and dataset in waived_names, source["status"]
        gate = gate_result(f"{SOURCE_GATE}[{dataset}]", not failing or waiver, len(failing), 0)
        if waiver:
            gate["waived"] = True
        report["gates"].append(gate)
        sources[dataset] = {"status": status, "failing": failing,
                            "waived": dataset in waived_names and dataset not in missing}
    report["sources"] = sources
    report["status"] = overall_status(report["gates"])


FileRows = Callable[[Mapping[str, Any]], Iterable[tuple[int, Mapping[str, Any]]]]
FolderTallies = Callable[[Mapping[str, Any], Rewrite], Iterable[PartTally]]


@dataclass
class CombinedCounts:
    """The combined rows counted: health's event counts, weights' excerpt counts (session, item,
    label), each song's splits per dataset, and malformed rows."""

    events: EventCounts = field(default_factory=EventCounts)
    excerpts: dict[ExcerptKey, int] = field(default_factory=dict)
    song_splits: SongSplits = field(default_factory=dict)
    errors: list[DrumgateError] = field(default_factory=list)

    def add_events(self, counts: EventCounts) -> None:
        """Add a source's counts; its first lines continue after the rows already counted."""
        offset = max(self.events.first_line.values(), default=0)
        for mine, theirs in ((self.events.labels, counts.labels), (self.events.places, counts.places)):
            for key, n in theirs.items():
                if key not in mine:
                    self.events.first_line[key] = counts.first_line.get(key, 0) + offset
                mine[key] = mine.get(key, 0) + n


def is_folder_source(source: Mapping[str, Any]) -> bool:
    """A reference source that names a partitioned folder (drumgate.io.parts), not a `.jsonl` file."""
    return not str(source["manifest"]).endswith((".jsonl", ".jsonl.gz"))


def combined_counts(where: Path, reference: Mapping[str, Any], file_rows: FileRows,
                    folder_tallies: FolderTallies, on_error: ErrorSink) -> CombinedCounts:
    """Count the rows a checked reference stands for: a file source's rows one by one (`file_rows`),
    a folder source's from its parts' tallies (`folder_tallies`, which may memoise them)."""
    found = CombinedCounts()
    for source in reference["sources"]:
        rewrite = Rewrite(where, reference, source)
        if is_folder_source(source):
            total = PartTally()
            for tally in folder_tallies(source, rewrite):
                total.add(tally)
            found.add_events(counts_of_aggregates(total.aggregates))
            add_pairs(found.excerpts, total.excerpts)
            merge_song_splits(found.song_splits, total.song_splits)
            found.errors.extend(total.errors)
        else:
            kept_rows = _kept(file_rows(source), rewrite, found.excerpts)
            found.add_events(count_events(record_song_splits(kept_rows, found.song_splits), on_error))
    for error in found.errors:
        on_error(error)
    return found


def _kept(rows: Iterable[tuple[int, Mapping[str, Any]]], rewrite: Rewrite,
          excerpts: dict[ExcerptKey, int]) -> Iterator[tuple[int, Mapping[str, Any]]]:
    """A file source's combined rows, numbered, counting each row's excerpt on the way."""
    kept = 0
    for _, row in rows:
        combined = rewrite.row(row)
        if combined is None:
            continue
        kept += 1
        key = (combined.get("session_id"), combined.get("item_id"), combined.get("label"), combined.get("split"))
        try:
            excerpts[key] = excerpts.get(key, 0) + 1
        except TypeError:
            pass  # a list or object in a field: `count_events` words the row as the bad row it is
        yield kept, combined
