"""The fix part of a config that fails its schema: the line to add, or the committed file to restore.

Only the error path imports this module; `drumgate.config` is loaded by every command.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any


def _toml_value(value: Any) -> str:
    """A TOML literal for a schema's `const` (strings, numbers and booleans are what schemas pin)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, ensure_ascii=False)


def _missing_line(error: Any, document_path: Path) -> str | None:
    """`add version = 1 at its top level` for a required key whose schema pins one value."""
    if error.validator != "required" or not isinstance(error.instance, dict):
        return None
    properties = error.schema.get("properties", {})
    for name in error.validator_value:
        if name in error.instance:
            continue
        pinned = properties.get(name, {})
        if "const" not in pinned:
            return None
        value = pinned["const"]
        where = ".".join(str(part) for part in error.absolute_path)
        if document_path.suffix == ".toml":
            line = f"{name} = {_toml_value(value)}"
            place = f"in its [{where}] table" if where else "at its top, before the first [table]"
        else:
            line = f"{json.dumps(name)}: {json.dumps(value, ensure_ascii=False)}"
            place = f"to the object at {where}" if where else "to its top-level object"
        return f"add `{line}` {place}"
    return None


def committed_parses(document_path: Path) -> bool:
    """Whether git's HEAD holds this file, different from the one on disk, and it parses (TOML or JSON)."""
    return _committed_is_valid(document_path, None)


def _committed_is_valid(document_path: Path, schema: Any) -> bool:
    """Whether git's HEAD holds this file, different from the one on disk, and it passes the schema (or,
    with no schema, parses)."""
    import jsonschema_rs

    from drumgate.git import git_blob

    if not document_path.parent.is_dir():
        return False
    blob = git_blob(["show", f"HEAD:./{document_path.name}"], document_path.parent)
    if blob is None:
        return False
    try:
        if blob == document_path.read_bytes():
            return False
        text = blob.decode("utf-8")
        committed = tomllib.loads(text) if document_path.suffix == ".toml" else json.loads(text)
        return schema is None or bool(jsonschema_rs.Draft202012Validator(schema, validate_formats=False)
                                      .is_valid(committed))
    except (OSError, ValueError):  # unreadable now, or not TOML/JSON/UTF-8 at HEAD: no restore to offer
        return False


def restore_command(document_path: Path) -> str:
    """`git -C <folder> checkout HEAD -- <name>`: works as printed from any folder."""
    from drumgate.git import restore_command as restore_in

    return restore_in(document_path.name, root=document_path.parent)


def schema_fix(error: Any, schema: Any, schema_path: Path, document_path: Path) -> str:
    """The `fix: ...` for the first schema error of a config: what to add, or what to restore, or
    which schema to follow at the path the message names."""
    ways: list[str] = []
    missing = _missing_line(error, document_path)
    if missing:
        ways.append(missing)
    if _committed_is_valid(document_path, schema):
        ways.append(f"{restore_command(document_path)} to restore the committed one")
    if not ways:
        where = "/".join(str(part) for part in error.absolute_path) or "its top level"
        ways.append(f"change {where} to what configs/schemas/{schema_path.name} allows")
    return "fix: " + ", or ".join(ways)
