"""Subtitle cues, shared by SRT and WebVTT: `build_cues` cuts a transcript into cues that follow
subtitle rules, `read_cues` reads the cue blocks of either file back into a `Reference`."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from podium.evaluate.reference import Reference, Utterance
from podium.formats.base import display_name, fail, one_line, split_speaker
from podium.formats.clock import parse_clock
from podium.transcript import Segment, Transcript, Word, segment_text

# Subtitle conventions (EBU / Netflix style): at most two lines of 42 characters, at most ~7 s on screen.
CUE_MAX_SECONDS = 7.0
CUE_LINE_CHARS = 42
CUE_MAX_CHARS = 2 * CUE_LINE_CHARS
CUE_MAX_GAP = 1.0  # a silence this long ends a cue, so text does not linger over a pause
CUE_MIN_MS = 700  # short cues are held this long when the next cue leaves room: readable, never overlapping
_BREAK_AFTER = (".", ",", "?", "!", ";", ":", "…")

# --- building -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cue:
    start_ms: int
    end_ms: int
    text: str
    speaker: str | None  # display name


def _words_of(segment: Segment) -> list[Word]:
    """The segment's words; without word timings, its text split at spaces with times by character."""
    if segment.words:
        return [w if w.speaker is not None else Word(w.start, w.end, w.text, w.probability, segment.speaker)
                for w in segment.words]
    parts = segment.text.split()
    total = sum(len(p) + 1 for p in parts) or 1
    words, t = [], segment.start
    for part in parts:
        length = (segment.end - segment.start) * (len(part) + 1) / total
        words.append(Word(t, t + length, " " + part, speaker=segment.speaker))
        t += length
    return words


def _best_cut(pending: list[Word]) -> int:
    """Where to end a full cue: after the last punctuation in its second half, else after every word."""
    for i in range(len(pending) - 2, len(pending) // 2 - 1, -1):
        if pending[i].text.strip().endswith(_BREAK_AFTER):
            return i + 1
    return len(pending)


def cue_display_text(text: str, speaker: str | None) -> str:
    """What a subtitle shows: the speaker's name as a prefix when there is one."""
    return f"{speaker}: {text}" if speaker else text


def _cue_chunks(words: list[Word], transcript: Transcript, max_seconds: float,
                line_chars: int) -> Iterable[list[Word]]:
    def fits(chunk: list[Word]) -> bool:
        shown = cue_display_text(segment_text(chunk), display_name(transcript, chunk[0].speaker))
        lines = wrap_two_lines(shown, line_chars)
        return (chunk[-1].end - chunk[0].start <= max_seconds and len(lines) <= 2
                and all(len(line) <= line_chars for line in lines))

    pending: list[Word] = []
    for word in words:
        if pending and (word.speaker != pending[-1].speaker or word.start - pending[-1].end >= CUE_MAX_GAP):
            yield pending
            pending = []
        while pending and not fits([*pending, word]):
            cut = _best_cut(pending)
            yield pending[:cut]
            pending = pending[cut:]
        pending.append(word)
    if pending:
        yield pending


def build_cues(transcript: Transcript, max_seconds: float = CUE_MAX_SECONDS,
               line_chars: int = CUE_LINE_CHARS) -> list[Cue]:
    """Subtitle cues split at word boundaries, one speaker each, in order and never overlapping.

    A cue, with its "Name: " prefix, fits two lines of `line_chars` (only a single over-long word
    may exceed them) and lasts at most `max_seconds`.
    """
    chunks = [chunk for segment in transcript.segments
              for chunk in _cue_chunks(_words_of(segment), transcript, max_seconds, line_chars)
              if segment_text(chunk)]
    cues: list[Cue] = []
    for i, chunk in enumerate(chunks):
        start = max(round(chunk[0].start * 1000), cues[-1].end_ms if cues else 0)
        end = max(round(max(w.end for w in chunk) * 1000), start + CUE_MIN_MS)
        if i + 1 < len(chunks):
            end = min(end, max(round(chunks[i + 1][0].start * 1000), start + 1))
        text = one_line(segment_text(chunk))
        cues.append(Cue(start, end, text, display_name(transcript, chunk[0].speaker)))
    return cues


def wrap_two_lines(text: str, width: int = CUE_LINE_CHARS) -> list[str]:
    """One line if it fits, else two, split at the space that best balances them."""
    if len(text) <= width or " " not in text:
        return [text]
    spaces = [i for i, c in enumerate(text) if c == " "]
    split = min(spaces, key=lambda i: (max(i, len(text) - i - 1) > width, abs(len(text) / 2 - i)))
    return [text[:split], text[split + 1:]]


# --- reading --------------------------------------------------------------------------------------

CUE_TIMING = re.compile(r"^\s*(\S+)\s+-->\s+(\S+)")
_VOICE = re.compile(r"<v(?:\.[\w.-]+)?\s+([^>]+)>")
_TAG = re.compile(r"<[^>]*>|\{\\[^}]*\}")


def read_cues(path: Path, text: str, fmt: str) -> Reference:
    """Every cue of an SRT or WebVTT (`fmt`) file with text in it, one utterance each."""
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
    match = CUE_TIMING.match(timing)
    try:
        if match is None:
            raise ValueError(timing)
        start, end = parse_clock(match.group(1)), parse_clock(match.group(2))
    except ValueError:
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
