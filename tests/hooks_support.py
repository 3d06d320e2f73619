"""Builders for hook tests: a workspace with the project's configs and one sound egmd artifact group."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

from drumgate import cli, lineage
from drumgate.io.jsonio import write_json, write_jsonl
from drumgate.reports.gates import load_health_config
from drumgate.reports.health import compute_health
from drumgate.workspace import Workspace

PROJECT = Path(__file__).resolve().parent.parent
DATE = "20240105"


def run_hook(module: Any, argv: list[str]) -> int:
    """`drumgate hook <name> *argv` in this process, for the check module `checks.check_<name>`."""
    return cli.main(["hook", module.__name__.rsplit(".check_", 1)[1], *argv])


def event(index: int = 0, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "event_id": f"egmd:s1/take.wav:{index}",
        "dataset": "egmd",
        "session_id": "s1",
        "item_id": "s1/take.wav",
        "split": "train",
        "onset_s": 0.25 * index,
        "label": "kick",
        "labels": [],
        "techniques": [],
        "velocity": 90,
        "label_source": "midi",
        "confidence": 1.0,
        "source": {"file": "s1/take.mid", "note": 36},
    }
    row.update(overrides)
    return row


def crash_event(index: int = 0) -> dict[str, Any]:
    return event(
        index, label="crash", labels=["crash", "crash"], variant="crash_1", source={"file": "s1/take.mid", "note": 49}
    )


def make_workspace(root: Path) -> Workspace:
    shutil.copytree(PROJECT / "configs", root / "configs")
    shutil.copytree(PROJECT / "data" / "licenses", root / "data" / "licenses")
    return Workspace(root)


def write_raw_files(ws: Workspace) -> dict[str, str]:
    """Two raw files on the egmd primary root; returns entry path -> sha256."""
    raw = ws.root / "data" / "raw" / "egmd" / "s1"
    raw.mkdir(parents=True, exist_ok=True)
    digests = {}
    for name, data in (("take.mid", b"MThd fake midi"), ("take.wav", b"RIFF fake wav")):
        (raw / name).write_bytes(data)
        digests[f"primary/s1/{name}"] = hashlib.sha256(data).hexdigest()
    return digests


def provenance_row(digests: dict[str, str]) -> dict[str, Any]:
    return {
        "session_id": "s1",
        "dataset": "egmd",
        "tier": "primary",
        "source_files": [
            {"path": path.split("/", 1)[1], "sha256": sha, "bytes": 14} for path, sha in sorted(digests.items())
        ],
        "ingest_commit": "unknown",
        "tool_version": "0.1.0",
        "config_hashes": {},
        "licence": {"licence": "CC BY 4.0", "commercial_use": True, "redistribution": True},
    }


def weights_report() -> dict[str, Any]:
    return {
        "schema_version": 1,
        "kind": "weights",
        "dataset": "egmd",
        "scheme": "uniform",
        "parameters": {},
        "group_by": "session_id",
        "weights": {"s1": 1.0},
        "class_mass": {"kick": 1.0},
        "sessions": 1,
        "description": "uniform weights",
    }


def write_group(ws: Workspace, rows: list[dict[str, Any]] | None = None) -> dict[str, Path]:
    """A complete, fresh egmd group: events, provenance, checksums, health, weights and lock."""
    rows = rows if rows is not None else [event(i) for i in range(4)] + [crash_event(4)]
    digests = write_raw_files(ws)
    paths = {
        "events": ws.events_manifest("egmd"),
        "provenance": ws.provenance("egmd"),
        "checksums": ws.checksums("egmd"),
        "health": ws.health_report("egmd", DATE),
        "weights": ws.weights_report("egmd", DATE),
    }
    write_jsonl(paths["events"], rows)
    write_jsonl(paths["provenance"], [provenance_row(digests)])
    paths["checksums"].parent.mkdir(parents=True, exist_ok=True)
    paths["checksums"].write_text("".join(f"{sha}  {path}\n" for path, sha in sorted(digests.items())))
    write_json(paths["health"], compute_health(load_health_config(ws, "egmd"), enumerate(rows, start=1)))
    write_json(paths["weights"], weights_report())
    events_rel = "data/manifests/egmd_events.jsonl"
    ingest = ["ingest", "egmd", "--output", events_rel]
    lineage.record(ws, "egmd", paths["events"], ingest, inputs=[ws.configs / "technique_taxonomy.json"])
    lineage.record(ws, "egmd", paths["provenance"], ingest)
    lineage.record(ws, "egmd", paths["checksums"], ["checksums", "generate", "egmd"])
    lineage.record(ws, "egmd", paths["health"], ["health", "egmd", "--date", "2024-01-05"], inputs=[paths["events"]])
    lineage.record(ws, "egmd", paths["weights"], ["weights", "egmd", "--date", "2024-01-05"], inputs=[paths["events"]])
    paths["lock"] = ws.lock_file("egmd")
    return paths
