"""The combined manifest's health: which datasets it mixes, its sessions, song leaks across
datasets, and one gate per mixed dataset that holds the dataset's own gates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from drumgate.config import DatasetsConfig
from drumgate.errors import DrumgateError
from drumgate.reports.gates import SOURCE_GATE, gate_result, overall_status
from drumgate.reports.health_counts import EventRows

SONG_LEAK_KIND = "song"
SongSplits = dict[str, dict[str, set[str]]]


def record_song_splits(rows: EventRows, song_splits: SongSplits) -> Iterator[tuple[int, Mapping[str, Any]]]:
    """Pass combined event rows through, noting each song's splits per source dataset."""
    for line_no, row in rows:
        attributes = row.get("attributes")
        song = attributes.get("song_key") if isinstance(attributes, Mapping) else None
        if isinstance(song, str) and song:
            song_splits.setdefault(song, {}).setdefault(str(row.get("dataset")), set()).add(str(row.get("split")))
        yield line_no, row


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


def combined_session_id(dataset: str, session_id: str) -> str:
    return f"{dataset}:{session_id}"


def combined_session_rows(dataset: str, rows: Iterable[Mapping[str, Any]]) -> Iterator[dict[str, Any]]:
    """A source's sessions rows as the combined manifest names them (`<ds>:<session_id>`)."""
    for row in rows:
        yield {**row, "session_id": combined_session_id(dataset, str(row.get("session_id", "")))}


def add_source_gates(
    report: dict[str, Any], source_reports: Mapping[str, Mapping[str, Any]], waived: Iterable[str]
) -> None:
    """One `source_gates[<ds>]` gate per mixed dataset: it fails while that dataset fails its own gates,
    unless `[combined] waive_source_gates` names it (the gate then passes with `waived: true`, shown in
    every report). `report["sources"]` records each source's failing gates."""
    waived_names = set(waived)
    sources: dict[str, Any] = {}
    for dataset, source in sorted(source_reports.items()):
        failing = [gate["name"] for gate in source["gates"] if gate["status"] == "fail"]
        waiver = bool(failing) and dataset in waived_names
        gate = gate_result(f"{SOURCE_GATE}[{dataset}]", not failing or waiver, len(failing), 0)
        if waiver:
            gate["waived"] = True
        report["gates"].append(gate)
        sources[dataset] = {"status": source["status"], "failing": failing, "waived": dataset in waived_names}
    report["sources"] = sources
    report["status"] = overall_status(report["gates"])
