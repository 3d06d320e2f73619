"""Partitioned checksum manifests: `data/archives/checksums/<ds>/` instead of `<ds>.sha256`.

The rule: a manifest with more than the dataset's `partition_checksums` entries (configs/datasets.toml;
PARTITION_ABOVE, 4096, when unset; 0: always), or one whose folder exists already, is the folder; a
smaller one stays the single file `<ds>.sha256` (the demo's manifests do, byte for byte). The
folder holds up to 256 part files `00.sha256` .. `ff.sha256` and `index.sha256`:

- an entry's part is the first byte of the sha256 of its key, the entry path with the file name's
  extension and a trailing `_<digits>` (a render or take number) dropped: E-GMD's 43 renders of
  one performance share a key, so a change to 1% of the performances rewrites about that many
  parts (each about 1/256 of the manifest), and adding a file never moves another one;
- each part is in `sha256sum` format, sorted by path, so `sha256sum -c <part>` works from a folder
  holding one symlink per tier name, like the single file;
- `index.sha256` lists `<sha256>  <part file>` for every part, so `sha256sum -c index.sha256` run
  inside the folder checks the parts; the lineage lock records the index, which pins them all.

Writing encodes every part in memory and replaces only the files whose bytes differ: a second
`generate` changes no byte. Reading reports a part missing from the index, an index entry without
its part, a part whose sha256 differs from the index and a line outside its part's key, one line
each naming the file, with the fix `drumgate checksums generate <ds> --update`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drumgate.checksums.manifest import LINE_PATTERN, ChecksumEntry, generate_fix, parse_manifest, render_manifest
from drumgate.errors import DrumgateError
from drumgate.io.fsutil import atomic_write_bytes

PARTITION_ABOVE = 4096
INDEX_NAME = "index.sha256"
PART_PATTERN = re.compile(r"^[0-9a-f]{2}\.sha256$")
_RENDER_NUMBER = re.compile(r"_\d+$")


def folder_of(manifest: Path) -> Path:
    """`.../checksums/egmd.sha256` -> `.../checksums/egmd`: the folder form of a manifest."""
    return manifest.with_suffix("")


def is_partitioned(manifest: Path) -> bool:
    return folder_of(manifest).is_dir()


def location(manifest: Path) -> Path:
    """The file that pins a manifest (what lineage records): the folder's index, or the file itself."""
    return folder_of(manifest) / INDEX_NAME if is_partitioned(manifest) else manifest


def exists(manifest: Path) -> bool:
    return manifest.is_file() or is_partitioned(manifest)


def threshold(options: Mapping[str, Any]) -> int:
    """The dataset's `partition_checksums` (configs/datasets.toml), else PARTITION_ABOVE."""
    value = options.get("partition_checksums")
    return value if isinstance(value, int) else PARTITION_ABOVE


def wants_parts(manifest: Path, entries: int, above: int) -> bool:
    return is_partitioned(manifest) or entries > above


def part_key(entry_path: str) -> str:
    """The stable key an entry is cut by: its path without extension and trailing render number."""
    folder, _, name = entry_path.rpartition("/")
    stem = name.split(".", 1)[0] or name
    return f"{folder}/{_RENDER_NUMBER.sub('', stem)}"


def part_name(entry_path: str) -> str:
    return f"{hashlib.sha256(part_key(entry_path).encode()).hexdigest()[:2]}.sha256"


def render_parts(digests: dict[str, str]) -> dict[str, bytes]:
    """Part file name -> its bytes, for every non-empty part."""
    grouped: dict[str, dict[str, str]] = {}
    for entry_path, digest in digests.items():
        grouped.setdefault(part_name(entry_path), {})[entry_path] = digest
    return {name: render_manifest(grouped[name]) for name in sorted(grouped)}


def render_index(rendered: dict[str, bytes]) -> bytes:
    return "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in sorted(rendered.items())).encode()


def write_folder(folder: Path, digests: dict[str, str]) -> list[Path]:
    """Write the parts and index whose bytes differ, remove parts no entry needs; the files rewritten."""
    rendered = render_parts(digests)
    wanted = {**rendered, INDEX_NAME: render_index(rendered)}
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, data in wanted.items():
        target = folder / name
        if not target.is_file() or target.read_bytes() != data:
            atomic_write_bytes(target, data)
            written.append(target)
    for stale in sorted(folder.glob("*.sha256")):
        if stale.name not in wanted:
            stale.unlink()
            written.append(stale)
    return written


def write(manifest: Path, digests: dict[str, str], above: int) -> list[Path]:
    """Write a manifest in the form the rule picks (a single file turns into its folder once it has
    more than `above` entries); the files rewritten."""
    if not wants_parts(manifest, len(digests), above):
        data = render_manifest(digests)
        if manifest.is_file() and manifest.read_bytes() == data:
            return []
        atomic_write_bytes(manifest, data)
        return [manifest]
    written = write_folder(folder_of(manifest), digests)
    if manifest.is_file():
        manifest.unlink()
        written.append(manifest)
    return written


@dataclass
class ManifestRead:
    """A manifest's entries. `errors` are line-format problems (the entries around them are kept);
    `structure` are the folder's disagreements (index and parts), which `generate --update` repairs."""

    entries: list[ChecksumEntry] = field(default_factory=list)
    errors: list[DrumgateError] = field(default_factory=list)
    structure: list[DrumgateError] = field(default_factory=list)

    @property
    def problems(self) -> list[DrumgateError]:
        return [*self.structure, *self.errors]


def read(manifest: Path, dataset: str) -> ManifestRead:
    """Read the single file or the folder, whichever the manifest is."""
    if not is_partitioned(manifest):
        entries, errors = parse_manifest(manifest)
        return ManifestRead(entries, errors)
    result = ManifestRead()
    if manifest.is_file():
        result.structure.append(
            DrumgateError(f"both this file and its folder {folder_of(manifest).name}/ exist", path=manifest,
                          hint=generate_fix(dataset, update=True))
        )
    folder = folder_of(manifest)
    listed = _read_index(folder, dataset, result)
    present = {path.name for path in folder.glob("*.sha256") if path.name != INDEX_NAME}
    for name in sorted(present - set(listed)):
        result.structure.append(_structure_error(folder / name, "part missing from its index", dataset))
    for name, digest in sorted(listed.items()):
        part = folder / name
        if name not in present:
            result.structure.append(_structure_error(folder / INDEX_NAME, f"{name}: index entry without its part file",
                                                     dataset))
            continue
        if hashlib.sha256(part.read_bytes()).hexdigest() != digest:
            result.structure.append(_structure_error(part, "sha256 differs from the index", dataset))
    for name in sorted(present):
        _read_part(folder / name, dataset, result)
    result.entries.sort(key=lambda entry: entry.path)
    return result


def _structure_error(path: Path, message: str, dataset: str) -> DrumgateError:
    return DrumgateError(message, path=path, hint=generate_fix(dataset, update=True))


def _read_index(folder: Path, dataset: str, result: ManifestRead) -> dict[str, str]:
    index = folder / INDEX_NAME
    try:
        text = index.read_bytes().decode("utf-8")
    except FileNotFoundError:
        result.structure.append(_structure_error(index, "index missing", dataset))
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        result.structure.append(_structure_error(index, f"cannot read: {exc}", dataset))
        return {}
    listed: dict[str, str] = {}
    for line_no, line in enumerate(text.splitlines(), start=1):
        match = LINE_PATTERN.match(line)
        if match is None or not PART_PATTERN.match(match["path"]) or match["path"] in listed:
            result.structure.append(
                DrumgateError("not `<sha256>  <xx>.sha256` for a part listed once", path=index, line=line_no,
                              hint=generate_fix(dataset, update=True))
            )
            continue
        listed[match["path"]] = match["sha"]
    return listed


def _read_part(part: Path, dataset: str, result: ManifestRead) -> None:
    entries, errors = parse_manifest(part)
    result.errors.extend(errors)
    for entry in entries:
        if part_name(entry.path) != part.name:
            result.structure.append(
                DrumgateError(f"{entry.path}: outside this part's key (it belongs in {part_name(entry.path)})",
                              path=part, line=entry.line, hint=generate_fix(dataset, update=True))
            )
            continue
        result.entries.append(ChecksumEntry(entry.line, entry.sha256, entry.path, part))


def migrate(manifest: Path, dataset: str) -> tuple[Path, int, int]:
    """Turn a single-file manifest into its folder (whatever its size); (folder, parts, entries)."""
    entries, errors = parse_manifest(manifest)
    if errors:
        first = errors[0]
        raise DrumgateError(f"{first.message} ({len(errors)} problems): not migrated", path=manifest, line=first.line,
                            hint=generate_fix(dataset, update=True))
    digests = {entry.path: entry.sha256 for entry in entries}
    folder = folder_of(manifest)
    write_folder(folder, digests)
    manifest.unlink()
    return folder, len(render_parts(digests)), len(digests)
