"""Word -> speaker alignment: give each ASR word a diarization speaker, repair boundary errors, say how
sure each attribution is, cut segments.

`attribute` is the whole stage; the functions it is made of are public for tests and benchmarks.
Everything here is pure: plain `Word`/`Segment`/`SpeakerTurn` values in, new values out, in input order.
Which label becomes which name is `podium.speakers`' concern.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from podium import speakers
from podium.transcript import Segment, SpeakerTurn, Transcript, Word, segment_text

if TYPE_CHECKING:
    from podium.diarize import DiarizationResult

# Two overlaps closer than this are a tie (float noise from RTTM rounding, not a real difference).
_TIE = 1e-9
# A split sentence goes to the speaker holding at least this many times the other's duration: in
# "Thank | you." neither side is evidence enough to move the other.
_CLEAR_MAJORITY = 2.0
_SENTENCE_END = (".", "?", "!", "…", "。", "？", "！")
_CLOSERS = "\"'”’)]»"
# Title abbreviations end in "." but almost never end a sentence in news speech ("Mr. Smith").
_TITLES = frozenset({"mr.", "mrs.", "ms.", "dr.", "prof.", "sen.", "rep.", "gov.", "gen.", "lt.", "st."})


def is_sentence_end(word: Word) -> bool:
    """faster-whisper words carry their punctuation: "said." ends a sentence, "Mr." does not."""
    text = word.text.strip().rstrip(_CLOSERS)
    return text.endswith(_SENTENCE_END) and text.lower() not in _TITLES


def attribute(transcript: Transcript, diarization: DiarizationResult | None,
              names: speakers.SpeakerOptions, enrolled: Mapping[str, str] | None = None) -> Transcript:
    """`transcript`'s words (its ASR segments) given speakers, cut into speaker segments, and named.

    Each word goes to the diarization turn it overlaps most, then flips at sentence edges that are
    diarization boundary errors are repaired (`smooth_speakers`). Diarizer labels become SPEAKER_n
    in order of first word, every label included, even a speaker heard only under another one (they
    have overlapping turns but no exclusive turn; their raw label once leaked into the JSON turns,
    the RTTM and the PNG beside SPEAKER_1). `enrolled` maps diarizer labels to the names of enrolled
    voices they matched; `names` gives the rest (`speakers.name_speakers`). Every word also gets
    `speaker_confidence` and `overlap` (`score_speakers`). No diarization: the transcript as it is
    (confidence None, overlap False).
    """
    if diarization is None:
        return transcript
    words = smooth_speakers(assign_speakers(transcript.words, diarization.turns))
    words = score_speakers(words, diarization.turns, diarization.overlapping_turns)
    words, _, mapping = speakers.relabel_by_first_appearance(
        words, (*diarization.turns, *diarization.overlapping_turns))
    by_voice = {mapping[raw]: name for raw, name in (enrolled or {}).items() if raw in mapping}
    named = speakers.name_speakers(speakers.in_label_order(mapping.values()), names, by_voice)
    overlapping = tuple(replace(t, speaker=mapping[t.speaker]) for t in diarization.overlapping_turns)
    return replace(transcript, segments=build_segments(words), speakers=named, turns=overlapping)


# --- assignment -----------------------------------------------------------------------------------


class _TurnIndex:
    """Turns sorted by start, with the running maximum end, to find overlapping turns by bisection."""

    def __init__(self, turns: Sequence[SpeakerTurn]) -> None:
        # Sorting by (start, input position) keeps "the earlier turn" well defined for ties.
        order = sorted(range(len(turns)), key=lambda i: (turns[i].start, i))
        self.turns = [turns[i] for i in order]
        self.starts = [t.start for t in self.turns]
        self.max_end: list[float] = []
        self.max_end_at: list[int] = []  # index of the turn that reaches max_end
        best, best_at = float("-inf"), -1
        for i, turn in enumerate(self.turns):
            if turn.end > best:
                best, best_at = turn.end, i
            self.max_end.append(best)
            self.max_end_at.append(best_at)

    def overlapping(self, start: float, end: float) -> list[int]:
        """Indices of turns that intersect [start, end] (touching counts, so zero-length words match)."""
        found = []
        i = bisect.bisect_right(self.starts, end) - 1
        while i >= 0 and self.max_end[i] >= start:
            if self.turns[i].end >= start:
                found.append(i)
            i -= 1
        found.reverse()
        return found

    def nearest(self, point: float) -> int:
        """The turn closest to `point` when none contains it; the earlier one on a tie."""
        after = bisect.bisect_right(self.starts, point)
        before = after - 1
        if before < 0:
            return after
        if after >= len(self.turns):
            return self.max_end_at[before]
        left = self.max_end_at[before]
        gap_left = point - self.turns[left].end
        gap_right = self.turns[after].start - point
        return left if gap_left <= gap_right + _TIE else after

    def speaker_for(self, start: float, end: float) -> str:
        return self.turns[self.turn_for(start, end)].speaker

    def turn_for(self, start: float, end: float) -> int:
        """The turn a word [start, end] belongs to: the one it overlaps most (see `assign_speakers`
        for ties), or the one nearest its midpoint when it overlaps none."""
        candidates = self.overlapping(start, end)
        if not candidates:
            return self.nearest((start + end) / 2)
        mid = (start + end) / 2

        def rank(i: int) -> tuple[float, bool]:
            turn = self.turns[i]
            overlap = max(0.0, min(end, turn.end) - max(start, turn.start))
            return overlap, turn.start <= mid <= turn.end

        best = candidates[0]
        best_overlap, best_contains = rank(best)
        for i in candidates[1:]:
            overlap, contains = rank(i)
            # Strictly better only: on a full tie the earlier turn (lower index) keeps the word.
            if overlap > best_overlap + _TIE or (abs(overlap - best_overlap) <= _TIE and contains
                                                 and not best_contains):
                best, best_overlap, best_contains = i, overlap, contains
        return best


def assign_speakers(words: Sequence[Word], turns: Sequence[SpeakerTurn]) -> tuple[Word, ...]:
    """Each word gets the speaker of the turn it overlaps most.

    Ties go to the turn containing the word's midpoint, then to the earlier turn. A word that overlaps
    no turn (a gap, or before the first / after the last turn) goes to the turn nearest its midpoint.
    No turns at all: every speaker is None. Words keep their order and number.
    """
    if not turns:
        return tuple(replace(w, speaker=None) for w in words)
    index = _TurnIndex(turns)
    return tuple(replace(w, speaker=index.speaker_for(w.start, w.end)) for w in words)


# --- smoothing ------------------------------------------------------------------------------------


@dataclass
class _Run:
    """Consecutive words [first, last] of one sentence that share a speaker."""

    speaker: str | None
    first: int
    last: int


def sentences(words: Sequence[Word]) -> list[range]:
    """Index ranges of the sentences in `words` (the last one may lack its final punctuation)."""
    spans, begin = [], 0
    for i, word in enumerate(words):
        if is_sentence_end(word):
            spans.append(range(begin, i + 1))
            begin = i + 1
    if begin < len(words):
        spans.append(range(begin, len(words)))
    return spans


def _runs(speakers: list[str | None], span: range) -> list[_Run]:
    runs: list[_Run] = []
    for i in span:
        if runs and runs[-1].speaker == speakers[i]:
            runs[-1].last = i
        else:
            runs.append(_Run(speakers[i], i, i))
    return runs


class _Smoother:
    def __init__(self, words: Sequence[Word], max_flip_words: int, max_flip_seconds: float,
                 pause: float) -> None:
        self.words = words
        self.max_flip_words = max_flip_words
        self.max_flip_seconds = max_flip_seconds
        self.pause = pause

    def seconds(self, run: _Run) -> float:
        return self.words[run.last].end - self.words[run.first].start

    def paused(self, before: int, after: int) -> bool:
        """A silence between word `before` and the next word `after` long enough to be a real turn change."""
        return self.words[after].start - self.words[before].end >= self.pause

    def short(self, run: _Run) -> bool:
        return (run.last - run.first + 1 <= self.max_flip_words
                and self.seconds(run) <= self.max_flip_seconds)

    def target(self, runs: list[_Run], i: int) -> str | None:
        """The speaker run `i` should be given to when it looks like a boundary error, else None."""
        run = runs[i]
        if len(runs) < 2 or not self.short(run):
            return None
        if 0 < i < len(runs) - 1:
            before, after = runs[i - 1], runs[i + 1]
            # A flip and back with no pause on either side: the diarizer's boundary wobbled.
            if (before.speaker == after.speaker and not self.paused(before.last, run.first)
                    and not self.paused(run.last, after.first)):
                return before.speaker
            return None
        # First or last run of the sentence: the sentence was cut at the wrong place. Give it to the
        # neighbour only when that speaker clearly holds more of the sentence than this run's does.
        neighbour = runs[1] if i == 0 else runs[i - 1]
        if any(r.speaker == run.speaker for r in runs if r is not run):
            return None  # not a sentence split in two, e.g. a long flip in the middle: leave it
        joint = (run.last, neighbour.first) if i == 0 else (neighbour.last, run.first)
        if self.paused(*joint):
            return None
        share = {r.speaker: 0.0 for r in runs}
        for r in runs:
            share[r.speaker] += self.seconds(r)
        clear = share[neighbour.speaker] >= _CLEAR_MAJORITY * share[run.speaker]
        return neighbour.speaker if clear else None

    def smooth_sentence(self, speakers: list[str | None], span: range) -> None:
        runs = _runs(speakers, span)
        while True:
            candidates = [(self.seconds(r), r.last - r.first, r.first, i, target)
                          for i, r in enumerate(runs)
                          if (target := self.target(runs, i)) is not None]
            if not candidates:
                return
            *_, i, target = min(candidates)
            for k in range(runs[i].first, runs[i].last + 1):
                speakers[k] = target
            runs = _runs(speakers, span)


def smooth_speakers(words: Sequence[Word], max_flip_words: int = 3, max_flip_seconds: float = 1.0,
                    pause: float = 0.3) -> tuple[Word, ...]:
    """Repair word-speaker flips that are diarization boundary errors, keep genuine interruptions.

    Inside one sentence, a run of at most `max_flip_words` words lasting at most `max_flip_seconds`
    that flips to another speaker and back, with no silence of `pause` seconds on either side, goes back
    to the surrounding speaker. A short run at the start or end of a sentence, joined to the rest
    without a pause, goes to the speaker holding a clear majority (twice its duration) of the
    sentence. Whole sentences are never touched, so "Yes." between two sentences of another speaker
    stays theirs.

    The defaults are the conservative end of what helped in `benchmarks/align.py`: a low `pause`
    protects more flips, and flips over a second long are left to the diarizer.
    """
    speakers = [w.speaker for w in words]
    smoother = _Smoother(words, max_flip_words, max_flip_seconds, pause)
    for span in sentences(words):
        smoother.smooth_sentence(speakers, span)
    return tuple(w if w.speaker == s else replace(w, speaker=s)
                 for w, s in zip(words, speakers, strict=True))


# --- confidence -----------------------------------------------------------------------------------

# Short diarization turns are where the diarizer most often gives speech to the wrong speaker (a
# stray fragment of another voice): a turn of this many seconds halves the confidence.
_SHORT_TURN = 0.1
# Diarization boundaries are off by a few tenths of a second, so a word this far (midpoint, seconds)
# from every other speaker's turn is clear of any speaker change.
_CLEAR_OF_CHANGE = 0.5
# A word whose midpoint lies inside another speaker's turn (only smoothing puts one there) keeps at
# least this edge factor: going against the diarization there is doubtful, not proof of an error.
_EDGE_FLOOR = 0.25
# Two speakers over this share of a word is an overlapped word; a shorter brush at its edge is
# boundary noise, which the edge factor already accounts for.
_OVERLAP_SHARE = 0.25
# In overlapped speech the exclusive turns had to pick one speaker: a guess, so half the confidence.
_OVERLAP_FACTOR = 0.5


def score_speakers(words: Sequence[Word], turns: Sequence[SpeakerTurn],
                   overlapping_turns: Sequence[SpeakerTurn]) -> tuple[Word, ...]:
    """`words` with `speaker_confidence` and `overlap` set from the diarization they were attributed by.

    `turns` are the exclusive turns the speakers came from, `overlapping_turns` the same diarization
    with overlapped speech kept; speakers are not changed. Labels must be those of `turns` (raw or
    relabelled alike, as long as words and turns agree).

    `overlap` is True when two or more different speakers of `overlapping_turns` are active together
    over at least a quarter (`_OVERLAP_SHARE`) of the word's duration (for a zero-length word: at its
    time).

    `speaker_confidence` is the product of three factors, rounded to 3 decimals:

    - turn = L / (L + 0.1 s), where L is the duration of the word's speaker's turn the word belongs
      to (the one of that speaker it overlaps most, else the one nearest its midpoint). A 0.1 s
      fragment gets 0.5, a 0.5 s turn 0.83, a 2 s turn 0.95, a 10 s turn 0.99: short turns are the
      diarizer's most common confusions.
    - edge = clamp(0.5 + 0.5 * m / 0.5 s, 0.25, 1), where m is the signed distance in seconds from the
      word's midpoint to the nearest turn of any other speaker: positive outside it, negative (minus
      the depth) inside it, infinite when there is no other speaker. A word at a speaker change
      gets 0.5, one 0.5 s or more clear of it 1; a word inside another speaker's turn gets below 0.5
      (down to 0.25), which is what a word moved by `smooth_speakers` gets, so smoothing lowers
      confidence without a separate rule. A word in a gap between turns is treated like any other:
      its nearest turn gives L, its distance to the other speaker gives m.
    - overlap: 0.5 when `overlap` is True, else 1.

    A word whose speaker is None gets None; one whose speaker has no turn in `turns` gets 0.
    The constants were chosen on the shared diarization recordings pooled (`benchmarks/confidence.py`,
    figures in benchmarks/README.md). Confidence says nothing about a diarizer that merged two voices
    into one speaker over long turns: such words keep high confidence.
    """
    by_speaker: dict[str, list[SpeakerTurn]] = {}
    for turn in turns:
        by_speaker.setdefault(turn.speaker, []).append(turn)
    own = {speaker: _TurnIndex(speaker_turns) for speaker, speaker_turns in by_speaker.items()}
    heard = _TurnIndex(overlapping_turns) if overlapping_turns else None
    scored = []
    for word in words:
        # bool(): turn times may be numpy floats, whose comparison gives numpy's bool, which JSON refuses.
        overlap = heard is not None and bool(_overlapped_share(heard, word) >= _OVERLAP_SHARE)
        confidence = None if word.speaker is None else _confidence(word, word.speaker, own, overlap)
        scored.append(replace(word, speaker_confidence=confidence, overlap=overlap))
    return tuple(scored)


def _confidence(word: Word, speaker: str, own: Mapping[str, _TurnIndex], overlap: bool) -> float:
    """`score_speakers`' turn x edge x overlap product for one word."""
    index = own.get(speaker)
    if index is None:
        return 0.0
    length = index.turns[index.turn_for(word.start, word.end)].duration
    turn_factor = length / (length + _SHORT_TURN) if length > 0 else 0.0
    margin = min((_signed_distance(other, word.mid) for label, other in own.items() if label != speaker),
                 default=math.inf)
    edge = min(1.0, max(_EDGE_FLOOR, 0.5 + 0.5 * margin / _CLEAR_OF_CHANGE))
    return round(float(turn_factor * edge * (_OVERLAP_FACTOR if overlap else 1.0)), 3)


def _signed_distance(index: _TurnIndex, point: float) -> float:
    """Seconds from `point` to the nearest of `index`'s turns; minus the depth when a turn holds it."""
    holding = index.overlapping(point, point)
    if holding:
        return -max(min(point - index.turns[i].start, index.turns[i].end - point) for i in holding)
    nearest = index.turns[index.nearest(point)]
    return max(nearest.start - point, point - nearest.end)


def _overlapped_share(index: _TurnIndex, word: Word) -> float:
    """The share of the word's time during which two or more different speakers are active."""
    found = [index.turns[i] for i in index.overlapping(word.start, word.end)]
    if len({t.speaker for t in found}) < 2:
        return 0.0
    if word.end <= word.start:
        return 1.0 if len({t.speaker for t in found if t.start <= word.start <= t.end}) >= 2 else 0.0
    cuts = sorted({word.start, word.end}
                  | {x for t in found for x in (t.start, t.end) if word.start < x < word.end})
    together = 0.0
    for left, right in itertools.pairwise(cuts):
        middle = (left + right) / 2
        if len({t.speaker for t in found if t.start <= middle <= t.end}) >= 2:
            together += right - left
    return together / (word.end - word.start)


# --- segments -------------------------------------------------------------------------------------


def _segment(words: Sequence[Word]) -> Segment:
    return Segment(start=words[0].start, end=max(w.end for w in words), text=segment_text(words),
                   words=tuple(words), speaker=words[0].speaker)


def build_segments(words: Sequence[Word], max_gap: float = 1.5,
                   max_duration: float = 15.0) -> tuple[Segment, ...]:
    """Cut words into segments at speaker changes and pauses of `max_gap` seconds.

    Past `max_duration` a segment ends at the next sentence end; text with no punctuation is cut at
    any word once it reaches twice that, so unpunctuated speech still yields readable segments.
    """
    segments: list[Segment] = []
    current: list[Word] = []
    for word in words:
        if current and _cut_before(current, word, max_gap, max_duration):
            segments.append(_segment(current))
            current = []
        current.append(word)
    if current:
        segments.append(_segment(current))
    return tuple(segments)


def _cut_before(current: list[Word], word: Word, max_gap: float, max_duration: float) -> bool:
    last = current[-1]
    duration = last.end - current[0].start
    return (word.speaker != last.speaker
            or word.start - last.end >= max_gap
            or (duration >= max_duration and is_sentence_end(last))
            or word.end - current[0].start > 2 * max_duration)
