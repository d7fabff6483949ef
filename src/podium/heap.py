"""Hand freed heap memory back to the operating system.

glibc's malloc keeps memory it has freed inside the heap when live blocks sit above it, so a long
job's resident size keeps the high-water mark of every step before. `trim` returns those free pages
(`malloc_trim`); podium calls it between steps that hold large temporaries (benchmarks/README.md,
"Diarization memory on long recordings"). Elsewhere than glibc it does nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
from collections.abc import Callable


def trim() -> None:
    """Return the heap's free pages to the system: about 0.1 ms, plus the page faults of taking
    them back when the next step needs them."""
    malloc_trim = _malloc_trim()
    if malloc_trim is not None:
        malloc_trim(0)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    with contextlib.suppress(OSError, AttributeError, TypeError):
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    return None
