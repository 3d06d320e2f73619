"""`drumgate init-hooks`: the command layer of `drumgate.commands.init_hooks`, whose docstring is its --help."""

from __future__ import annotations

import argparse
import os
import shlex
from pathlib import Path

from drumgate.commands import init_hooks
from drumgate.errors import EXIT_OK

__doc__ = init_hooks.__doc__


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repo", default=None, help="the git repository to install the hooks in"
                        " (default: --workspace, DRUMGATE_WORKSPACE, else here)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing .pre-commit-config.yaml")
    parser.add_argument("--no-install", action="store_true", help="write the config only; skip pre-commit install")


def run(args: argparse.Namespace) -> int:
    chosen = args.repo or getattr(args, "workspace", None) or os.environ.get("DRUMGATE_WORKSPACE") or "."
    repo = Path(chosen).resolve()
    config, changed = init_hooks.install(repo, force=args.force, run_install=not args.no_install)
    print(f"{'wrote' if changed else 'unchanged:'} {config}")
    if not args.no_install:
        print("installed the git pre-commit hook: every `git commit` now runs the drumgate checks")
    inside = "" if repo == Path.cwd().resolve() else f"cd {shlex.quote(str(repo))} && "
    print(f"run them on everything once: {inside}pre-commit run --all-files")
    return EXIT_OK
