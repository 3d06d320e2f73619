"""What the storage tiers hold: walk the online roots, resolve manifest entries, hash the files.

Symlinks are followed only inside their root; loops, escapes, dangling links and names that are
not UTF-8 are findings. Files are hashed on a thread pool (drumgate.io.hashing; hashlib releases
the GIL) sized by drumgate.workers, the stat cache answering first when one is given.
"""

from __future__ import annotations

import errno
import os
import shlex
import stat
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from drumgate.checksums.manifest import entry_path_problem
from drumgate.config import DatasetConfig, StorageRoot, load_datasets
from drumgate.errors import DrumgateError, format_finding
from drumgate.io.hashing import sha256_file
from drumgate.io.statcache import StatCache, StatKey, stat_key
from drumgate.workers import worker_count
from drumgate.workspace import Workspace


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
    unlisted: list[str] = field(default_factory=list)  # `<tier>/<folder>/` prefixes it could not list


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
            result.problems.append(format_finding(folder, f"cannot list folder: {exc.strerror}",
                                                  hint=f"fix: chmod u+rx {shlex.quote(str(folder))}"))
            inside = PurePosixPath(Path(folder).relative_to(base)).as_posix()
            result.unlisted.append(f"{root.tier}/" if inside == "." else f"{root.tier}/{inside}/")
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
        message = "symlink loop" if exc.errno == errno.ELOOP else f"cannot stat: {exc.strerror}"
        if path.is_symlink() and exc.errno == errno.ENOENT:
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
    on_progress: Callable[[int, int], None] | None = None,
) -> HashOutcome:
    """Digest each file (cache first, then a thread pool); unreadable files become problems.
    `on_progress(done, total)` follows the files hashed (not those the cache answered)."""
    outcome = HashOutcome()
    read_from_ns = time.time_ns()
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
        futures = {name: pool.submit(sha256_file, files[name]) for name in todo}
        for name, future in futures.items():
            try:
                digest = future.result()
            except DrumgateError as err:
                outcome.problems.append(str(err))
                continue
            outcome.digests[name] = digest
            outcome.hashed += 1
            if cache is not None:
                cache.put(keys[name], digest, read_from_ns)
            done += 1
            if on_progress is not None:
                on_progress(done, len(todo))
    if cache is not None:
        cache.flush()
    return outcome


@dataclass
class TreeState:
    online: list[StorageRoot]
    offline: list[StorageRoot]
    files: dict[str, Path]
    problems: list[str]
    unlisted: list[str] = field(default_factory=list)  # folders it could not list: their files are unknown

    def unknown(self, entry_path: str) -> bool:
        """Whether the entry lies in a folder that could not be listed (neither there nor missing)."""
        return entry_path.startswith(tuple(self.unlisted))


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
        state.unlisted.extend(scanned.unlisted)
    return state
