"""Events JSONL schema validation: drumgate's hook path vs per-row jsonschema.Draft202012Validator.

Both sides read the same seeded manifest. The peer parses each line with orjson and validates it
with `Draft202012Validator.is_valid` (its fastest call), on one core. drumgate runs exactly what
the schema hook runs on an events manifest (`checks.check_schema.chunked_scan`): the file split at newlines over
every core, orjson parse, duplicate-key guard, jsonschema-rs validating a batch of rows per call,
plus the sha256 and label combinations it leaves for the taxonomy hook.
Wall and CPU seconds are both reported, with the load average: other jobs share the machine.
"""

from __future__ import annotations

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
    """Rows accepted by the schema hook's own path."""
    scan = chunked_scan(path, validator_for(ws, "events"), collect_label_keys=True)
    assert scan is not None
    with path.open("rb") as handle:
        lines = sum(1 for _ in handle)
    return lines - len({finding.line for finding in scan.findings})


def reference_pass(path: Path, ws: Workspace) -> int:
    validator = jsonschema.Draft202012Validator(load_schema(ws, "events"))
    accepted = 0
    with path.open("rb") as handle:
        for raw in handle:
            if validator.is_valid(orjson.loads(raw)):
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
    peer_count = count // 10
    ws = Workspace(PACKAGE_ROOT)
    load_before = _load()
    with tempfile.TemporaryDirectory() as tmp:
        big, small = Path(tmp) / "events.jsonl", Path(tmp) / "events_small.jsonl"
        rows = make_rows(count)
        write_jsonl(big, rows)
        write_jsonl(small, rows[:peer_count])
        del rows
        assert drumgate_pass(small, ws) == reference_pass(small, ws) == peer_count
        ours, ours_cpu = _measure(lambda: drumgate_pass(big, ws), repeats=3)
        peer, peer_cpu = _measure(lambda: reference_pass(small, ws), repeats=3)
    ours_rate, peer_rate = count / ours, peer_count / peer
    ratio = ours_rate / peer_rate
    cpu_ratio = (peer_cpu / peer_count) / (ours_cpu / count)
    return {
        "rows": [
            {
                "tool": "drumgate schema hook path (jsonschema-rs, all cores)",
                "rows": count,
                "wall_s": ours,
                "cpu_s": ours_cpu,
                "rows_per_s": ours_rate,
            },
            {
                "tool": "jsonschema Draft202012Validator per row",
                "rows": peer_count,
                "wall_s": peer,
                "cpu_s": peer_cpu,
                "rows_per_s": peer_rate,
            },
        ],
        "ratio": ratio,
        "cpu_ratio": cpu_ratio,
        "target_ratio": 30,
        "meets_target": ratio >= 30,
        "load_average": {"before": load_before, "after": _load()},
        "cores": os.cpu_count(),
        "notes": [
            "ratio: wall-clock throughput (rows/s); cpu_ratio: CPU seconds per row, peer over drumgate",
            "the peer validates a tenth of the rows (same seed) to keep the run short; rates are per row",
        ],
    }


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
