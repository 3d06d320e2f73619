"""SHA-256 of files and bytes (hashlib is OpenSSL-backed and releases the GIL while hashing)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from drumgate.errors import DrumgateError


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    try:
        with open(path, "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except FileNotFoundError as exc:
        raise DrumgateError("file not found", path=path) from exc
    except IsADirectoryError as exc:
        raise DrumgateError("is a folder, expected a file", path=path) from exc
    except OSError as exc:
        raise DrumgateError(f"cannot read: {exc.strerror}", path=path) from exc
