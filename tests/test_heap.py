"""podium.heap on this machine's C library: the mmap threshold it sets is the one malloc uses.

Checked in a fresh interpreter: malloc consults the threshold only when no free chunk of the heap
fits, and after other tests the heap holds free chunks of every size."""

from __future__ import annotations

import subprocess
import sys

import pytest

_CHECK = """
import ctypes, ctypes.util
import numpy as np
from podium import heap

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
        "keepcost")]

libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
if not hasattr(libc, "mallinfo2"):
    print("no mallinfo2")
    raise SystemExit(0)
libc.mallinfo2.restype = MallInfo2

def mapped():  # bytes malloc holds in mmapped blocks of their own
    return libc.mallinfo2().hblkhd

# Freeing a 16 MiB block raises glibc's dynamic threshold to 16 MiB, as a long job soon does:
# from then on the heap takes a 4 MiB block unless the threshold is set.
large = np.ones(16 * 1024 * 1024, dtype=np.uint8)
del large
size = 4 * 1024 * 1024
with heap.mmap_threshold(1024 * 1024):
    before = mapped()
    inside = np.ones(size, dtype=np.uint8)
    print("inside", mapped() - before)
before = mapped()
outside = np.ones(size, dtype=np.uint8)
print("outside", mapped() - before)
assert inside.sum() == outside.sum() == size
"""


def test_large_blocks_get_pages_of_their_own_only_inside_the_block() -> None:
    run = subprocess.run([sys.executable, "-c", _CHECK], capture_output=True, text=True, check=True)
    if "no mallinfo2" in run.stdout:
        pytest.skip("not glibc 2.33 or later")
    grown = dict(line.split() for line in run.stdout.splitlines())
    size = 4 * 1024 * 1024
    assert int(grown["inside"]) >= size, run.stdout
    assert int(grown["outside"]) < size, run.stdout
