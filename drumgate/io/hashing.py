"""SHA-256 of files and bytes: the one hasher (checksum manifests, provenance, lineage, ingest).

hashlib is OpenSSL-backed and releases the GIL on each block, so a thread pool hashes files on
every core. A file is read in 1 MiB blocks straight into one reused buffer; the byte count comes
from the same read as the digest, so a file that grows while it is hashed cannot pair one size with
another content. Every failure is one DrumgateError naming the file.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from drumgate.errors import DrumgateError
from drumgate.io.fsutil import open_for_reading

BLOCK_BYTES = 1 << 20


@dataclass(frozen=True)
class FileDigest:
    sha256: str
    bytes: int


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def digest_file(path: str | Path) -> FileDigest:
    """The sha256 and size of a file's bytes, read once."""
    digest = hashlib.sha256()
    size = 0
    with open_for_reading(path) as handle:
        try:
            # a buffer no larger than the file (plus one byte to see its end): a fresh 1 MiB buffer
            # for each of a folder's thousands of small parts cost more than hashing them
            expected = os.fstat(handle.fileno()).st_size
            buffer = bytearray(min(BLOCK_BYTES, expected + 1))
            view = memoryview(buffer)
            while count := handle.readinto(view):
                digest.update(view[:count])
                size += count
        except OSError as exc:
            raise DrumgateError(f"cannot read: {exc.strerror}", path=path) from exc
    return FileDigest(digest.hexdigest(), size)


def sha256_file(path: str | Path) -> str:
    return digest_file(path).sha256
