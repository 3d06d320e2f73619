"""The command-line options of the ingestors, as plain data: each Option a dataset module declares
(`Ingestor.options`) and the ones every ingestor takes (SHARED_OPTIONS). Only the CLI turns them into
argparse arguments (`drumgate.cli.ingest`); a parser here raises OptionValueError, whose words the
usage error shows."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from drumgate.io.parts.layout import layout
from ingest import contract_parts


class OptionValueError(ValueError):
    """An option value an Option's parser refuses, in words the usage error shows as they are."""


def count_of_workers(text: str) -> int:
    """`--jobs`: a whole number of at least 1 (0 and -1 were taken and meant "the CPUs")."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise OptionValueError(f"{text!r} is not a whole number of at least 1")
    return value


def seconds(text: str) -> float:
    """A length of time: a finite number of seconds, not negative (`nan` turned a check off silently)."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not math.isfinite(value) or value < 0:
        raise OptionValueError(f"{text!r} is not a number of seconds (0 or more)")
    return value


@dataclass(frozen=True)
class Option:
    """A command-line option; a dataset's own reaches the ingestor as `settings[name]`, a shared one
    (SHARED_OPTIONS) the driver as the IngestOptions field of its name."""

    name: str
    help: str
    default: Any = None
    parse: Callable[[str], Any] | None = str  # None: an on/off flag; an OptionValueError's text is the usage error
    recorded: bool = True  # part of the command that regenerates the artifacts (not e.g. --jobs)
    metavar: str | None = None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


LAYOUT_OPTION = Option(
    "layout", "single files, or folders of *.jsonl.gz parts, one per session (default auto: parts above "
    f"partition_sessions in configs/datasets.toml, default {contract_parts.PARTITION_SESSIONS}, or when the "
    "folders are already there)", default="auto", parse=layout, metavar="{auto,file,parts}")
# Options every ingestor takes (each an IngestOptions field); a dataset declaring one of the same name
# (E-GMD's --layout, which its own driver reads from settings) keeps its own.
SHARED_OPTIONS = (LAYOUT_OPTION,)
