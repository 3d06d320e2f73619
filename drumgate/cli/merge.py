"""`drumgate merge`: the command layer of `ingest.merge`, whose docstring is this command's --help."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path

from drumgate import cli
from drumgate.artifacts import ALLOW_EMPTY_HELP
from drumgate.errors import EXIT_OK
from ingest import merge

__doc__ = merge.__doc__


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("shards", nargs="+", help="shard JSONL files (each with its .shard.json sidecar)")
    parser.add_argument("--output", default=None,
                        help="write here instead of the sidecars' target (only when the shards have one target)")
    parser.add_argument("--no-lineage", action="store_true", help="do not record the merged file in the lock")
    parser.add_argument("--allow-empty", action="store_true", help=ALLOW_EMPTY_HELP)
    cli.add_json_option(parser, "each merged file with its row and shard counts")


def run(args: argparse.Namespace) -> int:
    ws = cli.workspace_from(args)
    merged = []
    for done in merge.merge_shards(ws, [Path(p) for p in args.shards], args.output,
                                   record_lineage=not args.no_lineage, allow_empty=args.allow_empty):
        print(f"{done.path}: {done.rows} rows from {done.shards} shards")
        merged.append(asdict(done))
    cli.emit_json(args, {"merged": merged})
    return EXIT_OK
