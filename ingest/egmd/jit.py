"""numba compilation of the E-GMD byte and event loops (on first use, cached on disk), and the
scratch memory they share.

The loops are plain Python in the subset numba compiles; `compiled=False` returns the function
itself, so the tests can run every loop interpreted and require identical results. numba is
imported only here and only when a loop first runs: commands that never read MIDI never pay for it.
"""

from __future__ import annotations

import platform
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from drumgate.progress import notice_if_slow

_compiled: dict[Callable[..., Any], Callable[..., Any]] = {}


def kernel(function: Callable[..., Any], compiled: bool) -> Callable[..., Any]:
    """`function` compiled (or loaded from numba's on-disk cache), or the interpreted original."""
    if not compiled:
        return function
    loop = _compiled.get(function)
    if loop is None:
        import numba

        _keep_selects()
        try:
            loop = numba.njit(cache=True, nogil=True)(function)
        except RuntimeError:  # no writable cache folder (read-only install and home): compile every run
            loop = numba.njit(nogil=True)(function)
        return _first_call(function, loop)
    return loop


def _keep_selects() -> None:
    """Have LLVM keep the loops' conditional selects as selects (cmov) on x86.

    Its x86 backend turns a select back into a branch where it guesses the branch is cheaper; in
    the technique pass the conditions (ghost, accent, flam, drag) change from hit to hit, so the
    branches mispredict and the pass took about a third longer on the real Groove files. The
    option is LLVM's own and only steers that choice; numba sets others the same way."""
    if platform.machine().lower() in ("x86_64", "amd64"):
        import llvmlite.binding

        llvmlite.binding.set_option("drumgate", "-x86-cmov-converter=false")


def _first_call(function: Callable[..., Any], loop: Callable[..., Any]) -> Callable[..., Any]:
    """`loop` whose first call, where numba compiles (seconds) or loads its cache, says so on a terminal."""

    def first(*args: Any, **kwargs: Any) -> Any:
        with notice_if_slow(f"compiling {function.__name__} (numba; once after install, cached afterwards)..."):
            result = loop(*args, **kwargs)
        _compiled[function] = loop
        return result

    return first


_scratch = threading.local()
SCRATCH_KEPT = 1 << 19  # int64s kept per thread between calls (4 MB); a larger need is allocated each time


def scratch(size: int) -> np.ndarray:
    """`size` int64s of this thread's scratch space, reused across calls, contents undefined.

    The loops' temporary columns go here, not in fresh arrays: a fresh array of a few hundred
    kilobytes per file is a fresh mapping of memory from the system, and its page faults cost
    more than the loop that fills it. Only one caller per thread may hold it at a time.
    """
    if size > SCRATCH_KEPT:
        return np.empty(size, dtype=np.int64)
    buffer = getattr(_scratch, "buffer", None)
    if buffer is None or len(buffer) < size:
        buffer = np.empty(max(size, 1 << 14), dtype=np.int64)
        _scratch.buffer = buffer
    return buffer[:size]
