"""`drumgate hook schema`: the command layer of `checks.check_schema`, whose docstring is its --help."""

from __future__ import annotations

import argparse

from checks import check_schema
from drumgate.cli.hooks import add_filenames, run_on_files

__doc__ = check_schema.__doc__


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_filenames(parser)


def run(args: argparse.Namespace) -> int:
    return run_on_files("schema", args, check_schema.check_files)
