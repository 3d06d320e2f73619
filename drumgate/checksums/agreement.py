"""The way back when provenance, the checksum manifest and the raw files disagree.

Provenance is written by the ingest from the raw files and the manifest by `checksums generate`,
so a raw file changed since either ran leaves them disagreeing; `checksums generate --update`
alone brings the manifest to the disk but leaves provenance and everything made from it as they
were. `drumgate repro <group>` runs the recorded ingest again, then `checksums generate --update`,
then every stale report, the same command the freshness hook prints for that commit.
"""

from __future__ import annotations

from drumgate.checksums.manifest import generate_command
from drumgate.errors import DrumgateError
from drumgate.workspace import Workspace

RAW_COMMANDS = ("drumgate ingest ", "drumgate events ")


def reread_group(ws: Workspace, dataset: str) -> str | None:
    """The dataset's artifact group when its lock records the command that reads its raw files."""
    from drumgate import lineage
    from drumgate.config import load_datasets

    try:
        group = load_datasets(ws).get(dataset).group
        recorded = lineage.read_lock(ws, group)["artifacts"].values() if ws.lock_file(group).is_file() else []
    except DrumgateError:
        return None
    found = any(str(entry.get("command", "")).startswith(RAW_COMMANDS) for entry in recorded)
    return group if found else None


def reread_fix(ws: Workspace, dataset: str, restore_first: bool = False) -> str:
    """`fix: drumgate repro <group>, then git add -A` (with `restore_first`, after `restore the file,
    or accept it with`), else the manifest alone: `checksums generate <ds> --update`, with the `--root`
    the manifest was made from when it is the folder read here."""
    from drumgate.checksums.roots import checksums_config

    group = reread_group(ws, dataset)
    if group:
        command = f"drumgate repro {group}, then git add -A"
    else:
        try:
            root = checksums_config(ws, dataset)[1]
        except DrumgateError:
            root = None  # an unknown dataset or a broken config: the command names it when run
        command = generate_command(dataset, update=True, root=root)
    return f"fix: restore the file, or accept it with {command}" if restore_first else f"fix: {command}"
