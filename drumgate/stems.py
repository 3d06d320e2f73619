"""Ordered stem-name rules (`configs/stem_names.json`): a stem file name to instrument and role."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from drumgate.config import validate_against_schema
from drumgate.errors import DrumgateError
from drumgate.jsonio import read_json
from drumgate.workspace import Workspace

DRUM_ROLES = frozenset({"close", "sample", "overhead", "room", "effect", "percussion"})
ONSET_ROLES = frozenset({"close", "sample", "percussion"})
AMBIENT_ROLES = frozenset({"overhead", "room"})


@dataclass(frozen=True)
class StemMatch:
    rule: str
    instrument: str | None
    role: str

    @property
    def is_drum(self) -> bool:
        return self.role in DRUM_ROLES


@dataclass(frozen=True)
class StemRule:
    name: str
    pattern: re.Pattern[str]
    instrument: str | None
    role: str


class StemRules:
    def __init__(self, index_prefix: str, rules: list[StemRule]) -> None:
        self.index_prefix = re.compile(index_prefix)
        self.rules = rules

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
                return StemMatch(rule.name, rule.instrument, rule.role)
        return None


def load_stem_rules(ws: Workspace, known_classes: set[str] | None = None) -> StemRules:
    path = ws.configs / "stem_names.json"
    raw = read_json(path)
    validate_against_schema(raw, ws.schemas / "stem_names.schema.json", path)
    rules: list[StemRule] = []
    for index, item in enumerate(raw["rules"]):
        try:
            pattern = re.compile(item["pattern"], re.IGNORECASE)
        except re.error as exc:
            raise DrumgateError(f"rules/{index} ({item['name']}): bad regular expression: {exc}", path=path) from exc
        instrument = item["instrument"]
        if known_classes is not None and instrument is not None and instrument not in known_classes:
            raise DrumgateError(f"rules/{index} ({item['name']}): {instrument!r} is not a taxonomy class", path=path)
        rules.append(StemRule(item["name"], pattern, instrument, item["role"]))
    try:
        return StemRules(raw["index_prefix"], rules)
    except re.error as exc:
        raise DrumgateError(f"index_prefix: bad regular expression: {exc}", path=path) from exc
