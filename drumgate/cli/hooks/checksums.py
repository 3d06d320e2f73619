"""`drumgate hook checksums`: the command layer of `checks.check_checksums`, whose docstring is its --help."""

from __future__ import annotations

import argparse
import functools

from checks import check_checksums
from drumgate.cli.hooks import add_filenames, run_on_files

__doc__ = check_checksums.__doc__


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_filenames(parser)
    parser.add_argument(
        "--all",
        action="store_true",
        help="verify every entry against the files (whole trees); without files, every dataset's manifest",
    )


def run(args: argparse.Namespace) -> int:
    check = functools.partial(check_checksums.check_files, verify_all=args.all)
    return run_on_files("checksums", args, check, whole_workspace=args.all)
