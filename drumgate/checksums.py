"""SHA-256 checksum manifests across storage tiers: `drumgate checksums {generate,verify} <dataset>`.

The manifest `data/archives/checksums/<ds>.sha256` is in `sha256sum` text format, one
`<64 lowercase hex><two spaces><tier>/<root-relative posix path>` line per file, sorted by path,
so `sha256sum -c` accepts it from a folder holding one symlink per tier name. Files are hashed
on a thread pool (hashlib releases the GIL). `verify` always reads every byte: a file corrupted in
place with its size and mtime put back must fail. Only `generate --stat-cache` may skip reading a
file, through a cache that maps (device, inode, size, mtime_ns) to a digest; the cache lives inside
the workspace in a private (0700, owner-only) `.drumgate/` folder, never in a shared home folder.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import re
import sqlite3
import stat
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from drumgate import cli
from drumgate.config import DatasetConfig, StorageRoot, load_datasets
from drumgate.errors import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, DrumgateError, format_finding
from drumgate.io.fsutil import atomic_write_bytes
from drumgate.io.jsonio import LFS_HINT, LFS_POINTER_PREFIX
from drumgate.lineage import grouplock
from drumgate.progress import progress, progress_enabled
from drumgate.workers import worker_count
from drumgate.workspace import Workspace

if TYPE_CHECKING:
    from tqdm import tqdm

LINE_PATTERN = re.compile(r"^(?P<sha>[0-9a-f]{64})  (?P<path>.+)$")
TIER_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
CACHE_FOLDER = ".drumgate"
CACHE_NAME = "statcache.sqlite"
READ_CHUNK = 1 << 20


@dataclass(frozen=True)
class ChecksumEntry:
    line: int
    sha256: str
    path: str  # <tier>/<root-relative posix path>

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


def generate_command(dataset: str, *, update: bool = False) -> str:
    """The command that rewrites a dataset's manifest, runnable as printed."""
    return f"drumgate checksums generate {dataset}" + (" --update" if update else "")


def generate_fix(dataset: str, *, update: bool = False) -> str:
    return f"fix: {generate_command(dataset, update=update)}"


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
    for line_no, raw in enumerate(data.split(b"\n"), start=1):
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


# Stat cache ------------------------------------------------------------------------------------


def workspace_cache_path(ws: Workspace) -> Path:
    return ws.root / CACHE_FOLDER / CACHE_NAME


def private_folder(folder: Path) -> None:
    """Create `folder` owner-only (0700) with a `.gitignore` of `*`; refuse one others may write to or
    that another user owns (a digest planted there would let a changed file pass)."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise PermissionError(f"{folder} is not a private folder (owner-only, mode 0700)")
    ignore = folder / ".gitignore"
    if not ignore.exists():
        atomic_write_bytes(ignore, b"*\n")


StatKey = tuple[int, int, int, int]


def stat_key(info: os.stat_result) -> StatKey:
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)


class StatCache:
    """(device, inode, size, mtime_ns) -> sha256, in SQLite in a private folder.

    A cache that cannot be opened, or whose folder is not private, degrades to an in-memory one
    (`refused` says why): it only ever saves work.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.refused: str | None = None
        try:
            private_folder(self.path.parent)
            self._db = sqlite3.connect(str(self.path), timeout=30)
            self._init_schema()
        except (OSError, sqlite3.Error, DrumgateError) as exc:
            self.refused = str(exc)
            self._db = sqlite3.connect(":memory:")
            self._init_schema()
        self._pending: list[tuple[int, int, int, int, str]] = []

    def _init_schema(self) -> None:
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS digests (dev INTEGER, ino INTEGER, size INTEGER, mtime_ns INTEGER,"
            " sha256 TEXT NOT NULL, PRIMARY KEY (dev, ino, size, mtime_ns))"
        )
        self._db.commit()

    def get(self, key: StatKey) -> str | None:
        row = self._db.execute(
            "SELECT sha256 FROM digests WHERE dev=? AND ino=? AND size=? AND mtime_ns=?", key
        ).fetchone()
        return row[0] if row else None

    def get_many(self, keys: Iterable[StatKey]) -> dict[StatKey, str]:
        wanted = set(keys)
        if not wanted:
            return {}
        found: dict[StatKey, str] = {}
        devices = {key[0] for key in wanted}
        for device in devices:
            for dev, ino, size, mtime, digest in self._db.execute(
                "SELECT dev, ino, size, mtime_ns, sha256 FROM digests WHERE dev=?", (device,)
            ):
                key = (dev, ino, size, mtime)
                if key in wanted:
                    found[key] = digest
        return found

    def put(self, key: StatKey, digest: str) -> None:
        self._pending.append((*key, digest))

    def flush(self) -> None:
        if not self._pending:
            return
        with contextlib.suppress(sqlite3.Error):
            self._db.executemany("INSERT OR REPLACE INTO digests VALUES (?, ?, ?, ?, ?)", self._pending)
            self._db.commit()
        self._pending.clear()

    def close(self) -> None:
        self.flush()
        self._db.close()

    def __enter__(self) -> StatCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# Tiers and walking -----------------------------------------------------------------------------


def resolve_entry(ws: Workspace, dataset: str, entry_path: str) -> Path | None:
    """The file an entry names, or None when its tier is offline. Unknown tiers and escapes raise."""
    problem = entry_path_problem(entry_path)
    if problem:
        raise DrumgateError(f"{entry_path}: {problem}")
    tier, relative = entry_path.split("/", 1)
    config = load_datasets(ws).get(dataset)
    root = _root_for_tier(config, tier)
    if not root.online:
        return None
    return root.path / PurePosixPath(relative)


def _root_for_tier(config: DatasetConfig, tier: str) -> StorageRoot:
    for root in config.roots:
        if root.tier == tier:
            return root
    known = ", ".join(root.tier for root in config.roots)
    raise DrumgateError(f"dataset {config.name} has no storage tier {tier!r} (tiers: {known})")


@dataclass
class ScanResult:
    files: dict[str, Path] = field(default_factory=dict)  # entry path -> absolute path
    problems: list[str] = field(default_factory=list)


def scan_root(root: StorageRoot, skip_hidden: bool = True) -> ScanResult:
    """Every regular file under an online root, keyed `<tier>/<relative path>`.

    Symlinks are followed only when they stay inside the root; loops, escapes, dangling links
    and names that are not UTF-8 are reported (one line each) and skipped.
    """
    result = ScanResult()
    base = root.path
    real_base = Path(os.path.realpath(base))
    stack = [base]
    base_info = os.stat(base)
    visited_dirs: set[tuple[int, int]] = {(base_info.st_dev, base_info.st_ino)}
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as listing:
                items = sorted(listing, key=lambda item: item.name)
        except OSError as exc:
            result.problems.append(format_finding(folder, f"cannot list folder: {exc.strerror}"))
            continue
        for item in items:
            if skip_hidden and item.name.startswith("."):
                continue
            _scan_item(root, real_base, Path(item.path), stack, visited_dirs, result)
    return result


def _scan_item(
    root: StorageRoot,
    real_base: Path,
    path: Path,
    stack: list[Path],
    visited_dirs: set[tuple[int, int]],
    result: ScanResult,
) -> None:
    relative = path.relative_to(root.path)
    try:
        relative_text = os.fsdecode(relative)
        relative_text.encode("utf-8")
    except UnicodeError:
        shown = os.fsencode(relative).decode("utf-8", "backslashreplace")
        result.problems.append(
            format_finding(root.path / shown, "file name is not valid UTF-8", hint="rename it to UTF-8")
        )
        return
    key = f"{root.tier}/{PurePosixPath(relative).as_posix()}"
    problem = entry_path_problem(key)
    if problem:
        result.problems.append(format_finding(path, problem, hint="rename it"))
        return
    try:
        info = os.stat(path)
    except OSError as exc:
        message = "symlink loop" if exc.errno == 40 else f"cannot stat: {exc.strerror}"
        if path.is_symlink() and exc.errno == 2:
            message = "dangling symlink"
        result.problems.append(format_finding(path, message, hint="fix or remove the link"))
        return
    if path.is_symlink():
        target = Path(os.path.realpath(path))
        if target != real_base and real_base not in target.parents:
            result.problems.append(
                format_finding(
                    path, "symlink escapes its storage root", hint="point it inside the root or copy the file"
                )
            )
            return
    if stat.S_ISDIR(info.st_mode):
        identity = (info.st_dev, info.st_ino)
        if identity in visited_dirs:
            result.problems.append(
                format_finding(path, "symlink loop (folder already visited)", hint="remove the link")
            )
            return
        visited_dirs.add(identity)
        stack.append(path)
    elif stat.S_ISREG(info.st_mode):
        result.files[key] = path


# Hashing ---------------------------------------------------------------------------------------


def _digest(path: Path) -> str:
    with open(path, "rb", buffering=0) as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


@dataclass
class HashOutcome:
    digests: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    cache_hits: int = 0
    hashed: int = 0


def hash_files(
    files: dict[str, Path],
    cache: StatCache | None = None,
    jobs: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> HashOutcome:
    """Digest each file (cache first, then a thread pool); unreadable files become problems."""
    outcome = HashOutcome()
    keys: dict[str, StatKey] = {}
    for name, path in files.items():
        try:
            keys[name] = stat_key(os.stat(path))
        except OSError as exc:
            outcome.problems.append(format_finding(path, f"cannot stat: {exc.strerror}"))
    cached = cache.get_many(keys.values()) if cache is not None else {}
    todo: list[str] = []
    for name, key in keys.items():
        if key in cached:
            outcome.digests[name] = cached[key]
            outcome.cache_hits += 1
        else:
            todo.append(name)
    workers = worker_count(jobs, items=len(todo))
    done = 0
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {name: pool.submit(_digest, files[name]) for name in todo}
        for name, future in futures.items():
            try:
                digest = future.result()
            except OSError as exc:
                outcome.problems.append(format_finding(files[name], f"cannot read: {exc.strerror}"))
                continue
            outcome.digests[name] = digest
            outcome.hashed += 1
            if cache is not None:
                cache.put(keys[name], digest)
            done += 1
            if progress is not None:
                progress(done, len(todo))
    if cache is not None:
        cache.flush()
    return outcome


# Commands --------------------------------------------------------------------------------------


@dataclass
class TreeState:
    online: list[StorageRoot]
    offline: list[StorageRoot]
    files: dict[str, Path]
    problems: list[str]


def scan_dataset(config: DatasetConfig) -> TreeState:
    state = TreeState([], [], {}, [])
    for root in config.roots:
        if not root.online:
            state.offline.append(root)
            continue
        state.online.append(root)
        scanned = scan_root(root)
        state.files.update(scanned.files)
        state.problems.extend(scanned.problems)
    return state


def _progress_printer() -> Callable[[int, int], None] | None:
    """A bar over the files being hashed (drumgate.progress: quiet off-terminal and in CI)."""
    if not progress_enabled():
        return None
    bars: list[tqdm] = []

    def show(done: int, total: int) -> None:
        if not bars:
            bars.append(progress(total, "hashing", "file"))
        bars[0].update(done - bars[0].n)
        if done == total:
            bars[0].close()

    return show


def _open_cache(ws: Workspace, args: argparse.Namespace) -> StatCache | None:
    """The stat cache only when asked for, and only for `generate`: `verify` reads every byte."""
    if not args.stat_cache:
        return None
    if args.action != "generate":
        raise DrumgateError(
            "--stat-cache is for generate only: verify always reads every byte", exit_code=EXIT_USAGE,
            hint="drop --stat-cache",
        )
    cache = StatCache(workspace_cache_path(ws))
    if cache.refused:
        print(f"note: stat cache not used ({cache.refused}); every file is read", file=sys.stderr)
    return cache


def _offline_note(root: StorageRoot, count: int) -> str:
    return f"tier {root.tier} offline ({root.path} not mounted): {count} entries kept, not checked"


def generate(
    ws: Workspace,
    dataset: str,
    *,
    update: bool,
    jobs: int | None,
    cache: StatCache | None,
    argv: Sequence[str],
    result: dict[str, Any] | None = None,
) -> int:
    """Write or extend the manifest; `result`, when given, receives the summary (for --json)."""
    config = load_datasets(ws).get(dataset)
    manifest_path = ws.checksums(dataset)
    existing: dict[str, str] = {}
    if manifest_path.exists():
        entries, errors = parse_manifest(manifest_path)
        if errors:
            for err in errors:
                print(str(err), file=sys.stderr)
            raise DrumgateError("existing manifest is malformed; fix or delete it", path=manifest_path)
        existing = {entry.path: entry.sha256 for entry in entries}
    state = scan_dataset(config)
    outcome = hash_files(state.files, cache, jobs, _progress_printer())
    findings = [*state.problems, *outcome.problems]
    merged, added, changed, missing = _merge(existing, outcome.digests, state, update)
    for name in changed:
        findings.append(
            format_finding(
                state.files[name],
                f"changed since the manifest was made ({name})",
                hint=generate_fix(dataset, update=True) if not update else "accepted",
            )
        )
    online_tiers = {root.tier for root in state.online}
    for name in missing:
        findings.append(
            format_finding(
                name,
                "listed in the manifest but missing on disk",
                hint=generate_fix(dataset, update=True) if not update else "dropped",
            )
        )
    for root in state.offline:
        print(_offline_note(root, sum(1 for key in existing if key.split("/", 1)[0] == root.tier)))
    atomic_write_bytes(manifest_path, render_manifest(merged))
    _record_lineage(ws, config, manifest_path, argv, state, merged)
    for line in findings:
        print(line, file=sys.stderr)
    print(
        f"{ws.rel(manifest_path)}: {len(merged)} entries ({len(added)} added, {len(changed)} changed, "
        f"{len(missing)} missing; {outcome.cache_hits} from cache, {outcome.hashed} hashed; "
        f"online tiers: {', '.join(sorted(online_tiers)) or 'none'})"
    )
    accepted = update and not state.problems and not outcome.problems
    if result is not None:
        result.update(
            action="generate", dataset=dataset, manifest=ws.rel(manifest_path), entries=len(merged),
            added=len(added), changed=len(changed), missing=len(missing), hashed=outcome.hashed,
            from_cache=outcome.cache_hits, online_tiers=sorted(online_tiers),
            offline_tiers=sorted(root.tier for root in state.offline), findings=findings,
        )
    return EXIT_OK if accepted or not findings else EXIT_FINDINGS


def _merge(
    existing: dict[str, str], digests: dict[str, str], state: TreeState, update: bool
) -> tuple[dict[str, str], list[str], list[str], list[str]]:
    online_tiers = {root.tier for root in state.online}
    merged = dict(existing)
    added = sorted(set(digests) - set(existing))
    changed = sorted(name for name in set(digests) & set(existing) if digests[name] != existing[name])
    missing = sorted(name for name in existing if name.split("/", 1)[0] in online_tiers and name not in state.files)
    for name in added:
        merged[name] = digests[name]
    if update:
        for name in changed:
            merged[name] = digests[name]
        for name in missing:
            del merged[name]
    return merged, added, changed, missing


def _record_lineage(
    ws: Workspace,
    config: DatasetConfig,
    manifest_path: Path,
    argv: Sequence[str],
    state: TreeState,
    merged: dict[str, str],
) -> None:
    from drumgate import lineage

    fingerprints = {}
    for root in config.roots:
        prefix = f"{root.tier}/"
        lines = "".join(f"{v}  {k}\n" for k, v in sorted(merged.items()) if k.startswith(prefix))
        status = "online" if root in state.online else "offline"
        fingerprints[f"{root.tier}_root"] = f"{status}:{hashlib.sha256(lines.encode()).hexdigest()}"
    lineage.record(
        ws, config.group, manifest_path, argv, inputs=[ws.configs / "datasets.toml"], external_inputs=fingerprints
    )


def verify(ws: Workspace, dataset: str, *, jobs: int | None, result: dict[str, Any] | None = None) -> int:
    """Hash every listed file on a mounted tier; `result`, when given, receives the summary (for --json)."""
    config = load_datasets(ws).get(dataset)
    manifest_path = ws.checksums(dataset)
    entries, errors = parse_manifest(manifest_path)
    findings = [str(err) for err in errors]
    state = scan_dataset(config)
    offline_tiers = {root.tier for root in state.offline}
    known_tiers = {root.tier for root in config.roots}
    present: dict[str, Path] = {}
    expected: dict[str, ChecksumEntry] = {}
    for entry in entries:
        if entry.tier not in known_tiers:
            findings.append(format_finding(manifest_path, f"unknown storage tier {entry.tier!r}", entry.line))
        elif entry.tier in offline_tiers:
            continue
        elif entry.path in state.files:
            present[entry.path] = state.files[entry.path]
            expected[entry.path] = entry
        else:
            findings.append(
                format_finding(
                    manifest_path,
                    f"{entry.path}: missing on disk",
                    entry.line,
                    hint=f"fix: restore it, or run {generate_command(dataset, update=True)}",
                )
            )
    outcome = hash_files(present, None, jobs, _progress_printer())
    findings.extend(state.problems)
    findings.extend(outcome.problems)
    for name, digest in sorted(outcome.digests.items()):
        entry = expected[name]
        if digest != entry.sha256:
            findings.append(
                format_finding(
                    manifest_path,
                    f"{name}: sha256 differs (file changed)",
                    entry.line,
                    hint=f"fix: restore it, or accept it with {generate_command(dataset, update=True)}",
                )
            )
    listed = {entry.path for entry in entries}
    for name in sorted(set(state.files) - listed):
        findings.append(
            format_finding(state.files[name], f"not in the manifest ({name})", hint=generate_fix(dataset))
        )
    for root in state.offline:
        print(_offline_note(root, sum(1 for entry in entries if entry.tier == root.tier)))
    for line in findings:
        print(line, file=sys.stderr)
    ok = len(outcome.digests) - sum(1 for n, d in outcome.digests.items() if d != expected[n].sha256)
    print(
        f"{ws.rel(manifest_path)}: {ok}/{len(entries)} entries verified "
        f"({outcome.cache_hits} from cache, {outcome.hashed} hashed), {len(findings)} findings"
    )
    if result is not None:
        result.update(
            action="verify", dataset=dataset, manifest=ws.rel(manifest_path), entries=len(entries), verified=ok,
            hashed=outcome.hashed, offline_tiers=sorted(offline_tiers), findings=findings,
        )
    return EXIT_FINDINGS if findings else EXIT_OK


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("generate", "verify"), help="write/extend the manifest, or check files")
    parser.add_argument("dataset", help="dataset id from configs/datasets.toml (e.g. cambridge)")
    parser.add_argument(
        "--update",
        action="store_true",
        help="generate: accept changed files and drop missing ones instead of reporting them",
    )
    parser.add_argument("--jobs", type=int, default=None, help="hashing threads (default: CPU count)")
    parser.add_argument(
        "--stat-cache",
        action="store_true",
        help=f"generate only: reuse the digest of a file whose device, inode, size and mtime are unchanged "
        f"(kept in the private workspace folder {CACHE_FOLDER}/); verify always reads every byte",
    )
    cli.add_json_option(parser, "the counts and findings")


def run(args: argparse.Namespace) -> int:
    ws = cli.workspace_from(args)
    args.dataset = cli.dataset_id(args.dataset)
    if args.jobs is not None and args.jobs < 1:
        raise DrumgateError("--jobs must be at least 1", exit_code=EXIT_USAGE)
    cache = _open_cache(ws, args)
    result: dict[str, Any] = {}
    try:
        if args.action == "generate":
            grouplock.hold(ws, [load_datasets(ws).get(args.dataset).group])
            argv = ["checksums", "generate", args.dataset]
            code = generate(
                ws, args.dataset, update=args.update, jobs=args.jobs, cache=cache, argv=argv, result=result
            )
        else:
            code = verify(ws, args.dataset, jobs=args.jobs, result=result)
    finally:
        if cache is not None:
            cache.close()
    cli.emit_json(args, result)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run_module(sys.modules[__name__], argv, prog="python -m drumgate.checksums")


def iter_entries_by_tier(entries: Iterable[ChecksumEntry]) -> Iterator[tuple[str, list[ChecksumEntry]]]:
    grouped: dict[str, list[ChecksumEntry]] = {}
    for entry in entries:
        grouped.setdefault(entry.tier, []).append(entry)
    yield from sorted(grouped.items())


if __name__ == "__main__":
    raise SystemExit(main())
