"""Events JSONL schema validation: drumgate's hook path vs per-row jsonschema.Draft202012Validator.

Both sides read the same seeded manifest; the peer parses each line with orjson and validates it
with `Draft202012Validator.is_valid` (its fastest call). drumgate runs its hook path: scan
(orjson, duplicate-key guard) plus the compiled jsonschema-rs validator.
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path
from typing import Any

import jsonschema
import orjson

from benchmarks._common import median_seconds
from drumgate.jsonio import write_jsonl
from drumgate.rowscan import scan_jsonl
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
    validator = validator_for(ws, "events")
    accepted = 0
    for _, row in scan_jsonl(path, lambda err: None):
        if validator.fast_accepts(row) or not validator.reference_issues(row):
            accepted += 1
    return accepted


def reference_pass(path: Path, ws: Workspace) -> int:
    validator = jsonschema.Draft202012Validator(load_schema(ws, "events"))
    accepted = 0
    with path.open("rb") as handle:
        for raw in handle:
            if validator.is_valid(orjson.loads(raw)):
                accepted += 1
    return accepted


def run(quick: bool) -> dict[str, Any]:
    count = 20_000 if quick else 200_000
    peer_count = count // 10
    ws = Workspace(PACKAGE_ROOT)
    with tempfile.TemporaryDirectory() as tmp:
        big, small = Path(tmp) / "events.jsonl", Path(tmp) / "events_small.jsonl"
        rows = make_rows(count)
        write_jsonl(big, rows)
        write_jsonl(small, rows[:peer_count])
        assert drumgate_pass(small, ws) == reference_pass(small, ws) == peer_count
        ours = median_seconds(lambda: drumgate_pass(big, ws), repeats=3)
        peer = median_seconds(lambda: reference_pass(small, ws), repeats=3)
    ours_rate, peer_rate = count / ours, peer_count / peer
    ratio = ours_rate / peer_rate
    return {
        "rows": [
            {"tool": "drumgate hook path (jsonschema-rs)", "rows": count, "seconds": ours, "rows_per_s": ours_rate},
            {"tool": "jsonschema Draft202012Validator", "rows": peer_count, "seconds": peer, "rows_per_s": peer_rate},
        ],
        "ratio": ratio,
        "target_ratio": 30,
        "meets_target": ratio >= 30,
        "notes": ["the peer validates a tenth of the rows (same seed) to keep the run short; rates are per row"],
    }


if __name__ == "__main__":
    print(run(quick=True))
