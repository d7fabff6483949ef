"""File helpers shared by every stage: atomic writes (one file or a whole output set), checksums that
refuse non-regular files and can be stopped, and an up-front check that an output folder is writable."""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from podium.errors import RunError


def _read_umask() -> int:
    """The process umask, read once at import (while single-threaded: os.umask has to set it to read it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# Outputs get the mode any Unix tool would give them (0666 less the umask), not mkstemp's private 0600.
FILE_MODE = 0o666 & ~_read_umask()


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write `text` to `path` through a temp file beside it, renamed into place once complete: a
    crash leaves no half-written `path`, only (at worst, after SIGKILL) a `.<name>.*.tmp` file."""
    path = Path(path)
    tmp = _write_temp(path, text)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_set(contents: Sequence[tuple[Path, str | bytes]]) -> list[Path]:
    """Write several files so that either all of them are replaced or none is.

    Every file is first written in full (and fsynced) to a temp file beside it; only then are they all
    renamed into place. A full disk or an unwritable folder is found while writing the temps, which are
    removed, so an input never ends up with its txt but without its json. Raises RunError naming the path.
    """
    staged: list[tuple[str, Path]] = []
    try:
        for path, content in contents:
            staged.append((_write_temp(path, content), path))
        for tmp, path in staged:
            os.replace(tmp, path)
    except OSError as err:
        for tmp, _ in staged:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise RunError(f"cannot write {path}: {err.strerror or err}") from err
    return [path for _, path in staged]


def _write_temp(path: Path, content: str | bytes) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(content.encode("utf-8") if isinstance(content, str) else content)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp


def check_writable_dir(path: str | os.PathLike[str], flag: str = "--output-dir") -> None:
    """Create `path` if needed and prove a file can be written in it, before any slow work starts.

    A real write, not os.access: access() says yes to root on a read-only folder, and knows nothing of
    quotas. Raises RunError with one line that says what is wrong.
    """
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".podium-write-test.", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except (FileExistsError, NotADirectoryError):
        blocker = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), folder)
        raise RunError(f"{flag} {folder}: {blocker} is a file, not a folder") from None
    except OSError as err:
        raise RunError(f"{flag} {folder} is not writable: {err.strerror or err}") from None


class Stopped(Exception):
    """A long file operation gave up because the caller asked it to stop."""


def describe_file_type(mode: int) -> str:
    """What a non-regular file is, for an error message ('a FIFO', 'a character device', ...)."""
    kinds = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
             (stat.S_ISSOCK, "a socket"))
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def sha256_file(path: str | os.PathLike[str], chunk_size: int = 1 << 20,
                should_stop: Callable[[], bool] | None = None) -> str:
    """sha256 of a regular file's bytes; `should_stop` is polled between chunks (raises Stopped).

    Opened non-blocking and checked with fstat before any read: a FIFO would block forever, and a
    device such as /dev/zero never ends.
    """
    digest = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with open(fd, "rb") as handle:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise OSError(f"{path} is {describe_file_type(mode)}, not a regular file")
        while block := handle.read(chunk_size):
            if should_stop is not None and should_stop():
                raise Stopped(str(path))
            digest.update(block)
    return digest.hexdigest()
