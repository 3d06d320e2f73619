"""Artifact schemas (`configs/schemas/<name>.schema.json`, JSON Schema 2020-12) and fast validators.

Validation runs in two tiers. A compiled validator from jsonschema-rs (a Rust implementation of
2020-12, about fifty times the throughput of `jsonschema` on our event rows) checks each row; only
a row it rejects goes to the reference `jsonschema.Draft202012Validator`, which decides and names
the JSON path of each error. The reference is the authority: a row the fast path rejects but the
reference accepts is valid. jsonschema-rs was chosen over fastjsonschema because it implements
2020-12 itself (fastjsonschema stops at draft 7, which would need a lossy schema translation) and
because it is what the 1M-row hook target needs. `format` is an annotation in both tiers, and
neither tier inserts defaults: a check never modifies data. Many rows are checked in one call by
wrapping the row schema as `{"type": "array", "items": <schema>}` (its `$id` keeps its own `$ref`s
resolving inside it); a batch that fails is looked at row by row.

What no schema can say is checked beside both tiers (`EXACT_FIELDS`, by schema name): JSON Schema
takes 90.0 for the integer 90 (a number, not its spelling), but health keys its counts on a
velocity's exact type and refuses a float, so an events row's velocity is judged by health's own
rule (`health_counts.velocity_problem`) and the hook and health give one verdict.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drumgate.config import restore_configs_fix
from drumgate.errors import DrumgateError
from drumgate.io.jsonio import read_json
from drumgate.reports.health_counts import velocity_problem
from drumgate.workspace import Workspace


@dataclass(frozen=True)
class SchemaIssue:
    json_path: str
    message: str

    def __str__(self) -> str:
        return f"{self.json_path}: {self.message}"


def schema_path(ws: Workspace, name: str) -> Path:
    return ws.schemas / f"{name}.schema.json"


def load_schema(ws: Workspace, name: str) -> dict[str, Any]:
    path = schema_path(ws, name)
    if not path.is_file():
        raise DrumgateError(f"no schema named {name!r}", path=path, hint=restore_configs_fix(ws.root))
    schema = read_json(path)
    if not isinstance(schema, dict):
        raise DrumgateError("a schema must be a JSON object", path=path)
    return schema


def _json_path(parts: Iterable[Any]) -> str:
    text = "$"
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


# Per schema, fields whose value a rule of drumgate's judges beside the schema: None when it is good,
# else what is wrong. An events row's velocity is judged by health's rule (a float is refused).
EXACT_FIELDS: dict[str, dict[str, Callable[[Any], str | None]]] = {"events": {"velocity": velocity_problem}}
# Part of a hook's context for a part's verdict (`checks.check_schema.PartCheck`): a change to the
# rules above bumps it, so no part passed under the old rules is spared the new ones.
EXACT_FIELDS_VERSION = 1


class RowValidator:
    """Validate documents or rows against one schema: compiled fast path, reference for detail, and
    the schema's exact fields (`EXACT_FIELDS`) in both."""

    def __init__(self, name: str, schema: dict[str, Any], compile_fast: bool = True) -> None:
        self.name = name
        self.schema = schema
        self.exact = EXACT_FIELDS.get(name, {})
        self.fast: Callable[[Any], bool] | None = None
        self.fast_all: Callable[[list[Any]], bool] | None = None
        if compile_fast:
            import jsonschema_rs

            self.fast = jsonschema_rs.Draft202012Validator(schema, validate_formats=False).is_valid
            if "$id" in schema:
                array_schema = {"type": "array", "items": schema}
                self.fast_all = jsonschema_rs.Draft202012Validator(array_schema, validate_formats=False).is_valid
        self._reference: Any = None

    @property
    def reference(self) -> Any:
        if self._reference is None:
            import jsonschema

            self._reference = jsonschema.Draft202012Validator(self.schema)
        return self._reference

    def fast_accepts(self, row: Any) -> bool:
        return self.fast is not None and self.fast(row) and not self.exact_issues(row)

    def all_accepted(self, rows: list[Any]) -> bool:
        """True when every row is valid, in one call; False means "look row by row"."""
        if self.fast_all is None:
            return all(self.fast_accepts(row) for row in rows)
        if not self.fast_all(rows):
            return False
        return not any(any(map(rule, [row[name] for row in rows if type(row) is dict and name in row]))
                       for name, rule in self.exact.items())

    def exact_issues(self, row: Any) -> list[SchemaIssue]:
        """What the exact fields' rules find wrong with a row (a missing field is the schema's to say)."""
        if not self.exact or type(row) is not dict:
            return []
        found = ((name, rule(row[name])) for name, rule in self.exact.items() if name in row)
        return [SchemaIssue(f"$.{name}", problem) for name, problem in found if problem is not None]

    def reference_issues(self, row: Any) -> list[SchemaIssue]:
        """The reference's issues, then the exact fields' at a path where it found nothing wrong."""
        errors = sorted(self.reference.iter_errors(row), key=lambda e: [str(p) for p in e.absolute_path])
        issues = [SchemaIssue(_json_path(error.absolute_path), error.message) for error in errors]
        flagged = {issue.json_path for issue in issues}
        return issues + [issue for issue in self.exact_issues(row) if issue.json_path not in flagged]

    def issues(self, row: Any) -> list[SchemaIssue]:
        """Every schema error of one row (empty when valid)."""
        if self.fast_accepts(row):
            return []
        return self.reference_issues(row)


@functools.lru_cache(maxsize=32)
def _cached_validator(schema_file: str, mtime_ns: int, name: str) -> RowValidator:
    schema = read_json(schema_file)
    if not isinstance(schema, dict):
        raise DrumgateError("a schema must be a JSON object", path=schema_file)
    return RowValidator(name, schema)


def validator_for(ws: Workspace, name: str) -> RowValidator:
    path = schema_path(ws, name)
    if not path.is_file():
        raise DrumgateError(f"no schema named {name!r}", path=path, hint=restore_configs_fix(ws.root))
    return _cached_validator(str(path), path.stat().st_mtime_ns, name)


def schema_name_for(relative_path: str) -> str | None:
    """The schema an artifact path is checked against (events, sessions, ..., lock), or None."""
    from drumgate.artifacts import classify

    artifact = classify(relative_path)
    return artifact.schema if artifact else None
