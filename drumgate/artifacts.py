"""Which artifact a workspace path is (DESIGN §3), from its path alone: kind, dataset group, date.

The hooks use this to pick a schema, to find a file's artifact group and to tell data files from
everything else, so it imports nothing heavy.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from drumgate.errors import EXIT_FINDINGS, DrumgateError

_DS = r"(?P<ds>[a-z][a-z0-9_]*?)"
_GZ = r"(?:\.gz)?"
_PART = r"[A-Za-z0-9._-]+\.jsonl\.gz"  # a part file of a partitioned manifest folder (drumgate.io.parts)

# (kind, pattern); the first pattern that matches a workspace-relative posix path wins.
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(rf"^{pattern}$"))
    for kind, pattern in (
        ("events_index", rf"data/manifests/{_DS}_events/index\.json"),
        ("sessions_index", rf"data/manifests/{_DS}_sessions/index\.json"),
        ("provenance_index", rf"data/provenance/{_DS}_provenance/index\.json"),
        ("renders_part", rf"data/manifests/{_DS}_events/renders/{_PART}"),
        ("events_part", rf"data/manifests/{_DS}_events/{_PART}"),
        ("sessions_part", rf"data/manifests/{_DS}_sessions/{_PART}"),
        ("provenance_part", rf"data/provenance/{_DS}_provenance/{_PART}"),
        ("events", rf"data/manifests/{_DS}_events\.jsonl{_GZ}"),
        ("sessions", rf"data/manifests/{_DS}_sessions(?:_dryrun)?\.jsonl{_GZ}"),
        ("provenance", rf"data/provenance/{_DS}_provenance\.jsonl{_GZ}"),
        ("checksums", rf"data/archives/checksums/{_DS}\.sha256"),
        ("licence", rf"data/licenses/{_DS}\.md"),
        ("lock", rf"data/locks/{_DS}\.lock\.json"),
        ("health_summary", r"reports/health/(?P<date>\d{4}-\d{2}-\d{2})-health-summary\.md"),
        ("health", rf"reports/health/{_DS}(?:_health)?_(?P<date>\d{{8}})\.json"),
        ("health_html", rf"reports/health/{_DS}(?:_health)?_(?P<date>\d{{8}})\.html"),
        ("weights", rf"reports/sampling/{_DS}_weights(?:_(?P<date>\d{{8}}))?\.json"),
        ("diff", rf"reports/diffs/{_DS}_(?P<base>[0-9A-Za-z.-]+)_to_(?P<head>[0-9A-Za-z.-]+)\.json"),
        ("diff_md", rf"reports/diffs/{_DS}_(?P<base>[0-9A-Za-z.-]+)_to_(?P<head>[0-9A-Za-z.-]+)\.md"),
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
    "sessions_index": "parts_index",
    "provenance_index": "parts_index",
}
JSONL_KINDS = frozenset({"events", "sessions", "provenance"})
# A part or an index stands for the manifest its folder replaces (freshness, companions, groups).
MANIFEST_OF_KIND = {
    "events_part": "events", "renders_part": "events", "sessions_part": "sessions",
    "provenance_part": "provenance", "events_index": "events", "sessions_index": "sessions",
    "provenance_index": "provenance",
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
    """True when `path` is a manifest with at least one non-blank line (read only up to that line)."""
    if not path.is_file():
        return False
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
