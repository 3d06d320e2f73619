"""`drumgate hook taxonomy`: the command layer of `checks.check_taxonomy`, whose docstring is its --help."""

from __future__ import annotations

import argparse

from checks import check_taxonomy
from drumgate.cli.hooks import add_filenames, run_on_files

__doc__ = check_taxonomy.__doc__


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_filenames(parser)


def run(args: argparse.Namespace) -> int:
    return run_on_files("taxonomy", args, check_taxonomy.check_files)
