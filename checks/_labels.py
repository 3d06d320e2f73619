"""The label combination of an events row, `(label, labels, techniques, variant)`: what the
taxonomy hook judges once per distinct value, and what the schema hook gathers for it while it
parses every row anyway (drumgate.io.scanmemo carries them from one hook process to the next)."""

from __future__ import annotations

import operator
from typing import Any

RowKey = tuple[Any, ...]


def _as_tuple(value: Any) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, list) else (value,)


def row_key(row: dict[str, Any]) -> RowKey:
    return (
        row.get("label"),
        _as_tuple(row.get("labels", [])),
        _as_tuple(row.get("techniques", [])),
        row.get("variant"),
    )


_LABEL = operator.itemgetter("label")
_LABELS = operator.itemgetter("labels")
_TECHNIQUES = operator.itemgetter("techniques")
_VARIANT = operator.methodcaller("get", "variant")


def label_keys(rows: list[dict[str, Any]], keys: set[RowKey], schema_valid: bool = False) -> set[RowKey] | None:
    """`keys` with every row's `row_key` added; None when a row holds something unhashable.

    This runs on every row of a big manifest: rows known valid against the events schema (label a
    string, labels and techniques lists of strings) go through C-level maps, others row by row.
    """
    try:
        if schema_valid:
            labels = map(tuple, map(_LABELS, rows))
            techniques = map(tuple, map(_TECHNIQUES, rows))
            keys.update(zip(map(_LABEL, rows), labels, techniques, map(_VARIANT, rows), strict=True))
        else:
            keys.update(map(row_key, rows))
    except TypeError:
        return None
    return keys
