"""SHA-256 checksum manifests across storage tiers (`drumgate checksums {generate,verify} <dataset>`).

A domain package of its own (not `io/`): the manifest is an artifact with a format, a cache and a
view of the storage tiers, none of which other readers share. One module per responsibility:

- `manifest`: the `sha256sum` text format (parse with path:line errors, render, entry paths);
- `parts`: a large manifest as a folder. Above the dataset's `partition_checksums` entries
  (configs/datasets.toml; 4096 when unset) or once the folder exists, `<ds>.sha256` is `<ds>/` of
  up to 256 sha256sum parts cut by a stable key (the entry path without extension and render
  number) plus `index.sha256`; small manifests, the demo's among them, stay single files;
- `statcache`: the private (device, inode, size, mtime_ns) -> sha256 cache of `generate --stat-cache`;
- `tree`: walking the online roots, resolving entries to files, hashing them on a thread pool;
- `actions`: `generate` and `verify` with plain parameters.

The command layer (argparse, --json) is `drumgate.cli.checksums`; file hashing is the one hasher,
`drumgate.io.hashing`. The names below are the package's API for hooks and ingestors.
"""

from __future__ import annotations

from drumgate.checksums.actions import generate, verify
from drumgate.checksums.manifest import (
    ChecksumEntry,
    entry_path_problem,
    generate_command,
    generate_fix,
    parse_manifest,
    render_manifest,
)
from drumgate.checksums.tree import HashOutcome, ScanResult, hash_files, resolve_entry, scan_root
from drumgate.io.statcache import CACHE_FOLDER, CACHE_NAME, StatCache, private_folder, workspace_cache_path

__all__ = [
    "CACHE_FOLDER",
    "CACHE_NAME",
    "ChecksumEntry",
    "HashOutcome",
    "ScanResult",
    "StatCache",
    "entry_path_problem",
    "generate",
    "generate_command",
    "generate_fix",
    "hash_files",
    "parse_manifest",
    "private_folder",
    "render_manifest",
    "resolve_entry",
    "scan_root",
    "verify",
    "workspace_cache_path",
]
