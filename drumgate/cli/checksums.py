"""SHA-256 checksum manifests across storage tiers: `drumgate checksums {generate,verify} <dataset>`.

The manifest `data/archives/checksums/<ds>.sha256` is in `sha256sum` text format, one
`<64 lowercase hex><two spaces><tier>/<root-relative posix path>` line per file, sorted by path,
so `sha256sum -c` accepts it from a folder holding one symlink per tier name. Above the dataset's
`partition_checksums` entries (configs/datasets.toml, default 4096) it is the folder `<ds>/` of
sha256sum parts `00.sha256`..`ff.sha256` plus `index.sha256`; only parts that change are rewritten
(drumgate.checksums.parts). Files are hashed
on a thread pool (hashlib releases the GIL). `verify` always reads every byte: a file corrupted in
place with its size and mtime put back must fail. Only `generate --stat-cache` may skip reading a
file, through a cache that maps (device, inode, size, mtime_ns) to a digest; the cache lives inside
the workspace in a private (0700, owner-only) `.drumgate/` folder, never in a shared home folder.
"""

# The command layer of drumgate.checksums (the docstring above is the command's --help).

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from drumgate import cli
from drumgate.checksums.actions import generate, verify
from drumgate.config import load_datasets
from drumgate.errors import EXIT_USAGE, DrumgateError
from drumgate.io.statcache import CACHE_FOLDER, StatCache, workspace_cache_path
from drumgate.lineage import grouplock
from drumgate.workspace import Workspace


def _open_cache(ws: Workspace, args: argparse.Namespace) -> StatCache | None:
    """The stat cache only when asked for, and only for `generate`: `verify` reads every byte."""
    if not args.stat_cache:
        return None
    if args.action != "generate":
        raise DrumgateError(
            "--stat-cache is for generate only: verify always reads every byte", exit_code=EXIT_USAGE,
            hint="drop --stat-cache",
        )
    cache = StatCache(workspace_cache_path(ws))
    if cache.refused:
        print(f"note: stat cache not used ({cache.refused}); every file is read", file=sys.stderr)
    return cache



def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("generate", "verify"), help="write/extend the manifest, or check files")
    parser.add_argument("dataset", help="dataset id from configs/datasets.toml (e.g. cambridge)")
    parser.add_argument(
        "--update",
        action="store_true",
        help="generate: accept changed files and drop missing ones instead of reporting them",
    )
    parser.add_argument("--jobs", type=int, default=None, help="hashing threads (default: CPU count)")
    parser.add_argument(
        "--stat-cache",
        action="store_true",
        help=f"generate only: reuse the digest of a file whose device, inode, size and mtime are unchanged "
        f"(kept in the private workspace folder {CACHE_FOLDER}/); verify always reads every byte",
    )
    cli.add_json_option(parser, "the counts and findings")


def run(args: argparse.Namespace) -> int:
    ws = cli.workspace_from(args)
    args.dataset = cli.dataset_id(args.dataset)
    if args.jobs is not None and args.jobs < 1:
        raise DrumgateError("--jobs must be at least 1", exit_code=EXIT_USAGE)
    cache = _open_cache(ws, args)
    result: dict[str, Any] = {}
    try:
        if args.action == "generate":
            grouplock.hold(ws, [load_datasets(ws).get(args.dataset).group])
            argv = ["checksums", "generate", args.dataset]
            code = generate(
                ws, args.dataset, update=args.update, jobs=args.jobs, cache=cache, argv=argv, result=result
            )
        else:
            code = verify(ws, args.dataset, jobs=args.jobs, result=result)
    finally:
        if cache is not None:
            cache.close()
    cli.emit_json(args, result)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run_module(sys.modules[__name__], argv, prog="python -m drumgate.checksums")
