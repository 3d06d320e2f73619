"""Join shard outputs into the file one unsharded run writes, byte for byte.

An ingestor run with `--shard I/N` writes each artifact as `<name>.shard-I-of-N.jsonl[.gz]` plus
a sidecar `<that file>.shard.json` naming the shard, the unsharded target, the artifact group,
the regenerate command and the lineage inputs. Because every ingestor orders its rows by a key
that shards split into contiguous blocks, the target is the shards' lines concatenated in shard
order. `merge` checks that shards 1..N of each target are all present and agree on the command
and inputs, writes the target atomically and records its lineage as the unsharded run would.
Works for any dataset's JSONL shards.

A partitioned shard (`drumgate.io.parts`) is the folder `<name>.shard-I-of-N/` of its parts beside
the shard file, which holds the parts' index entries. Merging it is an index update: each part
moves into the target's folder (a part whose bytes the folder already has is left alone), the
shards' entries in shard order become `index.json`, parts no longer listed go, and the lock
records the index, as after an unsharded run.
"""

from __future__ import annotations

import gzip
import shlex
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drumgate import lineage
from drumgate.artifacts import holds_rows, refuse_emptying
from drumgate.errors import DrumgateError
from drumgate.io import parts
from drumgate.io.fsutil import atomic_writer
from drumgate.io.hashing import sha256_file
from drumgate.io.jsonio import check_schema, is_gzip_path, long_line_error, parse_line, read_json
from drumgate.io.lines import numbered_lines
from drumgate.lineage import grouplock
from drumgate.workspace import Workspace

SIDECAR_SUFFIX = ".shard.json"
AGREEING_FIELDS = ("group", "argv", "inputs", "external_inputs", "shards")


@dataclass(frozen=True)
class Shard:
    path: Path
    meta: dict[str, Any]

    @property
    def index(self) -> int:
        return int(self.meta["shard"])


def read_shard(path: Path) -> Shard:
    sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
    if not path.is_file():
        raise DrumgateError("shard file not found", path=path)
    if not sidecar.is_file():
        raise DrumgateError("no shard sidecar beside this file", path=path,
                            hint=f"expected {sidecar.name}, written by an ingest run with --shard")
    meta = read_json(sidecar)
    if not isinstance(meta, dict) or meta.get("kind") != "drumgate-shard":
        raise DrumgateError("not a drumgate shard sidecar", path=sidecar)
    for key in ("shard", "shards", "target"):
        if key not in meta:
            raise DrumgateError(f"shard sidecar lacks {key!r}", path=sidecar)
    check_schema(meta, "shard", sidecar, hint="re-run the shard's ingest to rewrite its sidecar")
    if "sha256" in meta and sha256_file(path) != meta["sha256"]:  # emptied or edited since: merging would lose rows
        raise DrumgateError("changed since its ingest wrote it (sha256 differs from its sidecar)", path=path,
                            hint=f"fix: {shlex.join(_shard_command(meta))}")
    return Shard(path, meta)


def _shard_command(meta: dict[str, Any]) -> list[str]:
    """The ingest that writes this shard again: the recorded (unsharded) command with its --shard."""
    return ["drumgate", *map(str, meta["argv"]), "--shard", f"{meta['shard']}/{meta['shards']}"]


def target_in_workspace(ws: Workspace, members: Sequence[Shard]) -> Path:
    """The sidecars' target, refused unless it stays inside the workspace with symlinks followed: a
    sidecar is data, and data must not choose a file outside the repository to overwrite."""
    target = members[0].meta["target"]
    destination = ws.path(target)
    real_root = ws.root.resolve()
    if not ws.contains(target) or not destination.parent.resolve().is_relative_to(real_root):
        sidecar = members[0].path.with_name(members[0].path.name + SIDECAR_SUFFIX)
        raise DrumgateError(f"target {target} lies outside the workspace", path=sidecar,
                            hint="pass --output to say where the merged file goes")
    return destination


def group_by_target(shards: Sequence[Shard]) -> dict[str, list[Shard]]:
    """Shards per target in shard order; every target needs exactly shards 1..N, agreeing."""
    groups: dict[str, list[Shard]] = {}
    for shard in shards:
        groups.setdefault(shard.meta["target"], []).append(shard)
    for target, members in groups.items():
        members.sort(key=lambda s: s.index)
        first = members[0].meta
        for member in members[1:]:
            for key in AGREEING_FIELDS:
                if member.meta.get(key) != first.get(key):
                    raise DrumgateError(f"shards of {target} disagree on {key}", path=member.path,
                                        hint="re-run every shard from the same inputs and command")
        indexes = [s.index for s in members]
        expected = list(range(1, int(first["shards"]) + 1))
        if indexes != expected:
            missing = sorted(set(expected) - set(indexes))
            duplicated = sorted({i for i in indexes if indexes.count(i) > 1})
            detail = f"missing {missing}" if missing else f"given twice {duplicated}"
            raise DrumgateError(f"incomplete shard set for {target}: {detail}", path=members[0].path)
    return groups


def _lines(path: Path) -> Iterator[bytes]:
    """The shard's non-blank lines, each checked to parse (the one reader: gzip, LFS pointers, damage)."""
    for line_no, raw in numbered_lines(path, "the shard"):
        if raw is None:
            raise long_line_error(path, line_no)
        if not raw.strip():
            continue
        parse_line(raw, path, line_no)
        yield raw if raw.endswith(b"\n") else raw + b"\n"


def parts_folder(shard: Shard) -> Path | None:
    """The folder of a partitioned shard's parts, or None for a JSONL shard."""
    folder = parts.folder_of(shard.path)
    return folder if folder != shard.path and folder.is_dir() else None


def shard_rows(shard: Shard) -> int:
    """Rows a shard brings (a partitioned shard's from its index entries)."""
    if parts_folder(shard) is None:
        return int(holds_rows(shard.path))
    return sum(entry["rows"] for entry in parts.read_shard_entries(shard.path)[1])


def merge_parts(ws: Workspace, target: Path, members: Sequence[Shard], record_lineage: bool) -> int:
    """Move the shards' parts into the target's folder and write its index from their entries."""
    folder = parts.folder_of(target)
    entries: list[dict[str, Any]] = []
    header: dict[str, Any] = {}
    result = parts.WriteResult()
    for member in members:
        source = parts_folder(member)
        if source is None:
            raise DrumgateError("a partitioned shard's parts folder is missing", path=member.path,
                                hint="re-run every shard with the same --layout")
        header, member_entries = parts.read_shard_entries(member.path)
        for entry in member_entries:
            for name in (entry["file"], *([entry["renders"]["file"]] if "renders" in entry else [])):
                parts.adopt_part(source / name, folder / name, result, name)
        entries.extend(member_entries)
    if [entry["key"] for entry in entries] != sorted({entry["key"] for entry in entries}):
        raise DrumgateError("the shards' parts are not in ascending key order, or a key is claimed twice",
                            path=members[0].path, hint="re-run every shard from the same inputs")
    parts.finish_folder(folder, header["manifest"], header["dataset"], header["key"], entries, result)
    for member in members:
        source = parts_folder(member)
        if source is not None:
            shutil.rmtree(source)
    meta = members[0].meta
    if record_lineage and meta.get("group"):
        lineage.forget(ws, meta["group"], [target])
        lineage.record(ws, meta["group"], folder / parts.INDEX_NAME, meta["argv"], inputs=meta.get("inputs", []),
                       external_inputs=meta.get("external_inputs") or None)
    return sum(parts.Aggregates.from_json(entry["aggregates"]).events for entry in entries)


def merge_target(ws: Workspace, target: Path, members: Sequence[Shard], record_lineage: bool) -> int:
    if parts_folder(members[0]) is not None:
        return merge_parts(ws, target, members, record_lineage)
    count = 0
    with atomic_writer(target) as handle:
        sink: Any = gzip.GzipFile(filename="", mode="wb", fileobj=handle, mtime=0) if is_gzip_path(target) else handle
        for member in members:
            for line in _lines(member.path):
                sink.write(line)
                count += 1
        if sink is not handle:
            sink.close()
    meta = members[0].meta
    if record_lineage and meta.get("group"):
        lineage.record(ws, meta["group"], target, meta["argv"], inputs=meta.get("inputs", []),
                       external_inputs=meta.get("external_inputs") or None)
    return count


@dataclass(frozen=True)
class Merged:
    path: str  # workspace-relative
    rows: int
    shards: int


def merge_shards(
    ws: Workspace, shard_paths: Sequence[Path], output: str | None = None, record_lineage: bool = True,
    allow_empty: bool = False,
) -> Iterator[Merged]:
    """Merge every target of the shards (or all of them into `output`, a path as typed), yielding
    each once written. Every target is checked before any is written; lineage is recorded as the
    unsharded run would, unless `record_lineage` is off or `output` is given."""
    groups = group_by_target([read_shard(path) for path in shard_paths])
    if output and len(groups) > 1:
        raise DrumgateError(f"--output given but the shards have {len(groups)} targets: {', '.join(sorted(groups))}",
                            hint="fix: drop --output, and each target is written where its shards name it")
    grouplock.hold(ws, {str(members[0].meta["group"]) for members in groups.values() if members[0].meta.get("group")})
    for _, members in sorted(groups.items()):
        allowed = allow_empty or "--allow-empty" in members[0].meta.get("argv", [])
        if not output:
            rows = {target_in_workspace(ws, members): sum(shard_rows(member) for member in members)}
            refuse_emptying(rows, allowed, ws.rel, f"all {len(members)} shards are empty")
    for _, members in sorted(groups.items()):
        destination = ws.user_path(output) if output else target_in_workspace(ws, members)
        rows = merge_target(ws, destination, members, record_lineage=record_lineage and not output)
        yield Merged(ws.rel(destination), rows, len(members))
