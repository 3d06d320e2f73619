"""Lineage (DESIGN §4): one lock file per artifact group, `data/locks/<group>.lock.json`.

For every generated artifact the lock records its own sha256, the command that regenerates it,
the sha256 of each workspace input it was computed from (configs, upstream manifests), and a
fingerprint of inputs outside git (raw audio/MIDI roots). The freshness hook recomputes these:
an artifact whose hash differs was edited by hand; an input whose hash differs makes it stale.
JSONL manifests cannot carry an `inputs` block, so the lock file is used everywhere.
`configs/datasets.toml`, licence notes and the technique taxonomy are fingerprinted by the part the group
reads (`config_parts`).
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drumgate import __version__
from drumgate.artifacts import LOCKS_DIR, dated_name
from drumgate.errors import DrumgateError
from drumgate.io.hashing import sha256_bytes, sha256_file
from drumgate.io.jsonio import check_schema, read_json, write_json
from drumgate.lineage import config_parts, found_inputs, grouplock
from drumgate.workspace import Workspace

LOCK_SCHEMA_VERSION = 1


def command_string(argv: Iterable[str]) -> str:
    """The regenerate command as a user would type it."""
    return shlex.join(["drumgate", *argv])


def lock_groups(ws: Workspace) -> list[str]:
    """The groups that have a lock file in `data/locks/` (sorted)."""
    folder = ws.root / LOCKS_DIR
    if not folder.is_dir():
        return []
    return sorted(path.name.removesuffix(".lock.json") for path in folder.glob("*.lock.json"))


def read_lock(ws: Workspace, group: str, drop_outside: bool = False) -> dict[str, Any]:
    """The group's lock. Entries naming a file outside the workspace (older drumgate versions
    recorded scratch runs) are refused, or dropped when `drop_outside` (the writers and repro)."""
    path = ws.lock_file(group)
    if not path.exists():
        return {"schema_version": LOCK_SCHEMA_VERSION, "group": group, "artifacts": {}}
    from drumgate.restore import damaged_lock_fix  # git is asked only when the lock does not read

    try:
        data = read_json(path)
        if not isinstance(data, dict) or data.get("schema_version") != LOCK_SCHEMA_VERSION:
            raise DrumgateError("unsupported lock file", path=path)
        check_schema(data, "lock", path)
    except DrumgateError as err:  # damaged by hand or by a merge: the committed lock is the way back
        err.hint = err.hint or damaged_lock_fix(ws, group)
        raise
    outside = [key for key in data.get("artifacts", {}) if not ws.contains(key)]
    if outside and not drop_outside:
        raise DrumgateError(
            f"names {outside[0]}, outside the workspace (recorded by an older drumgate)",
            path=ws.rel(path),
            hint=f"fix: drumgate repro {group}",
        )
    for key in outside:
        del data["artifacts"][key]
    return data


def fingerprint(path: Path, memo: Path | None = None) -> str:
    """sha256 of a file; of a partitioned manifest folder, its index.json's (which pins every part).
    With `memo` (a `drumgate.io.statcache` file), a file whose stat is unchanged is not read again."""
    from drumgate.io import parts

    source = parts.resolve(path)
    target = parts.lock_path(source)
    if memo is None:
        return sha256_file(target)
    from drumgate.io.statcache import remembered_sha256

    return remembered_sha256(target, memo)


def forget(ws: Workspace, group: str, artifacts: Iterable[str | Path], briefly: bool = False) -> None:
    """Drop lock entries of artifacts a command replaced by another form (a single file by its folder).
    `briefly`: the group's lock is let go after, even inside a command (`grouplock.briefly`)."""
    keys = {ws.rel(artifact) for artifact in artifacts}
    with (grouplock.briefly if briefly else grouplock.holding)(ws, group):
        lock = read_lock(ws, group, drop_outside=True)
        if keys & set(lock["artifacts"]):
            lock["artifacts"] = {k: v for k, v in lock["artifacts"].items() if k not in keys}
            write_json(ws.lock_file(group), lock)


def record(
    ws: Workspace,
    group: str,
    artifact: str | Path,
    argv: Iterable[str],
    inputs: Iterable[str | Path] = (),
    external_inputs: Mapping[str, str] | None = None,
) -> None:
    """Record how `artifact` (already written) was made. Paths are stored workspace-relative.

    An artifact outside the workspace (a scratch run) is not recorded: the lock is committed and
    must only name files the repository holds. Inputs outside it are kept as sha256 fingerprints.
    """
    record_all(ws, group, [artifact], argv, inputs, external_inputs)


def record_all(
    ws: Workspace,
    group: str,
    artifacts: Sequence[str | Path],
    argv: Iterable[str],
    inputs: Iterable[str | Path] = (),
    external_inputs: Mapping[str, str] | None = None,
    known: Mapping[Path, str] | None = None,
) -> None:
    """`record` for several artifacts one command made from the same inputs: each input is hashed
    once (a health report's JSON and HTML read the same 687 MB events file) and the lock written once.
    `known` holds fingerprints the command already took (`fingerprint`), by absolute path."""
    inside = []
    for artifact in artifacts:
        if ws.contains(artifact):
            inside.append(artifact)
        else:
            print(f"note: {ws.path(artifact)} is outside the workspace {ws.root}: not recorded in its lineage",
                  file=sys.stderr)
    if not inside:
        return
    tracked: dict[str, str] = {}
    parted: dict[str, list[str]] = {}
    outside = dict(external_inputs or {})
    for source in inputs:
        path = ws.path(source)
        read = config_parts.input_parts(ws.rel(source), path, group) if ws.contains(source) else None
        digest = config_parts.parts_digest(path, read) if read else None
        if read and digest is not None:
            tracked[ws.rel(source)] = digest
            parted[ws.rel(source)] = read
            continue
        digest = (known or {}).get(path) or fingerprint(path)
        if ws.contains(source):
            tracked[ws.rel(source)] = digest
        else:
            outside[Path(source).name] = f"sha256:{digest}"
    entries = {}
    for artifact in inside:
        entry: dict[str, Any] = {
            "sha256": sha256_file(ws.path(artifact)),
            "command": command_string(argv),
            "inputs": dict(tracked),
            "tool_version": __version__,
        }
        if parted:
            entry["input_parts"] = dict(parted)
        if outside:
            entry["external_inputs"] = dict(sorted(outside.items()))
        entries[ws.rel(artifact)] = entry
    lock_path = ws.lock_file(group)
    with grouplock.holding(ws, group):
        lock = read_lock(ws, group, drop_outside=True)
        lock["artifacts"].update(entries)
        lock["artifacts"] = dict(sorted(lock["artifacts"].items()))
        write_json(lock_path, lock)


@dataclass(frozen=True)
class LineageProblem:
    artifact: str
    message: str
    command: str


HAND_EDITED = "differs from what its command wrote"  # how a problem says its artifact was edited
MISSING = "recorded in the lock but missing"
NEW_INPUT = "was not read when it was made"  # a file its command reads now that the lock does not list


def superseded(artifacts: Iterable[str]) -> set[str]:
    """Dated artifacts with a newer dated sibling of the same name, of any extension: kept as
    baselines (history). A report's page goes with its JSON: yesterday's dated page is history once
    today's report exists, even when today's page was written to a path of its own."""
    newest: dict[str, str] = {}
    dated: list[tuple[str, str, str]] = []
    for artifact in artifacts:
        found = dated_name(artifact)
        if found:
            (stem, _), date = found
            dated.append((artifact, stem, date))
            newest[stem] = max(newest.get(stem, ""), date)
    return {artifact for artifact, stem, date in dated if date < newest[stem]}


def check(ws: Workspace, group: str) -> list[LineageProblem]:
    """Every recorded artifact must still hash as recorded and so must each of its inputs; a command
    that finds its inputs itself (`found_inputs`) must find no more than it recorded.

    Superseded dated reports are history: a hand edit is still caught, stale inputs are not.
    """
    from drumgate.io import parts

    problems: list[LineageProblem] = []
    lock = read_lock(ws, group)
    history = superseded(lock["artifacts"])
    digests: dict[tuple[Path, tuple[str, ...]], str] = {}
    found: dict[str, list[str]] = {}

    def digest(path: Path, parts: Sequence[str] = ()) -> str:
        """The file's sha256, or of the named tables when the lock recorded it by `parts`."""
        key = (path, tuple(parts))
        if key not in digests:
            found = config_parts.parts_digest(path, parts) if parts else None
            digests[key] = found or fingerprint(path)
        return digests[key]

    for artifact, entry in lock["artifacts"].items():
        path = ws.path(artifact)
        command = entry["command"]
        if not path.exists() and not parts.is_partitioned(path):
            problems.append(LineageProblem(artifact, MISSING, command))
            continue
        if digest(path) != entry["sha256"]:
            problems.append(LineageProblem(artifact, f"{HAND_EDITED} (edited by hand?)", command))
        elif path.name == parts.INDEX_NAME and parts.is_partitioned(path.parent):
            problems.extend(LineageProblem(ws.rel(err.path or path), err.message, command)
                            for err in parts.problems(path.parent))
        if artifact in history:
            continue
        read_parts = entry.get("input_parts", {})
        for source, recorded in entry["inputs"].items():
            source_path = ws.path(source)
            if not source_path.exists() and not parts.is_partitioned(source_path):  # a manifest's folder form
                problems.append(LineageProblem(artifact, f"input {source} is gone", command))
            elif digest(source_path, read_parts.get(source, ())) != recorded:
                changed = config_parts.named(source, read_parts.get(source, ()))
                problems.append(LineageProblem(artifact, f"stale: input {changed} changed since it was made", command))
        problems.extend(LineageProblem(artifact, f"stale: input {source} {NEW_INPUT}", command)
                        for source in found_inputs.new_inputs(ws, command, entry["inputs"], found))
    return problems


def external_fingerprint(provenance_rows: Iterable[Mapping[str, Any]], offline: Sequence[str]) -> dict[str, str]:
    """A fingerprint of the raw files read (path and sha256 of every source), for the lock."""
    lines = sorted(f"{src.get('path')} {src.get('sha256')}" for row in provenance_rows for src in row["source_files"])
    lines += [f"offline {tier}" for tier in offline]
    return {"raw_sources": sha256_bytes("\n".join(lines).encode("utf-8"))}
