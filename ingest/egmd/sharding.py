"""`--shard I/N`: contiguous blocks of performances, written beside the artifacts for `drumgate merge`.

A shard run writes `<name>.shard-I-of-N.<ext>` for each artifact plus a sidecar
`<that file>.shard.json` naming the shard, the unsharded target, the group, the regenerate command
and its inputs; `drumgate merge` checks the shards agree and joins them (ingest/merge.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from drumgate.errors import DrumgateError
from drumgate.io.hashing import sha256_file
from drumgate.io.jsonio import write_json
from drumgate.workspace import Workspace

MAX_SHARDS = 10_000
SHARD_PATTERN = re.compile(r"([0-9]{1,9})/([0-9]{1,9})")
Shard = tuple[int, int]  # (I, N), 1-based


def parse_shard(text: str) -> Shard:
    """`I/N` in ASCII digits with 1 <= I <= N <= MAX_SHARDS (a bounded parse: no giant integers)."""
    match = SHARD_PATTERN.fullmatch(text)
    if match is None:
        raise DrumgateError(f"--shard {text[:40]!r}: not I/N", hint="fix: pass --shard 1/2 and --shard 2/2 to two runs")
    index, count = int(match.group(1)), int(match.group(2))
    if not 1 <= index <= count <= MAX_SHARDS:
        shards = min(max(count, 1), MAX_SHARDS)
        raise DrumgateError(f"--shard {text!r}: need 1 <= I <= N <= {MAX_SHARDS}",
                            hint=f"fix: pass --shard {min(max(index, 1), shards)}/{shards}")
    return index, count


def shard_bounds(total: int, index: int, count: int) -> tuple[int, int]:
    """Contiguous block [start, stop) of `total` performances for shard `index` (1-based) of `count`."""
    return (index - 1) * total // count, index * total // count


def shard_path(path: Path, shard: Shard) -> Path:
    """`events.jsonl` -> `events.shard-2-of-4.jsonl` (every suffix kept after the shard tag)."""
    stem, dot, ext = path.name.partition(".")
    return path.with_name(f"{stem}.shard-{shard[0]}-of-{shard[1]}{dot}{ext}")


def shard_sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".shard.json")


def write_sidecars(
    ws: Workspace, group: str, shard: Shard, written_for: Mapping[Path, Path], argv: Sequence[str],
    inputs: Sequence[Path], external: Mapping[str, str],
) -> None:
    """One sidecar per shard file (`written_for`: shard file -> the unsharded artifact it is part of)."""
    for written, artifact in written_for.items():
        write_json(shard_sidecar(written), {
            "kind": "drumgate-shard",
            "shard": shard[0],
            "shards": shard[1],
            "group": group,
            "target": ws.rel(artifact),
            "argv": list(argv),
            "inputs": [ws.rel(p) for p in inputs],
            "external_inputs": dict(external),
            "sha256": sha256_file(written),
        })
