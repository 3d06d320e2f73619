"""Which stem-name rule of `configs/stem_names.json` maps each name, and the coverage over a list of
names: per kit family, and the unmatched names that look drum-related (`drumgate stems`)."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drumgate.errors import DrumgateError, one_line
from drumgate.io.fsutil import look_around, read_regular_file
from drumgate.render.numbers import counted
from ingest.cambridge.stems import StemMatch, StemRules, looks_drum_related

UNMATCHED = "unmatched"
FAMILY_ORDER = ("kick", "snare", "hihat", "tom", "cymbal", "overhead", "room", "percussion", "effect",
                "excluded", "non_drum", UNMATCHED)


@dataclass(frozen=True)
class Explained:
    name: str
    stem: str
    match: StemMatch | None

    @property
    def family(self) -> str:
        return self.match.family if self.match else UNMATCHED

    def as_dict(self) -> dict[str, Any]:
        found = self.match
        return {
            "name": self.name,
            "stem": self.stem,
            "family": self.family,
            "instrument": found.instrument if found else None,
            "role": found.role if found else None,
            "rule": found.rule if found else None,
            "rule_index": found.index if found else None,
            "pattern": found.pattern if found else None,
            "reason": found.reason if found else None,
        }


@dataclass
class Coverage:
    explained: list[Explained] = field(default_factory=list)

    @property
    def families(self) -> dict[str, int]:
        counts = Counter(item.family for item in self.explained)
        ordered = [name for name in FAMILY_ORDER if name in counts]
        return {name: counts[name] for name in ordered + sorted(set(counts) - set(FAMILY_ORDER))}

    @property
    def unmatched_drum_looking(self) -> dict[str, int]:
        """Unmatched names with a kit word, each with how often it occurs (what needs a rule)."""
        counts = Counter(item.stem for item in self.explained if item.match is None and looks_drum_related(item.stem))
        return dict(sorted(counts.items()))

    def summary(self) -> dict[str, Any]:
        unmatched_drum = self.unmatched_drum_looking
        return {
            "names": len(self.explained),
            "families": self.families,
            "unmatched_drum_looking": sum(unmatched_drum.values()),
            "unmatched_drum_looking_names": list(unmatched_drum),
        }


def explain_names(rules: StemRules, names: Iterable[str]) -> Coverage:
    return Coverage([Explained(name, rules.stem_name(name), rules.match(name)) for name in names])


def read_names(sources: Sequence[str]) -> list[str]:
    """Names from arguments, listed in files, or from stdin (`-` or no source)."""
    names: list[str] = []
    for source in sources or ["-"]:
        if source == "-":
            names.extend(_lines(sys.stdin.buffer.read(), "<stdin>"))
        elif not source.strip():  # a list's blank line is skipped; an argument left blank is a slip
            raise DrumgateError(f"stems: an argument is blank ({source!r}), not a stem name",
                                hint="fix: drumgate stems NAME, or drumgate stems - to read the names from stdin")
        elif Path(source).is_file():
            names.extend(_lines(read_regular_file(source), source))
        elif "/" in source or Path(source).is_dir():  # a stem name holds no folder: a list's path, mistyped
            folder = Path(source).is_dir()
            raise DrumgateError("is a folder, expected a file listing names" if folder else "file not found",
                                path=source, hint=look_around(Path(source, "-") if folder else Path(source)))
        else:
            names.append(source)
    return names


def _lines(data: bytes, where: str) -> list[str]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DrumgateError(f"not UTF-8 text at byte {exc.start}", path=where,
                            hint="fix: save the name list as UTF-8, one name a line") from exc
    return [line.strip() for line in text.splitlines() if line.strip()]


def explain_line(item: Explained) -> str:
    """`name | family | instrument/role | rule N id | pattern [| excluded: reason]`, or `name | unmatched`."""
    found = item.match
    if found is None:
        return one_line(f"{item.name} | {UNMATCHED}")
    fields = [item.name, found.family, f"{found.instrument or '-'}/{found.role}", f"rule {found.index} {found.rule}",
              found.pattern]
    if found.reason:
        fields.append(f"excluded: {found.reason}")
    return one_line(" | ".join(fields))


def summary_lines(coverage: Coverage) -> list[str]:
    summary = coverage.summary()
    counts = ", ".join(f"{family} {count}" for family, count in summary["families"].items())
    lines = [f"{counted(summary['names'], 'name')}: {counts}"]
    unmatched_drum = coverage.unmatched_drum_looking
    lines.append(f"unmatched names that look drum-related: {len(unmatched_drum)} distinct, "
                 f"{summary['unmatched_drum_looking']} in all" + (" (add a rule to configs/stem_names.json)"
                                                                  if unmatched_drum else ""))
    lines.extend(one_line(f"  {stem} ({count}x)") for stem, count in unmatched_drum.items())
    return lines
