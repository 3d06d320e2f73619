"""`drumgate demo`: the command layer of `drumgate.commands.demo`, whose docstring is its --help."""

from __future__ import annotations

import argparse
from pathlib import Path

from drumgate import cli
from drumgate.commands import demo

__doc__ = demo.__doc__


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default=demo.DEFAULT_OUT,
                        help=f"folder for the demo workspace (default: {demo.DEFAULT_OUT})")
    parser.add_argument("--seed", type=int, default=demo.DEFAULT_SEED, help="seed of the generated corpus")
    parser.add_argument("--force", action="store_true",
                        help="replace an existing folder that is not a demo, or a demo with work of yours in it"
                        " (without it, only a demo's own commits and files are replaced)")
    parser.add_argument("--no-git", action="store_true", help="skip the git repository, hooks and PR comment")


def run(args: argparse.Namespace) -> int:
    return demo.run_demo(cli.main, Path(args.out).resolve(), seed=args.seed, force=args.force,
                         with_git=not args.no_git)
