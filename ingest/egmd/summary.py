"""E-GMD's figures beyond the contract's report: CSV rows, renders, exclusions, MIDI hours, unmapped notes.

The counts every dataset shares (sessions, events, provenance rows, status, classes, findings,
warnings) go to the contract's `IngestReport`; these become its `metadata` and `unknown_notes`
summary sections (`name<TAB>line`, and lists of the same name in `--json`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ingest.contract import ItemRows
from ingest.egmd.metadata import Exclusion
from ingest.egmd.note_map import NOTE_MAP_FILE
from ingest.egmd.renders import PerformanceResult
from ingest.ingest_report import IngestReport


@dataclass
class Tally:
    kind: str = "egmd"  # which metadata CSV: egmd (E-GMD) or gmd (GMD)
    rows: int = 0
    renders: int = 0
    exclusions: list[Exclusion] = field(default_factory=list)
    absent: int = 0  # renders a partial copy lacks (partial_copy in configs/datasets.toml)
    midi_seconds: float = 0.0
    unknown_notes: Counter[int] = field(default_factory=Counter)

    def add(self, report: IngestReport, result: PerformanceResult) -> None:
        """One performance's rows counted (its events are encoded bytes: their count and classes come along)."""
        report.add(ItemRows(sessions=[result.session] if result.session is not None else [],
                            provenance=result.provenance_rows, findings=findings_of(result),
                            warnings=result.warnings))
        report.events += result.event_count
        report.classes.update(result.classes)
        self.count(result)

    def count(self, result: PerformanceResult) -> None:
        self.renders += result.renders
        self.exclusions.extend(result.exclusions)
        self.absent += result.absent
        self.midi_seconds += result.midi_seconds
        self.unknown_notes.update(result.unknown_notes)

    def figures(self) -> dict[str, int | float]:
        figures: dict[str, int | float] = {"csv_rows": self.rows, "renders": self.renders,
                                           "excluded": len(self.exclusions), "midi_hours": self.midi_seconds / 3600}
        if self.absent:
            figures["absent"] = self.absent
        return figures

    def sections(self) -> dict[str, list[str]]:
        sections = {"metadata": [f"{self.kind} CSV: {self.rows} rows, {self.renders} renders ingested, "
                                 f"{len(self.exclusions)} excluded, MIDI hours {self.midi_seconds / 3600:.3f}"
                                 + (f", {self.absent} not in this partial copy (partial_copy = true)"
                                    if self.absent else "")]}
        if self.unknown_notes:  # never dropped silently: health counts them as unknown labels
            sections["unknown_notes"] = [f"note {note}: {count} (map it in configs/{NOTE_MAP_FILE})"
                                         for note, count in sorted(self.unknown_notes.items())]
        return sections

    def empty_reason(self) -> str:
        """Why a run has no rows, for the refusal to empty a manifest."""
        if not self.exclusions:
            return "no renders found"
        return (f"{len(self.exclusions)} CSV rows rejected, {self.renders} renders ingested; "
                f"first: {self.exclusions[0].reason}")


def findings_of(result: PerformanceResult) -> list[str]:
    """A performance's finding lines: its excluded renders, then its unreadable audio."""
    return [exclusion.render() for exclusion in result.exclusions] + list(result.unreadable_audio)
