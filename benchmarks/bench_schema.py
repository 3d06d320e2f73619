"""Events JSONL schema validation: drumgate's hook path vs the per-row validators a user would pick.

Every side reads the same seeded manifest. Each peer parses each line with orjson and validates it
on one core: fastjsonschema (the schema compiled to Python code) and jsonschema-rs per row are the
strongest peers (issue 18); `Draft202012Validator.is_valid` is the old peer, kept as an extra row.
A peer that is not installed is skipped with a note (`pip install -e .[bench]`). drumgate runs exactly what
the schema hook runs on an events manifest (`checks.check_schema.chunked_scan`): the file split at newlines over
every core, orjson parse, duplicate-key guard, jsonschema-rs validating a batch of rows per call,
plus the sha256 and label combinations it leaves for the taxonomy hook.
Wall and CPU seconds are both reported, with the load average: other jobs share the machine.
"""

from __future__ import annotations

import importlib.util
import os
import random
import resource
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import orjson

from benchmarks._common import median_seconds
from checks.check_schema import chunked_scan
from drumgate.io.jsonio import write_jsonl
from drumgate.schemas import load_schema, validator_for
from drumgate.workspace import PACKAGE_ROOT, Workspace

LABELS = ("kick", "snare", "hihat", "tom_high", "ride")


def make_rows(count: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows = []
    for index in range(count):
        session = f"drummer{rng.randrange(10)}/session{rng.randrange(50)}"
        rows.append(
            {
                "event_id": f"egmd:{session}/take.wav:{index}",
                "dataset": "egmd",
                "session_id": session,
                "item_id": f"{session}/take.wav",
                "split": rng.choice(("train", "validation", "test")),
                "onset_s": round(rng.uniform(0, 300), 4),
                "label": rng.choice(LABELS),
                "labels": [],
                "techniques": rng.choice(([], [], ["ghost"], ["accent"])),
                "velocity": rng.randrange(1, 128),
                "label_source": "midi",
                "confidence": 1.0,
                "source": {"file": f"{session}/take.mid", "note": rng.randrange(35, 60)},
            }
        )
    return rows


def drumgate_pass(path: Path, ws: Workspace) -> int:
    """Lines the schema hook's own path finds wrong (the timed call: the line count stays outside)."""
    scan = chunked_scan(path, validator_for(ws, "events"), collect_label_keys=True)
    assert scan is not None
    return len({finding.line for finding in scan.findings})


RowCheck = Callable[[Any], bool]


def _jsonschema_check(schema: dict[str, Any]) -> RowCheck:
    return jsonschema.Draft202012Validator(schema).is_valid


def _fastjsonschema_check(schema: dict[str, Any]) -> RowCheck:
    import fastjsonschema

    compiled = fastjsonschema.compile(schema)

    def is_valid(row: Any) -> bool:
        try:
            compiled(row)
        except fastjsonschema.JsonSchemaValueException:
            return False
        return True

    return is_valid


def _jsonschema_rs_check(schema: dict[str, Any]) -> RowCheck:
    import jsonschema_rs

    return jsonschema_rs.validator_for(schema).is_valid


# (row label, module that must be importable, checker factory, validates the whole file?)
PEERS: tuple[tuple[str, str, Callable[[dict[str, Any]], RowCheck], bool], ...] = (
    ("fastjsonschema per row (compiled, orjson parse)", "fastjsonschema", _fastjsonschema_check, True),
    ("jsonschema-rs per row (orjson parse)", "jsonschema_rs", _jsonschema_rs_check, True),
    ("jsonschema Draft202012Validator per row (old peer)", "jsonschema", _jsonschema_check, False),
)


def reference_pass(path: Path, is_valid: RowCheck) -> int:
    accepted = 0
    with path.open("rb") as handle:
        for raw in handle:
            if is_valid(orjson.loads(raw)):
                accepted += 1
    return accepted


def _cpu_seconds() -> float:
    mine, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return mine.ru_utime + mine.ru_stime + children.ru_utime + children.ru_stime


def _measure(action: Callable[[], object], repeats: int) -> tuple[float, float]:
    """(median wall, CPU per run) seconds, CPU including forked workers."""
    cpu_before = _cpu_seconds()
    wall = median_seconds(action, repeats=repeats)
    return wall, (_cpu_seconds() - cpu_before) / repeats


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def run(quick: bool) -> dict[str, Any]:
    count = 50_000 if quick else 1_000_000
    slow_peer_count = count // 10
    ws = Workspace(PACKAGE_ROOT)
    schema = load_schema(ws, "events")
    load_before = _load()
    notes = [
        "ratio: wall-clock throughput (rows/s), drumgate over peer; cpu_ratio: CPU seconds per row, peer over "
        "drumgate; peer_over_drumgate: the inverse wall ratio (above 1 means the peer is faster)",
        "drumgate's path uses every core; each peer runs on one core, as its per-row API does",
        "the old jsonschema peer validates a tenth of the rows (same seed) to keep the run short; rates are per row",
    ]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        big, small = Path(tmp) / "events.jsonl", Path(tmp) / "events_small.jsonl"
        generated = make_rows(count)
        write_jsonl(big, generated)
        write_jsonl(small, generated[:slow_peer_count])
        del generated
        if drumgate_pass(big, ws):
            raise RuntimeError("the schema hook's path rejected rows of the valid manifest")
        ours, ours_cpu = _measure(lambda: drumgate_pass(big, ws), repeats=3)
        rows.append(_row("drumgate schema hook path (jsonschema-rs batches, all cores)", count, ours, ours_cpu))
        for label, module, factory, whole_file in PEERS:
            if importlib.util.find_spec(module) is None:
                notes.append(f"{label}: skipped, {module} is not installed (fix: pip install -e .[bench])")
                continue
            is_valid = factory(schema)
            path, rows_read = (big, count) if whole_file else (small, slow_peer_count)
            accepted = reference_pass(path, is_valid)
            if accepted != rows_read:
                raise RuntimeError(f"{label} accepted {accepted} of {rows_read} valid rows")
            wall, cpu = _measure(lambda path=path, is_valid=is_valid: reference_pass(path, is_valid), repeats=3)
            rows.append(_row(label, rows_read, wall, cpu))
    ours_row = rows[0]
    for row in rows[1:]:
        row["ratio"] = ours_row["rows_per_s"] / row["rows_per_s"]
        row["peer_over_drumgate"] = row["rows_per_s"] / ours_row["rows_per_s"]
        row["cpu_ratio"] = (row["cpu_s"] / row["rows"]) / (ours_cpu / count)
    by_label = {row["tool"]: row for row in rows}
    old_peer = by_label.get(PEERS[2][0])
    strongest = by_label.get(PEERS[0][0])
    return {
        "rows": rows,
        "ratio": old_peer["ratio"] if old_peer else None,
        "cpu_ratio": old_peer["cpu_ratio"] if old_peer else None,
        "target_ratio": 30,
        "meets_target": bool(old_peer and old_peer["ratio"] >= 30),
        "ratio_vs_fastjsonschema": strongest["ratio"] if strongest else None,
        "meets_fastjsonschema_target": bool(strongest and strongest["ratio"] >= 1),
        "load_average": {"before": load_before, "after": _load()},
        "cores": os.cpu_count(),
        "notes": notes,
    }


def _row(tool: str, rows: int, wall: float, cpu: float) -> dict[str, Any]:
    return {"tool": tool, "rows": rows, "wall_s": wall, "cpu_s": cpu, "rows_per_s": rows / wall}


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
