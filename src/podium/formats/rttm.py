"""NIST RTTM speaker turns: `RttmWriter` writes who spoke when, `read_turns` reads the turns of an
RTTM file (for evaluation, benchmarks and tests alike), `read_rttm` wraps them as a `Reference`."""

from __future__ import annotations

import re
from pathlib import Path

from podium.evaluate.reference import Reference
from podium.formats.base import Writer, data_lines, fail, seconds_field
from podium.transcript import SpeakerTurn, Transcript, merge_turns

_SPEAKER_LINE = "expected 'SPEAKER file channel start duration <NA> <NA> name ...'"


def _no_spaces(text: str) -> str:
    return re.sub(r"\s+", "_", text.strip()) or "_"


def speaker_spans(transcript: Transcript) -> list[tuple[float, float, str]]:
    """(start, end, label): the diarizer's turns when kept, else the labelled segments merged into turns."""
    if transcript.turns:
        spans = [(t.start, t.end, t.speaker) for t in transcript.turns]
    else:
        spans = [(s.start, s.end, s.speaker) for s in merge_turns(transcript.segments)
                 if s.speaker is not None]
    return sorted(spans)


class RttmWriter(Writer):
    """Labels, not display names: RTTM is for scoring, and labels never contain spaces."""

    extension = "rttm"

    def render(self, transcript: Transcript) -> str:
        uri = _no_spaces(Path(transcript.source).stem if transcript.source else "podium")
        rows = [f"SPEAKER {uri} 1 {start:.3f} {end - start:.3f} <NA> <NA> {_no_spaces(label)} <NA> <NA>"
                for start, end, label in speaker_spans(transcript) if end > start]
        return "".join(row + "\n" for row in rows)


def read_turns(path: str | Path, text: str | None = None) -> tuple[SpeakerTurn, ...]:
    """The SPEAKER records of `path` (its `text` when the caller has decoded it, else read as UTF-8),
    in order of start; other record types are skipped, anything else is a `TranscriptFormatError`."""
    path = Path(path)
    if text is None:
        text = path.read_text(encoding="utf-8")
    turns = []
    for number, line in data_lines(text):
        fields = line.split()
        if fields[0] != "SPEAKER":
            if fields[0].isupper():  # SPKR-INFO, LEXEME, ...: valid RTTM records with no turn in them
                continue
            raise fail(path, number, _SPEAKER_LINE)
        if len(fields) < 8:
            raise fail(path, number, _SPEAKER_LINE)
        start = seconds_field(path, number, fields[3], "start")
        duration = seconds_field(path, number, fields[4], "duration")
        turns.append(SpeakerTurn(start, start + duration, fields[7]))
    turns.sort(key=lambda t: t.start)
    return tuple(turns)


def read_rttm(path: Path, text: str) -> Reference:
    """`SPEAKER file channel start duration <NA> <NA> speaker <NA> <NA>` per line, as speaker turns."""
    return Reference(turns=read_turns(path, text), format="rttm", source=str(path))
