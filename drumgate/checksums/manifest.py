"""The checksum manifest format: `<64 lowercase hex><two spaces><tier>/<root-relative posix path>`.

One line per file, sorted by path, LF endings: exactly what `sha256sum` writes and `sha256sum -c`
reads from a folder holding one symlink per tier name. Parsing reports every format problem as one
error naming path:line; nothing here touches the storage tiers.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from drumgate.errors import DrumgateError
from drumgate.io.jsonio import LFS_HINT, LFS_POINTER_PREFIX

LINE_PATTERN = re.compile(r"^(?P<sha>[0-9a-f]{64})  (?P<path>.+)$")
TIER_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class ChecksumEntry:
    line: int
    sha256: str
    path: str  # <tier>/<root-relative posix path>
    source: Path | None = None  # the part file that holds it, in a partitioned manifest

    @property
    def tier(self) -> str:
        return self.path.split("/", 1)[0]

    @property
    def relative(self) -> str:
        return self.path.split("/", 1)[1]


def entry_path_problem(entry_path: str) -> str | None:
    """Why `entry_path` is not a normalised, relative, tier-prefixed posix path (None when it is)."""
    if entry_path.startswith("/"):
        return "absolute path (entries are <tier>/<root-relative path>)"
    if "\\" in entry_path or "\n" in entry_path or "\r" in entry_path:
        return "path holds a backslash or newline (sha256sum would escape it)"
    parts = entry_path.split("/")
    if ".." in parts:
        return "path climbs out of its root with '..'"
    if any(part in {"", "."} for part in parts):
        return "path is not normalised (empty or '.' component)"
    if len(parts) < 2:
        return "path has no <tier>/ prefix"
    if not TIER_PATTERN.match(parts[0]):
        return f"tier {parts[0]!r} is not a lowercase tier name"
    return None


def generate_command(dataset: str, *, update: bool = False, root: str | None = None) -> str:
    """The command that rewrites a dataset's manifest, runnable as printed; `root` is the `--root DIR`
    the files are under when it is not the configured root (the one an `ingest --root` read)."""
    return (f"drumgate checksums generate {dataset}" + (f" --root {shlex.quote(root)}" if root else "")
            + (" --update" if update else ""))


def generate_fix(dataset: str, *, update: bool = False, root: str | None = None) -> str:
    return f"fix: {generate_command(dataset, update=update, root=root)}"


def malformed_fix(dataset: str, shown_path: str, root: str | None = None, *, workspace: Path | None = None) -> str:
    """The ways out of a damaged manifest line: the committed digests back when they differ from the
    manifest's (`shown_path`, relative to the `workspace` root; one committed damaged is not restored by
    checking it out), or trust the disk."""
    from drumgate.git import restorable, restore_command

    regenerate = (f"{generate_command(dataset, update=True, root=root)} to hash its files again from disk, with"
                  " every tier mounted (a damaged line of an offline tier is dropped)")
    if workspace is not None and restorable(workspace, shown_path):
        return f"fix: {restore_command(shown_path, root=workspace)} to restore the committed digests, or {regenerate}"
    return f"fix: {regenerate}"


def parse_manifest(path: str | Path) -> tuple[list[ChecksumEntry], list[DrumgateError]]:
    """Read a checksum manifest; every format problem is one error naming path:line."""
    source = Path(path)
    try:
        data = source.read_bytes()
    except FileNotFoundError:
        return [], [DrumgateError("checksum manifest not found", path=source, hint=generate_fix(source.stem))]
    except OSError as exc:
        return [], [DrumgateError(f"cannot read: {exc.strerror}", path=source)]
    if data.startswith(LFS_POINTER_PREFIX):
        return [], [DrumgateError("Git LFS pointer, not a checksum manifest", path=source, hint=LFS_HINT)]
    entries: list[ChecksumEntry] = []
    errors: list[DrumgateError] = []
    if data and not data.endswith(b"\n"):
        errors.append(DrumgateError("no newline at end of file", path=source, line=data.count(b"\n") + 1))
    seen: dict[str, int] = {}
    previous: str | None = None
    lines = data.split(b"\n")
    if b"\r\n" in data and all(raw.endswith(b"\r") for raw in lines if raw):  # converted whole (autocrlf)
        errors.append(DrumgateError("CRLF line endings throughout (use LF)", path=source, line=1))
        lines = [raw.removesuffix(b"\r") for raw in lines]
    for line_no, raw in enumerate(lines, start=1):
        if not raw:
            continue
        entry = _parse_line(raw, source, line_no, errors)
        if entry is None:
            continue
        if entry.path in seen:
            errors.append(
                DrumgateError(f"duplicate entry (first on line {seen[entry.path]})", path=source, line=line_no)
            )
            continue
        if previous is not None and entry.path < previous:
            errors.append(
                DrumgateError(
                    "entries are not sorted by path",
                    path=source,
                    line=line_no,
                    hint=generate_fix(source.stem),
                )
            )
        seen[entry.path] = line_no
        previous = entry.path
        entries.append(entry)
    return entries, errors


def _parse_line(raw: bytes, source: Path, line_no: int, errors: list[DrumgateError]) -> ChecksumEntry | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        errors.append(DrumgateError("not valid UTF-8", path=source, line=line_no))
        return None
    if text.endswith("\r"):
        errors.append(DrumgateError("CRLF line ending (use LF)", path=source, line=line_no))
        return None
    match = LINE_PATTERN.match(text)
    if match is None:
        errors.append(
            DrumgateError("not `<64 lowercase hex sha256><two spaces><tier>/<path>`", path=source, line=line_no)
        )
        return None
    problem = entry_path_problem(match["path"])
    if problem:
        errors.append(DrumgateError(problem, path=source, line=line_no))
        return None
    return ChecksumEntry(line_no, match["sha"], match["path"])


def render_manifest(digests: dict[str, str]) -> bytes:
    return "".join(f"{digests[key]}  {key}\n" for key in sorted(digests)).encode("utf-8")
