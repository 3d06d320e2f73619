"""SHA-256 of files and bytes (hashlib is OpenSSL-backed and releases the GIL while hashing)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from drumgate.errors import DrumgateError
from drumgate.io.fsutil import open_for_reading


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    with open_for_reading(path) as handle:
        try:
            return hashlib.file_digest(handle, "sha256").hexdigest()
        except OSError as exc:
            raise DrumgateError(f"cannot read: {exc.strerror}", path=path) from exc
