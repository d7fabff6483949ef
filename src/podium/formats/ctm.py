"""NIST CTM timed words (`file channel start duration word [confidence]`), read as a `Reference`;
podium does not write it."""

from __future__ import annotations

from pathlib import Path

from podium.evaluate.reference import Reference, RefWord, Utterance
from podium.formats.base import data_lines, fail, seconds_field


def read_ctm(path: Path, text: str) -> Reference:
    """`file channel start duration word [confidence]` per line: timed words, no speakers."""
    words = []
    for number, line in data_lines(text):
        fields = line.split()
        if len(fields) < 5:
            raise fail(path, number, "expected 'file channel start duration word [confidence]'")
        start = seconds_field(path, number, fields[2], "start")
        duration = seconds_field(path, number, fields[3], "duration")
        words.append(RefWord(fields[4], start, start + duration))
    words.sort(key=lambda w: w.start or 0.0)  # every CTM line has a start; 0.0 is for the type
    if not words:
        return Reference(format="ctm", source=str(path))
    utterance = Utterance(" ".join(w.text for w in words), start=words[0].start, end=words[-1].end,
                          words=tuple(words))
    return Reference(utterances=(utterance,), format="ctm", source=str(path))
