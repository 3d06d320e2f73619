"""Artifact schemas (`configs/schemas/<name>.schema.json`, JSON Schema 2020-12) and fast validators.

Validation runs in two tiers. A compiled fastjsonschema function checks each row (about forty
times the throughput of `jsonschema`); only a row it rejects goes to the reference
`jsonschema.Draft202012Validator`, which decides and names the JSON path of each error. The
reference is the authority: a row the fast path rejects but the reference accepts is valid.

Why a translation: fastjsonschema implements drafts 4, 6 and 7 (a 2019/2020 `$schema` gets the
draft-07 generator with two more formats). Our schemas are written for 2020-12, and the keywords
whose meaning changed would be silently misread, so the schema is translated, deliberately, to
its draft-07 equivalent before compiling:
- `$ref` with sibling keywords: draft 7 ignores the siblings, 2020-12 applies them -> `allOf`;
- `prefixItems` + `items` -> `items` (array) + `additionalItems`;
- `$defs` -> `definitions` (with the `$ref`s rewritten); `dependentRequired` and
  `dependentSchemas` -> `dependencies`;
- `format` is dropped: 2020-12 treats it as an annotation, and so does the reference here;
- defaults are never inserted (`use_default=False`): a check must not modify data.
A schema using a keyword with no draft-07 equivalent (`unevaluatedProperties`, `$dynamicRef`,
`minContains`, ...) is not compiled; it is validated by the reference alone.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drumgate.errors import DrumgateError
from drumgate.jsonio import read_json
from drumgate.workspace import Workspace

DRAFT07 = "http://json-schema.org/draft-07/schema#"
UNTRANSLATABLE = frozenset(
    {
        "unevaluatedProperties",
        "unevaluatedItems",
        "$dynamicRef",
        "$dynamicAnchor",
        "$recursiveRef",
        "$recursiveAnchor",
        "minContains",
        "maxContains",
        "$vocabulary",
    }
)
# Keywords whose value is a map of name -> subschema, and those holding a list of subschemas.
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_VALUES = ("items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames")


class UntranslatableSchemaError(ValueError):
    """The schema uses a 2020-12 keyword that draft 7 cannot express."""


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
        raise DrumgateError(f"no schema named {name!r}", path=path, hint="fix: restore configs/schemas from drumgate")
    schema = read_json(path)
    if not isinstance(schema, dict):
        raise DrumgateError("a schema must be a JSON object", path=path)
    return schema


def _rewrite_ref(ref: str) -> str:
    return ref.replace("#/$defs/", "#/definitions/")


def to_draft07(schema: Any) -> Any:
    """The draft-07 schema that accepts exactly what the given 2020-12 schema accepts."""
    if isinstance(schema, bool) or not isinstance(schema, dict):
        return schema
    used = UNTRANSLATABLE.intersection(schema)
    if used:
        raise UntranslatableSchemaError(", ".join(sorted(used)))
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "$schema" or key == "format":
            continue
        if key in _SCHEMA_MAPS:
            target = {"$defs": "definitions", "dependentSchemas": "dependencies"}.get(key, key)
            out.setdefault(target, {}).update({name: to_draft07(sub) for name, sub in value.items()})
        elif key == "dependentRequired":
            out.setdefault("dependencies", {}).update({name: list(req) for name, req in value.items()})
        elif key in _SCHEMA_LISTS and key != "prefixItems":
            out[key] = [to_draft07(sub) for sub in value]
        elif key in _SCHEMA_VALUES and key != "items":
            out[key] = to_draft07(value)
        elif key == "$ref":
            out[key] = _rewrite_ref(value)
        elif key not in ("items", "prefixItems"):
            out[key] = value
    if "prefixItems" in schema:
        out["items"] = [to_draft07(sub) for sub in schema["prefixItems"]]
        if "items" in schema:
            out["additionalItems"] = to_draft07(schema["items"])
    elif "items" in schema:
        out["items"] = to_draft07(schema["items"])
    if "$ref" in out and len(out) > 1:
        ref = out.pop("$ref")
        out = {"allOf": [{"$ref": ref}, out]}
        for keep in ("$id", "definitions", "title", "description"):
            if keep in out["allOf"][1]:
                out[keep] = out["allOf"][1].pop(keep)
    return out


def _json_path(parts: Iterable[Any]) -> str:
    text = "$"
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


class RowValidator:
    """Validate documents or rows against one schema: compiled fast path, reference for detail."""

    def __init__(self, name: str, schema: dict[str, Any], compile_fast: bool = True) -> None:
        self.name = name
        self.schema = schema
        self.fast: Callable[[Any], Any] | None = None
        self.fast_skipped_because: str | None = None
        if compile_fast:
            self._compile()
        self._reference: Any = None

    def _compile(self) -> None:
        import fastjsonschema

        try:
            translated = to_draft07(self.schema)
        except UntranslatableSchemaError as exc:
            self.fast_skipped_because = f"uses {exc}, which draft 7 cannot express"
            return
        translated["$schema"] = DRAFT07
        self._fast_error = fastjsonschema.JsonSchemaException
        self.fast = fastjsonschema.compile(translated, use_default=False, use_formats=False)

    @property
    def reference(self) -> Any:
        if self._reference is None:
            import jsonschema

            self._reference = jsonschema.Draft202012Validator(self.schema)
        return self._reference

    def fast_accepts(self, row: Any) -> bool:
        if self.fast is None:
            return False
        try:
            self.fast(row)
        except self._fast_error:
            return False
        return True

    def reference_issues(self, row: Any) -> list[SchemaIssue]:
        errors = sorted(self.reference.iter_errors(row), key=lambda e: [str(p) for p in e.absolute_path])
        return [SchemaIssue(_json_path(error.absolute_path), error.message) for error in errors]

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
        raise DrumgateError(f"no schema named {name!r}", path=path, hint="fix: restore configs/schemas from drumgate")
    return _cached_validator(str(path), path.stat().st_mtime_ns, name)


def schema_name_for(relative_path: str) -> str | None:
    """The schema an artifact path is checked against (events, sessions, ..., lock), or None."""
    from drumgate.artifacts import classify

    artifact = classify(relative_path)
    return artifact.schema if artifact else None
