"""Which folder stands for a dataset's first storage tier, and refusing a tier that holds nothing.

`drumgate ingest <ds> --root DIR` reads a folder of its own, not the configured root; its lock
records the command with `--root` (workspace-relative inside the workspace, else absolute, as every
typed path is recorded). `checksums generate|verify <ds> --root DIR` take the same folder, and
`generate` records it the same way. The fixes that follow such an ingest, repro's checksums step and
the checksums hook read it from the lock, so that they hash and verify the folder the provenance
came from, never an empty configured one: a run that finds no file on a tier whose files the
manifest or the provenance lists is refused, before it could write a manifest that vouches for
nothing or, with `--update`, drop every committed digest.
"""

from __future__ import annotations

import os
import shlex
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from drumgate import lineage
from drumgate.checksums import parts as checksum_parts
from drumgate.checksums.agreement import reread_group
from drumgate.checksums.manifest import generate_command
from drumgate.config import DatasetConfig, StorageRoot, load_datasets
from drumgate.errors import DrumgateError
from drumgate.io import parts
from drumgate.workspace import Workspace


def recorded_root(ws: Workspace, config: DatasetConfig, made_by: str) -> str | None:
    """The `--root` the group's lock records for its ingest (`made_by` "raw": the folder its provenance
    lists; a dry run's makes only a preview) or for its `checksums generate` ("checksums"); None for
    the configured root."""
    try:
        artifacts = lineage.read_lock(ws, config.group, drop_outside=True)["artifacts"]
    except DrumgateError:
        return None  # a damaged lock is the finding of the schema and freshness hooks, and of repro
    for entry in artifacts.values():
        try:
            argv = shlex.split(str(entry.get("command", "")))[1:]
        except ValueError:
            continue
        if made_by == "raw":
            ours = argv[:1] == ["ingest"] and "--dry-run" not in argv
        else:
            ours = argv[:3] == ["checksums", "generate", config.name]
        if ours:
            return argv[argv.index("--root") + 1] if "--root" in argv[:-1] else None
    return None


def checksums_config(ws: Workspace, dataset: str) -> tuple[DatasetConfig, str | None]:
    """The dataset's config as its manifest was made, on this machine: the `--root` its `checksums
    generate` recorded (relative to the workspace) stands in for the first tier when it is a folder
    here and the tier's variable (`DRUMGATE_<DS>_ROOT`) is not set, else the configured or variable
    root is read; and that recorded root when it is the one read (None otherwise)."""
    config = load_datasets(ws).get(dataset)
    root = recorded_root(ws, config, "checksums")
    first = config.roots[0]
    if not root or not ws.path(root).is_dir() or (first.env and os.environ.get(first.env)):
        return config, None  # another machine's folder, or one this machine's variable overrides
    return config.with_first_root(ws.path(root)), root


def manifest_root(ws: Workspace, dataset: str) -> str | None:
    """The folder the manifest's `checksums generate --root` read, absolute, when it is the one to read here."""
    root = checksums_config(ws, dataset)[1]
    return str(ws.path(root)) if root else None


class ManifestRoots:
    """`get(dataset)`: its config as its manifest was made (checksums_config), read once per dataset;
    what the checksums hook verifies files against. `root(dataset)`: the `--root` read, for fixes."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self._configs: dict[str, tuple[DatasetConfig, str | None]] = {}

    def _read(self, dataset: str) -> tuple[DatasetConfig, str | None]:
        if dataset not in self._configs:
            self._configs[dataset] = checksums_config(self.ws, dataset)
        return self._configs[dataset]

    def get(self, dataset: str) -> DatasetConfig:
        return self._read(dataset)[0]

    def root(self, dataset: str) -> str | None:
        try:
            return self._read(dataset)[1]
        except DrumgateError:
            return None  # an unknown dataset or a broken config: the command names it when run

    def mounted_file(self, dataset: str, entry_path: str) -> Path | None:
        """The file a `<tier>/<path>` entry names, or None when its tier is offline."""
        from pathlib import PurePosixPath

        from drumgate.checksums import entry_path_problem

        problem = entry_path_problem(entry_path)
        if problem:
            raise DrumgateError(problem)
        tier, inside = entry_path.split("/", 1)
        root = self.get(dataset).root(tier)
        return root.path / PurePosixPath(inside) if root.online else None

    def unfilled_tier_note(self, dataset: str, tier: str, missing: int) -> str | None:
        """A note for a tier whose folder exists but holds no file at all (the raw data lives elsewhere
        and its `env` is not set in this shell, say), else None. Its files are not checked, as an
        offline tier's are not: a finding per listed file would block the commit with a fix that
        cannot run (`checksums generate --update` refuses an empty tier)."""
        root = self.get(dataset).root(tier)
        try:
            if any(path.is_file() for path in root.path.rglob("*")):
                return None
        except OSError:
            return None  # a folder it may not list: each missing file is worded
        where = f"set {root.env} to the folder that holds them, or put them there, " if root.env else ""
        return (f"{dataset} tier {tier!r} holds no files at {self.ws.rel(root.path)}: {missing} files not verified"
                f" ({where}to check them)")


def raw_root_fix(ws: Workspace, dataset: str) -> str:
    """`fix: drumgate checksums generate <ds>`, with the `--root` its ingest recorded: the folder of
    the files its provenance lists."""
    try:
        root = recorded_root(ws, load_datasets(ws).get(dataset), "raw")
    except DrumgateError:
        root = None  # an unknown dataset or a broken config: the command names it when run
    return f"fix: {generate_command(dataset, root=root)}"


def command(action: str, dataset: str, root: str | None, update: bool = False) -> str:
    """`drumgate checksums <action> <ds>`, runnable as printed."""
    if action == "generate":
        return generate_command(dataset, update=update, root=root)
    return f"drumgate checksums {action} {dataset}" + (f" --root {shlex.quote(root)}" if root else "")


def typed_config(ws: Workspace, dataset: str, typed: str | None, action: str, update: bool) -> DatasetConfig:
    """The dataset's config, a typed `--root DIR` (relative to the current folder) standing in for its
    first tier. As for ingest, a typed root must be a folder: only a configured root may be offline."""
    config = load_datasets(ws).get(dataset)
    if typed is None:
        return config
    path = ws.user_path(typed)
    if not path.is_dir():
        what = "root not found" if not path.exists() else "root not found: a file, not a folder"
        known = _other_raw_root(ws, config, path)
        hint = (f"fix: {command(action, dataset, known, update)}" if known else
                f"fix: {command(action, dataset, None, update)} to read the configured root "
                f"{shlex.quote(ws.rel(config.roots[0].path))}")
        raise DrumgateError(what, path=typed, hint=hint)
    return config.with_first_root(path)


def _other_raw_root(ws: Workspace, config: DatasetConfig, used: Path) -> str | None:
    """The folder the dataset's ingest recorded with `--root`, when it is a folder other than `used`."""
    root = recorded_root(ws, config, "raw")
    return root if root and ws.path(root).is_dir() and ws.path(root).resolve() != used.resolve() else None


@dataclass(frozen=True)
class ProvenanceFiles:
    """The source files a dataset's provenance lists on one tier: `keys` to match against manifest keys
    (`tier/path`; a row's path may carry its tier or not, so both readings are kept), `count` of distinct
    files, and `shown`, the provenance as found (plain, gzip or a partitioned folder)."""

    keys: frozenset[str] = frozenset()
    count: int = 0
    shown: str = ""


def provenance_files(ws: Workspace, dataset: str, tier: str) -> ProvenanceFiles:
    """What the dataset's provenance lists on `tier` (nothing when it is absent or unreadable)."""
    from drumgate.events import iter_rows

    base = ws.provenance(dataset)
    found = [path for path in (base, base.with_name(base.name + ".gz")) if parts.resolve(path).exists()]
    if not found:
        return ProvenanceFiles()
    keys: set[str] = set()
    files: set[tuple[object, str]] = set()
    try:
        for _, row in iter_rows(found[0], on_error=lambda err: None):
            listed, row_tier = row.get("source_files"), row.get("tier")
            if not isinstance(listed, list):
                continue
            for item in listed:
                path = item.get("path") if isinstance(item, dict) else None
                if not isinstance(path, str):
                    continue
                if (row_tier if isinstance(row_tier, str) else path.split("/", 1)[0]) != tier:
                    continue
                files.add((row_tier, path))
                keys.update((path, f"{tier}/{path}") if isinstance(row_tier, str) else (path,))
    except DrumgateError:
        return ProvenanceFiles()  # a damaged provenance is the hooks' finding, not this one
    return ProvenanceFiles(frozenset(keys), len(files), ws.rel(parts.resolve(found[0])))


def refuse_empty_tiers(ws: Workspace, config: DatasetConfig, found: Iterable[str], listed: Iterable[str], *,
                       action: str, typed: str | None, update: bool = False, provenance: bool = True,
                       unlisted: Iterable[str] = ()) -> None:
    """Raise when a mounted tier on which no file was `found` is one whose files the manifest (`listed`
    entries) or, with `provenance`, the provenance lists: the wrong folder, not a deleted corpus; when
    the first tier is not mounted while the provenance lists files the manifest has none of; and when a
    tier holds files but not one of those the manifest or the provenance lists (a wrong folder too: a
    corpus renamed whole is ingested again first, and its provenance then lists the new names). A tier
    with a folder that could not be listed (`unlisted`) is not judged: its files are unknown."""
    unsure = {prefix.split("/", 1)[0] for prefix in unlisted}
    found_on: dict[str, set[str]] = defaultdict(set)
    for key in found:
        found_on[key.split("/", 1)[0]].add(key)
    listed_on: dict[str, set[str]] = defaultdict(set)
    for key in listed:
        listed_on[key.split("/", 1)[0]].add(key)
    manifest = ws.rel(checksum_parts.location(ws.checksums(config.name)))
    for index, root in enumerate(config.roots):
        if root.tier in unsure:
            continue
        here, known = found_on.get(root.tier), listed_on.get(root.tier, set())
        if here:
            if not here.isdisjoint(known):
                continue
            read = provenance_files(ws, config.name, root.tier) if provenance else ProvenanceFiles()
            if not (known or read.count) or not here.isdisjoint(read.keys):
                continue
            sources = [f"the {len(known)} that {manifest} lists"] if known else []
            if read.count:
                sources.append(f"the {read.count} that {read.shown} lists")
            hint = _tier_fix(ws, config, root, index, action, typed, update)
            group = reread_group(ws, config.name)
            if group:  # the same files under new names (repackaged in place) are read again by their ingest
                hint += f"; if they were renamed or repackaged there: drumgate repro {group}, then git add -A"
            raise DrumgateError(
                f"holds {len(here)} file{'' if len(here) == 1 else 's'}, none of them among {' or '.join(sources)}"
                f" on tier {root.tier}:"
                " not the folder they came from", path=ws.rel(root.path), hint=hint)
        if not root.online and (known or index):
            continue  # an offline tier's entries are kept, not checked; another tier's drive may be unplugged
        count, source = len(known), manifest
        if not count and provenance:
            read = provenance_files(ws, config.name, root.tier)
            count, source = read.count, read.shown
        if count:
            state = "holds no files" if root.online else "not found"
            raise DrumgateError(f"{state}, while {source} lists {count} files on tier {root.tier}",
                                path=ws.rel(root.path), hint=_tier_fix(ws, config, root, index, action, typed, update))


def _tier_fix(ws: Workspace, config: DatasetConfig, root: StorageRoot, index: int, action: str,
              typed: str | None, update: bool) -> str:
    if index:  # `--root` stands in for the first tier only
        return (f"fix: mount tier {root.tier} at {shlex.quote(ws.rel(root.path))}"
                + (f", or set {root.env} to the folder that holds it" if root.env else ""))
    known = _other_raw_root(ws, config, root.path)
    if known:  # the folder that `ingest --root` read
        return f"fix: {command(action, config.name, known, update)}"
    configured = load_datasets(ws).get(config.name).roots[0].path
    if typed and configured.is_dir() and configured.resolve() != root.path.resolve():  # the configured root
        return f"fix: {command(action, config.name, None, update)}, which reads the configured {ws.rel(configured)}"
    env = f", or set {root.env}=DIR" if root.env and not typed else ""
    return f"fix: {command(action, config.name, 'DIR', update)}, with DIR the folder that holds the files{env}"
