"""Hand freed heap memory back to the operating system.

glibc's malloc keeps memory it has freed inside the heap when live blocks sit above it, so a long
job's resident size keeps the high-water mark of every step before. `trim` returns those free pages
(`malloc_trim`); podium calls it between steps that hold large temporaries (benchmarks/README.md,
"Diarization memory on long recordings"). Elsewhere than glibc it does nothing.

`mmap_threshold` keeps a step's large temporaries out of the heap altogether, for steps whose
peak is the heap's fragmentation rather than what they hold (benchmarks/README.md, "The passes'
heap, and CAM++ on clips").
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
from collections.abc import Callable, Iterator

# mallopt's parameter number for the mmap threshold (malloc.h), and glibc's own ceiling for its
# dynamic threshold on 64-bit systems (DEFAULT_MMAP_THRESHOLD_MAX), which a long job soon reaches.
M_MMAP_THRESHOLD = -3
DYNAMIC_MMAP_THRESHOLD_MAX = 32 * 1024 * 1024


def trim() -> None:
    """Return the heap's free pages to the system: about 0.1 ms, plus the page faults of taking
    them back when the next step needs them."""
    malloc_trim = _libc_function("malloc_trim")
    if malloc_trim is not None:
        malloc_trim(0)


@contextlib.contextmanager
def mmap_threshold(size: int) -> Iterator[None]:
    """Inside the block, allocations of `size` bytes or more get pages of their own (mmap), which go
    back to the system when freed, instead of heap space that smaller blocks allocated meanwhile can
    pin. Costs the page faults of fresh pages on every such allocation. Afterwards the threshold is
    glibc's dynamic ceiling, fixed (glibc cannot go back to adjusting it), which is where a job
    that has freed a few large tensors already sits."""
    mallopt = _libc_function("mallopt")
    applied = mallopt is not None and bool(mallopt(M_MMAP_THRESHOLD, size))
    try:
        yield
    finally:
        if applied and mallopt is not None:
            mallopt(M_MMAP_THRESHOLD, DYNAMIC_MMAP_THRESHOLD_MAX)


@functools.cache
def _libc_function(name: str) -> Callable[..., int] | None:
    with contextlib.suppress(OSError, AttributeError, TypeError):
        return getattr(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"), name)
    return None
