"""Facts every provenance row and report records about how it was made."""

from __future__ import annotations

import datetime as dt
import functools
import os

from drumgate.errors import DrumgateError
from drumgate.git import git_text
from drumgate.io.hashing import sha256_file
from drumgate.workspace import PACKAGE_ROOT, Workspace

CODE_PATHS = ("drumgate", "ingest", "checks", "configs", "pyproject.toml")


@functools.lru_cache(maxsize=1)
def ingest_commit() -> str:
    """The last commit that changed drumgate's code or configs, `-dirty` if they have edits.

    Committing data artifacts does not move it, so re-running an ingest after committing its
    output reproduces the same provenance byte for byte.
    """
    sha = git_text(["log", "-1", "--format=%H", "--", *CODE_PATHS], PACKAGE_ROOT)
    if not sha:
        return "unknown"
    dirty = git_text(["status", "--porcelain", "--", *CODE_PATHS], PACKAGE_ROOT)
    return f"{sha}-dirty" if dirty else sha


def config_hashes(ws: Workspace, names: tuple[str, ...]) -> dict[str, str]:
    return {name: sha256_file(ws.configs / name) for name in names}


def report_date(explicit: str | None = None) -> dt.date:
    """`--date`, else SOURCE_DATE_EPOCH, else today (UTC)."""
    if explicit:
        try:
            return dt.date.fromisoformat(explicit)
        except ValueError as exc:
            raise DrumgateError(f"--date {explicit!r} is not YYYY-MM-DD") from exc
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            return dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC).date()
        except ValueError as exc:
            raise DrumgateError(f"SOURCE_DATE_EPOCH={epoch!r} is not a whole number of seconds") from exc
    return dt.datetime.now(tz=dt.UTC).date()
