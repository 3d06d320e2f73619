"""The technique taxonomy (DESIGN §6): classes with parents, techniques with the classes they
apply to, aliases, the crash dual-label map and named training vocabularies."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drumgate.config import edit_or_restore_hint, load_config_json
from drumgate.errors import DrumgateError
from drumgate.workspace import Workspace


@dataclass(frozen=True)
class TaxonomyClass:
    id: str
    parent: str | None
    name: str
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class Technique:
    id: str
    applies_to: tuple[str, ...]
    name: str
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class VocabularyRule:
    label: str
    classes: tuple[str, ...]
    techniques_any: tuple[str, ...]


@dataclass(frozen=True)
class Vocabulary:
    name: str
    description: str
    rules: tuple[VocabularyRule, ...]

    @property
    def labels(self) -> list[str]:
        return list(dict.fromkeys(rule.label for rule in self.rules))


@dataclass(frozen=True)
class CrashLabel:
    primary: str
    secondary: str


def _norm(name: str) -> str:
    return name.strip().lower().replace("-", "_").replace(" ", "_")


TAXONOMY_FILE = "technique_taxonomy.json"
CRASH_FILE = "crash_dual_label.json"
HIHAT = "hihat"  # the class (or an alias of it) the drum pipelines infer hat openness for
HAT_TECHNIQUES = ("closed", "half_open", "open")  # what they infer for it
Problem = tuple[str, str]  # (the config file that must change, what is wrong)


def _alias_table(items: Sequence[TaxonomyClass] | Sequence[Technique]) -> dict[str, str]:
    table: dict[str, str] = {}
    for item in items:
        for name in (item.id, *item.aliases):
            table.setdefault(_norm(name), item.id)
    return table


def _name_problems(kind: str, items: Sequence[TaxonomyClass] | Sequence[Technique]) -> list[Problem]:
    problems: list[Problem] = []
    ids: set[str] = set()
    table: dict[str, str] = {}
    for item in items:
        if item.id in ids:
            problems.append((TAXONOMY_FILE, f"duplicate {kind} id {item.id!r}"))
        ids.add(item.id)
        for name in (item.id, *item.aliases):
            owner = table.setdefault(_norm(name), item.id)
            if owner != item.id:
                problems.append((TAXONOMY_FILE, f"{kind} alias {name!r} names both {owner!r} and {item.id!r}"))
    return problems


def _parent_problems(classes: Sequence[TaxonomyClass]) -> list[Problem]:
    parents = {c.id: c.parent for c in classes}
    problems = [(TAXONOMY_FILE, f"class {c.id!r} has unknown parent {c.parent!r}")
                for c in classes if c.parent is not None and c.parent not in parents]
    cycles: set[frozenset[str]] = set()
    for cid in parents:
        chain = [cid]
        parent = parents[cid]
        while parent in parents and parent not in chain:
            chain.append(parent)
            parent = parents[parent]
        if parent in chain:  # one finding per cycle, whichever of its classes the walk began at
            cycle = frozenset(chain[chain.index(parent):])
            if cycle not in cycles:
                cycles.add(cycle)
                problems.append((TAXONOMY_FILE, f"class parents form a cycle through {min(cycle)!r}"))
    return problems


def structure_problems(classes: Sequence[TaxonomyClass], techniques: Sequence[Technique],
                       vocabularies: Sequence[Vocabulary], crash_family: str,
                       crash_map: dict[str, CrashLabel]) -> list[Problem]:
    """Every problem of a taxonomy and its crash map, each with the file that must change."""
    problems = [*_name_problems("class", classes), *_name_problems("technique", techniques),
                *_parent_problems(classes)]
    class_ids = {c.id for c in classes}
    technique_ids = {t.id for t in techniques}
    hat_techniques = [tid for tid in HAT_TECHNIQUES if tid in technique_ids]
    if hat_techniques and HIHAT not in _alias_table(classes):
        # renamed without the alias, every hat would silently lose the techniques the pipelines infer for it
        problems.append((TAXONOMY_FILE, f"no class is named or aliased {HIHAT!r}, the name the E-GMD, Cambridge and"
                         f" MUSDB pipelines find the hi-hat by to infer {'/'.join(hat_techniques)}: add {HIHAT!r} to"
                         " the aliases of your hi-hat class"))
    for tech in techniques:
        problems.extend((TAXONOMY_FILE, f"technique {tech.id!r} applies to unknown class {cid!r}")
                        for cid in tech.applies_to if cid not in class_ids)
    if crash_family not in class_ids:
        problems.append((TAXONOMY_FILE, f"crash_family {crash_family!r} is not a class"))
    for vocab in vocabularies:
        for rule in vocab.rules:
            problems.extend((TAXONOMY_FILE, f"vocabulary {vocab.name!r} maps unknown class {cid!r}")
                            for cid in rule.classes if cid not in class_ids)
            problems.extend((TAXONOMY_FILE, f"vocabulary {vocab.name!r} uses unknown technique {tid!r}")
                            for tid in rule.techniques_any if tid not in technique_ids)
    parents = {c.id: c.parent for c in classes}
    for variant, label in crash_map.items():
        problems.extend((CRASH_FILE, f"crash variant {variant!r} maps to unknown class {cid!r}")
                        for cid in (label.primary, label.secondary) if cid not in class_ids)
        # an event's label becomes the primary: outside the family, its dual labels are refused by the
        # taxonomy hook on every run of the command that wrote them
        known = label.primary in class_ids and crash_family in class_ids
        if known and not _within(parents, label.primary, crash_family):
            problems.append((CRASH_FILE, f"crash variant {variant!r} has primary {label.primary!r}, which is not in the"
                             f" crash family {crash_family!r}: only crash-family events carry dual labels"))
    return list(dict.fromkeys(problems))


def name_fix(name: str, known: Iterable[str], place: str = "there", meant: str | None = None,
             what: str = "names") -> str:
    """The fix for a `name` that is not one of `known`: write `meant` (the id an alias names), else the
    closest known name, else one of the list."""
    ordered = sorted(known)
    if meant is None:
        import difflib  # only a refused name pays for it

        meant = next(iter(difflib.get_close_matches(name, ordered, n=1)), None)
    return f"fix: write {meant!r} {place}" if meant else f"fix: write one of the {what} {place} ({', '.join(ordered)})"


def _within(parents: dict[str, str | None], class_id: str, ancestor: str) -> bool:
    """Whether `ancestor` is `class_id` or above it (a cycle, a problem of its own, ends the walk)."""
    seen: set[str] = set()
    current: str | None = class_id
    while current is not None and current not in seen:
        if current == ancestor:
            return True
        seen.add(current)
        current = parents.get(current)
    return False


class Taxonomy:
    """Resolve names to ids, check techniques against classes, reduce to a vocabulary."""

    def __init__(
        self,
        version: str,
        classes: Sequence[TaxonomyClass],
        techniques: Sequence[Technique],
        vocabularies: Sequence[Vocabulary],
        crash_family: str,
        crash_map: dict[str, CrashLabel],
        source: Path | None = None,
    ) -> None:
        self.version = version
        self.source = source
        problems = structure_problems(classes, techniques, vocabularies, crash_family, crash_map)
        if problems:
            name, message = problems[0]
            where = source if source is None or name == TAXONOMY_FILE else source.with_name(name)
            raise DrumgateError(message, path=where, hint=None if where is None else edit_or_restore_hint(where))
        self.classes = {c.id: c for c in classes}
        self.techniques = {t.id: t for t in techniques}
        self.vocabularies = {v.name: v for v in vocabularies}
        self.crash_family = crash_family
        self.crash_map = crash_map
        self._class_alias = _alias_table(classes)
        self._technique_alias = _alias_table(techniques)
        self._ancestors = {cid: self._walk_up(cid) for cid in self.classes}
        self._vocab_cache: dict[tuple[str, str, tuple[str, ...]], str | None] = {}

    def _walk_up(self, class_id: str) -> tuple[str, ...]:
        chain = [class_id]
        parent = self.classes[class_id].parent
        while parent is not None:
            chain.append(parent)
            parent = self.classes[parent].parent
        return tuple(chain)

    # Names.
    def resolve_class(self, name: str) -> str | None:
        return self._class_alias.get(_norm(name))

    def resolve_technique(self, name: str) -> str | None:
        return self._technique_alias.get(_norm(name))

    def require_class_ids(self, names: Iterable[str], path: Path, key: str) -> None:
        """Refuse the first of `names` (class ids a config lists under `key`) that is not a class id here:
        a misspelt one would silently match no event. An alias is refused with its id as the fix."""
        for name in names:
            if name not in self.classes:
                raise DrumgateError(f"{key} names {name!r}, which is not a class id of configs/{TAXONOMY_FILE}",
                                    path=path, hint=self.class_fix(name))

    def class_fix(self, name: str, place: str = "there") -> str:
        """The fix for a class name that is not an id here: the id it is an alias of, else the closest id."""
        return name_fix(name, self.classes, place, self.resolve_class(name), "class ids")

    def ancestors(self, class_id: str) -> tuple[str, ...]:
        """The class itself followed by its parents, nearest first."""
        return self._ancestors[class_id]

    def is_a(self, class_id: str, ancestor: str) -> bool:
        return class_id in self._ancestors and ancestor in self._ancestors[class_id]

    def technique_allowed(self, technique: str, class_id: str) -> bool:
        tech = self.techniques.get(technique)
        if tech is None or class_id not in self.classes:
            return False
        return any(cid in tech.applies_to for cid in self._ancestors[class_id])

    def is_hihat(self, class_id: str) -> bool:
        """Whether `class_id` is a hi-hat, whose events get open/closed from the pedal or the ring. Named
        through the aliases: a taxonomy that renames `hihat` keeps the old name as an alias (one without
        it is refused at load while it has hat techniques), and the hat inference follows it."""
        return self.is_a(class_id, self.resolve_class(HIHAT) or HIHAT)

    def is_crash_family(self, class_id: str) -> bool:
        return self.is_a(class_id, self.crash_family)

    def crash_labels(self, variant: str) -> CrashLabel | None:
        return self.crash_map.get(variant)

    # Vocabularies.
    def vocabulary(self, name: str) -> Vocabulary:
        try:
            return self.vocabularies[name]
        except KeyError:
            known = ", ".join(sorted(self.vocabularies))
            raise DrumgateError(f"unknown vocabulary {name!r} (known: {known})", path=self.source) from None

    def to_vocabulary(self, vocabulary: str, class_id: str, techniques: Iterable[str] = ()) -> str | None:
        """The vocabulary label for a class (with its techniques), or None when it has none."""
        key = (vocabulary, class_id, tuple(techniques))
        if key in self._vocab_cache:
            return self._vocab_cache[key]
        vocab = self.vocabulary(vocabulary)
        lineage = self._ancestors.get(class_id, ())
        result = None
        for rule in vocab.rules:
            if not any(cid in rule.classes for cid in lineage):
                continue
            if rule.techniques_any and not set(rule.techniques_any).intersection(key[2]):
                continue
            result = rule.label
            break
        self._vocab_cache[key] = result
        return result


Parts = tuple[list[TaxonomyClass], list[Technique], list[Vocabulary], dict[str, CrashLabel]]


def _parts(raw: dict[str, Any], crash_raw: dict[str, Any]) -> Parts:
    classes = [
        TaxonomyClass(c["id"], c.get("parent"), c.get("name", c["id"]), tuple(c.get("aliases", [])))
        for c in raw["classes"]
    ]
    techniques = [
        Technique(t["id"], tuple(t["applies_to"]), t.get("name", t["id"]), tuple(t.get("aliases", [])))
        for t in raw["techniques"]
    ]
    vocabularies = [
        Vocabulary(
            name,
            body.get("description", ""),
            tuple(
                VocabularyRule(r["label"], tuple(r["classes"]), tuple(r.get("techniques_any", [])))
                for r in body["rules"]
            ),
        )
        for name, body in raw.get("vocabularies", {}).items()
    ]
    crash_map = {
        variant: CrashLabel(body["primary"], body["secondary"]) for variant, body in crash_raw["variants"].items()
    }
    return classes, techniques, vocabularies, crash_map


def document_problems(raw: dict[str, Any], crash_raw: dict[str, Any]) -> list[Problem]:
    """Every problem of schema-checked taxonomy and crash map documents (none: they load)."""
    classes, techniques, vocabularies, crash_map = _parts(raw, crash_raw)
    return structure_problems(classes, techniques, vocabularies, raw["crash_family"], crash_map)


def parse_taxonomy(raw: dict[str, Any], crash_raw: dict[str, Any], source: Path | None = None) -> Taxonomy:
    """The Taxonomy of schema-checked documents; the first problem is a DrumgateError."""
    classes, techniques, vocabularies, crash_map = _parts(raw, crash_raw)
    return Taxonomy(raw["version"], classes, techniques, vocabularies, raw["crash_family"], crash_map, source)


def load_taxonomy(ws: Workspace) -> Taxonomy:
    taxonomy_path = ws.configs / TAXONOMY_FILE
    raw = load_config_json(ws, TAXONOMY_FILE, "technique_taxonomy")
    crash_raw = load_config_json(ws, CRASH_FILE, "crash_dual_label")
    return parse_taxonomy(raw, crash_raw, taxonomy_path)
