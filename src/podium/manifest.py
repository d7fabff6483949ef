"""The one reader of JSON Lines manifests: `podium batch`, `podium bench`, `podium evaluate`, the
benchmarks and the shared data set's manifest.jsonl all read their lists through `read_items`.

    for item in read_items(Path("pairs.jsonl")):
        item.fields["ref"], item.path("ref"), item.line

Every line is one JSON object. Blank lines are skipped, and so are lines starting with `#` where the
caller allows comments (`podium batch` lists do); a UTF-8, UTF-16 or UTF-32 byte-order mark is
honoured. A line that is not a JSON object stops the read with one line,
`FILE:LINE: what is wrong` (or what the caller expects). Which keys an item needs is the caller's
business: each command checks its own and words its own messages (`ManifestItem.error`).
"""

from __future__ import annotations

import codecs
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from podium.errors import PodiumError

# Longest first: the UTF-32-LE mark starts with the UTF-16-LE one.
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


class ManifestError(PodiumError):
    """A manifest that cannot be read, or a line of it that is not a JSON object."""

    def __init__(self, path: Path, line: int | None, problem: str) -> None:
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class ManifestItem:
    """One line of a manifest: the manifest's path, the line's number (from 1) and its JSON object."""

    source: Path
    line: int
    fields: dict[str, Any]

    @property
    def folder(self) -> Path:
        return self.source.parent

    def error(self, problem: str) -> ManifestError:
        """`FILE:LINE: problem`, for a caller whose keys this item lacks."""
        return ManifestError(self.source, self.line, problem)

    def path(self, key: str) -> Path | None:
        """The item's `key` as a path, relative ones resolved against the manifest's folder; None when
        the item has no string under `key`."""
        value = self.fields.get(key)
        return self.resolve(value) if isinstance(value, str) and value else None

    def resolve(self, value: str) -> Path:
        """A path written in the manifest: `~` expanded, relative to the manifest's folder."""
        return self.folder / Path(value).expanduser()


def read_items(path: str | Path, expected: str | None = None, comments: bool = False) -> list[ManifestItem]:
    """Every item of the manifest at `path`, in order (see the module docstring for the format).

    `expected` words what a bad line is reported as (`FILE:LINE: expected`); by default the message
    says what is wrong with the line (not valid JSON, or JSON but not an object). With `comments`,
    lines starting with `#` are skipped rather than refused.
    """
    path = Path(path)
    items = []
    for number, line in enumerate(_read_text(path).splitlines(), start=1):
        text = line.strip()
        if not text or (comments and text.startswith("#")):
            continue
        try:
            fields = json.loads(text)
        except json.JSONDecodeError as err:
            raise ManifestError(path, number, expected or f"not valid JSON ({err.msg})") from None
        if not isinstance(fields, dict):
            raise ManifestError(path, number, expected or f"expected a JSON object, not {_kind(fields)}")
        items.append(ManifestItem(path, number, fields))
    return items


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ManifestError(path, None, f"cannot read file ({error.strerror or error})") from None
    encoding = next((name for bom, name in _BOMS if data.startswith(bom)), "utf-8")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise ManifestError(path, line, f"expected UTF-8 text (it does not decode as {encoding}): "
                            "save the file as UTF-8") from None


def _kind(value: Any) -> str:
    names = {list: "a list", str: "a string", bool: "true or false", int: "a number", float: "a number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)
