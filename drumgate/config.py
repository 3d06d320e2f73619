"""Loading and validating `configs/`: every config file is checked before anything uses it."""

from __future__ import annotations

import itertools
import json
import math
import os
import re
import shlex
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from drumgate.errors import DrumgateError
from drumgate.io.jsonio import read_json
from drumgate.workspace import Workspace


@dataclass(frozen=True)
class StorageRoot:
    dataset: str
    tier: str
    configured_path: str
    env: str | None
    path: Path

    @property
    def online(self) -> bool:
        """A root whose folder is absent is offline (an unmounted drive), never 'deleted'."""
        return self.path.is_dir()

    def offline_note(self, outcome: str, kept: int) -> str:
        """The line a command prints for this root offline, `outcome` being what it did about it. When
        nothing of the tier was kept the library may simply not have that tier: the line then says how
        to drop it (or to point at the drive), since it would otherwise come back on every run."""
        where = ("is a file, not a folder" if self.path.is_file() else "is an empty folder" if self.path.is_dir()
                 else "not mounted")
        note = f"tier {self.tier} offline ({self.path} {where}): {outcome}"
        if kept:
            return f"{note} (fix: {self.point_at_it()})" if self.path.is_dir() else note
        drop = f"if the library has no {self.tier} tier delete its line in configs/datasets.toml"
        return f"{note} (fix: {self.point_at_it()}, or {drop})"

    @property
    def empty(self) -> bool:
        """A folder there that holds nothing: a mount point without its drive, or a tier not filled yet."""
        try:
            return self.path.is_dir() and next(os.scandir(self.path), None) is None
        except OSError:
            return False

    def point_at_it(self) -> str:
        """How to make this root's folder the one read: its variable set to the drive, or the drive mounted."""
        return f"set {self.env} to where the drive is mounted" if self.env else "mount the drive"


def unmounted_roots(roots: Sequence[StorageRoot]) -> list[StorageRoot]:
    """The empty roots beside roots that hold files: mount points without their drive (the tier's variable
    not set in this shell), which an ingest reads as offline. Read as they are, every committed session on
    them was dropped with no finding. When every root is empty, the refusal to empty a manifest guards it."""
    empty = [root for root in roots if root.empty]
    return empty if len(empty) < sum(root.online for root in roots) else []


@dataclass(frozen=True)
class DatasetConfig:
    name: str
    title: str
    group: str
    licence_note: str
    roots: tuple[StorageRoot, ...]
    gates: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)

    def root(self, tier: str) -> StorageRoot:
        for root in self.roots:
            if root.tier == tier:
                return root
        raise DrumgateError(f"dataset {self.name} has no storage tier {tier!r}")

    def with_first_root(self, path: Path) -> DatasetConfig:
        """This config with `path` standing in for the first storage tier (a `--root DIR`)."""
        return replace(self, roots=(replace(self.roots[0], path=path), *self.roots[1:]))


@dataclass(frozen=True)
class DatasetsConfig:
    path: Path
    datasets: dict[str, DatasetConfig]
    combined: dict[str, Any]

    def get(self, name: str) -> DatasetConfig:
        try:
            return self.datasets[name]
        except KeyError:
            from drumgate.workspace import packaged_datasets

            known = ", ".join(sorted(self.datasets))
            # one drumgate ships configs for: `drumgate init` adds it to this repository
            root = self.path.parent.parent
            hint = (f"fix: drumgate init {shlex.quote(str(root))} --datasets {name} to add it"
                    if name in packaged_datasets() else f"fix: name one of {known}" if known else None)
            raise DrumgateError(f"unknown dataset {name!r} (known: {known})", path=self.path, hint=hint) from None


DATASET_ID = re.compile(r"[a-z][a-z0-9_]{0,39}")


def load_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise DrumgateError("config file not found", path=path) from exc
    except UnicodeDecodeError as exc:
        raise DrumgateError("not valid UTF-8", path=path) from exc
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        line = None
        if "(at line " in message:
            try:
                line = int(message.split("(at line ")[1].split(",")[0])
            except ValueError:
                line = None
            message = message.split(" (at line ")[0]
        raise DrumgateError(f"invalid TOML: {message}", path=path, line=line,
                            hint=edit_or_restore_hint(path, line)) from exc


def edit_or_restore_hint(path: Path, line: int | None = None) -> str:
    """Edit the file where it is wrong, or `git -C <folder> checkout HEAD -- <name>` (works as printed
    from any folder) when HEAD holds a committed version that parses (a new repository has none)."""
    from drumgate.config_fixes import committed_parses, restore_command  # only the error path pays for it

    ways = [f"edit line {line}" if line else f"edit {path.name}"]
    if committed_parses(path):
        ways.append(f"{restore_command(path)} to restore the committed one")
    return "fix: " + ", or ".join(ways)


def restore_configs_fix(root: Path) -> str:
    """`drumgate init` writes back a config or schema that is missing and keeps every file there."""
    return f"fix: drumgate init {shlex.quote(str(root))}"


def _read_config(path: Path) -> Any:
    """A JSON config or schema under a workspace's `configs/`; a missing one is restored by init."""
    try:
        return read_json(path)
    except DrumgateError as err:
        if path.parent.name in ("configs", "schemas") and (err.hint is None or not path.exists()):
            root = path.parent.parent if path.parent.name == "configs" else path.parent.parent.parent
            err.hint = edit_or_restore_hint(path, err.line) if path.exists() else restore_configs_fix(root)
        raise


def load_config_json(ws: Workspace, name: str, schema: str) -> Any:
    """`configs/<name>`, checked against `configs/schemas/<schema>.schema.json`."""
    path = ws.configs / name
    raw = _read_config(path)
    validate_against_schema(raw, ws.schemas / f"{schema}.schema.json", path)
    return raw


def validate_against_schema(document: Any, schema_path: Path, document_path: Path) -> None:
    """Raise on the first schema error, naming the JSON path inside the document."""
    import jsonschema_rs  # imported here: every CLI start loads this module, few validate configs

    schema = _read_config(schema_path)
    fast = jsonschema_rs.Draft202012Validator(schema, validate_formats=False)
    fast_valid = fast.is_valid(document)
    if fast_valid and not _integer_written_as_float(fast, document):
        return
    import jsonschema  # the reference names the path of the error; it takes 50 ms to import, a hook's budget

    # JSON Schema counts 64.0 as an integer (so does the Rust validator); a setting the code uses as a count
    # or a size would then crash, so a config's "integer" takes only a number written without a fraction
    strict_types = jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _checker, value: isinstance(value, int) and not isinstance(value, bool))
    validator = jsonschema.validators.extend(jsonschema.Draft202012Validator, type_checker=strict_types)(schema)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    if fast_valid and not errors:  # a whole float where the schema allows any number
        return
    if not errors and (where := _non_finite(document)) is not None:  # Python's jsonschema lets NaN pass
        raise DrumgateError(f"{where}: not a finite number", path=document_path,
                            hint=f"fix: give {where} a number (nan and inf are none)")
    if not errors:  # Python's `$` lets a trailing newline match where the Rust validator does not
        raise DrumgateError(f"does not match {schema_path.name} (a name or value ends in a line break)",
                            path=document_path, hint="fix: remove the line break at the end of that name or value")
    first = errors[0]
    where = "/".join(str(part) for part in first.absolute_path) or "(top level)"
    from drumgate.config_fixes import schema_fix

    line = toml_line(document_path, list(first.absolute_path)) if document_path.suffix == ".toml" else None
    raise DrumgateError(f"{where}: {first.message}", path=document_path, line=line,
                        hint=schema_fix(first, schema, schema_path, document_path))


def toml_line(path: Path, where: list[Any]) -> int | None:
    """The line of the value at `where` (a JSON path into the parsed TOML) or of the nearest key above it
    (`datasets/cambridge/gates/min_sessions` is `min_sessions = ...` under `[datasets.cambridge.gates]`, or
    `gates = { min_sessions = ... }` under `[datasets.cambridge]`): for the message only."""
    keys = [str(part) for part in itertools.takewhile(lambda part: isinstance(part, str), where)]
    for depth in range(len(keys) - 1, 0, -1):
        line = line_of(path, ".".join(keys[:depth]), keys[depth])
        if line is not None:
            return line
    return None


def _integer_written_as_float(validator: Any, document: Any) -> bool:
    """Whether the schema asks for an integer where the document holds a float with no fraction (64.0,
    which JSON Schema takes for 64): each such float is given a fraction, and the Rust validator is
    asked for a type error at one of their places (a bound the fraction crosses is no finding)."""
    places: set[tuple[Any, ...]] = set()

    def nudged(value: Any, where: tuple[Any, ...]) -> Any:
        if isinstance(value, float) and value.is_integer():
            places.add(where)
            return value + 0.5
        if isinstance(value, dict):
            return {key: nudged(item, (*where, key)) for key, item in value.items()}
        if isinstance(value, list):
            return [nudged(item, (*where, index)) for index, item in enumerate(value)]
        return value

    probe = nudged(document, ())
    return bool(places) and any(type(error.kind).__name__ == "Type" and tuple(error.instance_path) in places
                                for error in validator.iter_errors(probe))


def _non_finite(document: Any, where: str = "") -> str | None:
    """The path of the first NaN or infinity in a loaded document."""
    if isinstance(document, float) and not math.isfinite(document):
        return where or "(top level)"
    items = document.items() if isinstance(document, dict) else enumerate(document) if isinstance(document, list) \
        else ()
    for key, value in items:
        found = _non_finite(value, f"{where}/{key}" if where else str(key))
        if found is not None:
            return found
    return None


def line_of(path: Path, table: str, name: str) -> int | None:
    """The line of `name = ...` (or `name.x = ...`, the name quoted or bare) inside `[table]` of a TOML
    file, comments skipped: for the message only."""
    inside = False
    key = "|".join(re.escape(form) for form in (name, f'"{name}"', f"'{name}'"))
    pattern = re.compile(rf"(^|[{{,\s])(?:{key})\s*[=.]")
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        code = line.strip()
        if code.startswith("#"):
            continue
        header = re.match(r"\[([^\[\]]+)\]\s*(#.*)?$", code)
        if header:
            inside = re.sub(r"\s*\.\s*", ".", header.group(1).strip()).replace('"', "") == table
        elif code.startswith("["):
            inside = False
        elif inside and pattern.search(code):
            return number
    return None


def _check_settings(path: Path, datasets: dict[str, DatasetConfig], combined: dict[str, Any]) -> None:
    """What the schema cannot say: split bounds low to high, mix shares of datasets that exist."""
    for name, config in datasets.items():
        for split, bounds in dict(config.gates.get("split_bounds", {})).items():
            if bounds[0] > bounds[1]:
                raise DrumgateError(f"datasets.{name}.gates.split_bounds.{split}: {bounds[0]} is above {bounds[1]}:"
                                    " no share can pass", path=path,
                                    line=line_of(path, f"datasets.{name}.gates", "split_bounds"),
                                    hint=f"fix: write it low to high, {split} = [{bounds[1]}, {bounds[0]}]")
    for name in dict(combined.get("mix", {})):
        if name not in datasets:
            raise DrumgateError(f"combined.mix names {name!r}, which is not a dataset here", path=path,
                                line=line_of(path, "combined", "mix"),
                                hint=f"fix: delete {name} from mix under [combined], or add a [datasets.{name}] table")


def _expand(ws: Workspace, configured: str) -> Path:
    return ws.path(os.path.expanduser(configured))


def _toml_key(name: str) -> str:
    """A table name as TOML spells it: bare when it can be, else quoted."""
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name, ensure_ascii=False)

def _check_combined_group(path: Path, raw: dict[str, Any]) -> None:
    """`[combined] group` may only be the fixed name (or be left out): the combined artifacts, the
    licence and lock checks, the workflows and the docs are named `prod_combined`, so another value only
    moved the lock, and repro retired the old one with its history. Checked before the schema, whose
    copy in an older workspace may not pin it."""
    from drumgate.artifacts import COMBINED

    table = raw.get("combined")
    group = table.get("group") if isinstance(table, dict) else None
    if not isinstance(group, str) or group == COMBINED:
        return
    raise DrumgateError(f"combined.group: the combined group is always {json.dumps(COMBINED)}, not"
                        f" {json.dumps(group)} (its artifacts, lock, licence checks and workflows are named after it)",
                        path=path, line=line_of(path, "combined", "group"),
                        hint=f'fix: set group = "{COMBINED}" under [combined], or delete that line')


def load_datasets(ws: Workspace) -> DatasetsConfig:
    path = ws.configs / "datasets.toml"
    raw = load_toml(path)
    _check_combined_group(path, raw)
    validate_against_schema(raw, ws.schemas / "datasets_config.schema.json", path)
    datasets: dict[str, DatasetConfig] = {}
    for name, entry in raw["datasets"].items():
        if not DATASET_ID.fullmatch(name):  # a workspace's older schema may not say so: ids name files
            meant = re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_")
            meant = (meant if meant[:1].isalpha() else f"d_{meant}")[:40].rstrip("_")
            raise DrumgateError(f"datasets.{name!r}: a dataset id is lowercase letters, digits and _"
                                " (it names files and folders)", path=path,
                                hint=f"fix: rename the table [datasets.{_toml_key(name)}] to [datasets.{meant}]")
        roots = []
        tiers: set[str] = set()
        for item in entry["roots"]:
            if item["tier"] in tiers:
                tier = json.dumps(item["tier"])
                raise DrumgateError(f"datasets.{name}: storage tier {item['tier']!r} listed twice", path=path,
                                    hint=f"fix: delete one of the datasets.{name} roots with tier = {tier},"
                                         " or give it a tier of its own")
            tiers.add(item["tier"])
            env = item.get("env")
            configured = os.environ.get(env) if env and os.environ.get(env) else item["path"]
            roots.append(StorageRoot(name, item["tier"], item["path"], env, _expand(ws, configured)))
        options = {k: v for k, v in entry.items() if k not in {"title", "group", "licence_note", "roots", "gates"}}
        datasets[name] = DatasetConfig(
            name=name,
            title=entry.get("title", name),
            group=entry.get("group", name),
            licence_note=entry["licence_note"],
            roots=tuple(roots),
            gates=dict(entry.get("gates", {})),
            options=options,
        )
    combined = dict(raw.get("combined", {}))
    _check_settings(path, datasets, combined)
    return DatasetsConfig(path=path, datasets=datasets, combined=combined)
