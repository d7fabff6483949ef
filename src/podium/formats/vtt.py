"""WebVTT (.vtt): `VttWriter` marks each cue's speaker with a `<v Name>` voice tag; `read_vtt` takes
the voice tag (or a "Name:" prefix) back as the speaker."""

from __future__ import annotations

from pathlib import Path

from podium.evaluate.reference import Reference
from podium.formats.base import Writer, fail
from podium.formats.clock import timestamp
from podium.formats.cues import build_cues, read_cues, wrap_two_lines
from podium.transcript import Transcript


def vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class VttWriter(Writer):
    extension = "vtt"

    def render(self, transcript: Transcript) -> str:
        blocks = ["WEBVTT\n"]
        for cue in build_cues(transcript):
            lines = [vtt_escape(line) for line in wrap_two_lines(cue.text)]
            body = "\n".join(lines)
            if cue.speaker:
                body = f"<v {vtt_escape(cue.speaker)}>{body}</v>"
            blocks.append(f"{timestamp(cue.start_ms, '.')} --> {timestamp(cue.end_ms, '.')}\n{body}\n")
        return "\n".join(blocks)


def read_vtt(path: Path, text: str) -> Reference:
    lines = text.splitlines()
    first = next(((n, line.strip()) for n, line in enumerate(lines, 1) if line.strip()), None)
    if first is None or not first[1].startswith("WEBVTT"):
        raise fail(path, first[0] if first else 1, "expected the header 'WEBVTT'")
    return read_cues(path, text, "vtt")
