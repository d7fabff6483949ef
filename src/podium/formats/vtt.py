"""WebVTT (.vtt): `VttWriter` writes the cues `podium.formats.cues` builds, each speaker in a
`<v Name>` voice tag (one per line in a dialogue cue), names and text escaped; `read_vtt` takes the
voice tag (or a "Name:" prefix) back as the speaker."""

from __future__ import annotations

from pathlib import Path

from podium.evaluate.reference import Reference
from podium.formats.base import Writer, fail
from podium.formats.clock import timestamp
from podium.formats.cues import Cue, build_cues, read_cues
from podium.transcript import Transcript


def vtt_escape(text: str) -> str:
    """Cue text and voice names may not hold a raw & or < (a tag), nor > ("-->" would end a timing)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _voiced(speaker: str | None, text: str) -> str:
    return f"<v {vtt_escape(speaker)}>{text}</v>" if speaker else text


def cue_payload(cue: Cue) -> str:
    """A cue's lines as WebVTT text: one voice tag around the cue, or one per dialogue line."""
    if cue.dialogue:
        return "\n".join(_voiced(turn.speaker, vtt_escape(line))
                         for turn, line in zip(cue.turns, cue.plain_lines, strict=True))
    return _voiced(cue.speaker, "\n".join(vtt_escape(line) for line in cue.plain_lines))


class VttWriter(Writer):
    extension = "vtt"

    def render(self, transcript: Transcript) -> str:
        blocks = ["WEBVTT\n"]
        for cue in build_cues(transcript, self.options):
            times = f"{timestamp(cue.start_ms, '.')} --> {timestamp(cue.end_ms, '.')}"
            blocks.append(f"{times}\n{cue_payload(cue)}\n")
        return "\n".join(blocks)


def read_vtt(path: Path, text: str) -> Reference:
    lines = text.splitlines()
    first = next(((n, line.strip()) for n, line in enumerate(lines, 1) if line.strip()), None)
    if first is None or not first[1].startswith("WEBVTT"):
        raise fail(path, first[0] if first else 1, "expected the header 'WEBVTT'")
    return read_cues(path, text, "vtt")
