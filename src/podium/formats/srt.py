"""SubRip (.srt): `SrtWriter` numbers the cues `podium.formats.cues` builds and names the speaker
("Name: ") on the first cue of each turn (`--srt-speakers prefix`) or nowhere (`none`); `read_srt`
takes a "Name:" prefix back as the speaker, and an unnamed cue as the previous cue's speaker's."""

from __future__ import annotations

from pathlib import Path

from podium.evaluate.reference import Reference
from podium.formats.base import Writer
from podium.formats.clock import timestamp
from podium.formats.cues import build_cues, read_cues
from podium.transcript import Transcript


class SrtWriter(Writer):
    extension = "srt"

    def render(self, transcript: Transcript) -> str:
        blocks = []
        for number, cue in enumerate(build_cues(transcript, self.options), start=1):
            times = f"{timestamp(cue.start_ms, ',')} --> {timestamp(cue.end_ms, ',')}"
            blocks.append("\n".join([str(number), times, *cue.lines]) + "\n")
        return "\n".join(blocks)


def read_srt(path: Path, text: str) -> Reference:
    return read_cues(path, text, "srt")
