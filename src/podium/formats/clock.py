"""Times as people read them: `clock` writes `mm:ss` / `h:mm:ss` (txt, png, progress, batch report),
`timestamp` writes SubRip/WebVTT cue times, `parse_clock` reads any of them back."""

from __future__ import annotations

import math
from pathlib import Path

from podium.formats.base import fail


def clock(seconds: float, hours: bool | None = False) -> str:
    """`mm:ss`, or `h:mm:ss` when `hours` (None: only from one hour on); rounded down, as a stamp
    marks where a line starts. Negative times show as zero."""
    total = max(0, int(seconds))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    if hours is None:
        hours = h > 0
    return f"{h}:{m:02d}:{s:02d}" if hours else f"{h * 60 + m:02d}:{s:02d}"


def timestamp(ms: int, decimal: str) -> str:
    """`HH:MM:SS,mmm` (SubRip) or `HH:MM:SS.mmm` (WebVTT) from integer milliseconds."""
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{decimal}{ms:03d}"


def parse_clock(value: str) -> float:
    """'1:02:03.5', '02:03,500', '62.5' -> seconds; ValueError otherwise."""
    parts = value.replace(",", ".").split(":")
    if not 1 <= len(parts) <= 3 or any(not p or p.startswith(("-", "+")) for p in parts):
        raise ValueError(value)
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + float(part)
    if not math.isfinite(seconds):  # float() takes "nan" and "inf": a cue that would be silently lost
        raise ValueError(value)
    return seconds


def clock_or_fail(path: Path, line: int, value: str) -> float:
    try:
        return parse_clock(value)
    except ValueError:
        raise fail(path, line, f"expected a timestamp like mm:ss, got {value!r}") from None
