"""SubRip (.srt): `SrtWriter` numbers the cues and prefixes each with its speaker's name; `read_srt`
takes a "Name:" prefix back as the speaker."""

from __future__ import annotations

from pathlib import Path

from podium.evaluate.reference import Reference
from podium.formats.base import Writer
from podium.formats.clock import timestamp
from podium.formats.cues import build_cues, cue_display_text, read_cues, wrap_two_lines
from podium.transcript import Transcript


class SrtWriter(Writer):
    extension = "srt"

    def render(self, transcript: Transcript) -> str:
        blocks = []
        for number, cue in enumerate(build_cues(transcript), start=1):
            text = cue_display_text(cue.text, cue.speaker)
            times = f"{timestamp(cue.start_ms, ',')} --> {timestamp(cue.end_ms, ',')}"
            blocks.append("\n".join([str(number), times, *wrap_two_lines(text)]) + "\n")
        return "\n".join(blocks)


def read_srt(path: Path, text: str) -> Reference:
    return read_cues(path, text, "srt")
