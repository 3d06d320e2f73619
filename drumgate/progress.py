"""Progress bars for long-running loops (DESIGN §8): on stderr, quiet unless a person is watching.

A bar is disabled when stderr is not a terminal, when `CI` is true, or when
`DRUMGATE_NO_PROGRESS` is set to anything but an empty string. It appears only after a short
delay, so work that ends quickly prints nothing. Byte counts (`unit="B"`) are shown in KiB/MiB.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from tqdm import tqdm

T = TypeVar("T")
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
SHOW_AFTER_SECONDS = 2.0


def progress_enabled() -> bool:
    """Whether bars may be drawn: a terminal on stderr, not CI, not switched off."""
    if os.environ.get("DRUMGATE_NO_PROGRESS"):
        return False
    if os.environ.get("CI", "").strip().lower() in TRUE_WORDS:
        return False
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def progress(
    iterable_or_total: Iterable[T] | int,
    desc: str,
    unit: str = "it",
    *,
    enabled: bool = True,
    total: int | None = None,
) -> tqdm:
    """A tqdm bar over an iterable, or a manual bar (`.update(n)`) when given a total.

    `enabled=False` lets a caller keep one code path for work too small to deserve a bar.
    """
    from tqdm import tqdm  # imported here: hooks import modules that show bars only on big inputs

    options: dict[str, Any] = {
        "desc": desc,
        "unit": unit,
        "disable": not (enabled and progress_enabled()),
        "file": sys.stderr,
        "leave": False,
        "delay": SHOW_AFTER_SECONDS,
        "mininterval": 0.5,
        "dynamic_ncols": True,
    }
    if total is not None:
        options["total"] = total
    if unit == "B":
        options.update(unit_scale=True, unit_divisor=1024)
    if isinstance(iterable_or_total, int):
        return tqdm(total=iterable_or_total, **options)
    return tqdm(iterable_or_total, **options)


@contextlib.contextmanager
def notice_if_slow(message: str) -> Iterator[None]:
    """Say `message` on stderr when the block outlasts the bars' delay and a person is watching.

    For start-up work that has no count to draw a bar with (compiling, loading): the line says
    what the wait is for, and a second line how long it took.
    """
    if not progress_enabled():
        yield
        return
    started = time.perf_counter()
    shown = threading.Event()

    def say() -> None:
        shown.set()
        print(message, file=sys.stderr, flush=True)

    timer = threading.Timer(SHOW_AFTER_SECONDS, say)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        if shown.is_set():
            print(f"  done in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
