"""Ordered stem-name rules (`configs/stem_names.json`): a stem file name to instrument and role.

A rule pattern may use the config's `macros` as `{name}` (for example `{kit}` for the optional
`Drums - ` / `Drumkit1_` group prefix every free-form session puts before the mic), so the
prefix is written once. `StemRules.match` returns the rule that matched: its id, its position,
its pattern as written and, for a deliberate exclusion, the documented reason.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from drumgate.config import load_config_json
from drumgate.errors import DrumgateError
from drumgate.workspace import Workspace

DRUM_ROLES = frozenset({"close", "sample", "overhead", "room", "effect", "percussion"})
ONSET_ROLES = frozenset({"close", "sample", "percussion"})
AMBIENT_ROLES = frozenset({"overhead", "room"})
EXCLUDED_ROLE = "excluded"
NON_DRUM_ROLE = "non_drum"
# families named after the mic, not the instrument: an overhead hears every drum
ROLE_FAMILIES = frozenset({"overhead", "room", "effect", "percussion", EXCLUDED_ROLE, NON_DRUM_ROLE})
CYMBAL_INSTRUMENTS = frozenset({"cymbal", "ride", "crash", "splash", "china"})
# families that stand for a drum-kit microphone (what a non-drum name must never be mapped to)
DRUM_FAMILIES = frozenset({"kick", "snare", "hihat", "tom", "cymbal", "overhead", "room"})

MACRO = re.compile(r"\{([a-z_]+)\}")
CAMEL_BOUNDARY = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])")
NON_WORD = re.compile(r"[^A-Za-z0-9]+")
# words that make an unmatched name worth a look: a kit piece, a kit mic position or a kit group
DRUM_WORDS = frozenset({
    "kick", "kik", "kck", "bd", "bassdrum", "snare", "snr", "sd", "hihat", "hihats", "hh", "hat", "hats",
    "tom", "toms", "floortom", "racktom", "overhead", "overheads", "oh", "room", "rooms", "ride", "crash",
    "splash", "china", "cymbal", "cymbals", "drum", "drums", "drumkit", "kit", "trigger", "trig",
    "sidestick", "rimshot", "beater",
})


def name_words(stem: str) -> list[str]:
    """`DRUMS - Overheads - M60.L` -> [drums, overheads, m, 60, l]; `KickMic2` -> [kick, mic, 2]."""
    spaced = CAMEL_BOUNDARY.sub(" ", stem)
    return [word.lower() for word in NON_WORD.split(spaced) if word]


def looks_drum_related(stem: str) -> bool:
    """True when a word of the name (CamelCase split) is a drum-kit word: unmatched ones need a rule."""
    words = name_words(stem)
    joined = {a + b for a, b in itertools.pairwise(words)}  # `Hi Hat`, `Bass Drum`, `Floor Tom`
    return bool(DRUM_WORDS.intersection(words) or DRUM_WORDS.intersection(joined))


@dataclass(frozen=True)
class StemMatch:
    rule: str
    instrument: str | None
    role: str
    index: int = -1
    pattern: str = ""
    reason: str | None = None

    @property
    def is_drum(self) -> bool:
        return self.role in DRUM_ROLES

    @property
    def family(self) -> str:
        return family_of(self.instrument, self.role)


def family_of(instrument: str | None, role: str) -> str:
    """The kit family a report counts: kick, snare, hihat, tom, cymbal, overhead, room, ..."""
    if role in ROLE_FAMILIES or instrument is None:
        return role
    if instrument.startswith("tom"):
        return "tom"
    if instrument in CYMBAL_INSTRUMENTS:
        return "cymbal"
    return instrument


@dataclass(frozen=True)
class StemRule:
    name: str
    pattern: re.Pattern[str]
    instrument: str | None
    role: str
    index: int = -1
    written: str = ""
    reason: str | None = None


@dataclass(frozen=True)
class SessionRule:
    """A rule over a whole session's stems: when one stem matched `when`, the stems matched by each rule
    named in `instruments` take that instrument instead (a kit with a `Tom4` numbers its toms high to low,
    so its `Tom3` is a rack tom)."""

    name: str
    when: str
    instruments: dict[str, str]
    reason: str


class StemRules:
    def __init__(self, index_prefix: str, rules: list[StemRule], session_rules: tuple[SessionRule, ...] = ()) -> None:
        self.index_prefix = re.compile(index_prefix)
        self.rules = rules
        self.session_rules = session_rules

    def stem_name(self, file_name: str) -> str:
        """`03_SnareUp.wav` -> `SnareUp` (the name the rules see)."""
        stem = PurePosixPath(file_name).name
        if "." in stem:
            stem = stem.rsplit(".", 1)[0]
        return self.index_prefix.sub("", stem, count=1).strip()

    def match(self, file_name: str) -> StemMatch | None:
        name = self.stem_name(file_name)
        for rule in self.rules:
            if rule.pattern.search(name):
                return StemMatch(rule.name, rule.instrument, rule.role, rule.index, rule.written, rule.reason)
        return None

    def session_instruments(self, rule_names: list[str | None]) -> list[tuple[str, str] | None]:
        """For each stem of one session (given by the rule it matched), the (instrument, session rule)
        a session rule gives it, or None where the stem keeps its rule's instrument."""
        matched = set(rule_names)
        given: list[tuple[str, str] | None] = [None] * len(rule_names)
        for session_rule in self.session_rules:
            if session_rule.when not in matched:
                continue
            for position, name in enumerate(rule_names):
                if given[position] is None and name in session_rule.instruments:
                    given[position] = (session_rule.instruments[name], session_rule.name)
        return given


MAX_MACRO_DEPTH = 8
UNINDEXED = "KickIn"
INDEX_PREFIX = r"^\d{1,3}[_ -]+"  # the shipped one, shown as the fix of a prefix that reaches into names


def expand_macros(pattern: str, macros: dict[str, str], where: str) -> str:
    """Replace every `{name}` by `macros[name]`, itself expanded (a macro may use other macros)."""

    def expand(found: re.Match[str]) -> str:
        if found.group(1) not in macros:
            raise DrumgateError(f"{where}: unknown macro {{{found.group(1)}}} (known: {', '.join(sorted(macros))})")
        return macros[found.group(1)]

    for _ in range(MAX_MACRO_DEPTH):
        expanded = MACRO.sub(expand, pattern)
        if expanded == pattern:
            return expanded
        pattern = expanded
    raise DrumgateError(f"{where}: macros nested more than {MAX_MACRO_DEPTH} deep (a macro that uses itself?)")


def unknown_instruments(raw: dict[str, Any], known_classes: set[str]) -> list[str]:
    """What is wrong with each rule (and session rule) of a schema-checked `stem_names.json` whose
    instrument is no class id."""
    found = [f"rules/{index} ({item['name']}): {item['instrument']!r} is not a taxonomy class"
             for index, item in enumerate(raw["rules"])
             if item["instrument"] is not None and item["instrument"] not in known_classes]
    for index, item in enumerate(raw.get("session_rules", [])):
        found.extend(f"session_rules/{index} ({item['name']}): {instrument!r} is not a taxonomy class"
                     for instrument in item["instruments"].values() if instrument not in known_classes)
    return found


def compile_session_rules(raw: dict[str, Any], rule_names: set[str]) -> tuple[SessionRule, ...]:
    """The schema-checked `session_rules`; one that names a rule the file does not have is a DrumgateError."""
    session_rules = []
    for index, item in enumerate(raw.get("session_rules", [])):
        where = f"session_rules/{index} ({item['name']})"
        for named in (item["when"], *item["instruments"]):
            if named not in rule_names:
                raise DrumgateError(f"{where}: no rule is named {named!r} (a session rule names rules by their name)")
        session_rules.append(SessionRule(item["name"], item["when"], dict(item["instruments"]), item["reason"]))
    return tuple(session_rules)


def compile_stem_rules(raw: dict[str, Any], known_classes: set[str] | None = None) -> StemRules:
    """Rules from an already schema-checked `stem_names.json` document; a bad rule is a DrumgateError."""
    unknown = unknown_instruments(raw, known_classes) if known_classes is not None else []
    if unknown:
        raise DrumgateError(unknown[0])
    macros: dict[str, str] = raw.get("macros", {})
    rules: list[StemRule] = []
    seen: set[str] = set()
    for index, item in enumerate(raw["rules"]):
        where = f"rules/{index} ({item['name']})"
        if item["name"] in seen:
            raise DrumgateError(f"{where}: a second rule with this name (rule names are ids: make it unique)")
        seen.add(item["name"])
        try:
            pattern = re.compile(expand_macros(item["pattern"], macros, where), re.IGNORECASE)
        except re.error as exc:
            raise DrumgateError(f"{where}: bad regular expression: {exc}") from exc
        instrument = item["instrument"]
        written = item["pattern"]
        rules.append(StemRule(item["name"], pattern, instrument, item["role"], index, written, item.get("reason")))
    session_rules = compile_session_rules(raw, seen)
    try:
        compiled = StemRules(raw["index_prefix"], rules, session_rules)
    except re.error as exc:
        raise DrumgateError(f"index_prefix: bad regular expression: {exc}") from exc
    left = compiled.stem_name(UNINDEXED)
    if left != UNINDEXED:  # it would reach into every name and leave the rules nothing they know
        raise DrumgateError(f"index_prefix {raw['index_prefix']!r} changes {UNINDEXED!r}, a stem name without"
                            f" an index, to {left!r}", hint="fix: make index_prefix match only a leading track"
                            f" number there, as {json.dumps(INDEX_PREFIX)} does")
    return compiled


def load_stem_rules(ws: Workspace, known_classes: set[str] | None = None) -> StemRules:
    path = ws.configs / "stem_names.json"
    raw = load_config_json(ws, "stem_names.json", "stem_names")
    try:
        return compile_stem_rules(raw, known_classes)
    except DrumgateError as err:
        raise DrumgateError(err.message, path=path, hint=err.hint) from err
