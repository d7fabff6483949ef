"""NIST STM reference transcripts (`file channel speaker start end [<labels>] text`), read as a
`Reference`; podium does not write it."""

from __future__ import annotations

from pathlib import Path

from podium.evaluate.reference import Reference, Utterance
from podium.formats.base import data_lines, fail, seconds_field

# Speaker fields that mark a stretch as not scored rather than naming anyone.
_STM_SKIP_SPEAKERS = {"inter_segment_gap", "excluded_region"}


def read_stm(path: Path, text: str) -> Reference:
    """`file channel speaker start end [<labels>] text` per line."""
    utterances = []
    for number, line in data_lines(text):
        fields = line.split(None, 5)
        if len(fields) < 5:
            raise fail(path, number, "expected 'file channel speaker start end [<labels>] text'")
        start = seconds_field(path, number, fields[3], "start")
        end = seconds_field(path, number, fields[4], "end")
        if end < start:
            raise fail(path, number, f"expected end >= start, got {fields[3]} {fields[4]}")
        body = fields[5] if len(fields) > 5 else ""
        if body.startswith("<"):
            body = body.split(">", 1)[1] if ">" in body else ""
        body = body.strip()
        if fields[2] in _STM_SKIP_SPEAKERS or body == "ignore_time_segment_in_scoring":
            continue
        utterances.append(Utterance(body, speaker=fields[2], start=start, end=end))
    utterances.sort(key=lambda u: u.start or 0.0)  # every STM line has a start; 0.0 is for the type
    return Reference(utterances=tuple(utterances), format="stm", source=str(path))
