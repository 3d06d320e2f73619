"""Health stage four: sessions, splits and leakage, from the counted places and the session facts.

A leak is one thing in two splits: a session or performance name (compared by `identity_key`, so
spellings of one name are one name), an audio file's hash in the sessions inventory, or a source
file's hash in the provenance.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from drumgate.reports.health_counts import EventCounts
from drumgate.reports.health_sessions import SessionFacts
from drumgate.reports.overlap import identity_key


@dataclass
class PlaceSummary:
    sessions: dict[str, dict[str, Any]]
    splits: dict[str, dict[str, int]]
    items: int
    leakage: list[dict[str, Any]]


def sessions_with_events(sessions: Mapping[str, Any]) -> set[str]:
    """The sessions of a health report's `sessions` holding at least one event: the ones there is
    something to train on. The inventory also lists sessions without any (a MUSDB track whose drum
    stem is gone): their audio counts toward no hours, and a diff finds a session added or removed
    when it gains or loses its events, as the sampling weights (keyed by the events' sessions) do."""
    return {
        session_id
        for session_id, body in sessions.items()
        if isinstance(body, Mapping) and isinstance(body.get("events"), int) and body["events"] > 0
    }


def _dominant_split(per_split: Mapping[str, int]) -> str:
    return min(per_split, key=lambda split: (-per_split[split], split))


def _leaks(kind: str, table: Mapping[str, set[str]]) -> list[dict[str, Any]]:
    return [
        {"kind": kind, "key": key, "splits": sorted(splits)} for key, splits in sorted(table.items()) if len(splits) > 1
    ]


def _name_leaks(kind: str, table: Mapping[str, set[str]]) -> list[dict[str, Any]]:
    """Leaks of names compared by `identity_key`: spellings of one name (NFC/NFD, case) are one name.

    The leak is keyed by its first spelling; when there are several, `sources` lists them all.
    """
    spellings: dict[str, list[str]] = {}
    for name in sorted(table):
        spellings.setdefault(identity_key(name), []).append(name)
    leaks = []
    for names in spellings.values():
        splits = sorted(set().union(*(table[name] for name in names)))
        if len(splits) > 1:
            leak: dict[str, Any] = {"kind": kind, "key": names[0], "splits": splits}
            if len(names) > 1:
                leak["sources"] = names
            leaks.append(leak)
    return sorted(leaks, key=itemgetter("key"))


def _hash_splits(owners: Mapping[str, set[str]], splits_of: Callable[[str], set[str]]) -> dict[str, set[str]]:
    return {digest: {split for sid in sessions for split in splits_of(sid)} for digest, sessions in owners.items()}


def summarise_places(
    counts: EventCounts, facts: SessionFacts, source_hashes: Mapping[str, set[str]] | None = None
) -> PlaceSummary:
    """Sessions, split shares and leakage: a session or performance name (compared by `identity_key`)
    or a file's content (sessions-manifest `audio_hash`, provenance `content_hash`) in two splits."""
    per_session: dict[str, dict[str, int]] = {}
    performance_splits: dict[str, set[str]] = {}
    items: set[tuple[str, str]] = set()
    for (session_id, split, item_id, performance), n in counts.places.items():
        splits = per_session.setdefault(session_id, {})
        splits[split] = splits.get(split, 0) + n
        items.add((session_id, item_id))
        performance_key = str(performance) if performance is not None else session_id
        performance_splits.setdefault(performance_key, set()).add(split)
    for session_id in facts.seconds:
        split = facts.splits.get(session_id)
        if split is not None:
            per_session.setdefault(session_id, {}).setdefault(split, 0)
        elif session_id not in per_session:
            per_session[session_id] = {"unassigned": 0}
    sessions: dict[str, dict[str, Any]] = {}
    split_table: dict[str, dict[str, int]] = {}
    session_splits: dict[str, set[str]] = {}
    for session_id, splits in sorted(per_session.items()):
        events = sum(splits.values())
        sessions[session_id] = {"events": events, "split": _dominant_split(splits)}
        sessions[session_id].update(facts.storage_of.get(session_id, {}))
        session_splits[session_id] = set(splits)
        for split, n in splits.items():
            entry = split_table.setdefault(split, {"events": 0, "sessions": 0})
            entry["events"] += n
            entry["sessions"] += 1
    hash_splits = _hash_splits(
        facts.audio_hashes, lambda sid: session_splits.get(sid, {facts.splits.get(sid, "unassigned")})
    )
    session_leaks = _name_leaks("session", session_splits)
    already = {(leak["key"], tuple(leak["splits"])) for leak in session_leaks}
    performance_leaks = [
        leak
        for leak in _name_leaks("performance", performance_splits)
        if (leak["key"], tuple(leak["splits"])) not in already
    ]
    leakage = session_leaks + performance_leaks
    leakage += _leaks("audio_hash", hash_splits)
    if source_hashes:
        # Only sessions this manifest knows: provenance may list sessions the events left out.
        content_splits = _hash_splits(
            {digest: owners for digest, owners in source_hashes.items() if digest not in facts.audio_hashes},
            lambda sid: session_splits.get(sid, set()),
        )
        for leak in _leaks("content_hash", content_splits):
            leak["sources"] = sorted(source_hashes[leak["key"]])
            leakage.append(leak)
    return PlaceSummary(sessions, dict(sorted(split_table.items())), len(items), leakage)
