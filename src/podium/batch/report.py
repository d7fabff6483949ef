"""What a batch run tells people: a progress line on stderr, one-line errors, a closing summary table,
and (`--log-file`) every event as a JSON line for unattended runs.

The runner calls `emit(event)` from its worker threads; everything here is guarded by one lock.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from podium.batch.ledger import DONE, FAILED, SKIPPED, now
from podium.batch.runner import RunSummary
from podium.formats.clock import clock

_NOT_LOGGED = frozenset({"audio_progress"})  # several per second per file: progress display only
STAGE_ORDER = ("hash", "decode", "transcribe", "diarize", "align", "write")


class BatchReporter:
    """Context manager: progress on stderr unless `quiet`; JSON events to `log_file` when given."""

    def __init__(self, total: int, quiet: bool = False, log_file: str | Path | None = None) -> None:
        self.total = total
        self.quiet = quiet
        self.log_path = Path(log_file) if log_file else None
        self.console = Console(stderr=True, highlight=False, soft_wrap=True)
        self._lock = threading.Lock()
        self._log: IO[str] | None = None
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._started = time.perf_counter()
        self._work_started: float | None = None  # when the first file went into the pipeline
        self._processed = 0
        self._audio_done = 0.0
        self._pending_bytes = 0
        self._bytes_done = 0
        self._activity = ""
        self._actors: tuple[int, int] | None = None  # (alive, total) with --ray

    def __enter__(self) -> BatchReporter:
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = open(self.log_path, "a", encoding="utf-8")
        if not self.quiet:
            self._progress = Progress(
                TextColumn("batch"), BarColumn(bar_width=24), MofNCompleteColumn(),
                TextColumn("{task.fields[stats]}"), TimeElapsedColumn(),
                TextColumn("{task.fields[activity]}"),
                console=self.console, transient=False)
            self._task = self._progress.add_task("batch", total=self.total, stats="", activity="")
            self._progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            if self._progress is not None:
                self._progress.stop()
                self._progress = None
            if self._log is not None:
                self._log.close()
                self._log = None

    # --- events -----------------------------------------------------------------------------

    def emit(self, event: dict[str, Any]) -> None:
        with self._lock:
            if self._log is not None and event.get("event") not in _NOT_LOGGED:
                self._log.write(json.dumps({"time": now(), **event}, ensure_ascii=False) + "\n")
                self._log.flush()
            self._track(event)
            self._refresh()

    def note(self, message: str) -> None:
        """A one-line message on stderr that does not tear the progress display."""
        self.console.print(f"podium: {message}", markup=False)

    def _track(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "plan":
            self._pending_bytes = int(event["pending_bytes"])
        elif kind == "models_loaded":
            self._work_started = time.perf_counter()
        elif kind == "stage_start":
            self._activity = f"{event['stage']}: {event['key']}"
        elif kind == "audio_progress":
            where = f"{clock(event['done'], hours=True)}/{clock(event['total'], hours=True)}"
            self._activity = f"{event['stage']}: {event['key']} {where}"
        elif kind == "interrupt":
            self.note(f"{event['signal']}: finishing the files already in Whisper, taking no new ones "
                      "(send it again to abandon them)")
        elif kind == "abandon":
            self.note("abandoning the files in progress; a re-run does them again")
        elif kind == "file":
            self._count_file(event)
        elif kind == "actors":
            self._actors = (int(event["alive"]), int(event["total"]))
        elif kind == "run_end":
            self._activity = ""

    def _count_file(self, record: dict[str, Any]) -> None:
        self._processed += 1
        status = record["status"]
        if status == DONE:
            self._audio_done += record.get("audio_seconds") or 0.0
        if status != SKIPPED or record.get("stages"):  # went through the pipeline (or its hash stage)
            self._bytes_done += record.get("size") or 0
        if status == FAILED:
            self.note(f"error: {record['path']}: {record.get('error')}")
        # Only subtitles that had to break a rule: a line per file would bury the errors in big runs.
        if status == DONE and record.get("subtitles") and not record["subtitles"].endswith("every rule met"):
            self.note(f"{record['path']}: {record['subtitles']}")

    def _refresh(self) -> None:
        if self._progress is None or self._task is None:
            return
        self._progress.update(self._task, completed=self._processed, stats=self._stats(),
                              activity=self._activity[:48])

    def _stats(self) -> str:
        parts = [f"{self._audio_done / 3600:.2f} h audio"]
        if self._actors is not None:
            parts.append(f"{self._actors[0]}/{self._actors[1]} actors")
        if self._work_started is not None and self._audio_done > 0:
            working = time.perf_counter() - self._work_started
            parts.append(f"{self._audio_done / max(working, 1e-9):.1f}x realtime")
            if self._bytes_done > 0 and self._pending_bytes > self._bytes_done:
                # Bytes of input per second: weighs long and short files fairly, unlike files per second.
                rate = self._bytes_done / max(working, 1e-9)
                parts.append(f"ETA {clock((self._pending_bytes - self._bytes_done) / rate, hours=True)}")
        return " · ".join(parts)

    # --- the end ----------------------------------------------------------------------------

    def print_summary(self, summary: RunSummary) -> None:
        table = Table(title="podium batch", show_header=False, title_justify="left")
        table.add_column("what")
        table.add_column("value", justify="right")
        for row in summary_rows(summary):
            table.add_row(*row)
        self.console.print(table)

    def print_failed(self, summary: RunSummary, limit: int = 20) -> None:
        """Every input of the set that is failed (now or in an earlier run), one per line."""
        if not summary.failed:
            return
        self.note(f"{len(summary.failed)} input(s) failed (--retry-failed tries them again):")
        for path, error in summary.failed[:limit]:
            self.console.print(f"  {path}: {error}", markup=False)
        if len(summary.failed) > limit:
            self.console.print(f"  ... and {len(summary.failed) - limit} more: see the ledger", markup=False)


def summary_rows(summary: RunSummary) -> list[tuple[str, str]]:
    """(label, value) rows of the closing summary; also what the benchmark reads."""
    busy = sum(summary.stages.values())
    rows = [("done", str(summary.counts[DONE])), ("skipped", str(summary.counts[SKIPPED])),
            ("failed", str(summary.counts[FAILED]))]
    if summary.skipped_failed:
        rows.insert(2, ("  of which failed before (--retry-failed)", str(summary.skipped_failed)))
    if summary.not_reached:
        rows.append(("not reached (interrupted)", str(summary.not_reached)))
    audio = clock(summary.audio_seconds, hours=True)
    rows += [("audio transcribed", f"{summary.audio_seconds / 3600:.3f} h ({audio})"),
             ("wall time", clock(summary.wall_seconds, hours=True) + f" ({summary.wall_seconds:.1f} s)")]
    if summary.models_loaded:
        rows.append(("  of which loading models", f"{summary.model_seconds:.1f} s"))
    if summary.audio_seconds and summary.wall_seconds:
        rows.append(("speed", f"{summary.audio_seconds / summary.wall_seconds:.1f}x realtime"))
    for stage in sorted(summary.stages, key=lambda s: STAGE_ORDER.index(s) if s in STAGE_ORDER else 99):
        rows.append((f"stage {stage}", f"{summary.stages[stage]:.1f} s"))
    if busy and summary.pipeline_seconds:
        rows.append(("stage time / pipeline wall time",
                     f"{busy / summary.pipeline_seconds:.2f} (above 1: stages overlapped)"))
    return rows
