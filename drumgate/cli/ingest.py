"""`drumgate ingest <ds>`: the one command of every dataset that declares the ingestor contract.

`ingest/contract.py` drives an ingestor with plain values; this module is its command layer, the
only place where argparse meets it. A COMMANDS entry `drumgate.cli.ingest:<module>` names the
command of `ingest.<module>`'s `INGESTOR`, so wiring a dataset is that one line; `--help` shows
the module's dataset card.
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

from drumgate import cli
from drumgate.artifacts import ALLOW_EMPTY_HELP
from drumgate.render.textsafe import log_text
from ingest.contract import SHARED_OPTIONS, IngestOptions, Ingestor, ingest
from ingest.options import OptionValueError

SUMMARY_LIST_LIMIT = 20
DATASET_MODULE = re.compile(r"[a-z][a-z0-9_]*")


def _worded(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """An option's parser whose OptionValueError text argparse shows as is (it would say `invalid
    count_of_workers value`); any other ValueError keeps argparse's wording."""
    if isinstance(parse, type):
        return parse

    def typed(text: str) -> Any:
        try:
            return parse(text)
        except OptionValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    typed.__name__ = getattr(parse, "__name__", "value")
    return typed


def add_ingest_arguments(parser: argparse.ArgumentParser, cls: type[Ingestor]) -> None:
    parser.add_argument("--root", default=None, metavar="DIR",
                        help=f"folder of the first storage tier (default: the configured {cls.dataset} root)")
    for kind in cls.outputs:
        parser.add_argument(cls.output_flags[kind], dest=f"output_{kind}", default=None, metavar="FILE",
                            help=f"{kind} file to write (default: the workspace's {cls.dataset} {kind} artifact)")
    parser.add_argument("--date", default=None,
                        help="YYYY-MM-DD recorded as the ingest date in provenance (else SOURCE_DATE_EPOCH; else none)")
    parser.add_argument("--allow-empty", action="store_true", help=ALLOW_EMPTY_HELP)
    for option in cls.command_options():
        if option.parse is None:
            parser.add_argument(option.flag, dest=f"option_{option.name}", action="store_true", help=option.help)
        else:
            parser.add_argument(option.flag, dest=f"option_{option.name}", type=_worded(option.parse),
                                default=option.default,
                                metavar=option.metavar or option.name.upper(), help=option.help)
    cli.add_json_option(parser, "the counts, findings, warnings and files written")


def options_from(cls: type[Ingestor], args: argparse.Namespace) -> IngestOptions:
    return IngestOptions(
        root=args.root,
        outputs={kind: getattr(args, f"output_{kind}") for kind in cls.outputs},
        date=args.date,
        allow_empty=args.allow_empty,
        settings={option.name: getattr(args, f"option_{option.name}") for option in cls.options},
        **{option.name: getattr(args, f"option_{option.name}") for option in SHARED_OPTIONS},
    )


def _print_capped(lines: list[str], prefix: str) -> None:
    """The first SUMMARY_LIST_LIMIT lines on stderr (a corpus missing a folder names thousands)."""
    for line in lines[:SUMMARY_LIST_LIMIT]:
        print(f"{prefix}{line}", file=sys.stderr)
    if len(lines) > SUMMARY_LIST_LIMIT:
        print(f"{prefix}... and {len(lines) - SUMMARY_LIST_LIMIT:,} more (all of them with --json)", file=sys.stderr)


def run_ingest(cls: type[Ingestor], args: argparse.Namespace) -> int:
    report = ingest(cls, cli.workspace_from(args), options_from(cls, args))
    _print_capped(report.findings, "")
    _print_capped([log_text(warning) for warning in report.warnings], "warning: ")
    for line in report.lines():
        print(line)
    cli.emit_json(args, report.as_json())
    return report.exit_code


class IngestorCommand:
    """The command of one dataset module: its dataset card as `--help`, its INGESTOR's flags and run."""

    def __init__(self, module: ModuleType) -> None:
        self.ingestor: type[Ingestor] = module.INGESTOR
        self.__doc__ = module.__doc__

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_ingest_arguments(parser, self.ingestor)

    def run(self, args: argparse.Namespace) -> int:
        return run_ingest(self.ingestor, args)


def command(module_name: str) -> IngestorCommand:
    """The command of `ingest.<module_name>`; AttributeError when there is no such module or it declares no ingestor."""
    try:
        module = importlib.import_module(f"ingest.{module_name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"ingest.{module_name}":
            raise
        raise AttributeError(f"no dataset module ingest.{module_name}") from exc
    declared = getattr(module, "INGESTOR", None)
    if not (isinstance(declared, type) and issubclass(declared, Ingestor)):
        raise AttributeError(f"ingest.{module_name} declares no INGESTOR (an ingest.contract.Ingestor subclass)")
    return IngestorCommand(module)


def __getattr__(name: str) -> IngestorCommand:
    """`drumgate.cli.ingest:<module>` in COMMANDS resolves here, importing the dataset module only then."""
    if not DATASET_MODULE.fullmatch(name):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return command(name)
