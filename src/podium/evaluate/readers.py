"""Read references and hypotheses in the formats people have at hand, into one `Reference` shape:
decode the file, tell its format, and hand it to that format's reader in `podium.formats`.

Each reader either returns a Reference or raises `TranscriptFormatError` with `file:line: what was
expected`, so a bad file is reported in one line and nothing is scored from half of it.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable
from pathlib import Path

from podium.evaluate.reference import Reference
from podium.formats import ctm, json_format, names, rttm, srt, stm, txt, uem, vtt, whisperx
from podium.formats.base import TranscriptFormatError, fail, split_speaker
from podium.formats.cues import CUE_TIMING

# The reader error and the speaker-prefix rule live in podium.formats; callers import them from here too.
__all__ = ["FORMATS", "READERS", "TranscriptFormatError", "detect_format", "fail", "read_names",
           "read_reference", "read_text", "read_uem", "split_speaker"]

FORMATS = ("text", "podium-txt", "captions", "srt", "vtt", "stm", "ctm", "rttm", "podium-json",
           "whisperx-json")


def read_reference(path: str | Path, format: str | None = None) -> Reference:
    """Read `path` as `format`, or as the format its extension and content suggest."""
    path = Path(path)
    text = read_text(path)
    fmt = format or detect_format(path, text)
    if fmt not in READERS:
        raise fail(path, None, f"unknown format {fmt!r} (expected one of {', '.join(FORMATS)})")
    return READERS[fmt](path, text)


def read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise fail(path, None, f"cannot read file ({error.strerror or error})") from error
    encoding = _encoding(data)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise fail(path, line, f"expected UTF-8 text, or UTF-16/32 (it does not decode as {encoding}): "
                   "save the file as UTF-8") from error
    if "\0" in text:  # no text format has NUL characters: binary data, or a wide encoding misread
        line = text[: text.index("\0")].count("\n") + 1
        raise fail(path, line, "expected text, found NUL bytes: save the file as UTF-8")
    return text


# Longest first: the UTF-32-LE mark starts with the UTF-16-LE one.
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def _encoding(data: bytes) -> str:
    """UTF-8 unless a byte-order mark, or the NUL bytes of a wide encoding, say otherwise.

    Read as UTF-8, UTF-16 without a mark (Windows tools write it) is valid text with a NUL after every
    letter, which scores 100% WER against an identical reference. Characters below U+0100, which is
    most of every Latin-script text, leave the high byte zero: on the odd bytes in UTF-16-LE, on the even
    ones in UTF-16-BE, and on two of every four in UTF-32.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding
    if b"\0" not in data:
        return "utf-8"
    if len(data) % 4 == 0 and not any(data[2::4] + data[3::4]):
        return "utf-32-le"
    if len(data) % 4 == 0 and not any(data[0::4] + data[1::4]):
        return "utf-32-be"
    odd, even = data[1::2].count(0), data[0::2].count(0)
    if len(data) % 2 == 0 and max(odd, even) >= len(data) // 8:  # a few stray NULs are no encoding
        return "utf-16-le" if odd > even else "utf-16-be"
    return "utf-8"  # read_text reports the NUL bytes


# --- format detection ---------------------------------------------------------------------------

_BY_EXTENSION = {".rttm": "rttm", ".stm": "stm", ".ctm": "ctm", ".srt": "srt", ".vtt": "vtt"}


def detect_format(path: Path, text: str) -> str:
    suffix = path.suffix.lower()
    if suffix in _BY_EXTENSION:
        return _BY_EXTENSION[suffix]
    if suffix == ".json":
        return _detect_json(path, text)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    head = lines[:20]
    if head and head[0].startswith("WEBVTT"):
        return "vtt"
    if any(CUE_TIMING.match(line) for line in head):
        return "vtt" if any("." in m.group(1) for m in map(CUE_TIMING.match, head) if m) else "srt"
    if head and all(line.startswith("SPEAKER ") or line.startswith(";;") for line in head):
        return "rttm"
    if any(txt.BRACKET_STAMP.match(line) for line in head):
        return "podium-txt"
    if sum(1 for line in lines if txt.BARE_STAMP.match(line)) >= 2:
        return "captions"
    if head and head[0].startswith(("{", "[")) and _parses_as_json(text):
        return _detect_json(path, text)
    return "text"


def _parses_as_json(text: str) -> bool:
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return False
    return True


def _detect_json(path: Path, text: str) -> str:
    data = json_format.load_json(path, text)
    if isinstance(data, dict) and "version" in data and "segments" in data:
        return "podium-json"
    if isinstance(data, dict) and isinstance(data.get("segments"), list):
        return "whisperx-json"
    raise fail(path, 1, "expected podium JSON (version, segments) or WhisperX JSON (segments[].words[])")


def read_uem(path: str | Path) -> tuple[tuple[float, float], ...]:
    """Scored regions from a UEM file (`file channel start end` per line)."""
    path = Path(path)
    return uem.read_uem(path, read_text(path))


def read_names(path: str | Path) -> tuple[str, ...]:
    """Proper nouns to check, one per line; blank lines and '#' comments are skipped."""
    return names.read_names(path, read_text(Path(path)))


READERS: dict[str, Callable[[Path, str], Reference]] = {
    "text": txt.read_plain,
    "podium-txt": txt.read_podium_txt,
    "captions": txt.read_captions,
    "srt": srt.read_srt,
    "vtt": vtt.read_vtt,
    "stm": stm.read_stm,
    "ctm": ctm.read_ctm,
    "rttm": rttm.read_rttm,
    "podium-json": json_format.read_podium_json,
    "whisperx-json": whisperx.read_whisperx_json,
}
