"""What every drumgate hook shares: paths as given, staged paths, findings and fix commands.

Kept light on imports: a hook that has nothing to check must return in a few milliseconds.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drumgate.artifacts import LOCKS_DIR
from drumgate.errors import DAMAGED_HINTS, EXIT_FINDINGS, EXIT_OK, DrumgateError, format_finding, shown_from_here
from drumgate.git import git_blob, git_output
from drumgate.restore import recorded_command
from drumgate.restore import restore_fix as shared_restore_fix
from drumgate.workspace import Workspace

MAX_FINDINGS_PER_FILE = 50


def workspace_relative(ws: Workspace, filename: str | Path) -> str:
    """A path given on the command line (relative to the current folder) as workspace-relative posix."""
    return ws.rel(os.path.abspath(filename))


@dataclass
class Reporter:
    """Collects findings and notes; prints findings as `path[:line]: message (fix: command)`."""

    findings: int = 0
    per_file: dict[str, int] = field(default_factory=dict)
    stream: Any = None
    checked: set[str] = field(default_factory=set)  # the given files the check read (the rest are not its kind)

    def checking(self, relative: str) -> None:
        """Count a given file as checked: the summary of a hook run by hand names how many were."""
        self.checked.add(relative)

    def _out(self) -> Any:
        return self.stream if self.stream is not None else sys.stderr

    def add(self, err: DrumgateError, hint: str | None = None) -> None:
        self.findings += 1
        shown_from_here(err)  # a reader's absolute path, shown as the others are
        key = str(err.path)
        count = self.per_file.get(key, 0) + 1
        self.per_file[key] = count
        if count <= MAX_FINDINGS_PER_FILE:
            shown = hint if not err.hint or (hint and err.hint in DAMAGED_HINTS) else err.hint
            print(format_finding(err.path, err.message, err.line, shown), file=self._out())

    def finding(self, path: str | Path | None, message: str, line: int | None = None, hint: str | None = None) -> None:
        self.add(DrumgateError(message, path=path, line=line, hint=hint))

    def note(self, path: str | Path | None, message: str) -> None:
        print(format_finding(path, f"note: {message}"), file=self._out())

    def close(self) -> int:
        for path, count in self.per_file.items():
            if count > MAX_FINDINGS_PER_FILE:
                hidden = count - MAX_FINDINGS_PER_FILE
                print(format_finding(path, f"... and {hidden} more problems in this file"), file=self._out())
        return EXIT_FINDINGS if self.findings else EXIT_OK


def staged_paths(ws: Workspace, include_deleted: bool = False) -> list[str]:
    """Workspace-relative paths in the index that differ from HEAD (added, copied, modified, renamed, or
    changed in type: a file become a link)."""
    diff_filter = "ACMRTD" if include_deleted else "ACMRT"
    # --no-renames: a rename is its deletion and its addition, and the deleted name is checked as one
    out = git_output(["diff", "--cached", "--name-only", "--no-renames", "--relative", "-z",
                      f"--diff-filter={diff_filter}"], ws.root)
    return sorted(name for name in out.split("\0") if name)


def committed_text(ws: Workspace, relative_path: str) -> str | None:
    """The file's content at HEAD (a `.gz` file inflated), or None when HEAD does not have it (or
    there is no HEAD, or the stored gzip is damaged)."""
    data = git_blob(["show", f"HEAD:./{relative_path}"], ws.root)
    if data is None:
        return None
    if relative_path.endswith(".gz"):
        import gzip
        import zlib

        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error):
            return None
    return data.decode("utf-8", errors="replace")


def fix_hint(ws: Workspace, group: str | None, relative_path: str, fallback: str) -> str:
    command = recorded_command(ws, group, relative_path)
    return f"fix: {command}" if command else f"fix: {fallback}"


def unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def generated_empty_manifest(ws: Workspace, group: str | None, relative_path: str) -> bool:
    """An empty manifest is a finding unless drumgate wrote it (e.g. `--allow-empty` on an empty root):
    its lock records exactly this content."""
    from drumgate import lineage
    from drumgate.io.hashing import sha256_file
    from drumgate.io.jsonio import is_blank_file

    path = ws.path(relative_path)
    if group is None or not is_blank_file(path):
        return False
    try:
        entry = lineage.read_lock(ws, group)["artifacts"].get(relative_path)
    except DrumgateError:
        return False
    return entry is not None and entry.get("sha256") == sha256_file(path)


# ---------------------------------------------------------------- parts seen before

SEEN_PARTS_NAME = "seen_parts.sqlite"


def content_digest(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


class SeenParts:
    """The parts of partitioned manifests a hook has passed, by the sha256 of their stored bytes.

    A hook's verdict on a part follows from the part's bytes and from what judged them (`context`:
    the digest of the schema, of the taxonomy, of the checksum manifest), so a part whose bytes
    passed before under the same context is not read again: a re-ingest that changes 1% of the
    performances costs 1% of the rows. Only clean verdicts are kept (a finding is reported again).
    The table lives in the workspace's private `.drumgate/` folder (owner-only 0700, git-ignored,
    as the checksums stat cache), since a verdict planted there would let a bad part pass; a cache
    that cannot be opened is simply not used."""

    def __init__(self, ws: Workspace, hook: str) -> None:
        import sqlite3

        from drumgate.checksums import CACHE_FOLDER, private_folder

        self.hook = hook
        self._passed: list[tuple[str, str, str]] = []
        self._db: Any = None
        try:
            private_folder(ws.root / CACHE_FOLDER)
            self._db = sqlite3.connect(str(ws.root / CACHE_FOLDER / SEEN_PARTS_NAME), timeout=30)
            self._db.execute("CREATE TABLE IF NOT EXISTS passed (hook TEXT NOT NULL, context TEXT NOT NULL,"
                             " sha256 TEXT NOT NULL, PRIMARY KEY (hook, context, sha256))")
            self._db.commit()
        except (OSError, sqlite3.Error, DrumgateError):
            self._db = None

    def seen(self, context: str, digest: str) -> bool:
        import sqlite3

        if self._db is None:
            return False
        try:
            row = self._db.execute("SELECT 1 FROM passed WHERE hook=? AND context=? AND sha256=?",
                                   (self.hook, context, digest)).fetchone()
        except sqlite3.Error:
            return False
        return row is not None

    def passed(self, context: str, digest: str) -> None:
        self._passed.append((self.hook, context, digest))

    def close(self) -> None:
        import sqlite3

        if self._db is None:
            return
        try:
            self._db.executemany("INSERT OR IGNORE INTO passed VALUES (?, ?, ?)", self._passed)
            self._db.commit()
        except sqlite3.Error:
            pass  # the cache only ever saves work
        finally:
            self._db.close()
            self._db = None


def findings_about(reporter: Reporter, relative: str) -> int:
    return reporter.per_file.get(relative, 0)


def restore_fix(ws: Workspace, artifact: Any, fallback: str) -> str:
    """`artifacts.restore_fix`, else `fix: <fallback>`."""
    return shared_restore_fix(ws, artifact) or f"fix: {fallback}"


def artifact_fix(ws: Workspace, artifact: Any, fallback: str) -> str:
    """The fix for a file: its lock's recorded command, else `restore_fix`. A part or a folder's
    index always gets `restore_fix`: the command recorded for the folder may read the damaged folder
    itself (`events cambridge` carries an offline tier's sessions forward from it) and fail on it."""
    from drumgate.git import user_is_at

    # the recorded command names its paths from the root: from a subfolder (`git commit` run there)
    # they would write beside the user, so the fixes that work anywhere in the repository instead
    command = recorded_command(ws, artifact.group, artifact.path) if artifact.folder is None else None
    if command and user_is_at(ws.root):
        return f"fix: {command}"
    return restore_fix(ws, artifact, fallback)


def finding_fix(own: str | None, artifact_hint: Callable[[], str], restore_hint: Callable[[], str]) -> str:
    """The fix printed for a reader's finding: its own unless it has none (the artifact's fix) or
    says only that the file is damaged (`restore_fix`: rerunning a command may read the same bytes)."""
    if own in DAMAGED_HINTS:
        return restore_hint()
    return own or artifact_hint()


def changed_lines(ws: Workspace, relative: str) -> set[str] | None:
    """Lines of the staged file that HEAD does not have (None: every line is new); `.gz` inflated."""
    before = committed_text(ws, relative)
    if before is None:
        return None
    data = ws.path(relative).read_bytes()
    if relative.endswith(".gz"):
        import gzip
        import zlib

        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error):
            return None  # every line is new: the scan names the damage
    now = set(data.decode("utf-8", errors="replace").splitlines())
    return now - set(before.splitlines())


def deleted_locks(ws: Workspace, staged: Iterable[str]) -> list[str]:
    """Staged lock deletions whose group lives on: an artifact the HEAD lock records is still in the
    worktree (deleting a whole group, lock and artifacts together, is fine). Without its lock, repro
    no longer knows how the group was made."""
    found = []
    for path in staged:
        if not (path.startswith(f"{LOCKS_DIR}/") and path.endswith(".lock.json")) or ws.path(path).exists():
            continue
        try:
            recorded = json.loads(committed_text(ws, path) or "{}").get("artifacts", {})
        except (ValueError, AttributeError):
            continue
        if isinstance(recorded, dict) and any(isinstance(name, str) and ws.path(name).exists() for name in recorded):
            found.append(path)
    return found


def committed_locks(ws: Workspace) -> list[str]:
    """The lock files HEAD holds (workspace-relative): with `--all` a deleted one is looked for there."""
    from drumgate.git import git_text

    listed = git_text(["ls-tree", "--name-only", "HEAD", f"{LOCKS_DIR}/"], ws.root) or ""
    return [line for line in listed.splitlines() if line.endswith(".lock.json")]


def linked_data_files(ws: Workspace, among: Iterable[str] | None = None) -> list[str]:
    """The guarded files (artifacts, configs, licence notes) the index holds as symbolic links, among
    `among` (the staged paths, workspace-relative) or all. drumgate writes regular files and reads none
    through a link: a link committed in place of a manifest or a lock passed every hook (their file
    filters skip links) and read as the group being gone, so the printed repro then dropped the dataset."""
    from drumgate.artifacts import is_data_path
    from drumgate.git import git_text

    wanted = None if among is None else [path for path in among if is_data_path(path)]
    if wanted == []:
        return []
    # paths relative to the workspace (git runs there), which may be a subfolder of the repository;
    # not a git repository (a workspace checked with --all before `git init`): no index, no link in it
    listed = git_text(["ls-files", "--stage", "-z", "--", *(wanted or [])], ws.root) or ""
    found = []
    for entry in listed.split("\0"):
        mode, _, rest = entry.partition(" ")
        path = rest.partition("\t")[2]
        if mode == "120000" and is_data_path(path):
            found.append(path)
    return found


def link_fix(ws: Workspace, path: str) -> str:
    """The way back for a guarded file held as a link: the committed file when HEAD holds one (not a link),
    else the link removed (index and tree) and the artifact made again; a config or a note is copied."""
    from drumgate.artifacts import classify
    from drumgate.git import git_at, git_text, restore_command

    quoted = shlex.quote(path)
    head = git_text(["ls-tree", "HEAD", "--", path], ws.root) or ""
    if head.startswith("100"):
        return f"fix: {restore_command(path, root=ws.root)}"
    if classify(path) is None:  # a config or a licence note: nothing makes it again
        return f"fix: replace {quoted} with a copy of the file it points to, then {git_at(ws.root)}add {quoted}"
    return f"fix: {git_at(ws.root)}rm -q -- {quoted}, then drumgate repro and git add -A"
