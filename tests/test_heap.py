"""podium.heap on this machine's C library: the mmap threshold it sets is the one malloc uses.

Checked in a fresh interpreter: malloc consults the threshold only when no free chunk of the heap
fits, and after other tests the heap holds free chunks of every size."""

from __future__ import annotations

import gc
import mmap
import subprocess
import sys
import tempfile
import time

import numpy as np
import pytest

from podium import heap

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


def test_file_mapping_finds_the_mmap_under_an_array_and_its_views() -> None:
    with tempfile.TemporaryFile() as file:
        file.write(bytes(4096))
        file.flush()
        mapping = mmap.mmap(file.fileno(), 4096)
    array = np.frombuffer(mapping, dtype=np.float32)
    assert heap.file_mapping(array) is mapping and heap.file_mapping(array[10:20:2]) is mapping
    assert heap.file_mapping(np.zeros(4)) is None and heap.file_mapping(array.copy()) is None
    del array
    mapping.close()


def test_the_page_out_thread_ends_with_the_last_mapping(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(heap, "PAGE_OUT_SECONDS", 0.02)
    with tempfile.TemporaryFile() as file:
        file.write(b"podium" * 1000)
        file.flush()
        mapping = mmap.mmap(file.fileno(), 6000)
    heap.page_out(mapping)
    assert heap._pager is not None and heap._pager.is_alive()
    time.sleep(0.1)
    assert mapping[:12] == b"podiumpodium"  # paged out and read back: nothing lost
    pager = heap._pager
    del mapping
    gc.collect()
    pager.join(timeout=5)
    assert not pager.is_alive() and heap._pager is None
