"""A png speaker timeline (`PngWriter`): one lane per speaker, a bar per turn; podium does not read it."""

from __future__ import annotations

import io
from pathlib import Path
from typing import ClassVar

from podium.formats.base import Writer, uses_hours
from podium.formats.clock import clock
from podium.formats.rttm import speaker_spans
from podium.transcript import Transcript


class PngWriter(Writer):
    """A speaker timeline: one lane per speaker, a bar per turn, time in mm:ss."""

    extension = "png"
    binary = True
    dpi: ClassVar[int] = 100
    width_inches: ClassVar[float] = 12.0

    @classmethod
    def height_inches(cls, lanes: int) -> float:
        return 1.4 + 0.45 * max(lanes, 1)

    def lanes(self, transcript: Transcript) -> list[tuple[str, list[tuple[float, float]]]]:
        # The same spans the RTTM output holds, so the picture and the scored file agree.
        spans = speaker_spans(transcript)
        if not spans:  # no diarization: one lane showing where there is speech
            spans = [(s.start, s.end, "") for s in transcript.segments]
            return [("Speech", [(a, b - a) for a, b, _ in spans])] if spans else []
        labels = list(dict.fromkeys(label for _, _, label in spans))
        named = [s.label for s in transcript.speakers if s.label in labels]
        order = named + [label for label in labels if label not in named]
        return [(transcript.speaker_name(label) or label, [(a, b - a) for a, b, x in spans if x == label])
                for label in order]

    def render(self, transcript: Transcript) -> bytes:
        # Imported here: matplotlib costs half a second to import and only this writer needs it.
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import FuncFormatter

        lanes = self.lanes(transcript)
        hours = uses_hours(transcript)
        end = max([transcript.duration, 1.0] + [a + d for _, bars in lanes for a, d in bars])
        figure = Figure(figsize=(self.width_inches, self.height_inches(len(lanes))), dpi=self.dpi)
        FigureCanvasAgg(figure)
        axes = figure.add_axes((0.16, 0.9 / self.height_inches(len(lanes)), 0.8,
                                1 - 1.4 / self.height_inches(len(lanes))))
        for row, (_, bars) in enumerate(lanes):
            axes.broken_barh(bars, (row - 0.35, 0.7), facecolors=f"C{row % 10}")
        axes.set_yticks(range(len(lanes)), [name for name, _ in lanes])
        axes.set_ylim(len(lanes) - 0.5 if lanes else 0.5, -0.5)  # first speaker on top
        axes.set_xlim(0, end)
        axes.xaxis.set_major_formatter(FuncFormatter(lambda x, _: clock(x, hours)))
        axes.set_xlabel("time")
        axes.grid(axis="x", alpha=0.3)
        if not lanes:
            axes.text(0.5, 0.5, "no speech", transform=axes.transAxes, ha="center", va="center")
        if transcript.source:
            axes.set_title(Path(transcript.source).name, fontsize=10)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=self.dpi)
        return buffer.getvalue()
