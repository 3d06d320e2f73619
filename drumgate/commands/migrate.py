"""`drumgate migrate FILE...`: turn a single-file manifest from before partitioned manifests into its
folder of `*.jsonl.gz` parts, one per `session_id` (the E-GMD performance, a Cambridge or MUSDB
session), with `index.json`; the file goes, and its lock entry moves to the folder's index.

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
    index = folder / parts.INDEX_NAME
    group = _group_of(ws, artifact.group)
    old = lineage.read_lock(ws, group, drop_outside=True)["artifacts"].get(ws.rel(path))
    lineage.forget(ws, group, [path])
    if old is not None:
        lineage.record(ws, group, index, _argv(old["command"]), inputs=list(old["inputs"]),
                       external_inputs=old.get("external_inputs"))
    return {"file": ws.rel(path), "folder": ws.rel(folder), "parts": len(grouped), "rows": result.rows}


def _argv(command: str) -> list[str]:
    import shlex

    return shlex.split(command)[1:]


def _group_of(ws: Workspace, dataset: str) -> str:
    try:
        return registry(ws).group_of(dataset)
    except DrumgateError:
        return dataset
