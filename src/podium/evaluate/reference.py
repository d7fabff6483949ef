"""The common shape every reader produces: utterances (with optional timed words) and speaker turns.

A reference and a hypothesis are the same kind of thing here, so one structure serves both sides.
Times are seconds; any of them may be unknown (None), because plain text and caption dumps carry
less than a diarized transcript does.
"""

from __future__ import annotations

from dataclasses import dataclass

from podium.transcript import SpeakerTurn, Transcript

# Reference annotators bridge short pauses inside one person's speech; merging same-speaker words
# across gaps up to this long keeps word-derived turns comparable with such annotations.
WORD_TURN_MERGE_GAP_S = 0.5


@dataclass(frozen=True)
class RefWord:
    text: str
    start: float | None = None
    end: float | None = None
    speaker: str | None = None


@dataclass(frozen=True)
class Utterance:
    text: str
    speaker: str | None = None
    start: float | None = None
    end: float | None = None
    words: tuple[RefWord, ...] = ()


@dataclass(frozen=True)
class Reference:
    utterances: tuple[Utterance, ...] = ()
    turns: tuple[SpeakerTurn, ...] = ()
    format: str = "unknown"
    source: str | None = None

    @property
    def text(self) -> str:
        return " ".join(u.text for u in self.utterances if u.text.strip())

    @property
    def words(self) -> tuple[RefWord, ...]:
        return tuple(w for u in self.utterances for w in u.words)

    @property
    def has_text(self) -> bool:
        return bool(self.text.strip())

    @property
    def speakers(self) -> tuple[str, ...]:
        """Every speaker named anywhere, in order of first appearance."""
        seen: dict[str, None] = {}
        for u in self.utterances:
            if u.speaker is not None:
                seen.setdefault(u.speaker)
            for w in u.words:
                if w.speaker is not None:
                    seen.setdefault(w.speaker)
        for t in self.turns:
            seen.setdefault(t.speaker)
        return tuple(seen)


class NoTurns(Exception):
    """Speaker turns cannot be had from this side; the message says why."""


def speaker_turns(ref: Reference, side: str = "reference") -> tuple[tuple[SpeakerTurn, ...], str]:
    """Speaker turns and where they came from: given turns, else timed utterances, else timed words."""
    if ref.turns:
        return ref.turns, "turns"
    spoken = [u for u in ref.utterances if u.text.strip()]
    timed = [(u.start, u.end, u.speaker) for u in spoken
             if u.speaker is not None and u.start is not None and u.end is not None]
    if spoken and len(timed) == len(spoken):
        turns = tuple(SpeakerTurn(start, end, speaker) for start, end, speaker in timed if end > start)
        return turns, "utterances"
    words = [(w.start, w.end, w.speaker) for w in ref.words
             if w.speaker is not None and w.start is not None and w.end is not None]
    if words:
        return _turns_from_words(words), "words"
    what = f"{side} ({ref.format})"
    if not spoken:
        raise NoTurns(f"{what} has neither text nor speaker turns")
    if all(u.speaker is None for u in spoken) and not any(w.speaker for w in ref.words):
        raise NoTurns(f"{what} has no speaker labels")
    raise NoTurns(f"{what} has speaker labels but no start and end times")


def _turns_from_words(words: list[tuple[float, float, str]]) -> tuple[SpeakerTurn, ...]:
    """Timed words (start, end, speaker) joined into turns."""
    turns: list[SpeakerTurn] = []
    for start, end, speaker in sorted(words, key=lambda word: word[0]):
        last = turns[-1] if turns else None
        if last and last.speaker == speaker and start - last.end <= WORD_TURN_MERGE_GAP_S:
            turns[-1] = SpeakerTurn(last.start, max(last.end, end), speaker)
        elif end > start:
            turns.append(SpeakerTurn(start, end, speaker))
    return tuple(turns)


def reference_from_transcript(transcript: Transcript, format: str = "podium-json") -> Reference:
    """A podium Transcript as a Reference; speakers appear under their display names."""
    name = transcript.speaker_name
    utterances = tuple(
        Utterance(
            text=seg.text,
            speaker=name(seg.speaker),
            start=seg.start,
            end=seg.end,
            words=tuple(RefWord(w.text, w.start, w.end, name(w.speaker) or name(seg.speaker))
                        for w in seg.words),
        )
        for seg in transcript.segments
    )
    turns = tuple(SpeakerTurn(t.start, t.end, name(t.speaker) or t.speaker) for t in transcript.turns)
    return Reference(utterances=utterances, turns=turns, format=format, source=transcript.source)
