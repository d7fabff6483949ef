"""The data model every stage produces or consumes, and the pure helpers that join its words into text
and its segments into turns; times are seconds from the start of the input."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

# 2: words carry speaker_confidence and overlap, transcripts their provenance. Version 1 files
# (podium 0.1) still read: those fields take their defaults.
SCHEMA_VERSION = 2
READABLE_VERSIONS = (1, 2)


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    text: str
    probability: float = 1.0
    speaker: str | None = None
    # How sure the aligner is that `speaker` said this word (0-1; None: no diarization), and whether
    # diarization heard another speaker at the same time. See `podium.align.attribute`.
    speaker_confidence: float | None = None
    overlap: bool = False

    @property
    def mid(self) -> float:
        return (self.start + self.end) / 2


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()
    speaker: str | None = None


def segment_text(words: Sequence[Word]) -> str:
    """faster-whisper words carry their own leading space, so they join with no separator."""
    return "".join(w.text for w in words).strip()


def merge_turns(segments: Sequence[Segment]) -> tuple[Segment, ...]:
    """Consecutive segments of one speaker as one turn (a paragraph in the txt output).

    Segments without a speaker are never merged: nothing says they belong together.
    """
    merged: list[Segment] = []
    for segment in segments:
        previous = merged[-1] if merged else None
        if previous is not None and segment.speaker is not None and segment.speaker == previous.speaker:
            text = " ".join(t for t in (previous.text, segment.text) if t)
            merged[-1] = Segment(start=previous.start, end=max(previous.end, segment.end), text=text,
                                 words=previous.words + segment.words, speaker=previous.speaker)
        else:
            merged.append(segment)
    return tuple(merged)


@dataclass(frozen=True)
class SpeakerTurn:
    """One stretch of speech by one speaker, as a diarizer reports it."""

    start: float
    end: float
    speaker: str

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Speaker:
    """A speaker label as it appears in segments, with the name shown to readers."""

    label: str
    name: str


@dataclass(frozen=True)
class Transcript:
    segments: tuple[Segment, ...]
    language: str | None = None
    duration: float = 0.0
    source: str | None = None
    model: str | None = None
    speakers: tuple[Speaker, ...] = ()
    turns: tuple[SpeakerTurn, ...] = ()
    options: dict[str, Any] = field(default_factory=dict, compare=False)
    # Where it came from: media digest, models, versions, date (`podium.provenance`). Not compared:
    # two runs that produce the same transcript are equal whenever and wherever they ran.
    provenance: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.segments if s.text)

    @property
    def words(self) -> tuple[Word, ...]:
        return tuple(w for s in self.segments for w in s.words)

    def speaker_name(self, label: str | None) -> str | None:
        """The display name for a speaker label; the label itself when it has no name."""
        if label is None:
            return None
        for speaker in self.speakers:
            if speaker.label == label:
                return speaker.name
        return label

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["version"] = SCHEMA_VERSION
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Transcript:
        version = data.get("version")
        if version not in READABLE_VERSIONS:
            raise ValueError(f"unsupported podium JSON version {version!r} (expected one of "
                             f"{', '.join(map(str, READABLE_VERSIONS))})")
        segments = tuple(
            Segment(
                start=s["start"],
                end=s["end"],
                text=s["text"],
                words=tuple(Word(**w) for w in s.get("words", ())),
                speaker=s.get("speaker"),
            )
            for s in data["segments"]
        )
        return cls(
            segments=segments,
            language=data.get("language"),
            duration=data.get("duration", 0.0),
            source=data.get("source"),
            model=data.get("model"),
            speakers=tuple(Speaker(**s) for s in data.get("speakers", ())),
            turns=tuple(SpeakerTurn(**t) for t in data.get("turns", ())),
            options=data.get("options", {}),
            provenance=data.get("provenance", {}),
        )

    @classmethod
    def from_json(cls, text: str) -> Transcript:
        return cls.from_dict(json.loads(text))
