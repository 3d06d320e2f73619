"""The command a user typed, spelled again from its parsed options: a fix that adds what it lacked
(`--dataset`) prints it whole, so it works as printed."""

from __future__ import annotations

import argparse
from collections.abc import Sequence


def typed_command(args: argparse.Namespace, command: str, options: Sequence[str], repeated: Sequence[str] = (),
                  switches: Sequence[str] = (), positional: Sequence[object] = ()) -> list[str]:
    """`drumgate [--workspace W] COMMAND`, its `positional` arguments, each of `options` that has a value (in
    the order given), each value of the `repeated` ones, and each of the `switches` that is on."""
    def value(flag: str) -> object:
        return getattr(args, flag[2:].replace("-", "_"), None)

    words = ["drumgate", *(["--workspace", str(args.workspace)] if getattr(args, "workspace", None) else [])]
    words += [command, *map(str, positional)]
    for flag in options:
        words += [flag, str(value(flag))] if value(flag) is not None else []
    for flag in repeated:
        for item in value(flag) or ():  # type: ignore[attr-defined]  # a list option: argparse's append
            words += [flag, str(item)]
    return words + [flag for flag in switches if value(flag)]
