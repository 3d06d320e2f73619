"""`drumgate events cambridge`: the command layer of `ingest.cambridge.events`, whose docstring is its --help."""

from __future__ import annotations

import argparse
import sys

from drumgate import cli
from drumgate.cli import retype
from drumgate.errors import EXIT_FINDINGS, EXIT_OK
from drumgate.io.parts.layout import layout
from drumgate.render.textsafe import log_text
from ingest.cambridge import events

__doc__ = events.__doc__


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sessions", default=None, help="sessions inventory (default: the committed manifest)")
    parser.add_argument("--output", default=None, help="events manifest to write (default: the committed one)")
    parser.add_argument("--layout", type=layout, default="auto", metavar="{auto,file,parts}",
                        help="a single file, or a folder of *.jsonl.gz parts, one per session (default auto: "
                             "parts when the sessions manifest read is a folder)")
    parser.add_argument("--allow-empty", action="store_true",
                        help="write the manifest even when the online sessions give no event (without it such a run"
                             " leaves a manifest holding their events as it was)")
    cli.add_json_option(parser, "the event counts per class, offline sessions and problems")


def run(args: argparse.Namespace) -> int:
    ws = cli.workspace_from(args)
    command = retype.typed_command(args, "events", ("--sessions", "--output", "--layout"),
                                   switches=("--allow-empty", "--json"), positional=["cambridge"])
    done = events.write_session_events(ws, args.sessions, args.output, args.layout, args.allow_empty, command)
    print(f"wrote {ws.rel(done.output)}: {done.events} events ("
          + ", ".join(f"{k} {v}" for k, v in done.classes.items()) + ")")
    for session_id, kept in done.offline_sessions:
        note = f"note: {session_id}: storage tier offline, {kept} events carried forward from the committed manifest"
        print(log_text(note))
    for problem in done.problems:
        print(problem, file=sys.stderr)
    cli.emit_json(args, {
        "dataset": events.DATASET, "events": done.events, "classes": done.classes,
        "offline_sessions": dict(done.offline_sessions), "problems": done.problems, "written": [ws.rel(done.output)],
    })
    return EXIT_FINDINGS if done.problems else EXIT_OK
