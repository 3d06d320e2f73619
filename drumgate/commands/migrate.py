"""`drumgate migrate FILE...`: turn a single-file manifest from before partitioned manifests into its
folder of `*.jsonl.gz` parts, one per `session_id` (the E-GMD performance, a Cambridge or MUSDB
session), with `index.json`; the file goes, and its lock entry moves to the folder's index. A
checksum manifest `data/archives/checksums/<ds>.sha256` becomes its folder of `sha256sum` parts with
`index.sha256` (drumgate.checksums.parts) the same way.

Rows keep their order within a key; parts follow key order, which is the order drumgate writes.
E-GMD events migrated this way keep one stored row per render-hit (no `renders/` listing);
`drumgate ingest egmd --layout parts` stores each performance's hits once.

The combined manifest is not migrated: it is now a reference to its sources' rows
(`data/manifests/prod_combined_events.json`), which `drumgate combine` writes (removing an older
`prod_combined_events.jsonl` that copied every row).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from drumgate import lineage
from drumgate.artifacts import COMBINED, classify, combined_reference, registry
from drumgate.errors import DrumgateError
from drumgate.io import parts
from drumgate.io.jsonio import iter_jsonl
from drumgate.workspace import Workspace


def migrate_file(ws: Workspace, path: Path) -> dict[str, Any]:
    artifact = classify(ws.rel(path))
    if artifact is not None and artifact.kind == "checksums" and artifact.group is not None and path.is_file():
        from drumgate.checksums import parts as checksum_parts

        folder, count, entries = checksum_parts.migrate(path, artifact.group)
        _move_lock_entry(ws, artifact.group, path, folder / checksum_parts.INDEX_NAME)
        return {"file": ws.rel(path), "folder": ws.rel(folder), "parts": count, "rows": entries}
    if artifact is None or not artifact.is_jsonl or artifact.group is None:
        raise DrumgateError("not an events, sessions or provenance manifest", path=ws.rel(path),
                            hint="pass data/manifests/<ds>_events.jsonl or a sibling manifest")
    if not path.is_file():
        raise DrumgateError("file not found", path=ws.rel(path))
    if artifact.group == COMBINED and artifact.kind == "events":
        raise DrumgateError(f"the combined manifest is now {combined_reference()}, a reference to its sources' rows "
                            "(drumgate combine writes it and removes this copy)", path=ws.rel(path),
                            hint="fix: drumgate combine")
    grouped: dict[str, list[dict[str, Any]]] = {}
    for line_no, row in iter_jsonl(path):
        key = row.get("session_id")
        if not isinstance(key, str) or not key:
            raise DrumgateError("row has no session_id to cut parts by", path=ws.rel(path), line=line_no)
        grouped.setdefault(key, []).append(row)
    folder = parts.folder_of(path)
    result = parts.write_parts(folder, artifact.kind, artifact.group, "session_id",
                               (parts.PartInput(key, rows) for key, rows in grouped.items()))
    _move_lock_entry(ws, artifact.group, path, folder / parts.INDEX_NAME)
    return {"file": ws.rel(path), "folder": ws.rel(folder), "parts": len(grouped), "rows": result.rows}


def _move_lock_entry(ws: Workspace, dataset: str, path: Path, index: Path) -> None:
    """The single file's lock entry now pins its folder's index (same command, same inputs)."""
    group = _group_of(ws, dataset)
    old = lineage.read_lock(ws, group, drop_outside=True)["artifacts"].get(ws.rel(path))
    lineage.forget(ws, group, [path])
    if old is not None:
        lineage.record(ws, group, index, _argv(old["command"]), inputs=list(old["inputs"]),
                       external_inputs=old.get("external_inputs"))


def _argv(command: str) -> list[str]:
    import shlex

    return shlex.split(command)[1:]


def _group_of(ws: Workspace, dataset: str) -> str:
    try:
        return registry(ws).group_of(dataset)
    except DrumgateError:
        return dataset
