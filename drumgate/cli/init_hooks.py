"""`drumgate init-hooks`: the command layer of `drumgate.commands.init_hooks`, whose docstring is its --help."""

from __future__ import annotations

import argparse
from pathlib import Path

from drumgate.commands import init_hooks
from drumgate.errors import EXIT_OK

__doc__ = init_hooks.__doc__


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repo", default=".", help="the git repository to install the hooks in (default: here)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing .pre-commit-config.yaml")
    parser.add_argument("--no-install", action="store_true", help="write the config only; skip pre-commit install")


def run(args: argparse.Namespace) -> int:
    repo = Path(args.repo).resolve()
    config = init_hooks.install(repo, force=args.force, run_install=not args.no_install)
    print(f"wrote {config}")
    if not args.no_install:
        print("installed the git pre-commit hook: every `git commit` now runs the drumgate checks")
    print("run them on everything once: pre-commit run --all-files")
    return EXIT_OK
