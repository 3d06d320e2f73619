"""Where a partitioned manifest's files are: names, the folder a single-file name stands for, limits.

Pure path arithmetic and the index's file list; nothing here reads a part.
"""

from __future__ import annotations

import hashlib
import re
import shlex
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from drumgate.errors import DrumgateError

INDEX_NAME = "index.json"


RENDERS_DIR = "renders"


PART_SUFFIX = ".jsonl.gz"


INDEX_SCHEMA_VERSION = 1


PAGE_DIR = "index"
# Above this many parts the entries go to pages (`index/<bucket>.json`, 256 buckets) that index.json
# pins by sha256: a 1% change then rewrites a few small pages, not an index of every part. Below it
# one index.json is the smaller diff and the simpler file to read.


PAGED_ABOVE = 64
# GitHub warns at 50 MB and refuses 100 MB; a part stays far below so a key can grow without a re-cut.


MAX_PART_BYTES = 25 << 20


_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


REPRO_FIX = "fix: drumgate repro {group}"


MIGRATE_FIX = "fix: drumgate migrate {path}"


SHARD_KIND = "drumgate-parts-shard"


LAYOUTS = ("auto", "file", "parts")  # `drumgate ingest <ds> --layout`

ErrorSink = Callable[[DrumgateError], None]
Row = dict[str, Any]


def part_stem(key: str) -> str:
    """A file name for a key: readable, and unique because it ends in the key's own digest."""
    slug = _SLUG.sub("_", key).strip("_.")[:48] or "part"
    return f"{slug}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


def folder_of(path: str | Path) -> Path:
    """`x/egmd_events.jsonl[.gz]` -> `x/egmd_events`: the folder form of a single-file manifest."""
    source = Path(path)
    name = source.name
    for suffix in (".jsonl.gz", ".jsonl"):
        if name.endswith(suffix):
            return source.with_name(name[: -len(suffix)])
    return source


def single_files_of(folder: Path) -> list[Path]:
    return [folder.with_name(folder.name + suffix) for suffix in (".jsonl", ".jsonl.gz")]


def lock_path(path: Path) -> Path:
    """How a lock names a manifest: the file, or a partitioned folder's index.json (which pins every part)."""
    return path / INDEX_NAME if path.is_dir() else path


def is_partitioned(path: str | Path) -> bool:
    source = Path(path)
    return source.is_dir() or (not source.exists() and (folder_of(source) / INDEX_NAME).is_file())


def stored(path: str | Path) -> Path | None:
    """The manifest a single-file name stands for as it is stored: the file, its `.gz` form, or its
    partitioned folder; None when none of them is there."""
    source = Path(path)
    for candidate in (source, source.with_name(source.name + ".gz")):
        if candidate.is_file():
            return candidate
    return folder_of(source) if is_partitioned(source) else None


def resolve(path: str | Path) -> Path:
    """The manifest a path names: the file itself, or its partitioned folder when only that exists."""
    source = Path(path)
    if source.exists():
        return source
    folder = folder_of(source)
    return folder if (folder / INDEX_NAME).is_file() else source


def page_of(key: str) -> str:
    """The page a key's entry lives in: a stable bucket, so adding a part never moves the others."""
    return f"{PAGE_DIR}/{hashlib.sha256(key.encode()).hexdigest()[:2]}.json"


def part_files(folder: Path) -> list[str]:
    """The part files present in a folder (`renders/` parts too), relative to it."""
    found = [p.name for p in folder.glob(f"*{PART_SUFFIX}")]
    found += [f"{RENDERS_DIR}/{p.name}" for p in (folder / RENDERS_DIR).glob(f"*{PART_SUFFIX}")]
    return found


def listed_files(index: Mapping[str, Any]) -> dict[str, tuple[str, int]]:
    """Every file the index lists (parts and `renders/` parts) -> (sha256, bytes)."""
    listed: dict[str, tuple[str, int]] = {}
    for entry in index["parts"]:
        listed[entry["file"]] = (entry["sha256"], entry["bytes"])
        if "renders" in entry:
            listed[entry["renders"]["file"]] = (entry["renders"]["sha256"], entry["renders"]["bytes"])
    return listed


def group_of(folder: Path) -> str:
    """The group whose repro writes a manifest folder: `x/egmd_events` -> `egmd`. A folder named as
    the single file (`x/egmd_events.jsonl`, made by hand) names the same group."""
    name = folder_of(folder).name
    for suffix in ("_events", "_sessions", "_provenance"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def named_as_manifest(folder: Path) -> bool:
    """Whether a folder is named as a manifest's folder (`<ds>_events`, ...), not just any folder."""
    return folder_of(folder).name.endswith(("_events", "_sessions", "_provenance"))


def fix_for(folder: Path) -> str:
    """The way back for a manifest folder without its index: the repro of its group, or, for a folder not
    named as a manifest at all (`data/manifests` itself), the files to pass instead."""
    if not named_as_manifest(folder):
        return pick_from_fix(folder)
    try:
        empty = folder.is_dir() and not any(folder.iterdir())
    except OSError:
        empty = False
    if empty:  # a folder made where the file goes: repro writes the file only once it is gone
        return f"fix: rmdir {shlex.quote(str(folder))}, then drumgate repro {group_of(folder)}"
    return REPRO_FIX.format(group=group_of(folder))


def pick_from_fix(folder: Path) -> str:
    """For a folder given where a manifest goes: list it and pass one of its manifests."""
    return f"fix: ls {shlex.quote(str(folder))} and pass one of its <ds>_events.jsonl"


def owning_folder(path: Path) -> Path:
    """The manifest folder a part belongs to (a `renders/` part's is the folder above)."""
    return path.parent.parent if path.parent.name == RENDERS_DIR else path.parent


def layout(text: str) -> str:
    """`--layout`'s value, one of LAYOUTS (argparse reports a ValueError as an invalid value)."""
    if text not in LAYOUTS:
        raise ValueError(text)
    return text


def wants_parts(layout: str, size: int, threshold: object, committed: bool) -> bool:
    """Whether an ingest writes folders: `--layout file|parts` as told; `auto` keeps a committed folder
    (so one `--layout parts` sticks) and otherwise cuts parts when `size` exceeds `threshold` (None: never)."""
    if layout not in LAYOUTS:
        raise DrumgateError(f"--layout {layout[:40]!r}: not one of {', '.join(LAYOUTS)}")
    if layout != "auto":
        return layout == "parts"
    return committed or (isinstance(threshold, int) and not isinstance(threshold, bool) and size > threshold)
