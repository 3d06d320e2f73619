"""What one ingest run did: counts by status, tier and class, findings, warnings, notes and files written.

The contract driver (`ingest/contract.py`) fills one per run; the command layer prints `lines()`,
or `as_json()` as the one `--json` document.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from drumgate.errors import EXIT_FINDINGS, EXIT_OK
from drumgate.render.numbers import counted
from drumgate.render.textsafe import log_text

if TYPE_CHECKING:
    from ingest.contract import ItemRows


@dataclass
class IngestReport:
    dataset: str
    items: int = 0
    sessions: int = 0
    events: int = 0
    provenance: int = 0
    seconds: float = 0.0
    by_status: Counter[str] = field(default_factory=Counter)
    by_tier: Counter[str] = field(default_factory=Counter)
    classes: Counter[str] = field(default_factory=Counter)
    findings: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    sections: dict[str, list[str]] = field(default_factory=dict)
    figures: dict[str, int | float] = field(default_factory=dict)  # a dataset's own counts, for --json

    @property
    def exit_code(self) -> int:
        return EXIT_FINDINGS if self.findings else EXIT_OK

    def add(self, rows: ItemRows) -> None:
        self.sessions += len(rows.sessions)
        self.events += len(rows.events)
        self.provenance += len(rows.provenance)
        self.seconds += sum(float(row.get("seconds") or 0.0) for row in rows.sessions)
        self.by_status.update(str(row.get("status")) for row in rows.sessions)
        self.by_tier.update(str(row.get("tier")) for row in rows.sessions)
        self.classes.update(str(row.get("label")) for row in rows.events)
        self.findings.extend(rows.findings)
        self.warnings.extend(rows.warnings)

    def lines(self) -> list[str]:
        def listed(counts: Counter[str]) -> str:
            return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"

        out = [
            f"{self.dataset}: {counted(self.items, 'item')}, {counted(self.sessions, 'session')} (tiers:"
            f" {listed(self.by_tier)}), {counted(self.events, 'event')}, {self.seconds / 3600:.4f} h;"
            f" {counted(len(self.findings), 'finding')}, {counted(len(self.warnings), 'warning')}",
            f"status: {listed(self.by_status)}",
            f"events per class: {listed(self.classes)}",
        ]
        out += [log_text(note) for note in self.notes]
        for name, lines in self.sections.items():
            # a section asked for and empty says so: silence read as "the flag did nothing"
            out += ["\t".join(log_text(part) for part in (name, *line.split("\t"))) for line in lines] or [
                f"{log_text(name)}: none"]
        out += [f"wrote {path}" for path in self.written]
        return out

    def as_json(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset, "items": self.items, "sessions": self.sessions, "events": self.events,
            "provenance": self.provenance, "hours": self.seconds / 3600,
            "by_status": dict(sorted(self.by_status.items())), "by_tier": dict(sorted(self.by_tier.items())),
            "classes": dict(sorted(self.classes.items())), "findings": list(self.findings),
            "warnings": list(self.warnings), "notes": list(self.notes), "written": list(self.written),
            **{name: list(lines) for name, lines in self.sections.items()},
            **self.figures,
        }
