"""Health stage two: the counted (label, techniques) pairs resolved against the taxonomy.

Each distinct pair is resolved once (`resolve_pair`); its events then count towards its class,
the class's ancestors, its techniques and, with a vocabulary, the vocabulary's label. A label the
taxonomy does not know is an unknown label, counted by its own name.
"""

from __future__ import annotations

from dataclasses import dataclass

from drumgate.reports.health_counts import EventCounts, add_count
from drumgate.taxonomy import Taxonomy

UNMAPPED_VOCABULARY_LABEL = "unmapped"


@dataclass
class LabelSummary:
    classes: dict[str, int]
    classes_inclusive: dict[str, int]
    techniques: dict[str, int]
    label_sources: dict[str, int]
    unknown_labels: dict[str, int]
    unknown_techniques: dict[str, int]
    vocabulary_classes: dict[str, int] | None
    unknown_label_events: int


@dataclass(frozen=True)
class Resolution:
    """What the taxonomy says about one (label, techniques) pair, worked out once per pair."""

    class_id: str | None
    ancestors: tuple[str, ...]
    techniques: tuple[str, ...]
    unknown_techniques: tuple[str, ...]
    vocabulary_label: str | None


def resolve_pair(taxonomy: Taxonomy, vocabulary: str | None, label: str, raw: tuple[str, ...]) -> Resolution:
    resolved = [(name, taxonomy.resolve_technique(name)) for name in raw]
    techniques = tuple(tid for _, tid in resolved if tid is not None)
    unknown = tuple(name for name, tid in resolved if tid is None)
    class_id = taxonomy.resolve_class(label)
    if class_id is None:
        return Resolution(None, (), techniques, unknown, None)
    target = None
    if vocabulary:
        target = taxonomy.to_vocabulary(vocabulary, class_id, tuple(sorted(set(techniques))))
        target = target or UNMAPPED_VOCABULARY_LABEL
    return Resolution(class_id, tuple(taxonomy.ancestors(class_id)), techniques, unknown, target)


def summarise_labels(counts: EventCounts, taxonomy: Taxonomy, vocabulary: str | None) -> LabelSummary:
    if vocabulary:
        taxonomy.vocabulary(vocabulary)
    sources: dict[str, int] = {}
    pairs: dict[tuple[str, tuple[str, ...]], int] = {}
    for (label, raw_techniques, source, _), n in counts.labels.items():
        add_count(sources, source, n)
        pairs[(label, raw_techniques)] = pairs.get((label, raw_techniques), 0) + n
    summary = LabelSummary({}, {}, {}, sources, {}, {}, {} if vocabulary else None, 0)
    for (label, raw_techniques), n in pairs.items():
        _add_resolution(summary, label, resolve_pair(taxonomy, vocabulary, label, raw_techniques), n)
    return summary


def _add_resolution(summary: LabelSummary, label: str, found: Resolution, n: int) -> None:
    for name in found.unknown_techniques:
        add_count(summary.unknown_techniques, name, n)
    for tid in found.techniques:
        add_count(summary.techniques, tid, n)
    if found.class_id is None:
        summary.unknown_label_events += n
        add_count(summary.unknown_labels, label, n)
        return
    add_count(summary.classes, found.class_id, n)
    for ancestor in found.ancestors:
        add_count(summary.classes_inclusive, ancestor, n)
    if summary.vocabulary_classes is not None and found.vocabulary_label is not None:
        add_count(summary.vocabulary_classes, found.vocabulary_label, n)
