"""The commit a built drumgate recorded for itself (setup.py writes drumgate/_build_info.json into
wheels and sdists): an installed wheel has no git tree to ask which code made an artifact."""

from __future__ import annotations

import json
import re
from pathlib import Path

BUILD_INFO = Path(__file__).resolve().parent.parent / "_build_info.json"
# provenance.schema.json's pattern for ingest_commit: a value that fails it is not used, so rows stay valid
RECORDED = re.compile(r"[0-9a-f]{7,40}(-dirty)?|unknown")


def recorded_commit() -> str | None:
    """The commit the build of this drumgate recorded; None in a checkout (there is no file) or when unreadable."""
    try:
        info = json.loads(BUILD_INFO.read_bytes())
    except (OSError, ValueError):
        return None
    commit = info.get("commit") if isinstance(info, dict) else None
    return commit if isinstance(commit, str) and RECORDED.fullmatch(commit) else None
