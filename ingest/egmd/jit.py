"""numba compilation of the E-GMD byte and event loops, on first use and cached on disk.

The loops are plain Python in the subset numba compiles; `compiled=False` returns the function
itself, so the tests can run every loop interpreted and require identical results. numba is
imported only here and only when a loop first runs: commands that never read MIDI never pay for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_compiled: dict[str, Callable[..., Any]] = {}


def kernel(function: Callable[..., Any], compiled: bool) -> Callable[..., Any]:
    """`function` compiled (or loaded from numba's on-disk cache), or the interpreted original."""
    if not compiled:
        return function
    key = f"{function.__module__}.{function.__name__}"
    if key not in _compiled:
        import numba

        try:
            _compiled[key] = numba.njit(cache=True, nogil=True)(function)
        except RuntimeError:  # no writable cache folder (read-only install and home): compile every run
            _compiled[key] = numba.njit(nogil=True)(function)
    return _compiled[key]
