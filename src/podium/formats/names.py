"""Name lists for `podium evaluate --names`: one proper noun a line, '#' comments; podium does not
write them."""

from __future__ import annotations

from pathlib import Path

from podium.formats.base import fail


def read_names(path: str | Path, text: str) -> tuple[str, ...]:
    """Proper nouns to check, one per line; blank lines and '#' comments are skipped."""
    lines = text.splitlines()
    names = tuple(line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#"))
    if not names:
        raise fail(path, None, "expected one name per line")
    return names
