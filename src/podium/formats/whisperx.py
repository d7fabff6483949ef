"""WhisperX's JSON (`segments[].words[]`), read as a `Reference`; podium does not write it."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from podium.evaluate.reference import Reference, RefWord, Utterance
from podium.formats.base import fail
from podium.formats.json_format import load_json


def read_whisperx_json(path: Path, text: str) -> Reference:
    """`segments[].{start,end,text,speaker?,words[].{word,start?,end?,speaker?}}`."""
    data = load_json(path, text)
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
