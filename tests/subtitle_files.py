"""Strict readers of the SRT and WebVTT timing podium writes, shared by the subtitle tests."""

from __future__ import annotations

import re
from collections.abc import Sequence

SRT_TIME = r"(\d\d):(\d\d):(\d\d),(\d\d\d)"
VTT_TIME = r"(\d\d):(\d\d):(\d\d)\.(\d\d\d)"


def ms(groups: Sequence[str]) -> int:
    h, m, s, milli = map(int, groups)
    return ((h * 60 + m) * 60 + s) * 1000 + milli


def srt_cues(text: str, max_lines: int | None = None) -> list[tuple[int, int, list[str]]]:
    """(start, end, lines) of every block, strictly: numbered, timed, with 1 (to `max_lines`) text lines."""
    cues = []
    for number, block in enumerate(b for b in text.split("\n\n") if b.strip()):
        lines = block.strip("\n").split("\n")
        assert lines[0] == str(number + 1)
        times = re.fullmatch(f"{SRT_TIME} --> {SRT_TIME}", lines[1])
        assert times, lines[1]
        assert lines[2:] and all(lines[2:])
        assert max_lines is None or len(lines[2:]) <= max_lines, lines
        cues.append((ms(times.groups()[:4]), ms(times.groups()[4:]), lines[2:]))
    return cues
