"""The batch ledger: `DIR/podium-ledger.jsonl`, append-only JSON Lines, one line per finished input.

Each line is written whole, flushed and fsynced before the next input is counted as finished, so a run
killed at any moment leaves every earlier line intact. At worst the last line is torn (SIGKILL or power
loss mid-write): readers ignore any line that is not a JSON object, and the writer starts its first line
on a fresh line so the torn fragment never spoils a good one.

Lines are `{"event": "run", ...}` when a run starts, `{"event": "file", ...}` per input (status done,
failed or skipped) and `{"event": "run_end", ...}` when it stops. A re-run decides from the latest
done/failed line of each input key.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from podium.errors import PodiumError, RunError

LEDGER_NAME = "podium-ledger.jsonl"
DONE, FAILED, SKIPPED = "done", "failed", "skipped"

try:  # POSIX only: elsewhere two runs on one folder are not prevented, only unwise
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]  # a module name cannot be typed as "module or None"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def fingerprint(data: Any) -> str:
    """sha256 of canonical JSON: key order and whitespace never change the hash."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass
class FileRecord:
    """One input's outcome in one run: what the ledger line of an input says."""

    key: str  # output name under the output folder, without extension
    path: str
    status: str  # done | failed | skipped
    size: int | None = None
    mtime_ns: int | None = None
    sha256: str | None = None
    options_hash: str | None = None
    outputs: list[str] = field(default_factory=list)  # relative to the output folder
    stages: dict[str, float] = field(default_factory=dict)  # wall seconds per stage
    audio_seconds: float | None = None
    error: str | None = None
    reason: str | None = None  # why it was skipped
    subtitles: str | None = None  # the subtitle QA line (`formats.subtitle_note`), when SRT/VTT were written
    run: str | None = None
    started: str | None = None
    finished: str | None = None

    def to_line(self) -> dict[str, Any]:
        return {"event": "file", **asdict(self)}

    @classmethod
    def from_line(cls, line: dict[str, Any]) -> FileRecord | None:
        names = cls.__dataclass_fields__
        try:
            return cls(**{k: v for k, v in line.items() if k in names})
        except TypeError:  # a line missing key/path/status: not ours to trust
            return None


def read_lines(path: Path) -> list[dict[str, Any]]:
    """Every whole JSON object line of the ledger; torn or foreign lines are skipped."""
    if not path.exists():
        return []
    lines = []
    with open(path, "rb") as handle:
        for raw in handle:
            try:
                value = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError):
                continue
            if isinstance(value, dict):
                lines.append(value)
    return lines


class LedgerState:
    """What earlier runs settled: the latest done/failed record per key, and known file hashes."""

    def __init__(self, lines: list[dict[str, Any]]) -> None:
        self.settled: dict[str, FileRecord] = {}
        self._hashes: dict[tuple[str, int, int], str] = {}
        for line in lines:
            record = FileRecord.from_line(line) if line.get("event") == "file" else None
            if record is None:
                continue
            if record.status in (DONE, FAILED):
                self.settled[record.key] = record
            if record.sha256 and record.size is not None and record.mtime_ns is not None:
                self._hashes[(record.path, record.size, record.mtime_ns)] = record.sha256

    def known_hash(self, path: str, size: int, mtime_ns: int) -> str | None:
        """The sha256 an earlier run computed for this exact file state, so it is not read again."""
        return self._hashes.get((path, size, mtime_ns))


class Ledger:
    """The open ledger of one run: holds a lock so two runs cannot write one folder at once."""

    def __init__(self, output_dir: Path) -> None:
        self.path = output_dir / LEDGER_NAME
        self._lock = threading.Lock()
        self._handle: IO[bytes] | None = None

    def __enter__(self) -> Ledger:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(self.path, "ab+")
        except OSError as err:  # a read-only ledger or folder: the machine's problem, not an input's
            raise RunError(f"cannot open the ledger {self.path}: {err.strerror or err}") from None
        if fcntl is not None:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                raise PodiumError(f"another podium batch is writing to {self.path.parent}; "
                                  "wait for it or choose another --output-dir") from None
        self._handle = handle
        self._end_torn_line()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._close_handle()

    def _close_handle(self) -> None:
        if self._handle is not None:
            handle, self._handle = self._handle, None
            # Closing releases the flock. On a full disk its final flush fails too; the run already
            # reports that, and the lines that did reach the disk are whole.
            with contextlib.suppress(OSError):
                handle.close()

    def read_state(self) -> LedgerState:
        return LedgerState(read_lines(self.path))

    def append(self, line: dict[str, Any], durable: bool = True) -> bool:
        """Write one whole line; with `durable`, fsync it before returning (the point of a ledger).

        Returns False, writing nothing, once the ledger is closed: a worker that a second Ctrl-C
        abandoned may still finish its file, and that file is then simply redone by the next run.
        """
        with self._lock:
            return self._write(line, durable)

    def close_with(self, line: dict[str, Any]) -> None:
        """Append a last line and close, with no other line slipping in between or after."""
        with self._lock:
            try:
                self._write(line)
            finally:
                self._close_handle()

    def _write(self, line: dict[str, Any], durable: bool = True) -> bool:
        if self._handle is None:
            return False
        data = (json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
        try:
            self._handle.write(data)
            self._handle.flush()  # one write() per line: other readers never see half of it
            if durable:
                os.fsync(self._handle.fileno())
        except OSError as err:  # a full disk: the run stops; a torn line is ignored by later readers
            raise RunError(f"cannot write the ledger {self.path}: {err.strerror or err}") from None
        return True

    def _end_torn_line(self) -> None:
        assert self._handle is not None
        self._handle.seek(0, os.SEEK_END)
        if self._handle.tell() == 0:
            return
        self._handle.seek(-1, os.SEEK_END)
        if self._handle.read(1) != b"\n":
            self._handle.seek(0, os.SEEK_END)
            self._handle.write(b"\n")
            self._handle.flush()
