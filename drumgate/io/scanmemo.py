"""What one command learnt about a manifest's content, kept for the next one that reads it.

pre-commit runs each hook in its own process, so the schema hook (which parses every row anyway)
leaves the facts the taxonomy hook needs: whether every line is sound JSON (no finding from the
lean scan) and the distinct (label, labels, techniques, variant) combinations. Facts follow from
the bytes alone, so a memo is named by the sha256 of the file as stored: a changed file has
another digest and finds no memo. Memos live outside the repository, beside the checksum stat
cache (`DRUMGATE_CACHE_DIR`, else the user cache folder); one that cannot be written or read is
simply not used. `save_document`/`load_document` are the one mechanism: the hooks' scan facts and
health's facts of a partitioned sessions or provenance folder (named by its index's sha256) use it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import platformdirs

from drumgate.errors import DrumgateError
from drumgate.io.fsutil import atomic_write_bytes

MEMO_VERSION = 1
CACHE_ENV = "DRUMGATE_CACHE_DIR"
LabelKey = tuple[Any, ...]


@dataclass(frozen=True)
class ScanFacts:
    sound: bool
    label_keys: frozenset[LabelKey]


def cache_root() -> Path:
    """drumgate's folder for what it keeps between runs outside a repository: `DRUMGATE_CACHE_DIR`,
    else the user cache folder."""
    override = os.environ.get(CACHE_ENV)
    return Path(override) if override else Path(platformdirs.user_cache_dir("drumgate"))


def memo_folder() -> Path:
    return cache_root() / "scanmemo"


def _as_json(key: LabelKey) -> list[Any]:
    return [list(part) if isinstance(part, tuple) else part for part in key]


def _as_key(value: list[Any]) -> LabelKey:
    return tuple(tuple(part) if isinstance(part, list) else part for part in value)


SCAN_FACTS = "scan"


def save(digest: str | None, facts: ScanFacts) -> None:
    """Keep `facts` for the content whose sha256 is `digest`; never raises."""
    if digest is None:
        return
    keys = sorted((_as_json(key) for key in facts.label_keys), key=orjson.dumps)
    save_document(SCAN_FACTS, digest, {"sound": facts.sound, "label_keys": keys})


def load(digest: str | None) -> ScanFacts | None:
    """The facts kept for the content whose sha256 is `digest`, else None."""
    memo = load_document(SCAN_FACTS, digest) if digest is not None else None
    try:
        return None if memo is None else ScanFacts(bool(memo["sound"]),
                                                   frozenset(_as_key(key) for key in memo["label_keys"]))
    except (KeyError, TypeError):
        return None


def _document_path(kind: str, digest: str) -> Path:
    return memo_folder() / f"{kind}-{digest}.json"


def save_document(kind: str, digest: str, document: Any) -> None:
    """Keep a JSON document of facts derived from the content whose sha256 is `digest`; never raises."""
    memo = {"version": MEMO_VERSION, "kind": kind, "sha256": digest, "document": document}
    try:
        atomic_write_bytes(_document_path(kind, digest), orjson.dumps(memo))
    except (OSError, TypeError, DrumgateError):
        return


def load_document(kind: str, digest: str) -> Any:
    """The document kept for (`kind`, `digest`), else None."""
    try:
        memo = orjson.loads(_document_path(kind, digest).read_bytes())
        if memo["version"] != MEMO_VERSION or memo["kind"] != kind or memo["sha256"] != digest:
            return None
        return memo["document"]
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError):
        return None
