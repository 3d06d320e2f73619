"""`drumgate hook freshness`: the command layer of `checks.check_freshness`, whose docstring is its --help."""

from __future__ import annotations

import argparse

from checks import check_freshness
from checks._hookutil import Reporter
from drumgate import cli
from drumgate.cli.hooks import finish

__doc__ = check_freshness.__doc__


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("filenames", nargs="*", help="ignored: the hook reads the staged files from git itself")
    parser.add_argument("--all", action="store_true", help="check every artifact group, staged or not")


def run(args: argparse.Namespace) -> int:
    reporter = Reporter()
    code = check_freshness.check_workspace(cli.workspace_from(args), reporter, whole_workspace=args.all)
    checked = "the whole workspace checked" if args.all else "the staged change checked"
    return finish("freshness", checked, code, reporter)
