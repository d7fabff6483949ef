"""What the format modules share: the `Writer` base class, the reader error, and the small text
helpers that writing (one-line names, hour stamps) and reading (speaker prefixes, numeric fields) use."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from podium.errors import PodiumError
from podium.transcript import Transcript

if TYPE_CHECKING:
    from podium.formats import OutputOptions

# --- writing --------------------------------------------------------------------------------------


class Writer:
    """Renders a Transcript as one file's content. `output_dir` is where the file will be written
    (a page links to its media relative to it); writers that need neither ignore both."""

    extension: ClassVar[str]
    binary: ClassVar[bool] = False

    def __init__(self, options: OutputOptions | None = None, output_dir: Path | None = None) -> None:
        from podium.formats import OutputOptions  # here: the registry imports every writer module

        self.options = options or OutputOptions()
        self.output_dir = output_dir or Path(self.options.output_dir)

    def render(self, transcript: Transcript) -> str | bytes:
        raise NotImplementedError


def has_speakers(transcript: Transcript) -> bool:
    return any(s.speaker is not None for s in transcript.segments)


def uses_hours(transcript: Transcript) -> bool:
    """Whole-file choice, so every timestamp in one file has the same shape."""
    last = max((s.end for s in transcript.segments), default=0.0)
    return max(last, transcript.duration) >= 3600


def one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def display_name(transcript: Transcript, label: str | None) -> str | None:
    """A speaker's display name on one line. Options refuse names with line breaks; a Transcript made
    in Python may still hold one, and in txt, SRT or VTT it would start a paragraph or a fake cue."""
    name = transcript.speaker_name(label)
    return None if name is None else one_line(name)


# --- reading --------------------------------------------------------------------------------------


class TranscriptFormatError(PodiumError):
    """A reference or hypothesis file is not what its format says it should be."""


def fail(path: Path | str, line: int | None, expected: str) -> TranscriptFormatError:
    """`file:line: what was expected`, so a bad file is reported in one line."""
    where = f"{path}:{line}" if line is not None else str(path)
    return TranscriptFormatError(f"{where}: {expected}")


def seconds_field(path: Path, line: int, value: str, what: str) -> float:
    """A time field of a NIST table (STM, CTM, RTTM, UEM): finite seconds >= 0."""
    try:
        number = float(value)
    except ValueError:
        raise fail(path, line, f"expected {what} as a number of seconds, got {value!r}") from None
    if not math.isfinite(number) or number < 0:
        raise fail(path, line, f"expected {what} as a finite number of seconds >= 0, got {value!r}")
    return number


def data_lines(text: str) -> list[tuple[int, str]]:
    """(line number, stripped line) for lines that are neither blank nor ';;' comments."""
    return [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1)
            if line.strip() and not line.lstrip().startswith(";;")]


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
