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
`--root DIR` stands in for the first tier's configured root, as for `drumgate ingest <ds> --root DIR`:
after such an ingest, hash the same folder (`drumgate repro` does; the lock records the root).
"""

# The command layer of drumgate.checksums (the docstring above is the command's --help).

from __future__ import annotations

import argparse
import shlex
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


def _retyped(args: argparse.Namespace, *, jobs: int | None, stat_cache: bool) -> str:
    """The command as the user typed it, with `jobs` and `stat_cache` in place of what they gave."""
    words = ["drumgate"] + (["--workspace", args.workspace] if args.workspace else [])
    words += ["checksums", args.action, args.dataset] + (["--root", args.root] if args.root else [])
    words += ["--update"] if args.update else []
    words += (["--jobs", str(jobs)] if jobs is not None else []) + (["--stat-cache"] if stat_cache else [])
    return shlex.join(words + (["--json"] if args.json else []))


def _open_cache(ws: Workspace, args: argparse.Namespace) -> StatCache | None:
    """The stat cache only when asked for, and only for `generate`: `verify` reads every byte."""
    if not args.stat_cache:
        return None
    if args.action != "generate":
        raise DrumgateError(
            "--stat-cache is for generate only: verify always reads every byte", exit_code=EXIT_USAGE,
            hint=f"fix: {_retyped(args, jobs=args.jobs, stat_cache=False)}, without --stat-cache",
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
    parser.add_argument("--root", default=None, metavar="DIR",
                        help="folder of the first storage tier (default: the configured root), as given to"
                             " `drumgate ingest <ds> --root DIR`")
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
        raise DrumgateError(f"--jobs {args.jobs} is not a number of threads (at least 1)", exit_code=EXIT_USAGE,
                            hint=f"fix: {_retyped(args, jobs=None, stat_cache=args.stat_cache)}, "
                                 "which hashes with one thread per CPU")
    cache = _open_cache(ws, args)
    result: dict[str, Any] = {}
    try:
        if args.action == "generate":
            grouplock.hold(ws, [load_datasets(ws).get(args.dataset).group])
            # recorded as ingest records its --root, so that repro and the hooks find the same folder
            root = ["--root", ws.rel(ws.user_path(args.root))] if args.root else []
            argv = ["checksums", "generate", args.dataset, *root]
            code = generate(
                ws, args.dataset, update=args.update, jobs=args.jobs, cache=cache, argv=argv, result=result,
                root=args.root,
            )
        else:
            code = verify(ws, args.dataset, jobs=args.jobs, result=result, root=args.root)
    finally:
        if cache is not None:
            cache.close()
    cli.emit_json(args, result)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run_module(sys.modules[__name__], argv, prog="python -m drumgate.checksums")
