"""Subtitle cues, shared by SRT and WebVTT: `build_cues` cuts a transcript into cues that follow
broadcast subtitle rules, `qa_summary` and `qa_line` report every cue that breaks one, and
`read_cues` reads the cue blocks of either file back into a `Reference`.

The rules (`CueRules`, from `OutputOptions`):

- at most `max_lines` lines of at most `max_line_chars` characters;
- a reading speed of at most `max_cps` characters per second. Characters are counted as broadcasters
  count them: everything the SRT cue shows (letters, digits, spaces, punctuation, the "Name: "
  prefix and the dialogue dashes), without the line breaks;
- 0.8 s to 7 s on screen, and at least 2 frames at 25 fps (80 ms) between consecutive cues;
- one speaker per cue; when a turn is too short to be read on its own, two speakers share a cue in
  dialogue style: one line each, starting with "- ".

A rule is broken only where the speech leaves no choice (a word longer than a line, speech faster
than the reading speed with no silence to extend into, an interjection with the next cue too close
to reach the minimum duration, word times that overlap), and `qa_summary` reports every such cue.

How cues are cut: the words (a word glued to the next when nothing separates them, so "1,000,000",
"3.5" or "$5" stay whole) are split into cues by dynamic programming over cue boundaries. A cue's
cost counts first the rules it would break, given where the next cue starts, then its
quality: where it ends (sentence end, then clause punctuation, then before a conjunction or
preposition, then anywhere but inside a number phrase such as "25 per cent"), how well its lines
are laid out (the same preference for line breaks, balanced lines), silences it spans, and dialogue
style, which is used only when separate cues would break a rule. A cue starts on its first word and
ends when its speech does, held longer when the reading speed or the minimum duration needs it and
the next cue leaves room; it is never moved into the next cue.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from podium.evaluate.reference import Reference, Utterance
from podium.formats.base import display_name, fail, one_line, split_speaker
from podium.formats.clock import parse_clock, timestamp
from podium.transcript import Segment, Transcript, Word

if TYPE_CHECKING:
    from podium.formats import OutputOptions

# Subtitle conventions (EBU / Netflix style). The line, line count and reading-speed defaults are
# those of `OutputOptions`; these are the fixed ones.
CUE_LINE_CHARS = 42
CUE_MAX_LINES = 2
CUE_MAX_CHARS = CUE_MAX_LINES * CUE_LINE_CHARS
CUE_MAX_CPS = 17.0
CUE_MAX_SECONDS = 7.0
CUE_MIN_SECONDS = 0.8
CUE_GAP_MS = 80  # 2 frames at 25 fps: the eye needs a visible change to notice a new cue
CUE_MAX_GAP = 1.0  # a silence this long inside a cue shows text long before it is said

# --- rules and cues -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CueRules:
    """What every cue must respect; `names`: SRT shows "Name: " on the first cue of each turn."""

    line_chars: int = CUE_LINE_CHARS
    max_lines: int = CUE_MAX_LINES
    max_cps: float = CUE_MAX_CPS
    names: bool = True
    min_ms: int = round(CUE_MIN_SECONDS * 1000)
    max_ms: int = round(CUE_MAX_SECONDS * 1000)
    gap_ms: int = CUE_GAP_MS

    @classmethod
    def from_options(cls, options: OutputOptions | None) -> CueRules:
        if options is None:
            return cls()
        return cls(line_chars=options.max_line_chars, max_lines=options.max_lines,
                   max_cps=float(options.max_cps), names=options.srt_speakers == "prefix")

    def needed_ms(self, chars: int) -> int:
        """The shortest time on screen that `chars` characters may be shown for."""
        return max(self.min_ms, math.ceil(chars * 1000 / self.max_cps - 1e-9))


@dataclass(frozen=True)
class CueTurn:
    """One speaker's words in a cue; `named`: the words start a turn, so SRT names the speaker."""

    speaker: str | None  # display name
    text: str
    named: bool = False


@dataclass(frozen=True)
class Cue:
    """One subtitle: one turn, or two in dialogue style. `lines` are what SRT shows (names
    included); `plain_lines` the same words without names, for WebVTT, whose voice tags name them."""

    start_ms: int
    end_ms: int
    turns: tuple[CueTurn, ...]
    lines: tuple[str, ...]
    plain_lines: tuple[str, ...]

    @property
    def text(self) -> str:
        """The spoken words on one line, without names or dashes."""
        return " ".join(t.text for t in self.turns)

    @property
    def speaker(self) -> str | None:
        """The (first) speaker's display name."""
        return self.turns[0].speaker

    @property
    def dialogue(self) -> bool:
        return len(self.turns) > 1

    @property
    def chars(self) -> int:
        """Characters shown, without line breaks: what the reading speed counts."""
        return sum(len(line) for line in self.lines)


# --- words into units -----------------------------------------------------------------------------


@dataclass
class _Unit:
    """Words never split between lines or cues: a word, with what is glued to it."""

    text: str
    start: int  # ms, never before the previous unit's start
    end: int  # ms
    label: str | None
    name: str | None
    space: bool  # a space separates it from the unit before


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


def _glues(previous: str, text: str) -> bool:
    """Whether a word written without a leading space belongs to the one before ("1" ",000", "$" "5",
    "don" "'t"). Letters with no space before them are words of their own (Chinese, Japanese)."""
    return not text[:1].isalpha() or previous[-1:].isdigit()


def _units(transcript: Transcript) -> list[_Unit]:
    units: list[_Unit] = []
    floor = 0  # the latest word start so far: word times may overlap, cue times may not
    for segment in transcript.segments:
        for word in _words_of(segment):
            text = one_line(word.text)
            if not text:
                continue
            start = floor = max(round(word.start * 1000), floor)
            end = max(round(word.end * 1000), start)
            spaced = word.text[:1].isspace()
            last = units[-1] if units else None
            if last is not None and not spaced and last.label == word.speaker and _glues(last.text, text):
                last.text += text
                last.end = max(last.end, end)
            else:
                units.append(_Unit(text, start, end, word.speaker, display_name(transcript, word.speaker),
                                   spaced and last is not None))
    return units


# --- where to break -------------------------------------------------------------------------------

# Boundary classes, best first: after a sentence, after clause punctuation, before a conjunction or
# preposition, anywhere, after a word that leads into the next (an article, a preposition), inside a
# number phrase.
SENTENCE, CLAUSE, JOINER, PLAIN, STRANDED, GLUED = range(6)
_LINE_BREAK_COST = (0.0, 8.0, 14.0, 25.0, 45.0, 100.0)
_CUE_BREAK_COST = (0.0, 20.0, 40.0, 60.0, 80.0, 200.0)

_SENTENCE_END = (".", "?", "!", "…", "。", "？", "！")
_CLAUSE_END = (",", ";", ":", "—", "–", "，", "；", "：", "、")
_CLOSERS = "\"'”’)]»"


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


_JOINERS = _word_set(
    "and but or nor so yet because although though while whereas if unless until when whenever where "
    "which who whom whose that than as after before since to of in on at for with from by about into "
    "onto over under between through during against without within across "
    "i we he she they")  # a subject pronoun usually starts a clause ("anything else | I can help")
_LEADERS = _word_set("a an the this these those my your his her its our their no every each") | _JOINERS
_MAGNITUDES = _word_set(
    "per cent percent % ‰ million millions billion billions trillion trillions thousand thousands "
    "hundred hundreds bn mn m km kg g mg cm mm ml l lb lbs kph mph degrees dollars euros pounds "
    "yen years months weeks days hours minutes seconds")
_TITLES = _word_set("mr mrs ms dr prof st gen sen rep gov rev hon")  # "Mr." ends no sentence


def _bare(text: str) -> str:
    return text.strip("\"'“”‘’()[]«».,;:!?…").lower()


def _boundary(left: _Unit, right: _Unit) -> int:
    """How good a place the boundary between two units is to end a line or a cue."""
    before, after = _bare(left.text), _bare(right.text)
    numeric = any(c.isdigit() for c in left.text) or left.text in ("$", "€", "£", "¥")
    if (numeric and after in _MAGNITUDES) or (before == "per" and after == "cent"):
        return GLUED
    end = left.text.rstrip(_CLOSERS)
    if end.endswith(_SENTENCE_END) and before not in _TITLES:
        # "U.S. officials": a full stop before a lower-case word is an abbreviation, not an ending.
        return CLAUSE if end.endswith(".") and right.text[:1].islower() else SENTENCE
    if end.endswith(_CLAUSE_END) or right.text.startswith(("—", "–")):
        return CLAUSE
    if after in _JOINERS:
        return JOINER
    if before in _LEADERS:
        return STRANDED
    return PLAIN


# --- lines ----------------------------------------------------------------------------------------

_PREFIX_ALONE = 40.0  # a name on a line of its own, only when the first word does not fit beside it
_NO_BREAK = 1000.0  # a line starting with a dash would read as dialogue


class _Layout(NamedTuple):
    cost: float
    starts: tuple[int, ...]  # the index of each line's first item
    chars: int  # characters shown, without the line breaks
    overflow: bool  # a line longer than the width (one item alone on it)


def _layout(lengths: Sequence[int], spaces: Sequence[int], breaks: Sequence[float], width: int,
            max_lines: int) -> _Layout | None:
    """The best split of items into as few lines as possible, at most `max_lines`. `spaces[k]` is 1
    when a space separates item k from item k-1, `breaks[k]` the cost of starting a line at item k.
    A line longer than `width` only holds one item. None when the items need more lines."""
    m = len(lengths)
    cum = [0] * (m + 1)
    total = lengths[0]
    cum[1] = total
    for k in range(1, m):
        total += lengths[k] + spaces[k]
        cum[k + 1] = total
    if total <= width or m == 1:
        return _Layout(0.0, (0,), total, total > width)

    def length(a: int, b: int) -> int:
        return cum[b] - cum[a] - (spaces[a] if a else 0)

    needed, a = 0, 0  # greedy filling needs the fewest lines
    while a < m:
        b = a + 1
        while b < m and length(a, b + 1) <= width:
            b += 1
        needed, a = needed + 1, b
    if needed > max_lines:
        return None
    if needed == 2:
        best = None
        for k in range(1, m):
            top, bottom = cum[k], total - cum[k] - spaces[k]
            if (top <= width or k == 1) and (bottom <= width or k == m - 1):
                # Balanced; when not, the top line shorter: a longer top line is what the eye
                # trips on, and a short top line keeps a sentence end or a comma at the break.
                cost = breaks[k] + (top - bottom if top > bottom else (bottom - top) * 0.3)
                if best is None or cost < best.cost:
                    best = _Layout(cost, (0, k), top + bottom, max(top, bottom) > width)
        return best
    mean = total / needed
    # More lines: the best split into exactly `needed` lines, by dynamic programming over line starts.
    table: dict[tuple[int, int], tuple[float, tuple[int, ...]] | None] = {}

    def split(a: int, lines: int) -> tuple[float, tuple[int, ...]] | None:
        if (a, lines) in table:
            return table[a, lines]
        result: tuple[float, tuple[int, ...]] | None = None
        if lines == 1:
            result = (abs(length(a, m) - mean) * 0.5, (a,)) if m - a == 1 or length(a, m) <= width else None
        else:
            for b in range(a + 1, m - lines + 2):
                if b - a > 1 and length(a, b) > width:
                    break
                rest = split(b, lines - 1)
                if rest is not None:
                    cost = abs(length(a, b) - mean) * 0.5 + breaks[b] + rest[0]
                    if result is None or cost < result[0]:
                        result = (cost, (a, *rest[1]))
        table[a, lines] = result
        return result

    found = split(0, needed)
    if found is None:
        return None
    starts = found[1]
    ends = (*starts[1:], m)
    return _Layout(found[0], starts, total - sum(spaces[k] for k in starts[1:]),
                   any(length(a, b) > width for a, b in zip(starts, ends, strict=True)))


def _join(texts: Sequence[str], spaces: Sequence[int]) -> str:
    return "".join((" " if k and spaces[k] else "") + t for k, t in enumerate(texts))


def _lines(texts: Sequence[str], spaces: Sequence[int], starts: Sequence[int]) -> tuple[str, ...]:
    ends = [*starts[1:], len(texts)]
    return tuple(_join(texts[a:b], [0, *spaces[a + 1:b]]) for a, b in zip(starts, ends, strict=True))


# --- cutting --------------------------------------------------------------------------------------

_RULE = 1e9  # a broken rule outweighs any amount of layout quality
_PER_CUE = 20.0
_DIALOGUE = 400.0  # two speakers in one cue only when separate cues would break a rule
_SPANNED_PAUSE = 300.0
_PAUSE_BONUS = 30.0  # a silence is a natural place to end a cue


@dataclass(frozen=True)
class _Plan:
    """Units [first, stop) as one cue; `turn_at`: where the second speaker starts in dialogue style."""

    first: int
    stop: int
    turn_at: int | None


def _end_ms(start: int, next_start: int | None, speech_end: int, chars: int, rules: CueRules) -> int:
    """When a cue ends: with its speech, held for reading speed and the minimum duration, never
    past 7 s, and 2 frames before the next cue; when the next starts too close for that, halfway."""
    wanted = min(max(speech_end, start + rules.needed_ms(chars)), start + rules.max_ms)
    if next_start is None:
        return wanted
    if next_start - rules.gap_ms > start:
        return min(wanted, next_start - rules.gap_ms)
    return start + max(1, (next_start - start) // 2)


def _broken(start: int, end: int, next_start: int | None, chars: int, rules: CueRules) -> int:
    """How many timing rules a cue breaks (the ones a layout cannot fix)."""
    duration = end - start
    return ((duration < rules.min_ms) + (chars * 1000 > rules.max_cps * duration + 1e-6)
            + (next_start is not None and next_start - end < rules.gap_ms))


class _Cutter:
    """The dynamic programme over cue boundaries for one transcript."""

    def __init__(self, units: list[_Unit], rules: CueRules) -> None:
        self.units, self.rules = units, rules
        n = len(units)
        self.line_break = [0.0] * n
        self.cue_break = [0.0] * (n + 1)
        self.turn_start = [True] * n
        for k in range(1, n):
            left, right = units[k - 1], units[k]
            kind = _boundary(left, right)
            self.line_break[k] = _NO_BREAK if right.text.startswith("-") else _LINE_BREAK_COST[kind]
            pause = max(0, right.start - left.end)
            self.cue_break[k] = max(0.0, _CUE_BREAK_COST[kind] - _PAUSE_BONUS * min(pause, 1000) / 1000)
            self.turn_start[k] = right.label != left.label

    def prefix(self, k: int) -> str | None:
        """The "Name:" SRT shows before unit k, which starts a turn."""
        unit = self.units[k]
        return f"{unit.name}:" if self.rules.names and unit.name is not None else None

    def single(self, first: int, stop: int) -> tuple[list[str], list[int], list[float]]:
        """Items of a one-speaker cue (its name first when it starts a turn), their spaces and the
        cost of starting a line at each."""
        texts, spaces, breaks = [], [], []
        name = self.prefix(first) if self.turn_start[first] else None
        if name is not None:
            texts.append(name)
            spaces.append(0)
            breaks.append(0.0)
        for k in range(first, stop):
            texts.append(self.units[k].text)
            if k == first:
                spaces.append(1 if name is not None else 0)
                breaks.append(_PREFIX_ALONE if name is not None else 0.0)
            else:
                spaces.append(int(self.units[k].space))
                breaks.append(self.line_break[k])
        return texts, spaces, breaks

    def dialogue_line(self, first: int, stop: int, named: bool) -> str:
        """A dialogue cue's line for units [first, stop): "- ", the name when `named`, the words."""
        name = self.prefix(first) if named else None
        return "- " + (f"{name} " if name else "") + self._text(first, stop)

    def plan(self) -> list[_Plan]:
        units, rules = self.units, self.rules
        n = len(units)
        best = [math.inf] * (n + 1)
        best[0] = 0.0
        back: list[_Plan | None] = [None] * (n + 1)
        for first in range(n):
            base, start = best[first], units[first].start
            speech_end, turn_at, line_a = start, None, ""
            pauses = 0
            texts, spaces, breaks = self.single(first, first)  # the name alone, if any: grown below
            lengths = [len(t) for t in texts]
            for stop in range(first + 1, n + 1):
                unit = units[stop - 1]
                if stop - 1 > first:
                    if unit.label != units[stop - 2].label:
                        if turn_at is not None or rules.max_lines < 2:
                            break  # never three speakers, and dialogue needs a line each
                        turn_at = stop - 1
                        line_a = self.dialogue_line(first, turn_at, self.turn_start[first])
                        if len(line_a) > rules.line_chars:
                            break
                    if unit.end - start > rules.max_ms:
                        break  # the words alone outlast a cue
                    pauses += unit.start - units[stop - 2].end >= CUE_MAX_GAP * 1000
                speech_end = max(speech_end, unit.end)
                if turn_at is None:
                    lengths.append(len(unit.text))
                    if stop - 1 == first:  # after the name, if any
                        spaces.append(1 if lengths[:-1] else 0)
                        breaks.append(_PREFIX_ALONE if lengths[:-1] else 0.0)
                    else:
                        spaces.append(int(unit.space))
                        breaks.append(self.line_break[stop - 1])
                    layout = _layout(lengths, spaces, breaks, rules.line_chars, rules.max_lines)
                    if layout is None and stop > first + 1:
                        break  # more words only need more lines
                    if layout is None:  # one word and its name, in --max-lines 1: one long line
                        chars = sum(lengths) + len(lengths) - 1
                        layout = _Layout(0.0, (0,), chars, chars > rules.line_chars)
                    quality, overflow, chars = layout.cost, layout.overflow, layout.chars
                else:
                    line_b = self.dialogue_line(turn_at, stop, True)
                    if len(line_b) > rules.line_chars:
                        break
                    quality, overflow, chars = _DIALOGUE, False, len(line_a) + len(line_b)
                next_start = units[stop].start if stop < n else None
                end = _end_ms(start, next_start, speech_end, chars, rules)
                broken = _broken(start, end, next_start, chars, rules) + overflow
                excess = max(0.0, chars - rules.max_cps * (end - start) / 1000)
                cost = (base + _RULE * broken + excess + _PER_CUE + quality + self.cue_break[stop]
                        + _SPANNED_PAUSE * pauses)
                if cost < best[stop]:
                    best[stop] = cost
                    back[stop] = _Plan(first, stop, turn_at)
        plans: list[_Plan] = []
        at = n
        while at > 0:
            step = back[at]
            assert step is not None  # a one-unit cue always exists, so every boundary is reached
            plans.append(step)
            at = step.first
        return plans[::-1]

    def cue(self, plan: _Plan, start: int, next_start: int | None) -> Cue:
        units = self.units
        speech_end = max(u.end for u in units[plan.first:plan.stop])
        first_named = self.turn_start[plan.first] and self.prefix(plan.first) is not None
        if plan.turn_at is None:
            texts, spaces, breaks = self.single(plan.first, plan.stop)
            lines = self._laid_out(texts, spaces, breaks)
            if first_named:  # WebVTT names the speaker in a voice tag: the same words, laid out again
                texts, spaces, breaks = texts[1:], [0, *spaces[2:]], [0.0, *breaks[2:]]
            plain = self._laid_out(texts, spaces, breaks)
            turns: tuple[CueTurn, ...] = (
                CueTurn(units[plan.first].name, self._text(plan.first, plan.stop), first_named),)
        else:
            a, b = (plan.first, plan.turn_at), (plan.turn_at, plan.stop)
            lines = (self.dialogue_line(*a, self.turn_start[plan.first]), self.dialogue_line(*b, True))
            plain = (self.dialogue_line(*a, False), self.dialogue_line(*b, False))
            turns = (CueTurn(units[a[0]].name, self._text(*a), first_named),
                     CueTurn(units[b[0]].name, self._text(*b), self.prefix(b[0]) is not None))
        chars = sum(len(line) for line in lines)
        return Cue(start, _end_ms(start, next_start, speech_end, chars, self.rules), turns, lines, plain)

    def _text(self, first: int, stop: int) -> str:
        return _join([u.text for u in self.units[first:stop]],
                     [0, *(int(u.space) for u in self.units[first + 1:stop])])

    def _laid_out(self, texts: Sequence[str], spaces: Sequence[int],
                  breaks: Sequence[float]) -> tuple[str, ...]:
        layout = _layout([len(t) for t in texts], spaces, breaks, self.rules.line_chars, self.rules.max_lines)
        return _lines(texts, spaces, layout.starts if layout is not None else (0,))


def build_cues(transcript: Transcript, options: OutputOptions | None = None) -> list[Cue]:
    """Subtitle cues for `transcript` under `options`' subtitle rules (see the module docstring):
    every word once, in order, each cue one speaker's or, in dialogue style, two speakers'; times
    strictly increasing and never overlapping."""
    global _last_built
    rules = CueRules.from_options(options)
    last = _last_built
    if last is not None and last[0] is transcript and last[1] == rules:
        return list(last[2])
    units = _units(transcript)
    cues: list[Cue] = []
    if units:
        cutter = _Cutter(units, rules)
        plans = cutter.plan()
        starts: list[int] = []
        for plan in plans:
            # Word times can overlap or repeat; a later cue still starts after the earlier one.
            first = units[plan.first].start
            starts.append(max(first, starts[-1] + 2) if starts else first)
        cues = [cutter.cue(plan, starts[k], starts[k + 1] if k + 1 < len(starts) else None)
                for k, plan in enumerate(plans)]
    _last_built = (transcript, rules, tuple(cues))
    return cues


# SRT, WebVTT and the QA summary of one run cut the same transcript under the same rules: the last
# result is kept (transcripts are immutable; the identity check keeps a different one from matching).
_last_built: tuple[Transcript, CueRules, tuple[Cue, ...]] | None = None


# --- quality report -------------------------------------------------------------------------------

# Every rule a cue can break, in report order: (one cue, several cues, why in a few words). A rule
# without a forced case has "not forced" as its why: it is broken only by a bug.
_KINDS = {
    "line_too_long": ("line too long", "lines too long", ""),
    "too_many_lines": ("with too many lines", "with too many lines", "not forced"),
    "too_fast": ("too fast", "too fast", "reading speed"),
    "too_short": ("too short", "too short", "the next cue too close to extend"),
    "too_long": ("too long", "too long", "not forced"),
    "too_close": ("too close", "too close", "overlapping word times"),
    "mixed_speakers": ("mixing speakers", "mixing speakers", "not forced"),
    "overlap": ("overlapping", "overlapping", "not forced"),
}
_UNFORCED = "not forced: a bug in cue building"
_EXAMPLES = 3


@dataclass(frozen=True)
class CueIssue:
    """One rule one cue breaks: `cue` is its 1-based number, `value` what was measured (characters,
    characters per second, seconds or milliseconds), `forced` whether the speech left no choice."""

    kind: str
    cue: int
    value: float
    reason: str
    forced: bool


def _long_line_reason(line: str, cue: Cue, rules: CueRules) -> str | None:
    """Why a line is longer than the limit, when nothing else could be done; None otherwise."""
    rest = line[2:] if cue.dialogue and line.startswith("- ") else line
    for turn in cue.turns:
        if turn.speaker is not None and rest == f"{turn.speaker}:":
            return f"a speaker name longer than the line: {turn.speaker!r}"
        if turn.speaker is not None and rest.startswith(f"{turn.speaker}: "):
            rest = rest[len(turn.speaker) + 2:]
            alone = " " not in rest and len(rest) <= rules.line_chars
            if alone and rules.max_lines == 1 and not cue.dialogue:
                return f"a speaker name and one word longer than the only line: {rest!r}"
    if " " not in rest and len(rest) > rules.line_chars - (2 if cue.dialogue else 0):
        return f"a single word longer than the line: {rest!r}"
    return None


def check_cues(cues: Sequence[Cue], rules: CueRules) -> list[CueIssue]:
    """Every rule every cue breaks, with why (see the module docstring for the rules)."""
    issues: list[CueIssue] = []
    for k, cue in enumerate(cues):
        number, start, end = k + 1, cue.start_ms, cue.end_ms
        duration = end - start
        next_start = cues[k + 1].start_ms if k + 1 < len(cues) else None
        latest = start + rules.max_ms if next_start is None else min(start + rules.max_ms,
                                                                      next_start - rules.gap_ms)
        cramped = next_start is not None and next_start - start <= rules.gap_ms
        held = end >= latest or cramped  # held as long as the next cue allows

        def add(kind: str, value: float, reason: str | None, cue_number: int = number) -> None:
            issues.append(CueIssue(kind, cue_number, value, reason or _UNFORCED, reason is not None))

        if duration <= 0 or (k and start < cues[k - 1].end_ms):
            add("overlap", duration, None)
        if duration > rules.max_ms:
            add("too_long", duration / 1000, None)
        if next_start is not None and next_start - end < rules.gap_ms:
            add("too_close", next_start - end,
                "word times overlap: the next cue starts within 2 frames of this one" if cramped else None)
        if duration < rules.min_ms:
            add("too_short", duration / 1000,
                f"shorter than {rules.min_ms / 1000:g} s with the next cue too close to extend"
                if held else None)
        if duration > 0 and cue.chars * 1000 > rules.max_cps * duration + 1e-6:
            add("too_fast", round(cue.chars * 1000 / duration, 1),
                f"faster than {rules.max_cps:g} characters per second with no room to extend"
                if held else None)
        elif duration <= 0:
            add("too_fast", math.inf, None)
        if max(len(cue.lines), len(cue.plain_lines)) > rules.max_lines:
            add("too_many_lines", max(len(cue.lines), len(cue.plain_lines)), None)
        long_lines = [line for line in (*cue.lines, *cue.plain_lines) if len(line) > rules.line_chars]
        if long_lines:
            reasons = [_long_line_reason(line, cue, rules) for line in long_lines]
            worst = max(long_lines, key=len)
            add("line_too_long", len(worst), None if None in reasons else reasons[long_lines.index(worst)])
        if cue.dialogue and (len(cue.turns) > 2 or len(cue.lines) != 2
                             or not all(line.startswith("- ") for line in (*cue.lines, *cue.plain_lines))):
            add("mixed_speakers", len(cue.turns), None)
    return issues


def summarize(cues: Sequence[Cue], rules: CueRules) -> dict[str, Any]:
    """`qa_summary` for cues already built."""
    issues: dict[str, dict[str, Any]] = {}
    for issue in sorted(check_cues(cues, rules), key=lambda i: (list(_KINDS).index(i.kind), i.cue)):
        entry = issues.setdefault(issue.kind, {"count": 0, "reason": issue.reason, "examples": []})
        entry["count"] += 1
        if not issue.forced:
            entry["unforced"] = entry.get("unforced", 0) + 1
            entry["reason"] = _UNFORCED
        if len(entry["examples"]) < _EXAMPLES:
            cue = cues[issue.cue - 1]
            value = issue.value if math.isfinite(issue.value) else None
            entry["examples"].append({"cue": issue.cue, "start": timestamp(cue.start_ms, "."),
                                      "text": one_line(" / ".join(cue.lines))[:100], "value": value})
    return {
        "cues": len(cues),
        "rules": {"max_line_chars": rules.line_chars, "max_lines": rules.max_lines,
                  "max_cps": rules.max_cps, "min_seconds": rules.min_ms / 1000,
                  "max_seconds": rules.max_ms / 1000, "min_gap_ms": rules.gap_ms},
        "issues": issues,
    }


def qa_summary(transcript: Transcript, options: OutputOptions | None = None) -> dict[str, Any]:
    """How the SRT and WebVTT cues of `transcript` meet the subtitle rules, small and JSON-able:

    `{"cues": 120, "rules": {...}, "issues": {"too_fast": {"count": 2, "reason": "...",
    "examples": [{"cue": 14, "start": "00:01:02.300", "text": "...", "value": 21.4}]}, ...}}`

    `issues` holds only the rules some cue breaks (line_too_long, too_many_lines, too_fast,
    too_short, too_long, too_close, mixed_speakers, overlap), each with the number of cues, why (the
    first cue's reason) and up to three examples; `value` is what was measured (line length,
    characters per second, seconds, or the gap in milliseconds). An issue the speech did not force
    also has `unforced`, its count: that is a bug. Reading speed counts SRT's text, names included.
    """
    return summarize(build_cues(transcript, options), CueRules.from_options(options))


def qa_line(summary: dict[str, Any]) -> str:
    """The one-line note for stderr: "subtitles: 120 cues, 2 too fast (reading speed), 1 line too
    long (a single word longer than the line)" or "subtitles: 120 cues, every rule met"."""
    count = summary["cues"]
    parts = []
    for kind, entry in summary["issues"].items():
        one, many, why = _KINDS.get(kind, (kind, kind, ""))
        if entry.get("unforced"):
            why = "not forced: a bug"
        elif not why:
            why = entry["reason"].split(":")[0]
        parts.append(f"{entry['count']} {one if entry['count'] == 1 else many} ({why})")
    return f"subtitles: {count} cue{'' if count == 1 else 's'}, " + (", ".join(parts) or "every rule met")


# --- reading --------------------------------------------------------------------------------------

CUE_TIMING = re.compile(r"^\s*(\S+)\s+-->\s+(\S+)")
_VOICE = re.compile(r"<v(?:\.[\w.-]+)?\s+([^>]+)>")
_TAG = re.compile(r"<[^>]*>|\{\\[^}]*\}")


def read_cues(path: Path, text: str, fmt: str) -> Reference:
    """Every cue of an SRT or WebVTT (`fmt`) file with text in it: one utterance each, or one per
    line in a dialogue cue (every line starting with "-").

    In an SRT file that names speakers with "Name:" prefixes only, a cue without one continues the
    previous cue's speaker: the broadcast convention podium writes, a name on the first cue of each
    turn. A file with voice tags tags the cues whose speaker it knows, so there an unnamed cue has
    no speaker."""
    carry = fmt == "srt" and _VOICE.search(text) is None
    utterances: list[Utterance] = []
    for block in _blocks(text):
        previous = utterances[-1].speaker if utterances and carry else None
        utterances.extend(u for u in _parse_cue(path, block, fmt, previous) if u.text)
    return Reference(utterances=tuple(utterances), format=fmt, source=str(path))


def _blocks(text: str) -> list[list[tuple[int, str]]]:
    blocks: list[list[tuple[int, str]]] = [[]]
    for number, raw in enumerate(text.splitlines(), 1):
        if raw.strip():
            blocks[-1].append((number, raw.strip()))
        elif blocks[-1]:
            blocks.append([])
    return [b for b in blocks if b]


def _plain(raw: str) -> str:
    return re.sub(r"\s+", " ", _TAG.sub("", raw)).strip()


def _who(raw: str, body: str) -> tuple[str | None, str]:
    """The speaker a voice tag or a "Name:" prefix gives, and the text without the prefix."""
    voice = _VOICE.search(raw)
    if voice:
        return voice.group(1).strip(), body
    return split_speaker(body)


def _parse_cue(path: Path, block: list[tuple[int, str]], fmt: str,
               previous: str | None) -> list[Utterance]:
    if fmt == "vtt" and block[0][1].startswith(("WEBVTT", "NOTE", "STYLE", "REGION")):
        return []
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
    raw_lines = [line for _, line in block[timing_at + 1:]]
    plain = [_plain(line) for line in raw_lines]
    if len(plain) >= 2 and all(p.startswith("-") for p in plain):
        # Dialogue: one speaker a line, the cue's time shared between them by length.
        parts = [_who(raw, p[1:].strip()) for raw, p in zip(raw_lines, plain, strict=True)]
        if parts[0][0] is None:
            parts[0] = (previous, parts[0][1])
        total = sum(len(body) for _, body in parts) or 1
        utterances, t = [], start
        for speaker, body in parts:
            length = (end - start) * len(body) / total
            utterances.append(Utterance(body, speaker=speaker, start=t, end=t + length))
            t += length
        return utterances
    speaker, body = _who(" ".join(raw_lines), " ".join(p for p in plain if p))
    return [Utterance(body, speaker=speaker if speaker is not None else previous, start=start, end=end)]
