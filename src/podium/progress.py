"""Progress on stderr: one bar per stage, in seconds of audio processed."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from podium.formats.clock import clock

# hook(stage, seconds_of_audio_done, seconds_of_audio_total): how every stage reports its progress
# (`StageProgress.hook` is one); calls for one stage are monotone and end at the total.
ProgressHook = Callable[[str, float, float], None]


class StageProgress:
    """Context manager whose `hook` the pipeline calls as stages advance; silent when quiet."""

    def __init__(self, label: str, quiet: bool = False) -> None:
        self.label = label
        self.quiet = quiet
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> StageProgress:
        if not self.quiet:
            self._progress = Progress(
                TextColumn("{task.description:<28}"), BarColumn(), TextColumn("{task.fields[clock]}"),
                TimeElapsedColumn(), console=Console(stderr=True), transient=False)
            self._progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.stop()

    def hook(self, stage: str, done: float, total: float) -> None:
        if self._progress is None:
            return
        if stage not in self._tasks:
            for task in self._tasks.values():  # a new stage means the earlier ones are finished
                self._progress.update(task, completed=self._progress.tasks[task].total)
            self._tasks[stage] = self._progress.add_task(f"{self.label[:18]} {stage}",
                                                         total=max(total, 1e-6), clock="")
        self._progress.update(self._tasks[stage], completed=min(done, total), total=max(total, 1e-6),
                              clock=f"{clock(done, hours=None)}/{clock(total, hours=None)}")

    @staticmethod
    def summary(seconds: dict[str, float], audio_seconds: float) -> str:
        """`12.0 s for 00:45 of audio (3.7x realtime): decode 2% · transcribe 61% · ...`"""
        total = sum(seconds.values()) or 1e-9
        shares = " · ".join(f"{stage} {100 * spent / total:.0f}%" for stage, spent in seconds.items())
        speed = audio_seconds / total
        audio = clock(audio_seconds, hours=None)
        return f"{total:.1f} s for {audio} of audio ({speed:.1f}x realtime): {shares}"
