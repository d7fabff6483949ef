"""Tab-separated segments (`TsvWriter`), as openai-whisper writes them plus a speaker column."""

from __future__ import annotations

from podium.formats.base import Writer, one_line
from podium.transcript import Transcript


class TsvWriter(Writer):
    """start and end in integer milliseconds (as openai-whisper's tsv), then speaker name and text."""

    extension = "tsv"

    def render(self, transcript: Transcript) -> str:
        rows = ["start\tend\tspeaker\ttext"]
        for s in transcript.segments:
            name = transcript.speaker_name(s.speaker) or ""
            times = f"{round(s.start * 1000)}\t{round(s.end * 1000)}"
            rows.append(f"{times}\t{one_line(name)}\t{one_line(s.text)}")
        return "\n".join(rows) + "\n"
