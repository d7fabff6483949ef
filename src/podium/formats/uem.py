"""NIST UEM scored regions (`file channel start end` per line); podium does not write it."""

from __future__ import annotations

from pathlib import Path

from podium.formats.base import data_lines, fail, seconds_field


def read_uem(path: Path, text: str) -> tuple[tuple[float, float], ...]:
    """(start, end) of every scored region, in file order; at least one."""
    regions = []
    for number, line in data_lines(text):
        fields = line.split()
        if len(fields) != 4:
            raise fail(path, number, "expected 'file channel start end'")
        start = seconds_field(path, number, fields[2], "start")
        end = seconds_field(path, number, fields[3], "end")
        if end <= start:
            raise fail(path, number, f"expected end > start, got {fields[2]} {fields[3]}")
        regions.append((start, end))
    if not regions:
        raise fail(path, None, "expected at least one 'file channel start end' line")
    return tuple(regions)
