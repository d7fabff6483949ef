"""podium.heap on this machine's C library: the mmap threshold it sets is the one malloc uses."""

from __future__ import annotations

import ctypes
import ctypes.util

import numpy as np
import pytest

from podium import heap


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
                 "fordblks", "keepcost")]


def _mapped_bytes() -> int:
    """Bytes malloc holds in mmapped blocks of their own (glibc's mallinfo2 `hblkhd`)."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    if not hasattr(libc, "mallinfo2"):
        pytest.skip("not glibc 2.33 or later")
    libc.mallinfo2.restype = _MallInfo2
    return int(libc.mallinfo2().hblkhd)


def test_large_blocks_get_pages_of_their_own_only_inside_the_block() -> None:
    size = 4 * 1024 * 1024  # under glibc's dynamic ceiling, so the heap would take it
    with heap.mmap_threshold(1024 * 1024):
        before = _mapped_bytes()
        inside = np.ones(size, dtype=np.uint8)
        assert _mapped_bytes() - before >= size
    before = _mapped_bytes()
    outside = np.ones(size, dtype=np.uint8)
    assert _mapped_bytes() - before < size
    assert inside.sum() == outside.sum() == size

