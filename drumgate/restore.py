"""The way back for a file drumgate wrote when it is damaged or edited by hand: the command its
group's lock records for it, its committed version, its group's repro. Shared by the hooks and the
report commands' row errors, so both print the same fix."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from drumgate.errors import DAMAGED_HINTS, DrumgateError
from drumgate.io.parts.layout import INDEX_NAME

if TYPE_CHECKING:
    from drumgate.artifacts import Artifact
    from drumgate.workspace import Workspace


def recorded_command(ws: Workspace, group: str | None, relative_path: str) -> str | None:
    """The regenerate command the group's lock file records for an artifact, if any."""
    if group is None:
        return None
    lock = ws.lock_file(group)
    if not lock.is_file():
        return None
    import orjson

    try:
        data = orjson.loads(lock.read_bytes())
        return str(data["artifacts"][relative_path]["command"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None


def restore_fix(ws: Workspace, artifact: Artifact) -> str | None:
    """The way back for a file drumgate wrote: its committed version (when HEAD has it and the file
    differs from it: a file committed damaged is not restored by checking it out), or its group's
    repro, which runs every command of the group from the raw data up (when the group's lock records
    the file, a part by its folder's index: a lock records no command for itself, and repro refuses a
    damaged lock); None when neither applies."""
    from drumgate.git import restorable, restore_command

    ways = []
    if restorable(ws.root, artifact.path):
        ways.append(f"{restore_command(artifact.path, root=ws.root)} to restore it")
    recorded_as = artifact.path if artifact.folder is None else f"{artifact.folder}/{INDEX_NAME}"
    if recorded_command(ws, artifact.group, recorded_as):
        ways.append(f"drumgate repro {artifact.group} to write it again")
    return f"fix: {', or '.join(ways)}" if ways else None


def committed_as_recorded(ws: Workspace, group: str, relative_path: str) -> bytes | None:
    """HEAD's bytes of an artifact when they are exactly what the group's lock records for it (so
    writing them back restores what drumgate wrote), else None."""
    import hashlib

    from drumgate import lineage
    from drumgate.git import git_blob

    recorded = lineage.read_lock(ws, group)["artifacts"].get(relative_path, {}).get("sha256")
    committed = git_blob(["show", f"HEAD:./{relative_path}"], ws.root)
    if recorded is None or committed is None or hashlib.sha256(committed).hexdigest() != recorded:
        return None
    return committed


def lost_lock_fix(ws: Workspace, group: str) -> str:
    """The way back for a group's lock gone while its artifacts are there: the committed lock (when HEAD
    has it), or the commands that record it again, the ingest first (each command records its own entry)."""
    from drumgate.artifacts import registry
    from drumgate.git import restorable, restore_command

    lock = ws.rel(ws.lock_file(group))
    dataset = registry(ws).dataset_of_group().get(group)
    first = f"drumgate ingest {dataset}" if dataset else "drumgate combine"
    again = f"{first}, then drumgate repro {group}, then git add -A"
    restore = f"{restore_command(lock, root=ws.root)} to restore it, or " if restorable(ws.root, lock) else ""
    return f"fix: {restore}{again}"


def damaged_lock_fix(ws: Workspace, group: str) -> str:
    """The way back for a group's lock that does not read: its committed version when it differs from
    it, else the lock removed and recorded again as a lost one (`lost_lock_fix`)."""
    import shlex

    from drumgate.git import restorable, restore_command

    lock = ws.rel(ws.lock_file(group))
    if restorable(ws.root, lock):
        return f"fix: {restore_command(lock, root=ws.root)} to restore it"
    return f"fix: rm {shlex.quote(lock)}, then " + lost_lock_fix(ws, group).removeprefix("fix: ")


def with_way_back(error: DrumgateError) -> DrumgateError:
    """`error` with the way back (`restore_fix`) when it names, with no fix of its own, a file drumgate
    wrote in a data repository (a report or manifest that no longer reads as JSON, say): whichever
    command read it, the same fix. Other errors are returned as they are."""
    if error.path is None or (error.hint is not None and error.hint not in DAMAGED_HINTS):
        return error
    fix = _way_back_for(Path(error.path))
    if fix is not None:
        error.hint = fix
    return error


def _way_back_for(path: Path) -> str | None:
    from drumgate.artifacts import classify
    from drumgate.workspace import Workspace, holding_root

    try:
        root = holding_root(path.resolve())
        if root is None:
            return None
        ws = Workspace(root)
        artifact = classify(ws.rel(path.resolve()))
        return None if artifact is None else restore_fix(ws, artifact)
    except (OSError, ValueError, DrumgateError):  # the fix is a courtesy: the error is printed either way
        return None
