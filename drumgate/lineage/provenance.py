"""Facts every provenance row and report records about how it was made."""

from __future__ import annotations

import datetime as dt
import functools
import os
import re

from drumgate.errors import DrumgateError
from drumgate.git import git_text
from drumgate.io.hashing import sha256_file
from drumgate.lineage.build_info import recorded_commit
from drumgate.workspace import PACKAGE_ROOT, Workspace

ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
CODE_PATHS = ("drumgate", "ingest", "checks", "configs", "pyproject.toml")


@functools.lru_cache(maxsize=1)
def ingest_commit() -> str:
    """The last commit that changed drumgate's code or configs, `-dirty` if they have edits.

    Committing data artifacts does not move it, so re-running an ingest after committing its
    output reproduces the same provenance byte for byte. An installed wheel has no git tree: its
    build recorded the same answer (setup.py), and only a build holds that file, so it wins.
    """
    recorded = recorded_commit()
    if recorded:
        return recorded
    sha = git_text(["log", "-1", "--format=%H", "--", *CODE_PATHS], PACKAGE_ROOT)
    if not sha:
        return "unknown"
    dirty = git_text(["status", "--porcelain", "--", *CODE_PATHS], PACKAGE_ROOT)
    return f"{sha}-dirty" if dirty else sha


def config_hashes(ws: Workspace, names: tuple[str, ...], group: str | None = None) -> dict[str, str]:
    """sha256 of each named config as provenance records it; `datasets.toml` by the tables `group`
    reads, the taxonomy by its meaning (`config_parts.config_digest`, as its lock does): fingerprinted
    whole, a comment or a class's display name changed every provenance row on the next ingest, and
    so every report after it. Without a group, `datasets.toml` whole; any other file whole."""
    from drumgate.lineage import config_parts

    hashes = {}
    for name in names:
        path = ws.configs / name
        hashes[name] = config_parts.config_digest(f"configs/{name}", path, group) or sha256_file(path)
    return hashes


def report_date(explicit: str | None = None) -> dt.date:
    """`--date`, else SOURCE_DATE_EPOCH, else today (UTC)."""
    if explicit:
        try:
            # only the form the help names: fromisoformat also takes `20261202` and week dates (`2026-W49-3`)
            if not ISO_DAY.fullmatch(explicit):
                raise ValueError(explicit)
            return dt.date.fromisoformat(explicit)
        except ValueError as exc:
            from drumgate.lineage.date_fixes import date_fix

            raise DrumgateError(f"--date {explicit!r} is not a day as YYYY-MM-DD", hint=date_fix(explicit)) from exc
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            seconds = int(epoch)
        except ValueError as exc:
            from drumgate.lineage.date_fixes import epoch_fix

            raise DrumgateError(f"SOURCE_DATE_EPOCH={epoch!r} is not a whole number of seconds",
                                hint=epoch_fix()) from exc
        try:
            return dt.datetime.fromtimestamp(seconds, tz=dt.UTC).date()
        except (ValueError, OverflowError, OSError) as exc:  # past year 9999: no date, not a crash
            from drumgate.lineage.date_fixes import epoch_fix

            raise DrumgateError(f"SOURCE_DATE_EPOCH={epoch!r} is outside the years 1-9999",
                                hint=epoch_fix()) from exc
    return dt.datetime.now(tz=dt.UTC).date()
