"""`drumgate migrate FILE...`: turn a single-file manifest from before partitioned manifests into its
folder of `*.jsonl.gz` parts, one per `session_id` (the E-GMD performance, a Cambridge or MUSDB
session), with `index.json`; the file goes, and its lock entry moves to the folder's index.

Rows keep their order within a key; parts follow key order, which is the order drumgate writes.
E-GMD events migrated this way keep one stored row per render-hit (no `renders/` listing);
`drumgate ingest egmd --layout parts` stores each performance's hits once.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from drumgate import cli, lineage
from drumgate.artifacts import classify
from drumgate.errors import EXIT_OK, DrumgateError
from drumgate.io import parts
from drumgate.io.jsonio import iter_jsonl
from drumgate.workspace import Workspace


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="single-file events, sessions or provenance manifests")
    cli.add_json_option(parser, "each migrated file with its folder, parts and rows")


def migrate_file(ws: Workspace, path: Path) -> dict[str, Any]:
    artifact = classify(ws.rel(path))
    if artifact is None or not artifact.is_jsonl or artifact.group is None:
        raise DrumgateError("not an events, sessions or provenance manifest", path=ws.rel(path),
                            hint="pass data/manifests/<ds>_events.jsonl or a sibling manifest")
    if not path.is_file():
        raise DrumgateError("file not found", path=ws.rel(path))
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
    from drumgate.reports.report_io import artifact_group

    try:
        return artifact_group(ws, dataset)
    except DrumgateError:
        return dataset


def run(args: argparse.Namespace) -> int:
    ws = cli.workspace_from(args)
    done = [migrate_file(ws, ws.user_path(name)) for name in args.files]
    for item in done:
        print(f"{item['file']} -> {item['folder']}/: {item['parts']} parts, {item['rows']} rows")
    cli.emit_json(args, {"migrated": done})
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run_module(sys.modules[__name__], argv, prog="drumgate migrate")
