"""Song identity across datasets, for the blending leakage gate (domain.md §2).

All 100 DSD tracks of MUSDB18 are Cambridge "Mixing Secrets" sessions and 12 MedleyDB
"Music Delta" tracks of MUSDB train are MDB Drums evaluation songs. One song must not sit in
different splits across datasets, so every row carries a `song_key`: the artist and title
lowercased down to ASCII letters and digits (`Atlantis Bound - It Was My Fault For Waiting` and
`AtlantisBound_ItWasMyFaultForWaiting_Full` both become `atlantisbounditwasmyfaultforwaiting`),
after the alias table in `configs/musdb.json` has mended spelling quirks (MUSDB's "Schoolboy
Facination").
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from drumgate.config import load_config_json
from drumgate.workspace import Workspace, find_workspace

SONG_DATASETS = frozenset({"cambridge", "musdb_hq", "mdb_drums"})
DEFAULT_SUFFIXES = ("_Full", "_Excerpt")


def identity_key(name: str) -> str:
    """The key two spellings of one name share: Unicode NFKC (which includes NFC) and case folded.

    A track filed as `Café` (NFC) in train and `Cafe\u0301` (NFD) or `CAFÉ` in test is one track;
    comparing raw strings would let it sit in both splits unseen. Folding is applied twice
    because case folding can leave a string that is no longer normalised.
    """
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


def normalise_name(text: str) -> str:
    """Lowercase ASCII letters and digits only (accents folded, `&` spelt `and`)."""
    folded = unicodedata.normalize("NFKD", text.replace("&", "and"))
    return re.sub(r"[^a-z0-9]", "", folded.encode("ascii", "ignore").decode("ascii").lower())


@dataclass(frozen=True)
class OverlapConfig:
    aliases: Mapping[str, str] = field(default_factory=dict)
    suffixes: tuple[str, ...] = DEFAULT_SUFFIXES
    mdb_drums: tuple[str, ...] = ()

    @classmethod
    def from_musdb_config(cls, raw: Mapping[str, Any]) -> OverlapConfig:
        aliases = {
            normalise_name(entry["musdb"]): normalise_name(strip_suffix(entry["cambridge"], raw["session_suffixes"]))
            for entry in raw["cambridge_aliases"]
        }
        return cls(aliases, tuple(raw["session_suffixes"]), tuple(raw["mdb_drums_overlap"]))


def strip_suffix(session_id: str, suffixes: Iterable[str] = DEFAULT_SUFFIXES) -> str:
    """`Artist_Song_Full` -> `Artist_Song` (also a trailing `.zip`).

    Only a non-empty suffix shorter than the name is stripped: `name[:-0]` is the empty string, and a
    name that is all suffix would lose its whole identity; either would give every such session one
    empty song key."""
    name = _without_tail(session_id.rsplit("/", 1)[-1], ".zip")
    for suffix in suffixes:
        shorter = _without_tail(name, suffix)
        if shorter != name:
            return shorter
    return name


def _without_tail(name: str, tail: str) -> str:
    """`name` less `tail` (any case) at its end; unchanged when it does not end so or would be left empty."""
    if not tail or len(name) <= len(tail) or name[-len(tail):].lower() != tail.lower():
        return name
    return name[: -len(tail)]


def load_overlap_config(ws: Workspace) -> OverlapConfig:
    raw = load_config_json(ws, "musdb.json", "musdb")
    return OverlapConfig.from_musdb_config(raw)


@functools.lru_cache(maxsize=1)
def _default_config() -> OverlapConfig:
    return load_overlap_config(find_workspace())


def song_key(dataset: str, session_id: str, config: OverlapConfig | None = None) -> str:
    """The key one song shares across datasets; other datasets' items keep their own namespace.

    MDB Drums ids (`MusicDelta_80sRock`) and MUSDB names (`Music Delta - 80s Rock`) agree, and
    Cambridge session ids agree with MUSDB `Artist - Title` after the alias table.
    """
    chosen = config or _default_config()
    if dataset not in SONG_DATASETS:
        return f"{dataset}:{normalise_name(session_id)}"
    stem = session_id
    if dataset == "cambridge":
        stem = strip_suffix(session_id, chosen.suffixes)
    elif dataset == "mdb_drums":
        stem = re.sub(r"_(Drum|MIX|class|subclass)$", "", session_id.rsplit("/", 1)[-1])
    else:
        stem = session_id.rsplit("/", 1)[-1]
    key = normalise_name(stem)
    return chosen.aliases.get(key, key)


@dataclass(frozen=True)
class OverlapReport:
    cambridge: tuple[tuple[str, str], ...]
    mdb_drums: tuple[str, ...]

    def lines(self) -> list[str]:
        rows = [f"cambridge\t{musdb}\t{session}" for musdb, session in self.cambridge]
        rows += [f"mdb_drums\t{musdb}\tMDB Drums evaluation song" for musdb in self.mdb_drums]
        return rows


def find_overlaps(
    musdb_tracks: Iterable[str], cambridge_sessions: Iterable[str], config: OverlapConfig | None = None
) -> OverlapReport:
    """MUSDB tracks that are also Cambridge sessions, and MUSDB tracks that are MDB Drums songs."""
    chosen = config or _default_config()
    by_key: dict[str, str] = {}
    for session in sorted(cambridge_sessions):
        by_key.setdefault(song_key("cambridge", session, chosen), session)
    mdb_keys = {song_key("musdb_hq", name, chosen) for name in chosen.mdb_drums}
    tracks = sorted(set(musdb_tracks))
    cambridge = tuple(
        (track, by_key[key]) for track in tracks if (key := song_key("musdb_hq", track, chosen)) in by_key
    )
    mdb = tuple(track for track in tracks if song_key("musdb_hq", track, chosen) in mdb_keys)
    return OverlapReport(cambridge, mdb)
