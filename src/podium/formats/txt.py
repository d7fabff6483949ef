"""Text transcripts: podium's txt (`TxtWriter`, `read_podium_txt`: `[mm:ss] Name: text` paragraphs),
plain text with one utterance a line (`read_plain`), and caption dumps copied from a web page, whose
lines start with a bare `mm:ss` (`read_captions`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from podium.evaluate.reference import Reference, Utterance
from podium.formats.base import Writer, display_name, fail, has_speakers, one_line, split_speaker, uses_hours
from podium.formats.clock import clock, clock_or_fail
from podium.transcript import Transcript, Word, merge_turns

BRACKET_STAMP = re.compile(r"^\[(\d{1,2}(?::\d{1,2})?:\d{2}(?:\.\d+)?)\]\s*(.*)$")
# Caption dumps glue the text straight onto the stamp ("00:09turn into Ukraine"); seconds always
# have two digits, so "02:4328 point plan" still splits as 02:43 + "28 point plan".
BARE_STAMP = re.compile(r"^((?:\d{1,2}:)?\d{1,2}:\d{2})(?!\d)\s*(.*)$")
# `--mark-uncertain` writes "Name [?]: text"; the reader takes the marker off before it looks for the name.
UNCERTAIN_MARK = " [?]"
_MARKED_NAME = re.compile(r"^([^:\n]*?) \[\?\]:")
# A turn is uncertain when more than this share of its scored words are below `_DOUBTFUL`: a long
# paragraph with a few doubtful words at its edges (normal at every speaker change) is not marked,
# a short one mostly made of them is.
_UNCERTAIN_SHARE = 1 / 3
_DOUBTFUL = 0.5


def uncertain_turn(words: Sequence[Word]) -> bool:
    """Whether a turn's speaker attribution is uncertain: more than a third of its words that carry a
    `speaker_confidence` have one below 0.5. Words without a confidence (no diarization) are left
    out; a turn with none is never uncertain."""
    scored = [w.speaker_confidence for w in words if w.speaker_confidence is not None]
    doubtful = sum(confidence < _DOUBTFUL for confidence in scored)
    return bool(scored) and doubtful > _UNCERTAIN_SHARE * len(scored)


class TxtWriter(Writer):
    """Timed lines; with speakers, one paragraph per speaker turn, like a press transcript.

    With `OutputOptions.mark_uncertain`, a turn whose attribution is uncertain (`uncertain_turn`)
    gets `[?]` after the name: `[01:41] Secretary-General [?]: ...`.
    """

    extension = "txt"

    def render(self, transcript: Transcript) -> str:
        hours = uses_hours(transcript)
        if not has_speakers(transcript):
            lines = [f"[{clock(s.start, hours)}] {one_line(s.text)}" for s in transcript.segments
                     if s.text.strip()]
            return "".join(line + "\n" for line in lines)
        paragraphs = []
        for turn in merge_turns([s for s in transcript.segments if s.text.strip()]):
            name = display_name(transcript, turn.speaker)
            mark = UNCERTAIN_MARK if self.options.mark_uncertain and uncertain_turn(turn.words) else ""
            who = f"{name}{mark}: " if name else ""
            paragraphs.append(f"[{clock(turn.start, hours)}] {who}{one_line(turn.text)}")
        return "\n\n".join(paragraphs) + ("\n" if paragraphs else "")


def read_podium_txt(path: Path, text: str) -> Reference:
    """`[mm:ss] Name: text` paragraphs (continuation lines join the paragraph) or `[mm:ss] text` lines.
    A `[?]` after the name (`--mark-uncertain`) is dropped: the speaker is the name before it."""
    paragraphs: list[tuple[float, list[str]]] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        match = BRACKET_STAMP.match(line)
        if match:
            paragraphs.append((clock_or_fail(path, number, match.group(1)), [match.group(2)]))
        elif paragraphs:
            paragraphs[-1][1].append(line)
        else:
            raise fail(path, number, "expected a paragraph starting with a [mm:ss] timestamp")
    utterances = []
    for start, parts in paragraphs:
        joined = " ".join(parts)
        speaker, body = split_speaker(_MARKED_NAME.sub(r"\1:", joined, count=1))
        if speaker is None:  # "[?]" after something that is not a name is text: keep it
            speaker, body = split_speaker(joined)
        utterances.append(Utterance(body, speaker=speaker, start=start))
    return Reference(utterances=tuple(utterances), format="podium-txt", source=str(path))


def read_plain(path: Path, text: str) -> Reference:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return Reference(utterances=tuple(Utterance(line) for line in lines), format="text", source=str(path))


def read_captions(path: Path, text: str) -> Reference:
    """A page or caption dump: keep only the lines that start with a timestamp, drop the rest."""
    utterances = []
    for number, raw in enumerate(text.splitlines(), 1):
        match = BARE_STAMP.match(raw.strip())
        if match and match.group(2).strip():
            speaker, body = split_speaker(match.group(2))
            utterances.append(Utterance(body, speaker=speaker,
                                        start=clock_or_fail(path, number, match.group(1))))
    if not utterances:
        raise fail(path, None, "expected lines starting with a timestamp like 00:09 or 1:02:03")
    return Reference(utterances=tuple(utterances), format="captions", source=str(path))
