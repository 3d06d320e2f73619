"""Groups whose lock and config disagree: one `configs/datasets.toml` no longer has (`drumgate repro`
retires its lock and artifacts), and a dataset group whose lock is lost (`lost_locks`).

Deleting a dataset's table leaves its lock (`data/locks/<group>.lock.json`) and every artifact it
records. The freshness hook finds them stale and prints `drumgate repro <group> ...`, which refused
the group it no longer knew, so the commit could not be finished by its own fix. repro now retires
such a group (asked for by name, or when it brings every group up to date): it deletes the artifacts
the lock records (a partitioned manifest's folder whole), then the lock, and the compares other
groups made of its reports (they name them, so they cannot be made again), and says what went;
`git add -A` commits the removal, and git's history keeps every file.

A lock whose artifacts belong to a dataset the config still has, under another group now (a dataset
moved between groups), is not retired: its commands would remake the artifacts under a group that
no longer records them. That is a finding whose fix undoes the config change.

A config with nothing to combine (`retire_combined`) retires what `combine` wrote the same way; the
combined group itself stays, as its docs and compares are of every dataset.
"""

from __future__ import annotations

import shlex
import shutil
from collections.abc import Sequence

from drumgate import lineage
from drumgate.artifacts import events_manifest, registry, sessions_manifest
from drumgate.config import load_datasets
from drumgate.errors import DrumgateError
from drumgate.io import parts
from drumgate.lineage.moved import refuse_moved
from drumgate.reports.combined import mixed_datasets
from drumgate.workspace import Workspace

CONFIG = "configs/datasets.toml"
DIFFS = "reports/diffs/"


def _delete(ws: Workspace, names: Sequence[str], dry_run: bool) -> list[str]:
    """Delete recorded artifacts that are there (a partitioned manifest's folder whole); the paths."""
    going = []
    for name in names:
        path = ws.path(name)
        folder = path.parent if path.name == parts.INDEX_NAME and parts.is_partitioned(path.parent) else None
        if folder is not None:
            going.append(ws.rel(folder))
            if not dry_run:
                shutil.rmtree(folder)
        elif path.is_file():
            going.append(name)
            if not dry_run:
                path.unlink()
    return going


def _compares_of(ws: Workspace, reports: set[str], retired: str | None) -> dict[str, list[str]]:
    """Diffs and compares (of any group but `retired`) that read one of `reports`: named by their command,
    they cannot be made again once those reports are gone (group -> artifacts)."""
    found: dict[str, list[str]] = {}
    for group in lineage.lock_groups(ws):
        if group == retired:
            continue
        artifacts = lineage.read_lock(ws, group, drop_outside=True)["artifacts"]
        readers = [name for name, entry in artifacts.items()
                   if name.startswith(DIFFS) and reports.intersection(entry.get("inputs", {}))]
        if readers:
            found[group] = readers
    return found


def retire(ws: Workspace, group: str, dry_run: bool) -> list[str]:
    """Delete what the group's lock records, then the lock, and the compares of other groups that read
    its reports (their lock entries too); nothing with `dry_run`. The paths that go."""
    refuse_moved(ws, group)
    lock = ws.lock_file(group)
    recorded = list(lineage.read_lock(ws, group, drop_outside=True)["artifacts"])
    compares = _compares_of(ws, {name for name in recorded if name.startswith("reports/")}, group)
    going = _delete(ws, recorded, dry_run)
    for reader_group, readers in compares.items():
        going += _delete(ws, readers, dry_run)
        if not dry_run:
            lineage.forget(ws, reader_group, readers, briefly=True)  # its steps take the group next
    going.append(ws.rel(lock))
    if not dry_run:
        lock.unlink()
    what = f"its lock and {len(going) - 1} artifact{'s' if len(going) != 2 else ''}"
    also = [name for readers in compares.values() for name in readers]
    beside = f" (with {', '.join(also)}, which compared its reports)" if also else ""
    print(f"\n== retire: {group} is no longer a group of {CONFIG}: {what}{beside} "
          f"{'would be' if dry_run else 'are'} removed (git add -A commits it; git keeps their history)")
    return going


def retire_combined(ws: Workspace, dry_run: bool) -> list[str]:
    """With nothing to combine (no `[combined]` table, or a mix that gives no dataset a share), what
    `combine` wrote is retired as a removed dataset's group is, with the diffs and compares of its
    reports; the combined group's lock stays, since its docs and compares are of every dataset. Before,
    its stale manifest asked for a combine that had nothing to mix. The paths that go."""
    config = load_datasets(ws)
    group = registry(ws).combined_group
    if mixed_datasets(config, lambda _name: True) or not ws.lock_file(group).is_file():
        return []
    artifacts = lineage.read_lock(ws, group, drop_outside=True)["artifacts"]
    made = [name for name, entry in artifacts.items() if shlex.split(entry["command"])[1:2] == ["combine"]]
    if not made:
        return []
    readers = _compares_of(ws, {name for name in made if name.startswith("reports/")}, None)
    why = "[combined] mix gives no dataset a share" if config.combined else "it has no [combined] table"
    also = [name for names in readers.values() for name in names]
    beside = f" (with {', '.join(also)}, which read its reports)" if also else ""
    there = _delete(ws, made, dry_run=True)
    print(f"\n== retire: {CONFIG} has nothing to combine ({why}): the {len(there)} files drumgate combine"
          f" wrote{beside} {'would be' if dry_run else 'are'} removed with their lock entries (git add -A commits"
          " it; git keeps their history)", flush=True)
    going = _delete(ws, [*made, *also], dry_run)
    if not dry_run:
        for reader_group, names in readers.items():
            lineage.forget(ws, reader_group, names, briefly=True)
        lineage.forget(ws, group, made, briefly=True)
    return going


def lost_locks(ws: Workspace, groups: Sequence[str]) -> list[DrumgateError]:
    """A dataset group whose manifests are there but whose lock is gone: its recorded commands are
    lost, so repro cannot tell how to remake anything of it (and would otherwise run nothing)."""
    from drumgate.restore import lost_lock_fix

    by_group = registry(ws).dataset_of_group()
    lost = []
    for group in [g for g in by_group if g in groups] if groups else list(by_group):
        lock = ws.lock_file(group)
        dataset = by_group[group]
        if lock.is_file() or not any(parts.resolve(ws.path(name)).exists()
                                     for name in (sessions_manifest(dataset), events_manifest(dataset))):
            continue
        lost.append(DrumgateError(f"missing while {dataset}'s manifests are there: repro cannot tell how they"
                                  " were made", path=ws.rel(lock), hint=lost_lock_fix(ws, group)))
    return lost
