"""What `drumgate repro` reads from the locks: the recorded commands, the problems of a group's
artifacts, its newest report, and lock entries an older drumgate left naming files outside."""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from drumgate import lineage
from drumgate.io.jsonio import read_json, write_json
from drumgate.workspace import Workspace


def drop_outside_entries(ws: Workspace, group: str) -> int:
    """Remove lock entries naming files outside the workspace; how many were dropped."""
    path = ws.lock_file(group)
    if not path.is_file():
        return 0
    raw = lineage.read_lock(ws, group, drop_outside=True)
    before = len(read_json(path).get("artifacts", {}))
    if before != len(raw["artifacts"]):
        write_json(path, raw)
    return before - len(raw["artifacts"])


def recorded_commands(ws: Workspace, group: str, subcommands: Sequence[str]) -> list[tuple[str, ...]]:
    """Distinct recorded commands of the group whose subcommand is one of `subcommands`, in lock order."""
    seen: dict[tuple[str, ...], None] = {}
    for entry in lineage.read_lock(ws, group)["artifacts"].values():
        argv = tuple(shlex.split(entry["command"])[1:])
        if argv and argv[0] in subcommands:
            seen.setdefault(argv, None)
    return list(seen)


def option_value(argv: Sequence[str], flag: str) -> str | None:
    for index, item in enumerate(argv[:-1]):
        if item == flag:
            return argv[index + 1]
    return None


def with_option(argv: Sequence[str], flag: str, value: str) -> tuple[str, ...]:
    """`argv` with `flag value` set (replaced when present, appended otherwise)."""
    items = list(argv)
    for index, item in enumerate(items[:-1]):
        if item == flag:
            items[index + 1] = value
            return tuple(items)
    return (*items, flag, value)


def problems_of(ws: Workspace, group: str, prefix: str) -> list[lineage.LineageProblem]:
    """Lineage problems of the group's current (not superseded) artifacts under `prefix`."""
    if not ws.lock_file(group).is_file():
        return []
    return [p for p in lineage.check(ws, group) if p.artifact.startswith(prefix)]


def newest_recorded(ws: Workspace, group: str, prefix: str) -> str | None:
    artifacts = lineage.read_lock(ws, group)["artifacts"]
    current = [a for a in artifacts if a.startswith(prefix) and a not in lineage.superseded(artifacts)]
    return max(current) if current else None


def made_by(ws: Workspace, group: str, subcommand: str) -> list[lineage.LineageProblem]:
    """Lineage problems of the group's artifacts that `drumgate <subcommand>` made."""
    return problems_made_by(problems_of(ws, group, ""), subcommand)


def problems_made_by(problems: Sequence[lineage.LineageProblem], subcommand: str) -> list[lineage.LineageProblem]:
    """Those of `problems` whose artifact `drumgate <subcommand>` made."""
    return [p for p in problems if shlex.split(p.command)[1:2] == [subcommand]]
