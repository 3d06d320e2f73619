"""A dataset moved to another artifact group in `configs/datasets.toml`: refused by every command
that takes a group's lock, by the freshness hook and by `drumgate repro`, with the undo as the fix.

Its old group's lock still records its artifacts; a command run after the move would record them
again under the new group, and the two locks would then disagree for good (the freshness hook
asked for a repro that could not settle it). So the move is refused before anything is written.
"""

from __future__ import annotations

from collections.abc import Sequence

from drumgate import lineage
from drumgate.artifacts import classify, registry
from drumgate.errors import DrumgateError
from drumgate.git import git_text, in_head, restore_command
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


def _head_groups(ws: Workspace) -> dict[str, str]:
    """dataset -> group as HEAD's config has it ({} without one): the restore undoes a move only before it is
    committed."""
    import tomllib

    text = git_text(["show", f"HEAD:{CONFIG}"], ws.root) if in_head(ws.root, CONFIG) else None
    try:
        datasets = tomllib.loads(text or "").get("datasets", {})
    except tomllib.TOMLDecodeError:
        return {}
    return {name: str(entry.get("group", name)) for name, entry in datasets.items() if isinstance(entry, dict)}


def refuse_moved(ws: Workspace, group: str) -> None:
    moved = _moved(ws, group)
    if moved:
        name = moved[0]
        undo = (restore_command(CONFIG, root=ws.root) if _head_groups(ws).get(name) == group
                else f'set group = "{group}" under [datasets.{name}] in {CONFIG}')  # the move is committed
        groups = registry(ws).groups
        now = sorted({groups[name] for name in moved})
        raise DrumgateError(
            f"records artifacts of {', '.join(moved)}, which {CONFIG} now puts in {', '.join(now)}: moving a dataset"
            " between groups is not supported (its artifacts would be remade under a group that does not record"
            " them)", path=ws.rel(ws.lock_file(group)), hint=f"fix: {undo}")


def refuse_any_moved(ws: Workspace) -> None:
    """`refuse_moved` for every group the config no longer names: the freshness hook's first word on
    a dataset moved between groups, so it does not print a repro line repro would refuse."""
    for group in retired_groups(ws, registry(ws).all_groups()):
        refuse_moved(ws, group)
