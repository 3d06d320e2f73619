"""The technique taxonomy (DESIGN §6): classes with parents, techniques with the classes they
apply to, aliases, the crash dual-label map and named training vocabularies."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drumgate.config import load_config_json
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
        self.classes = {c.id: c for c in classes}
        self.techniques = {t.id: t for t in techniques}
        self.vocabularies = {v.name: v for v in vocabularies}
        self.crash_family = crash_family
        self.crash_map = crash_map
        self._class_alias = self._alias_table(classes, "class")
        self._technique_alias = self._alias_table(techniques, "technique")
        self._check()
        self._ancestors = {cid: self._walk_up(cid) for cid in self.classes}
        self._vocab_cache: dict[tuple[str, str, tuple[str, ...]], str | None] = {}

    def _fail(self, message: str) -> DrumgateError:
        return DrumgateError(message, path=self.source)

    def _alias_table(self, items: Sequence[TaxonomyClass] | Sequence[Technique], kind: str) -> dict[str, str]:
        table: dict[str, str] = {}
        for item in items:
            for name in (item.id, *item.aliases):
                key = _norm(name)
                if key in table and table[key] != item.id:
                    raise self._fail(f"{kind} alias {name!r} names both {table[key]!r} and {item.id!r}")
                table[key] = item.id
        return table

    def _walk_up(self, class_id: str) -> tuple[str, ...]:
        chain = [class_id]
        seen = {class_id}
        parent = self.classes[class_id].parent
        while parent is not None:
            if parent in seen:
                raise self._fail(f"class parents form a cycle through {parent!r}")
            seen.add(parent)
            chain.append(parent)
            parent = self.classes[parent].parent
        return tuple(chain)

    def _check(self) -> None:
        for cls in self.classes.values():
            if cls.parent is not None and cls.parent not in self.classes:
                raise self._fail(f"class {cls.id!r} has unknown parent {cls.parent!r}")
        for cid in self.classes:
            self._walk_up(cid)
        for tech in self.techniques.values():
            for cid in tech.applies_to:
                if cid not in self.classes:
                    raise self._fail(f"technique {tech.id!r} applies to unknown class {cid!r}")
        if self.crash_family not in self.classes:
            raise self._fail(f"crash_family {self.crash_family!r} is not a class")
        for vocab in self.vocabularies.values():
            for rule in vocab.rules:
                for cid in rule.classes:
                    if cid not in self.classes:
                        raise self._fail(f"vocabulary {vocab.name!r} maps unknown class {cid!r}")
                for tid in rule.techniques_any:
                    if tid not in self.techniques:
                        raise self._fail(f"vocabulary {vocab.name!r} uses unknown technique {tid!r}")
        for variant, label in self.crash_map.items():
            for cid in (label.primary, label.secondary):
                if cid not in self.classes:
                    raise DrumgateError(f"crash variant {variant!r} maps to unknown class {cid!r}")

    # Names.
    def resolve_class(self, name: str) -> str | None:
        return self._class_alias.get(_norm(name))

    def resolve_technique(self, name: str) -> str | None:
        return self._technique_alias.get(_norm(name))

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


def _parse(raw: dict[str, Any], crash_raw: dict[str, Any], source: Path) -> Taxonomy:
    classes = [
        TaxonomyClass(c["id"], c.get("parent"), c.get("name", c["id"]), tuple(c.get("aliases", [])))
        for c in raw["classes"]
    ]
    techniques = [
        Technique(t["id"], tuple(t["applies_to"]), t.get("name", t["id"]), tuple(t.get("aliases", [])))
        for t in raw["techniques"]
    ]
    for kind, items in (("class", classes), ("technique", techniques)):
        seen: set[str] = set()
        for item in items:
            if item.id in seen:
                raise DrumgateError(f"duplicate {kind} id {item.id!r}", path=source)
            seen.add(item.id)
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
    return Taxonomy(raw["version"], classes, techniques, vocabularies, raw["crash_family"], crash_map, source)


def load_taxonomy(ws: Workspace) -> Taxonomy:
    taxonomy_path = ws.configs / "technique_taxonomy.json"
    crash_path = ws.configs / "crash_dual_label.json"
    raw = load_config_json(ws, taxonomy_path.name, "technique_taxonomy")
    crash_raw = load_config_json(ws, crash_path.name, "crash_dual_label")
    try:
        return _parse(raw, crash_raw, taxonomy_path)
    except DrumgateError as err:
        if err.path is None:
            err.path = crash_path
        raise
