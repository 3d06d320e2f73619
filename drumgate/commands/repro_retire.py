"""A group that `configs/datasets.toml` no longer has: `drumgate repro` retires its lock and artifacts.

Deleting a dataset's table leaves its lock (`data/locks/<group>.lock.json`) and every artifact it
records. The freshness hook finds them stale and prints `drumgate repro <group> ...`, which refused
the group it no longer knew, so the commit could not be finished by its own fix. repro now retires
such a group (asked for by name, or when it brings every group up to date): it deletes the artifacts
the lock records (a partitioned manifest's folder whole) and then the lock, and says what went;
`git add -A` commits the removal, and git's history keeps every file.

A lock whose artifacts belong to a dataset the config still has, under another group now (a dataset
moved between groups), is not retired: its commands would remake the artifacts under a group that
no longer records them. That is a finding whose fix undoes the config change.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence

from drumgate import lineage
from drumgate.artifacts import classify, registry
from drumgate.errors import DrumgateError
from drumgate.git import in_head, restore_command
from drumgate.io import parts
from drumgate.workspace import Workspace

CONFIG = "configs/datasets.toml"


def retired_groups(ws: Workspace, known: Sequence[str]) -> list[str]:
    """Groups with a lock file that the datasets config no longer names."""
    return [group for group in lineage.lock_groups(ws) if group not in known]


def _moved(ws: Workspace, group: str) -> list[str]:
    """Datasets the config still has whose artifacts this retired group's lock records."""
    datasets = registry(ws).groups
    recorded = lineage.read_lock(ws, group, drop_outside=True)["artifacts"]
    return sorted({artifact.group for path in recorded if (artifact := classify(path)) is not None
                   and artifact.group in datasets})


def refuse_moved(ws: Workspace, group: str) -> None:
    moved = _moved(ws, group)
    if moved:
        undo = restore_command(CONFIG, root=ws.root) if in_head(ws.root, CONFIG) else f"put {moved[0]} back in it"
        raise DrumgateError(
            f"records artifacts of {', '.join(moved)}, which {CONFIG} now puts in another group: moving a dataset"
            " between groups is not supported (its artifacts would be remade under a group that does not record"
            " them)", path=ws.rel(ws.lock_file(group)), hint=f"fix: {undo}")


def retire(ws: Workspace, group: str, dry_run: bool) -> list[str]:
    """Delete what the group's lock records, then the lock (nothing with `dry_run`); the paths that go."""
    refuse_moved(ws, group)
    lock = ws.lock_file(group)
    going = []
    for name in lineage.read_lock(ws, group, drop_outside=True)["artifacts"]:
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
    going.append(ws.rel(lock))
    if not dry_run:
        lock.unlink()
    what = f"its lock and {len(going) - 1} artifact{'s' if len(going) != 2 else ''}"
    print(f"\n== retire: {group} is no longer a group of {CONFIG}: {what} "
          f"{'would be' if dry_run else 'are'} removed (git add -A commits it; git keeps their history)")
    return going
