"""The workspace: the folder holding `configs/` and the committed artifacts (DESIGN §2-§3).

It is found from `--workspace`, `DRUMGATE_WORKSPACE`, or the nearest folder at or above the
current one that holds `configs/datasets.toml`; never the installed package (a run outside a data
repository would otherwise write into drumgate's own folder). Paths a user types are relative to
the current folder (`user_path`); paths drumgate stores (locks, configs) are workspace-relative.
"""

from __future__ import annotations

import functools
import os
import shlex
from dataclasses import dataclass
from pathlib import Path

from drumgate import artifacts
from drumgate.artifacts import COMBINED, ArtifactRegistry
from drumgate.errors import DrumgateError

__all__ = ["COMBINED", "DEFAULTS", "PACKAGE_ROOT", "Workspace", "find_workspace", "packaged_datasets"]
PACKAGE_ROOT = Path(__file__).resolve().parent.parent
# Default configs, schemas and licence notes ship as package data; `drumgate init` copies them.
DEFAULTS = Path(__file__).resolve().parent / "defaults"


@functools.cache
def packaged_datasets() -> tuple[str, ...]:
    """The datasets drumgate ships configs and licence notes for: the packaged datasets.toml's tables, in order."""
    return ArtifactRegistry.from_toml(DEFAULTS / "configs" / "datasets.toml").datasets


@dataclass(frozen=True)
class Workspace:
    root: Path

    @property
    def configs(self) -> Path:
        return self.root / "configs"

    @property
    def schemas(self) -> Path:
        return self.configs / "schemas"

    def path(self, relative: str | Path) -> Path:
        """A workspace-relative path made absolute (absolute paths pass through)."""
        candidate = Path(relative)
        return candidate if candidate.is_absolute() else self.root / candidate

    def user_path(self, typed: str | Path) -> Path:
        """A path the user typed on the command line: relative to the current folder, as in every CLI."""
        return Path(os.path.abspath(os.path.expanduser(typed)))

    def contains(self, path: str | Path) -> bool:
        """True when `path` (workspace-relative or absolute) lies inside the workspace."""
        return not Path(self.rel(path)).is_absolute()

    def rel(self, path: str | Path) -> str:
        """Posix path relative to the workspace root when inside it, else the absolute path. A path
        reached through a link to the workspace (`<link>/data/...` for `<root>/data/...`) is inside it
        too: recorded absolute, repro and the hooks would not know it as the workspace's file."""
        absolute = Path(os.path.abspath(self.path(path)))
        for candidate, root in ((absolute, os.path.abspath(self.root)),
                                (Path(os.path.realpath(absolute)), os.path.realpath(self.root))):
            try:
                return candidate.relative_to(root).as_posix()
            except ValueError:
                continue
        return absolute.as_posix()

    # Artifact paths (DESIGN §3), as the registry (drumgate.artifacts) names them.
    def sessions_manifest(self, dataset: str, dry_run: bool = False) -> Path:
        return self.root / artifacts.sessions_manifest(dataset, dry_run)

    def events_manifest(self, dataset: str) -> Path:
        return self.root / artifacts.events_manifest(dataset)

    def provenance(self, dataset: str) -> Path:
        return self.root / artifacts.provenance_manifest(dataset)

    def checksums(self, dataset: str) -> Path:
        return self.root / artifacts.checksum_manifest(dataset)

    def licence_note(self, dataset: str) -> Path:
        return self.root / artifacts.licence_note(dataset)

    def lock_file(self, group: str) -> Path:
        return self.root / artifacts.lock_file(group)

    def health_report(self, dataset: str, yyyymmdd: str, ext: str = "json") -> Path:
        return self.root / artifacts.health_report(dataset, yyyymmdd, ext)

    def weights_report(self, dataset: str, yyyymmdd: str) -> Path:
        return self.root / artifacts.weights_report(dataset, yyyymmdd)

    def diff_report(self, dataset: str, base: str, head: str, ext: str = "json") -> Path:
        return self.root / artifacts.diff_report(dataset, base, head, ext)


def _has_configs(folder: Path) -> bool:
    return (folder / "configs" / "datasets.toml").is_file()


def holding_root(path: Path) -> Path | None:
    """The data repository folder (one with configs/datasets.toml) that holds `path`, if any."""
    return next((folder for folder in path.parents if _has_configs(folder)), None)


def _file_given(root: Path) -> DrumgateError:
    """`--workspace FILE`. A workspace holding the file is most likely the one meant; otherwise
    `drumgate init FILE` would refuse the file, so the fix makes a workspace under a free name
    beside it (as `drumgate init FILE` itself suggests)."""
    message = "is a file, not a workspace folder"
    holder = holding_root(root)
    if holder is not None:
        return DrumgateError(message, path=root,
                             hint=f"fix: pass --workspace {shlex.quote(str(holder))}, the workspace holding it")
    # A workspace made there by an earlier run of this fix is named again, not passed over.
    names = (root.with_name(f"{root.name}-repo{n or ''}") for n in range(1000))
    free = next((name for name in names if not name.exists() or _has_configs(name)), root.with_name(f"{root.name}-ws"))
    quoted = shlex.quote(str(free))
    return DrumgateError(message, path=root,
                         hint=f"fix: drumgate init {quoted} to make a workspace there, then pass --workspace {quoted}")


def find_workspace(explicit: str | Path | None = None) -> Workspace:
    if explicit is None:
        explicit = os.environ.get("DRUMGATE_WORKSPACE") or None
    if explicit is not None:
        root = Path(explicit).resolve()
        if root.exists() and not root.is_dir():
            raise _file_given(root)
        if not _has_configs(root):
            raise DrumgateError(
                "not a drumgate workspace (no configs/datasets.toml)",
                path=root,
                hint=f"fix: drumgate init {shlex.quote(str(root))}",
            )
        return Workspace(root)
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if _has_configs(folder):
            return Workspace(folder)
    raise DrumgateError(
        "not inside a drumgate data repository (no configs/datasets.toml here or above)",
        path=here,
        hint="fix: drumgate init, or cd into your data repository, or pass --workspace DIR",
    )
