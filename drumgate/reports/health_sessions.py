"""Health stage three: what the sessions inventory and the provenance add to the counted events.

`SessionFacts` holds, per session, its split, seconds, storage status and tier, and per item its
status, plus the audio hashes that reveal one recording filed under two sessions; provenance adds
the hashes of the source files (`read_source_hashes`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drumgate.artifacts import ingest_fix
from drumgate.errors import DrumgateError
from drumgate.reports.health_counts import add_count

MISSING_AUDIO_STATUSES = frozenset({"missing_audio", "unreadable"})
ANNOTATION_ROLE = "annotation"  # a sessions row's file that holds labels, not audio (MDB Drums writes it)
UNKNOWN_STATUS = "unknown"
# An E-GMD MIDI note with no entry in the note map is counted under this label (never dropped).
UNMAPPED_NOTE_LABEL = "midi_note_{note}"
# Every empty file has this digest; two sessions each holding one do not share a recording.
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@dataclass
class SessionFacts:
    """What the sessions inventory adds: split, seconds, audio hashes, missing files, storage status."""

    splits: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    audio_hashes: dict[str, set[str]] = field(default_factory=dict)
    items: int = 0
    missing_audio_items: int = 0
    present: bool = False
    statuses: dict[str, str] = field(default_factory=dict)
    tiers: dict[str, str] = field(default_factory=dict)
    storage_of: dict[str, dict[str, str]] = field(default_factory=dict)
    items_by_status: dict[str, int] = field(default_factory=dict)
    items_by_tier: dict[str, int] = field(default_factory=dict)
    unmapped_notes: dict[str, int] = field(default_factory=dict)


    def as_json(self) -> dict[str, Any]:
        """The facts as a JSON document (sets as sorted lists), for the content memo."""
        document = {name: getattr(self, name) for name in self.__dataclass_fields__}
        document["audio_hashes"] = {digest: sorted(owners) for digest, owners in self.audio_hashes.items()}
        return document

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> SessionFacts:
        fields = {name: document[name] for name in cls.__dataclass_fields__}
        fields["audio_hashes"] = {digest: set(owners) for digest, owners in document["audio_hashes"].items()}
        return cls(**fields)


def _session_seconds(row: Mapping[str, Any]) -> float:
    seconds = row.get("seconds")
    if isinstance(seconds, (int, float)):
        return float(seconds)
    longest = 0.0
    for item in row.get("files") or ():
        fmt = item.get("format") if isinstance(item, Mapping) else None
        if isinstance(fmt, Mapping) and isinstance(fmt.get("seconds"), (int, float)):
            longest = max(longest, float(fmt["seconds"]))
    return longest


def _status_of(value: Any, fallback: str) -> str:
    return value if isinstance(value, str) and value else fallback


def _add_unmapped_notes(facts: SessionFacts, row: Mapping[str, Any]) -> None:
    notes = row.get("unmapped_notes")
    if not isinstance(notes, Mapping):
        return
    for note, n in notes.items():
        if type(n) is int and n > 0:
            add_count(facts.unmapped_notes, UNMAPPED_NOTE_LABEL.format(note=note), n)


def read_session_facts(rows: Iterable[Mapping[str, Any]] | None) -> SessionFacts:
    facts = SessionFacts()
    if rows is None:
        return facts
    facts.present = True
    for row in rows:
        session_id = row.get("session_id")
        if not isinstance(session_id, str):
            raise DrumgateError(f"sessions row without a session_id: {str(row)[:80]}")
        if isinstance(row.get("split"), str):
            facts.splits[session_id] = row["split"]
        facts.seconds[session_id] = facts.seconds.get(session_id, 0.0) + _session_seconds(row)
        status = _status_of(row.get("status"), UNKNOWN_STATUS)
        tier = _status_of(row.get("tier"), UNKNOWN_STATUS)
        facts.statuses[session_id], facts.tiers[session_id] = status, tier
        facts.storage_of[session_id] = {key: row[key] for key in ("status", "tier") if isinstance(row.get(key), str)}
        files = [f for f in row.get("files") or () if isinstance(f, Mapping)]
        # items are audio: a label file (MDB Drums' annotations) is not one, but a track it leaves
        # unusable marks the session, and the session's audio then counts as not read
        audio = [f for f in files if f.get("role") != ANNOTATION_ROLE]
        item_statuses = [_status_of(f.get("status"), status) for f in audio]
        if status in MISSING_AUDIO_STATUSES and not MISSING_AUDIO_STATUSES.intersection(item_statuses):
            item_statuses = [status] * max(1, len(item_statuses))  # none of its files says why: the session does
        facts.items += len(item_statuses)
        facts.missing_audio_items += sum(1 for s in item_statuses if s in MISSING_AUDIO_STATUSES)
        for item_status in item_statuses:
            add_count(facts.items_by_status, item_status, 1)
            add_count(facts.items_by_tier, tier, 1)
        _add_unmapped_notes(facts, row)
        for item in files:
            digest = item.get("sha256")
            if isinstance(digest, str) and digest and digest != EMPTY_SHA256:
                facts.audio_hashes.setdefault(digest, set()).add(session_id)
    return facts


def storage_summary(facts: SessionFacts) -> dict[str, Any]:
    """Sessions and items counted by status (`ok`, `missing_audio`, `unreadable`, `tier_offline`) and tier."""
    sessions_by_status: dict[str, int] = {}
    sessions_by_tier: dict[str, int] = {}
    for session_id, status in facts.statuses.items():
        add_count(sessions_by_status, status, 1)
        add_count(sessions_by_tier, facts.tiers[session_id], 1)

    return {
        "sessions": {"by_status": _sorted(sessions_by_status), "by_tier": _sorted(sessions_by_tier)},
        "items": {"by_status": _sorted(facts.items_by_status), "by_tier": _sorted(facts.items_by_tier)},
    }


def _sorted(table: Mapping[str, int]) -> dict[str, int]:
    return dict(sorted(table.items()))


def read_source_hashes(rows: Iterable[tuple[int, Mapping[str, Any]]], origin: str | Path) -> dict[str, set[str]]:
    """sha256 of each non-empty source file -> the sessions whose provenance rows list it.

    `rows` are (line, row) pairs of a provenance file (`origin` names it in findings).
    """
    owners: dict[str, set[str]] = {}
    for line, row in rows:
        session_id = row.get("session_id") if isinstance(row, Mapping) else None
        files = row.get("source_files") if isinstance(row, Mapping) else None
        if not isinstance(session_id, str) or not isinstance(files, list):
            raise DrumgateError(
                "provenance row without a session_id or source_files list", path=origin, line=line,
                hint=ingest_fix(origin),
            )
        for item in files:
            digest = item.get("sha256") if isinstance(item, Mapping) else None
            if isinstance(digest, str) and digest and digest != EMPTY_SHA256:
                owners.setdefault(digest.lower(), set()).add(session_id)
    return owners
