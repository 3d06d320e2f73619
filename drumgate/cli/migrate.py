"""`drumgate migrate`: the command layer of `drumgate.commands.migrate`, whose docstring is its --help."""

from __future__ import annotations

import argparse

from drumgate import cli
from drumgate.commands import migrate
from drumgate.errors import EXIT_OK

__doc__ = migrate.__doc__


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE",
                        help="single-file events, sessions, provenance or checksum manifests")
    cli.add_json_option(parser, "each migrated file with its folder, parts and rows")


def run(args: argparse.Namespace) -> int:
    ws = cli.workspace_from(args)
    done = [migrate.migrate_file(ws, ws.user_path(name)) for name in args.files]
    for item in done:
        print(f"{item['file']} -> {item['folder']}/: {item['parts']} parts, {item['rows']} rows")
    cli.emit_json(args, {"migrated": done})
    return EXIT_OK
