"""Read references and hypotheses in the formats people have at hand, into one `Reference` shape.

Each reader either returns a Reference or raises `TranscriptFormatError` with `file:line: what was
expected`, so a bad file is reported in one line and nothing is scored from half of it.
"""

from __future__ import annotations

import codecs
import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from podium.errors import PodiumError
from podium.evaluate.reference import Reference, RefWord, Utterance, reference_from_transcript
from podium.transcript import SpeakerTurn, Transcript

FORMATS = ("text", "podium-txt", "captions", "srt", "vtt", "stm", "ctm", "rttm", "podium-json",
           "whisperx-json")


class TranscriptFormatError(PodiumError):
    """A reference or hypothesis file is not what its format says it should be."""


def fail(path: Path | str, line: int | None, expected: str) -> TranscriptFormatError:
    where = f"{path}:{line}" if line is not None else str(path)
    return TranscriptFormatError(f"{where}: {expected}")


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
_CUE_TIMING = re.compile(r"^\s*(\S+)\s+-->\s+(\S+)")
_BRACKET_STAMP = re.compile(r"^\[(\d{1,2}(?::\d{1,2})?:\d{2}(?:\.\d+)?)\]\s*(.*)$")
# Caption dumps glue the text straight onto the stamp ("00:09turn into Ukraine"); seconds always
# have two digits, so "02:4328 point plan" still splits as 02:43 + "28 point plan".
_BARE_STAMP = re.compile(r"^((?:\d{1,2}:)?\d{1,2}:\d{2})(?!\d)\s*(.*)$")


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
    if any(_CUE_TIMING.match(line) for line in head):
        return "vtt" if any("." in m.group(1) for m in map(_CUE_TIMING.match, head) if m) else "srt"
    if head and all(line.startswith("SPEAKER ") or line.startswith(";;") for line in head):
        return "rttm"
    if any(_BRACKET_STAMP.match(line) for line in head):
        return "podium-txt"
    if sum(1 for line in lines if _BARE_STAMP.match(line)) >= 2:
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
    data = _load_json(path, text)
    if isinstance(data, dict) and "version" in data and "segments" in data:
        return "podium-json"
    if isinstance(data, dict) and isinstance(data.get("segments"), list):
        return "whisperx-json"
    raise fail(path, 1, "expected podium JSON (version, segments) or WhisperX JSON (segments[].words[])")


# --- small helpers ------------------------------------------------------------------------------

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


# A leading "Name:" marks the speaker in podium's txt and in many captions: one to four capitalised
# words (or numbers after the first), so "SPEAKER_00:", "Mark Rutte:" and "Speaker 2:" match, while
# "and the answer is: no" and a clock do not.
_NAME_WORD = r"[A-Z\u00c0-\u00de][\w.'\-]*"
_NAME_PREFIX = re.compile(rf"^({_NAME_WORD}(?: (?:{_NAME_WORD}|\d+)){{0,3}}):\s+(.*)$", re.DOTALL)


def split_speaker(text: str) -> tuple[str | None, str]:
    match = _NAME_PREFIX.match(text)
    if match:
        return match.group(1), match.group(2).strip()
    return None, text.strip()


def _float(path: Path, line: int, value: str, what: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise fail(path, line, f"expected {what} as a number of seconds, got {value!r}") from None
    if not math.isfinite(number) or number < 0:
        raise fail(path, line, f"expected {what} as a finite number of seconds >= 0, got {value!r}")
    return number


def _data_lines(text: str) -> list[tuple[int, str]]:
    """(line number, stripped line) for lines that are neither blank nor ';;' comments."""
    return [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1)
            if line.strip() and not line.lstrip().startswith(";;")]


# --- plain and timestamped text -----------------------------------------------------------------

def read_plain(path: Path, text: str) -> Reference:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return Reference(utterances=tuple(Utterance(line) for line in lines), format="text", source=str(path))


def read_podium_txt(path: Path, text: str) -> Reference:
    """`[mm:ss] Name: text` paragraphs (continuation lines join the paragraph) or `[mm:ss] text` lines."""
    paragraphs: list[tuple[float, list[str]]] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        match = _BRACKET_STAMP.match(line)
        if match:
            paragraphs.append((_clock_or_fail(path, number, match.group(1)), [match.group(2)]))
        elif paragraphs:
            paragraphs[-1][1].append(line)
        else:
            raise fail(path, number, "expected a paragraph starting with a [mm:ss] timestamp")
    utterances = []
    for start, parts in paragraphs:
        speaker, body = split_speaker(" ".join(parts))
        utterances.append(Utterance(body, speaker=speaker, start=start))
    return Reference(utterances=tuple(utterances), format="podium-txt", source=str(path))


def read_captions(path: Path, text: str) -> Reference:
    """A page or caption dump: keep only the lines that start with a timestamp, drop the rest."""
    utterances = []
    for number, raw in enumerate(text.splitlines(), 1):
        match = _BARE_STAMP.match(raw.strip())
        if match and match.group(2).strip():
            speaker, body = split_speaker(match.group(2))
            utterances.append(Utterance(body, speaker=speaker,
                                        start=_clock_or_fail(path, number, match.group(1))))
    if not utterances:
        raise fail(path, None, "expected lines starting with a timestamp like 00:09 or 1:02:03")
    return Reference(utterances=tuple(utterances), format="captions", source=str(path))


def _clock_or_fail(path: Path, line: int, value: str) -> float:
    try:
        return parse_clock(value)
    except ValueError:
        raise fail(path, line, f"expected a timestamp like mm:ss, got {value!r}") from None


# --- SRT and WebVTT -----------------------------------------------------------------------------

_VOICE = re.compile(r"<v(?:\.[\w.-]+)?\s+([^>]+)>")
_TAG = re.compile(r"<[^>]*>|\{\\[^}]*\}")


def read_srt(path: Path, text: str) -> Reference:
    return _read_cues(path, text, "srt")


def read_vtt(path: Path, text: str) -> Reference:
    lines = text.splitlines()
    first = next(((n, line.strip()) for n, line in enumerate(lines, 1) if line.strip()), None)
    if first is None or not first[1].startswith("WEBVTT"):
        raise fail(path, first[0] if first else 1, "expected the header 'WEBVTT'")
    return _read_cues(path, text, "vtt")


def _read_cues(path: Path, text: str, fmt: str) -> Reference:
    utterances = []
    for block in _blocks(text):
        cue = _parse_cue(path, block, fmt)
        if cue is not None and cue.text:
            utterances.append(cue)
    return Reference(utterances=tuple(utterances), format=fmt, source=str(path))


def _blocks(text: str) -> list[list[tuple[int, str]]]:
    blocks: list[list[tuple[int, str]]] = [[]]
    for number, raw in enumerate(text.splitlines(), 1):
        if raw.strip():
            blocks[-1].append((number, raw.strip()))
        elif blocks[-1]:
            blocks.append([])
    return [b for b in blocks if b]


def _parse_cue(path: Path, block: list[tuple[int, str]], fmt: str) -> Utterance | None:
    if fmt == "vtt" and block[0][1].startswith(("WEBVTT", "NOTE", "STYLE", "REGION")):
        return None
    timing_at = next((i for i, (_, line) in enumerate(block[:2]) if "-->" in line), None)
    example = "00:00:01,000 --> 00:00:02,500" if fmt == "srt" else "00:00:01.000 --> 00:00:02.500"
    if timing_at is None:
        raise fail(path, block[min(1, len(block) - 1)][0], f"expected a cue timing line like '{example}'")
    number, timing = block[timing_at]
    match = _CUE_TIMING.match(timing)
    try:
        start, end = parse_clock(match.group(1)), parse_clock(match.group(2))  # type: ignore[union-attr]
    except (ValueError, AttributeError):
        raise fail(path, number, f"expected a cue timing line like '{example}', got {timing!r}") from None
    if end < start:
        raise fail(path, number, f"expected the cue to end after it starts, got {timing!r}")
    raw = " ".join(line for _, line in block[timing_at + 1:])
    voice = _VOICE.search(raw)
    body = re.sub(r"\s+", " ", _TAG.sub("", raw)).strip()
    speaker = voice.group(1).strip() if voice else None
    if speaker is None:
        speaker, body = split_speaker(body)
    return Utterance(body, speaker=speaker, start=start, end=end)


# --- NIST formats: STM, CTM, RTTM ---------------------------------------------------------------

_STM_SKIP_SPEAKERS = {"inter_segment_gap", "excluded_region"}


def read_stm(path: Path, text: str) -> Reference:
    """`file channel speaker start end [<labels>] text` per line."""
    utterances = []
    for number, line in _data_lines(text):
        fields = line.split(None, 5)
        if len(fields) < 5:
            raise fail(path, number, "expected 'file channel speaker start end [<labels>] text'")
        start = _float(path, number, fields[3], "start")
        end = _float(path, number, fields[4], "end")
        if end < start:
            raise fail(path, number, f"expected end >= start, got {fields[3]} {fields[4]}")
        body = fields[5] if len(fields) > 5 else ""
        if body.startswith("<"):
            body = body.split(">", 1)[1] if ">" in body else ""
        body = body.strip()
        if fields[2] in _STM_SKIP_SPEAKERS or body == "ignore_time_segment_in_scoring":
            continue
        utterances.append(Utterance(body, speaker=fields[2], start=start, end=end))
    utterances.sort(key=lambda u: u.start)  # type: ignore[arg-type,return-value]
    return Reference(utterances=tuple(utterances), format="stm", source=str(path))


def read_ctm(path: Path, text: str) -> Reference:
    """`file channel start duration word [confidence]` per line: timed words, no speakers."""
    words = []
    for number, line in _data_lines(text):
        fields = line.split()
        if len(fields) < 5:
            raise fail(path, number, "expected 'file channel start duration word [confidence]'")
        start = _float(path, number, fields[2], "start")
        duration = _float(path, number, fields[3], "duration")
        words.append(RefWord(fields[4], start, start + duration))
    words.sort(key=lambda w: w.start)  # type: ignore[arg-type,return-value]
    if not words:
        return Reference(format="ctm", source=str(path))
    utterance = Utterance(" ".join(w.text for w in words), start=words[0].start, end=words[-1].end,
                          words=tuple(words))
    return Reference(utterances=(utterance,), format="ctm", source=str(path))


def read_rttm(path: Path, text: str) -> Reference:
    """`SPEAKER file channel start duration <NA> <NA> speaker <NA> <NA>`; other record types are skipped."""
    turns = []
    for number, line in _data_lines(text):
        fields = line.split()
        if fields[0] != "SPEAKER":
            if fields[0].isupper():  # SPKR-INFO, LEXEME, ...: valid RTTM records with no turn in them
                continue
            raise fail(path, number, "expected 'SPEAKER file channel start duration <NA> <NA> name ...'")
        if len(fields) < 8:
            raise fail(path, number, "expected 'SPEAKER file channel start duration <NA> <NA> name ...'")
        start = _float(path, number, fields[3], "start")
        duration = _float(path, number, fields[4], "duration")
        turns.append(SpeakerTurn(start, start + duration, fields[7]))
    turns.sort(key=lambda t: t.start)
    return Reference(turns=tuple(turns), format="rttm", source=str(path))


def read_uem(path: str | Path) -> tuple[tuple[float, float], ...]:
    """Scored regions from a UEM file (`file channel start end` per line)."""
    path = Path(path)
    regions = []
    for number, line in _data_lines(read_text(path)):
        fields = line.split()
        if len(fields) != 4:
            raise fail(path, number, "expected 'file channel start end'")
        start = _float(path, number, fields[2], "start")
        end = _float(path, number, fields[3], "end")
        if end <= start:
            raise fail(path, number, f"expected end > start, got {fields[2]} {fields[3]}")
        regions.append((start, end))
    if not regions:
        raise fail(path, None, "expected at least one 'file channel start end' line")
    return tuple(regions)


def read_names(path: str | Path) -> tuple[str, ...]:
    """Proper nouns to check, one per line; blank lines and '#' comments are skipped."""
    lines = read_text(Path(path)).splitlines()
    names = tuple(line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#"))
    if not names:
        raise fail(path, None, "expected one name per line")
    return names


# --- JSON: podium and WhisperX ------------------------------------------------------------------

class _NotFinite(ValueError):
    """NaN, Infinity or a number too large for a float: Python's json takes them, JSON does not."""


def _finite(token: str) -> float:
    number = float(token)
    if not math.isfinite(number):
        raise _NotFinite(token)
    return number


def _load_json(path: Path, text: str) -> Any:
    try:
        return json.loads(text, parse_constant=_finite, parse_float=_finite)
    except json.JSONDecodeError as error:
        raise fail(path, error.lineno, f"expected JSON ({error.msg})") from None
    except _NotFinite as error:
        token = str(error)
        raise fail(path, _line_of(text, token), f"expected finite numbers, got {token}") from None


def _line_of(text: str, token: str) -> int | None:
    """The line of `token`'s first appearance outside a JSON string."""
    for match in re.finditer(r'"(?:[^"\\]|\\.)*"|[^"]+', text):
        if not match.group().startswith('"') and token in match.group():
            return text.count("\n", 0, match.start() + match.group().index(token)) + 1
    return None


def read_podium_json(path: Path, text: str) -> Reference:
    data = _load_json(path, text)
    try:
        transcript = Transcript.from_dict(data)
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise fail(path, None, f"expected podium transcript JSON ({type(error).__name__}: {error})") from None
    return reference_from_transcript(transcript)


def read_whisperx_json(path: Path, text: str) -> Reference:
    """`segments[].{start,end,text,speaker?,words[].{word,start?,end?,speaker?}}`."""
    data = _load_json(path, text)
    segments = data.get("segments") if isinstance(data, dict) else None
    if not isinstance(segments, list):
        raise fail(path, 1, "expected a JSON object with a 'segments' list")
    utterances = tuple(_whisperx_segment(path, i, s) for i, s in enumerate(segments))
    return Reference(utterances=utterances, format="whisperx-json", source=str(path))


def _whisperx_segment(path: Path, index: int, segment: Any) -> Utterance:
    where = f"segments[{index}]"
    if not isinstance(segment, dict) or not isinstance(segment.get("text", ""), str):
        raise fail(path, None, f"{where}: expected an object with a 'text' string")
    words = []
    for j, word in enumerate(segment.get("words") or ()):
        if not isinstance(word, dict) or not isinstance(word.get("word"), str):
            raise fail(path, None, f"{where}.words[{j}]: expected an object with a 'word' string")
        words.append(RefWord(word["word"].strip(), _json_time(path, f"{where}.words[{j}]", word, "start"),
                             _json_time(path, f"{where}.words[{j}]", word, "end"),
                             word.get("speaker") or segment.get("speaker")))
    text = segment.get("text") or " ".join(w.text for w in words)
    return Utterance(text.strip(), speaker=segment.get("speaker"),
                     start=_json_time(path, where, segment, "start"),
                     end=_json_time(path, where, segment, "end"), words=tuple(words))


def _json_time(path: Path, where: str, obj: dict[str, Any], key: str) -> float | None:
    value = obj.get(key)
    if value is None:
        return None  # WhisperX leaves words it could not align (often numbers) without times
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
        raise fail(path, None, f"{where}: expected '{key}' as seconds >= 0, got {value!r}")
    return float(value)


READERS: dict[str, Callable[[Path, str], Reference]] = {
    "text": read_plain,
    "podium-txt": read_podium_txt,
    "captions": read_captions,
    "srt": read_srt,
    "vtt": read_vtt,
    "stm": read_stm,
    "ctm": read_ctm,
    "rttm": read_rttm,
    "podium-json": read_podium_json,
    "whisperx-json": read_whisperx_json,
}
