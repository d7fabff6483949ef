"""Hand freed heap memory back to the operating system.

glibc's malloc keeps memory it has freed inside the heap when live blocks sit above it, so a long
job's resident size keeps the high-water mark of every step before. `trim` returns those free pages
(`malloc_trim`); podium calls it between steps that hold large temporaries (benchmarks/README.md,
"Diarization memory on long recordings"). Elsewhere than glibc it does nothing.

`mmap_threshold` keeps a step's large temporaries out of the heap altogether, for steps whose
peak is the heap's fragmentation rather than what they hold (benchmarks/README.md, "The passes'
heap, and CAM++ on clips").

`page_out` keeps a file-backed mapping (a long recording's samples, `podium.media.Audio.on_disk`)
out of the process's resident memory: every pass over a long recording reads all of it, and without
this the pages it read stay resident until the mapping goes.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import mmap
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from typing import cast

# mallopt's parameter number for the mmap threshold (malloc.h), and glibc's own ceiling for its
# dynamic threshold on 64-bit systems (DEFAULT_MMAP_THRESHOLD_MAX), which a long job soon reaches.
M_MMAP_THRESHOLD = -3
DYNAMIC_MMAP_THRESHOLD_MAX = 32 * 1024 * 1024
# How often `page_out` hands a mapping's resident pages back. A reader takes back what it touches
# from the page cache (a minor fault per 4 KiB page, no disk read while memory is free), so a pass
# over a long recording holds about a second's worth of what it read instead of all of it.
PAGE_OUT_SECONDS = 1.0
# The mappings `page_out` keeps out of memory (weakly: they go when their arrays do) and the thread
# that does it, which runs only while one of them is alive.
_PAGER_LOCK = threading.Lock()
_PAGED: list[weakref.ref[mmap.mmap]] = []
_pager: threading.Thread | None = None


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


def page_out(mapping: mmap.mmap) -> None:
    """Keep `mapping` (a file-backed shared mapping) out of resident memory for as long as it lives:
    a daemon thread hands its pages back every PAGE_OUT_SECONDS (madvise MADV_DONTNEED, which loses
    nothing on such a mapping: the data stays in the file and its page cache). Where the system has
    no madvise (Windows), nothing."""
    global _pager
    if not hasattr(mmap.mmap, "madvise"):
        return
    with _PAGER_LOCK:
        _PAGED.append(weakref.ref(mapping))
        if _pager is None:
            _pager = threading.Thread(target=_page_out_forever, name="podium-page-out", daemon=True)
            _pager.start()


def file_mapping(array: object) -> mmap.mmap | None:
    """The mmap that `array` (a numpy array or a view of one) reads its data from, if any."""
    while array is not None and not isinstance(array, mmap.mmap):
        # numpy arrays name what they view as `base`; np.frombuffer's is a memoryview, whose `obj` is
        # the buffer itself.
        array = array.obj if isinstance(array, memoryview) else getattr(array, "base", None)
    return cast(mmap.mmap | None, array)


def _page_out_forever() -> None:
    """The pager thread: runs while any mapping handed to `page_out` is alive."""
    global _pager
    while True:
        time.sleep(PAGE_OUT_SECONDS)
        with _PAGER_LOCK:
            live = [(ref, mapping) for ref in _PAGED if (mapping := ref()) is not None]
            _PAGED[:] = [ref for ref, _ in live]
            if not live:
                _pager = None
                return
        for _, mapping in live:
            with contextlib.suppress(ValueError, OSError):  # closed meanwhile
                mapping.madvise(mmap.MADV_DONTNEED)
        del live, mapping  # no strong reference while asleep: the mapping may go


@functools.cache
def _libc_function(name: str) -> Callable[..., int] | None:
    with contextlib.suppress(OSError, AttributeError, TypeError):
        return getattr(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"), name)
    return None
