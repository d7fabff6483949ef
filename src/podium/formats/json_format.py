"""podium's JSON: `JsonWriter` writes the whole `Transcript` (it reads back equal), `read_podium_json`
reads it as a `Reference`, and `load_json` is the strict JSON parser both JSON readers use."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from podium.evaluate.reference import Reference, reference_from_transcript
from podium.formats.base import Writer, fail
from podium.formats.cues import qa_summary
from podium.transcript import Transcript


class JsonWriter(Writer):
    """The transcript, plus the subtitle QA summary (`cues.qa_summary`) when SRT or WebVTT is written
    with it: which subtitle rules some cue had to break, and why."""

    extension = "json"

    def render(self, transcript: Transcript) -> str:
        if not {"srt", "vtt"} & set(self.options.formats):
            return transcript.to_json() + "\n"
        data = {**transcript.to_dict(), "subtitles": qa_summary(transcript, self.options)}
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


class _NotFinite(ValueError):
    """NaN, Infinity or a number too large for a float: Python's json takes them, JSON does not."""


def _finite(token: str) -> float:
    number = float(token)
    if not math.isfinite(number):
        raise _NotFinite(token)
    return number


def load_json(path: Path, text: str) -> Any:
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
    data = load_json(path, text)
    try:
        transcript = Transcript.from_dict(data)
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise fail(path, None, f"expected podium transcript JSON ({type(error).__name__}: {error})") from None
    return reference_from_transcript(transcript)
