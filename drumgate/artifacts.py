"""The artifact registry (DESIGN §3): where every artifact lives, which one a path is, which
datasets make up each artifact group.

Every workspace path drumgate reads or writes is spelled here once: the path functions below
build them, `classify` parses the same names back (kind, dataset group, date), and
`ArtifactRegistry` maps the datasets of `configs/datasets.toml` to their groups and licence notes.
The hooks use this to pick a schema, to find a file's artifact group and to tell data files from
everything else, so it imports nothing heavy.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drumgate.errors import EXIT_FINDINGS, DrumgateError
from drumgate.io.parts.layout import INDEX_NAME

if TYPE_CHECKING:
    from drumgate.config import DatasetsConfig
    from drumgate.workspace import Workspace

COMBINED = "prod_combined"

# The folders artifacts live in, workspace-relative.
MANIFESTS_DIR = "data/manifests"
PROVENANCE_DIR = "data/provenance"
CHECKSUMS_DIR = "data/archives/checksums"
LICENCES_DIR = "data/licenses"
LOCKS_DIR = "data/locks"
HEALTH_DIR = "reports/health"
SAMPLING_DIR = "reports/sampling"
DIFFS_DIR = "reports/diffs"
# The folders `drumgate demo` lists at the end, in that order.
OUTPUT_DIRS = (MANIFESTS_DIR, PROVENANCE_DIR, CHECKSUMS_DIR, LOCKS_DIR, HEALTH_DIR, SAMPLING_DIR, DIFFS_DIR)


def sessions_manifest(dataset: str, dry_run: bool = False) -> str:
    return f"{MANIFESTS_DIR}/{dataset}_sessions{'_dryrun' if dry_run else ''}.jsonl"


def events_manifest(dataset: str) -> str:
    return f"{MANIFESTS_DIR}/{dataset}_events.jsonl"


# Datasets whose events a command of their own derives after the ingest (Cambridge: close-mic onsets)
DERIVED_EVENTS = {"cambridge": ("events", "cambridge")}


# Datasets whose provenance takes each file's sha256 from the checksum manifest (Cambridge: its zips are
# hashed there, once), so their ingest reads that manifest once `checksums generate` has written it.
PROVENANCE_FROM_CHECKSUMS = frozenset({"cambridge"})


def events_command(dataset: str) -> tuple[str, ...]:
    """The `drumgate` words that write `dataset`'s events manifest."""
    return DERIVED_EVENTS.get(dataset, ("ingest", dataset))


def combined_reference(dataset: str = COMBINED) -> str:
    """The combined manifest: a reference to its sources' rows (drumgate.io.combined_reference)."""
    return f"{MANIFESTS_DIR}/{dataset}_events.json"


def manifest(dataset: str, kind: str) -> str:
    """The single-file manifest of a kind: `events`, `sessions` or `provenance`."""
    return provenance_manifest(dataset) if kind == "provenance" else f"{MANIFESTS_DIR}/{dataset}_{kind}.jsonl"


def provenance_manifest(dataset: str) -> str:
    return f"{PROVENANCE_DIR}/{dataset}_provenance.jsonl"


def checksum_manifest(dataset: str) -> str:
    return f"{CHECKSUMS_DIR}/{dataset}.sha256"


def licence_note(dataset: str) -> str:
    """Where a licence note lives by convention (configs/datasets.toml may name another file)."""
    return f"{LICENCES_DIR}/{dataset}.md"


def lock_file(group: str) -> str:
    return f"{LOCKS_DIR}/{group}.lock.json"


def group_lock(group: str) -> str:
    """The OS lock file writers of a group hold (git-ignored)."""
    return f"{LOCKS_DIR}/.{group}.lck"


def health_report(dataset: str, yyyymmdd: str, ext: str = "json") -> str:
    return f"{HEALTH_DIR}/{dataset}_{yyyymmdd}.{ext}"


def health_reports_of(dataset: str) -> str:
    """The name prefix shared by a dataset's dated health reports."""
    return f"{HEALTH_DIR}/{dataset}_"


def weights_report(dataset: str, yyyymmdd: str) -> str:
    return f"{weights_reports_of(dataset)}{yyyymmdd}.json"


def weights_reports_of(dataset: str) -> str:
    return f"{SAMPLING_DIR}/{dataset}_weights_"


def combined_health_report(yyyymmdd: str) -> str:
    """The combined manifest's health report, written by `drumgate combine` (its own name pattern)."""
    return f"{HEALTH_DIR}/{COMBINED}_health_{yyyymmdd}.json"


def combined_weights_report() -> str:
    """The combined manifest's undated weights, which training reads; combine writes the dated one too."""
    return f"{SAMPLING_DIR}/{COMBINED}_weights.json"


def diff_report(dataset: str, base: str, head: str, ext: str = "json") -> str:
    return f"{DIFFS_DIR}/{dataset}_{base}_to_{head}.{ext}"


@dataclass(frozen=True)
class ArtifactRegistry:
    """The datasets of a workspace (configs/datasets.toml, in order) and their artifact groups."""

    groups: Mapping[str, str]  # dataset -> artifact group
    notes: Mapping[str, str]  # dataset -> configured licence note path
    combined_group: str = COMBINED
    combined: bool = False  # whether the config has a [combined] table

    @classmethod
    def from_config(cls, config: DatasetsConfig) -> ArtifactRegistry:
        return cls(
            groups={name: ds.group for name, ds in config.datasets.items()},
            notes={name: ds.licence_note for name, ds in config.datasets.items()},
            combined_group=str(config.combined.get("group", COMBINED)),
            combined=bool(config.combined),
        )

    @classmethod
    def from_toml(cls, path: Path) -> ArtifactRegistry:
        """From a datasets.toml read without validation (the packaged defaults)."""
        import tomllib

        with path.open("rb") as handle:
            raw: dict[str, Any] = tomllib.load(handle)
        entries: dict[str, Any] = raw["datasets"]
        combined = dict(raw.get("combined", {}))
        return cls(
            groups={name: entry.get("group", name) for name, entry in entries.items()},
            notes={name: entry.get("licence_note", licence_note(name)) for name, entry in entries.items()},
            combined_group=str(combined.get("group", COMBINED)),
            combined=bool(combined),
        )

    @property
    def datasets(self) -> tuple[str, ...]:
        return tuple(self.groups)

    def group_of(self, name: str) -> str:
        """A dataset's artifact group; the combined manifest's name is its own group's."""
        return self.groups.get(name, self.combined_group if name == COMBINED else name)

    def all_groups(self) -> list[str]:
        """Every artifact group, sorted: each dataset's and the combined one."""
        return sorted({*self.groups.values(), self.combined_group})

    def dataset_of_group(self) -> dict[str, str]:
        """group -> the dataset that writes it (the last one listed, when several share it)."""
        return {group: name for name, group in self.groups.items()}

    def members(self, group: str) -> list[str]:
        """The datasets whose artifacts form `group` (a dataset's own name counts as its group)."""
        return [name for name, owner in self.groups.items() if owner == group or name == group]


# Dated artifact names: a newer date of the same name supersedes an older one (kept as history).
_DATED = (
    re.compile(r"^(?P<stem>.+)_(?P<date>\d{8})(?P<ext>\.[a-z.]+)$"),  # reports/health/egmd_20260115.json
    re.compile(r"^(?P<stem>(?:.*/)?)(?P<date>\d{4}-\d{2}-\d{2})(?P<ext>-.+)$"),  # .../2026-01-15-health-summary.md
)


def dated_name(artifact: str) -> tuple[tuple[str, str], str] | None:
    """((stem, extension), YYYYMMDD) of a dated artifact path, None for an undated one."""
    for pattern in _DATED:
        match = pattern.match(artifact)
        if match:
            return (match["stem"], match["ext"]), match["date"].replace("-", "")
    return None


def either(*paths: str) -> str:
    """A regex matching any of `paths` (regex text), their shared leading folders factored out:
    `either("data/manifests", "data/provenance")` is `data/(manifests|provenance)`."""
    split = [path.split("/") for path in paths]
    shared = 0
    while all(len(parts) > shared + 1 for parts in split) and len({parts[shared] for parts in split}) == 1:
        shared += 1
    head = "/".join(split[0][:shared])
    tails = "|".join("/".join(parts[shared:]) for parts in split)
    return f"{head}/({tails})" if head else f"({tails})"


def registry(ws: Workspace) -> ArtifactRegistry:
    """The workspace's registry, from its validated configs/datasets.toml."""
    from drumgate.config import load_datasets

    return ArtifactRegistry.from_config(load_datasets(ws))


_DS = r"(?P<ds>[a-z][a-z0-9_]*?)"
_GZ = r"(?:\.gz)?"
_PART = r"[A-Za-z0-9._-]+\.jsonl\.gz"  # a part file of a partitioned manifest folder (drumgate.io.parts)
_DATE8 = r"(?P<date>\d{8})"
_REV = r"[0-9A-Za-z.-]+"


def _dir(folder: str) -> str:
    return re.escape(folder)


# (kind, pattern); the first pattern that matches a workspace-relative posix path wins.
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(rf"^{pattern}$"))
    for kind, pattern in (
        ("events_index", rf"{_dir(MANIFESTS_DIR)}/{_DS}_events/index\.json"),
        ("sessions_index", rf"{_dir(MANIFESTS_DIR)}/{_DS}_sessions/index\.json"),
        ("provenance_index", rf"{_dir(PROVENANCE_DIR)}/{_DS}_provenance/index\.json"),
        ("renders_part", rf"{_dir(MANIFESTS_DIR)}/{_DS}_events/renders/{_PART}"),
        ("events_part", rf"{_dir(MANIFESTS_DIR)}/{_DS}_events/{_PART}"),
        ("sessions_part", rf"{_dir(MANIFESTS_DIR)}/{_DS}_sessions/{_PART}"),
        ("provenance_part", rf"{_dir(PROVENANCE_DIR)}/{_DS}_provenance/{_PART}"),
        ("events", rf"{_dir(MANIFESTS_DIR)}/{_DS}_events\.jsonl{_GZ}"),
        ("events_reference", rf"{_dir(MANIFESTS_DIR)}/{_DS}_events\.json"),
        ("sessions", rf"{_dir(MANIFESTS_DIR)}/{_DS}_sessions(?:_dryrun)?\.jsonl{_GZ}"),
        ("provenance", rf"{_dir(PROVENANCE_DIR)}/{_DS}_provenance\.jsonl{_GZ}"),
        ("checksums", rf"{_dir(CHECKSUMS_DIR)}/{_DS}\.sha256"),
        # a large checksum manifest's folder (drumgate.checksums.parts): its index and its parts
        ("checksums_index", rf"{_dir(CHECKSUMS_DIR)}/{_DS}/index\.sha256"),
        ("checksums_part", rf"{_dir(CHECKSUMS_DIR)}/{_DS}/[0-9a-f]{{2}}\.sha256"),
        ("licence", rf"{_dir(LICENCES_DIR)}/{_DS}\.md"),
        ("lock", rf"{_dir(LOCKS_DIR)}/{_DS}\.lock\.json"),
        ("health_summary", rf"{_dir(HEALTH_DIR)}/(?P<date>\d{{4}}-\d{{2}}-\d{{2}})-health-summary\.md"),
        ("health", rf"{_dir(HEALTH_DIR)}/{_DS}(?:_health)?_{_DATE8}\.json"),
        ("health_html", rf"{_dir(HEALTH_DIR)}/{_DS}(?:_health)?_{_DATE8}\.html"),
        ("weights", rf"{_dir(SAMPLING_DIR)}/{_DS}_weights(?:_{_DATE8})?\.json"),
        ("diff", rf"{_dir(DIFFS_DIR)}/{_DS}_(?P<base>{_REV})_to_(?P<head>{_REV})\.json"),
        ("diff_md", rf"{_dir(DIFFS_DIR)}/{_DS}_(?P<base>{_REV})_to_(?P<head>{_REV})\.md"),
    )
)

# The artifact kinds validated against `configs/schemas/<schema>.schema.json`.
SCHEMA_OF_KIND = {
    "events": "events",
    "sessions": "sessions",
    "provenance": "provenance",
    "lock": "lock",
    "health": "health",
    "weights": "weights",
    "diff": "diff",
    "events_part": "events",
    "renders_part": "renders",
    "sessions_part": "sessions",
    "provenance_part": "provenance",
    "events_index": "parts_index",
    "events_reference": "combined_reference",
    "sessions_index": "parts_index",
    "provenance_index": "parts_index",
}
JSONL_KINDS = frozenset({"events", "sessions", "provenance"})
# A part or an index stands for the manifest its folder replaces (freshness, companions, groups).
MANIFEST_OF_KIND = {
    "events_part": "events", "renders_part": "events", "sessions_part": "sessions",
    "provenance_part": "provenance", "events_index": "events", "sessions_index": "sessions",
    "provenance_index": "provenance", "events_reference": "events",
    "checksums_index": "checksums", "checksums_part": "checksums",
}
PART_KINDS = frozenset({"events_part", "renders_part", "sessions_part", "provenance_part"})
INDEX_KINDS = frozenset({"events_index", "sessions_index", "provenance_index"})
CONFIG_PREFIX = "configs/"


@dataclass(frozen=True)
class Artifact:
    path: str
    kind: str
    group: str | None
    date: str | None = None

    @property
    def schema(self) -> str | None:
        return SCHEMA_OF_KIND.get(self.kind)

    @property
    def is_jsonl(self) -> bool:
        """A single-file manifest (parts are `is_part`)."""
        return self.kind in JSONL_KINDS

    @property
    def is_part(self) -> bool:
        return self.kind in PART_KINDS

    @property
    def is_index(self) -> bool:
        return self.kind in INDEX_KINDS

    @property
    def manifest(self) -> str:
        """The manifest kind a file holds rows of: `events` for an events file, part or index."""
        return MANIFEST_OF_KIND.get(self.kind, self.kind)

    @property
    def folder(self) -> str | None:
        """The partitioned folder (workspace-relative) a part or index belongs to."""
        if not (self.is_part or self.is_index):
            return None
        head = self.path.rsplit("/", 2 if self.kind == "renders_part" else 1)[0]
        return head


INGESTED_FILE = re.compile(r"^(?P<dataset>.+?)_(?:sessions|provenance)\.jsonl(?:\.gz)?$")


def ingest_fix(path: str | Path) -> str:
    """The command that rewrites an ingested sessions or provenance file, runnable as printed."""
    match = INGESTED_FILE.match(Path(path).name)
    if match is None:
        return "fix: rerun the drumgate ingest command that wrote it"
    dataset = match.group("dataset")
    return "fix: drumgate combine" if dataset == "prod_combined" else f"fix: drumgate ingest {dataset}"


def classify(relative_path: str) -> Artifact | None:
    """The artifact a workspace-relative posix path names, or None for any other file."""
    for kind, pattern in _PATTERNS:
        match = pattern.match(relative_path)
        if match:
            groups = match.groupdict()
            return Artifact(relative_path, kind, groups.get("ds"), groups.get("date"))
    return None


def is_data_path(relative_path: str) -> bool:
    """True for the files the hooks guard: artifacts, configs and licence notes."""
    return relative_path.startswith(CONFIG_PREFIX) or classify(relative_path) is not None


ALLOW_EMPTY_HELP = (
    "write empty manifests when nothing is found or every row is rejected "
    "(without it an empty result never replaces a manifest that has rows)"
)
_PEEK_BYTES = 1 << 16


def holds_rows(path: Path) -> bool:
    """True when `path` is a manifest with at least one non-blank line (read only up to that line),
    or a partitioned folder's index.json that lists a part."""
    if not path.is_file():
        return False
    if path.name == INDEX_NAME:
        from drumgate.io import parts  # the reader needs jsonio, which needs this module

        try:
            return bool(parts.read_index(path.parent)["parts"])
        except DrumgateError:
            return True  # unreadable is not provably empty: keep it rather than replace it
    try:
        with gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb") as handle:
            while chunk := handle.read(_PEEK_BYTES):
                if chunk.strip():
                    return True
    except (OSError, EOFError):
        return True  # unreadable is not provably empty: keep it rather than replace it
    return False


def refuse_emptying(
    rows_written: Mapping[Path, int], allow_empty: bool, shown: Callable[[Path], str], why: str
) -> None:
    """Refuse (exit 1, before anything is replaced) to turn a manifest with rows into an empty one.

    `rows_written` maps each target manifest to the rows this run has for it; `why` says why it has
    none. `--allow-empty` is the one way to say "empty is right" and is recorded in the lock's command.
    """
    if allow_empty:
        return
    for path, rows in rows_written.items():
        if rows == 0 and holds_rows(path):
            raise DrumgateError(
                f"refusing to replace it with an empty manifest ({why}); nothing written",
                path=shown(path),
                hint="fix the input, or pass --allow-empty if empty is right",
                exit_code=EXIT_FINDINGS,
            )
