"""Simulated conversations with exact speaker turns, stitched from real single-speaker speech.

Diarization must find people who only ever speak for 0.5-2 s at a time (a moderator's "next
question", a journalist's short question, an interjection). Real recordings with such speakers and
trustworthy turn times are rare, so `stitch` builds them: it cuts utterances of real people out of
the shared data set (see `load_voices`) and lays them out the way a press briefing runs, one main
speaker with long answers and others with short turns in between, keeping the exact reference turns.

    voices = load_voices(Path("../shared/data"), telephone=True)
    conversation = press_briefing(voices, seed=3)
    Path("sim.rttm").write_text(to_rttm(conversation.turns, "sim"))

All times are seconds; all audio is 16 kHz mono float32. Everything is deterministic for a seed.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.signal import firwin, resample_poly

from podium.evaluate.readers import read_reference
from podium.manifest import read_items
from podium.media import SAMPLE_RATE, load_audio
from podium.transcript import SpeakerTurn

FRAME = 160  # 10 ms frames for the energy analysis; every cut falls on this grid
SOLO_TRIM = 0.05  # seconds trimmed off both ends of each solo piece cut out of a conversation
SOLO_MIN = 0.4  # solo pieces shorter than this (after trimming) are dropped
MERGE_PAUSE = 0.3  # a pause shorter than this stays inside the main speaker's turn
ACTIVE_RANGE_DB = 30.0  # a frame is speech when within this many dB of the utterance's loud frames
FLOOR_MARGIN_DB = 6.0
MIN_PAUSE_FRAMES = 5  # quiet runs at least this long (50 ms) are places to cut without splitting a word
MIN_ACTIVE_SHARE = 0.6  # a cut piece must be speech for at least this share of its frames
WANT_TOLERANCE = 0.3  # seconds: pause-bounded cuts this close to the wanted length count as a fit
TARGET_RMS_DB = -26.0  # speech level (dBFS over speech frames) before the per-speaker offset
FADE = 0.005  # seconds of raised-cosine fade at both ends of each piece (no clicks)
PEAK = 0.95
TELEPHONE_CUTOFF = 3650.0  # Hz; a telephone channel passes about 300-3400 Hz
TELEPHONE_TAPS = 301
MAIN_MIN_SOLO = 60.0  # press_briefing picks its main speaker among people with this much solo speech

Voices = Mapping[str, Sequence[np.ndarray]]
Decoder = Callable[[Path], np.ndarray]


@dataclass(frozen=True)
class ConversationPlan:
    """How to lay out a conversation; speakers are keys of the `load_voices` mapping.

    The conversation alternates blocks of one or two short turns by `others` (never the same person
    twice in a row) with one long turn by `main`, starting with a short block, and stops after the
    first main turn at which every other speaker has `min_short_turns` turns and `target_duration`
    is reached. At each change of speaker the next one cuts in (starts before the current turn ends,
    by up to `max_cut_in`) with `cut_in_probability`, and otherwise starts after a silence drawn from
    `gap`. Long turns join several utterances with pauses drawn from `pause`. Each speaker's level
    is offset by a random amount within ±`level_db` dB.
    """

    main: str
    others: tuple[str, ...]
    seed: int = 0
    target_duration: float = 90.0
    min_short_turns: int = 3
    short_turn: tuple[float, float] = (0.5, 2.0)
    main_turn: tuple[float, float] = (4.0, 15.0)
    cut_in_probability: float = 0.2
    max_cut_in: float = 0.3
    gap: tuple[float, float] = (0.1, 0.8)
    pause: tuple[float, float] = (0.1, 0.7)
    double_short_probability: float = 0.3
    level_db: float = 6.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "others", tuple(self.others))
        if not self.others or self.main in self.others or len(set(self.others)) != len(self.others):
            raise ValueError("a plan needs one main speaker and at least one other, all distinct")
        for name in ("short_turn", "main_turn", "gap", "pause"):
            low, high = getattr(self, name)
            if not 0 <= low <= high:
                raise ValueError(f"{name} must be a range (low, high) with 0 <= low <= high")
        if self.max_cut_in < 0 or self.min_short_turns < 0:
            raise ValueError("max_cut_in and min_short_turns cannot be negative")


@dataclass(frozen=True)
class Conversation:
    """Stitched audio (16 kHz mono float32, peak-normalised) and its exact reference turns.

    `cut_ins` are the planned overlaps (start, end): the only places where two turns overlap.
    """

    samples: np.ndarray = field(repr=False, compare=False)
    turns: tuple[SpeakerTurn, ...]
    duration: float
    cut_ins: tuple[tuple[float, float], ...] = ()
    plan: ConversationPlan | None = None

    @property
    def speakers(self) -> tuple[str, ...]:
        return tuple(sorted({turn.speaker for turn in self.turns}))


# ---------------------------------------------------------------------------------------------------
# Loading the voices


def load_voices(data_dir: Path, telephone: bool = False) -> dict[str, tuple[np.ndarray, ...]]:
    """Person -> that person's solo utterances (16 kHz float32), from the shared data set's manifest.

    People: "hvb:<label>" (HarperValleyBank calls; labels such as agent_9 recur across calls, and
    caller_17 is agent_17, see `_same_people`), "gecko:Roger" / "gecko:Virgil", and "asr:<speaker>"
    for the single-speaker clips (speakers containing "unknown" are skipped). Solo speech of a
    two-person recording is each RTTM turn minus everyone else's turns, trimmed by `SOLO_TRIM` at
    both ends, pieces under `SOLO_MIN` dropped.
    `telephone` passes everything through 8 kHz so that no voice has energy above 4 kHz.
    """
    data_dir = Path(data_dir)
    cache: dict[Path, np.ndarray] = {}

    def decode(path: Path) -> np.ndarray:
        if path not in cache:
            cache[path] = _decode_telephone(path) if telephone else load_audio(path).samples
        return cache[path]

    voices: dict[str, list[np.ndarray]] = {}
    for item in read_items(data_dir / "manifest.jsonl"):
        for person, utterance in _entry_utterances(item.fields, data_dir, decode):
            voices.setdefault(person, []).append(utterance)
    return {person: tuple(utterances) for person, utterances in sorted(_same_people(voices).items())}


def _same_people(voices: dict[str, list[np.ndarray]]) -> dict[str, list[np.ndarray]]:
    """HarperValleyBank numbers its participants once for both roles: "hvb:caller_17" is the person
    "hvb:agent_17" (CAM++ agrees: cosine 0.86, next-nearest pair 0.76), so each number becomes one
    person, named by its first label in sorted order."""
    merged: dict[str, list[np.ndarray]] = {}
    names: dict[str, str] = {}
    for person in sorted(voices):
        key = "hvb:" + person.rsplit("_", 1)[-1] if person.startswith("hvb:") else person
        merged.setdefault(names.setdefault(key, person), []).extend(voices[person])
    return merged


def solo_seconds(utterances: Sequence[np.ndarray]) -> float:
    return sum(len(u) for u in utterances) / SAMPLE_RATE


def _decode_telephone(path: Path) -> np.ndarray:
    """Decoded at 8 kHz by ffmpeg, then brought back to 16 kHz through a low-pass at
    `TELEPHONE_CUTOFF` (stop band from 4 kHz, about 80 dB down), so nothing is left above 4 kHz."""
    command = ["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(path), "-ac", "1", "-ar", "8000",
               "-f", "f32le", "-"]
    narrow = np.frombuffer(subprocess.run(command, capture_output=True, check=True).stdout, np.float32)
    taps = firwin(TELEPHONE_TAPS, TELEPHONE_CUTOFF, window=("kaiser", 8.0), fs=SAMPLE_RATE)
    return resample_poly(narrow.astype(np.float64), 2, 1, window=taps).astype(np.float32)


def _entry_utterances(entry: dict, data_dir: Path, decode: Decoder) -> Iterator[tuple[str, np.ndarray]]:
    if entry.get("kind") == "asr":
        speaker = entry.get("speaker") or ""
        if speaker and "unknown" not in speaker:
            yield f"asr:{speaker}", decode(data_dir / entry["audio"])
        return
    prefix = "hvb" if entry["id"].startswith("hvb_") else "gecko" if entry["id"] == "gecko_demo" else None
    if prefix is None or entry.get("kind") != "diar":
        return
    audio = decode(data_dir / entry["audio"])
    turns = [(t.start, t.end, t.speaker) for t in read_reference(data_dir / entry["rttm"], "rttm").turns]
    for label, spans in solo_spans(turns).items():
        for start, end in spans:
            piece = audio[round(start * SAMPLE_RATE):round(end * SAMPLE_RATE)]
            if len(piece) >= SOLO_MIN * SAMPLE_RATE:
                yield f"{prefix}:{label}", piece


def solo_spans(turns: Sequence[tuple[float, float, str]]) -> dict[str, list[tuple[float, float]]]:
    """Label -> where only that label speaks: its turns minus all other labels' turns, each piece
    trimmed by `SOLO_TRIM` at both ends and kept only when at least `SOLO_MIN` long."""
    spans: dict[str, list[tuple[float, float]]] = {}
    for label in sorted({t[2] for t in turns}):
        others = _union([(s, e) for s, e, other in turns if other != label])
        for start, end in _union([(s, e) for s, e, own in turns if own == label]):
            for s, e in _subtract((start, end), others):
                if e - s - 2 * SOLO_TRIM >= SOLO_MIN:
                    spans.setdefault(label, []).append((s + SOLO_TRIM, e - SOLO_TRIM))
    return spans


def _union(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _subtract(span: tuple[float, float], removed: list[tuple[float, float]]) -> list[tuple[float, float]]:
    pieces, cursor = [], span[0]
    for start, end in removed:
        if end <= cursor or start >= span[1]:
            continue
        if start > cursor:
            pieces.append((cursor, start))
        cursor = max(cursor, end)
    if cursor < span[1]:
        pieces.append((cursor, span[1]))
    return pieces


# ---------------------------------------------------------------------------------------------------
# Cutting pieces out of utterances


class _Utterance:
    """One utterance with its 10 ms speech activity and lookups to trim a span to speech."""

    def __init__(self, samples: np.ndarray) -> None:
        self.samples = samples
        self.active = speech_frames(samples)
        n = self.active.size
        positions = np.flatnonzero(self.active)
        self.active_cum = np.concatenate([[0], np.cumsum(self.active)])
        # first speech frame at or after i; one past the last speech frame before i (for i in 0..n)
        self.next_on = np.full(n + 1, n)
        self.next_on[: n][::-1] = np.minimum.accumulate(np.where(self.active, np.arange(n), n)[::-1])
        self.prev_off = np.zeros(n + 1, dtype=int)
        self.prev_off[1:] = np.maximum.accumulate(np.where(self.active, np.arange(1, n + 1), 0))
        self.speech_frames = int(positions[-1] + 1 - positions[0]) if positions.size else 0
        self.cut_points = _pause_points(self.active)


def speech_frames(samples: np.ndarray) -> np.ndarray:
    """Which 10 ms frames are speech: within `ACTIVE_RANGE_DB` of the utterance's loud frames and
    `FLOOR_MARGIN_DB` above its quietest ones (noisy recordings have under 30 dB of range)."""
    level = _frame_db(samples)
    if level.size == 0:
        return level.astype(bool)
    floor, loud = np.percentile(level, [3, 95])
    noise = min(floor + FLOOR_MARGIN_DB, loud - 15.0)
    return level > max(loud - ACTIVE_RANGE_DB, noise, -70.0)


def _frame_db(samples: np.ndarray) -> np.ndarray:
    n = len(samples) // FRAME
    frames = samples[: n * FRAME].astype(np.float64).reshape(n, FRAME)
    return 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)


def _pause_points(active: np.ndarray) -> np.ndarray:
    """Frame boundaries in the middle of each quiet run of `MIN_PAUSE_FRAMES` or more, plus both ends."""
    padded = np.concatenate([[True], active, [True]]).astype(int)
    starts = np.flatnonzero(np.diff(padded) == -1)
    ends = np.flatnonzero(np.diff(padded) == 1)
    long = ends - starts >= MIN_PAUSE_FRAMES
    return np.unique(np.concatenate([[0, active.size], (starts[long] + ends[long]) // 2]))


def _cut(utterance: _Utterance, low: int, high: int, want: int, rng: np.random.Generator
         ) -> tuple[int, int] | None:
    """A span (in frames) of the utterance, trimmed to speech, `low`..`high` frames long and close
    to `want`: between two pauses when one fits, otherwise anywhere; None when nothing fits."""
    if utterance.speech_frames < low:
        return None
    starts = utterance.next_on[utterance.cut_points]
    ends = utterance.prev_off[utterance.cut_points]
    pairs = np.stack(np.meshgrid(starts, ends, indexing="ij"), axis=-1).reshape(-1, 2)
    if (fits := _fitting(utterance, np.unique(pairs, axis=0), low, high, want)) is not None:
        return fits[rng.integers(len(fits))]
    first, last = utterance.next_on[0], utterance.prev_off[-1]
    for _ in range(10):
        start = int(rng.integers(first, max(first, last - want) + 1))
        span = np.array([[utterance.next_on[start], utterance.prev_off[min(start + want, last)]]])
        if _fitting(utterance, span, low, high, low) is not None:
            return int(span[0, 0]), int(span[0, 1])
    return None


def _fitting(utterance: _Utterance, spans: np.ndarray, low: int, high: int, want: int
             ) -> list[tuple[int, int]] | None:
    """The spans that fit the length range and are mostly speech, keeping those nearest `want`."""
    length = spans[:, 1] - spans[:, 0]
    speech = utterance.active_cum[np.maximum(spans[:, 1], spans[:, 0])] - utterance.active_cum[spans[:, 0]]
    ok = (length >= low) & (length <= high) & (speech >= MIN_ACTIVE_SHARE * length)
    if not ok.any():
        return None
    miss = np.abs(length - want)
    near = ok & (miss <= max(miss[ok].min(), round(WANT_TOLERANCE * SAMPLE_RATE / FRAME)))
    return [(int(s), int(e)) for s, e in spans[near]]


class _Pool:
    """Each speaker's utterances, handed out in a shuffled order that starts again when used up."""

    def __init__(self, voices: Voices, speakers: Sequence[str], rng: np.random.Generator) -> None:
        missing = [s for s in speakers if not voices.get(s)]
        if missing:
            raise KeyError(f"no utterances for {missing}")
        self.utterances = {s: [_Utterance(u) for u in voices[s]] for s in speakers}
        self.decks: dict[str, list[int]] = {s: [] for s in speakers}
        self.rng = rng

    def piece(self, speaker: str, low: float, high: float, want: float, spread: bool = False) -> np.ndarray:
        """Speech of `speaker`, `low`..`high` seconds long and near `want` seconds: from a random
        utterance long enough to hold `want` when there is one, or with `spread`, from the next
        utterance in the speaker's shuffled order (so that long turns run through all of them)."""
        frames = [round(x * SAMPLE_RATE / FRAME) for x in (low, high, want)]
        frames[0] = int(np.ceil(low * SAMPLE_RATE / FRAME - 1e-9))
        utterances = self.utterances[speaker]
        if spread:  # lazily: only the utterances tried leave the deck
            order: Iterable[int] = (self._next(speaker) for _ in utterances)
        else:
            shuffled = self.rng.permutation(len(utterances))
            order = sorted(shuffled, key=lambda i: utterances[i].speech_frames < frames[2])
        for index in order:
            utterance = utterances[index]
            if (span := _cut(utterance, frames[0], frames[1], frames[2], self.rng)) is not None:
                return utterance.samples[span[0] * FRAME:span[1] * FRAME]
        raise ValueError(f"{speaker} has no utterance with {low:.2f}-{high:.2f} s of speech")

    def _next(self, speaker: str) -> int:
        deck = self.decks[speaker]
        if not deck:
            deck.extend(self.rng.permutation(len(self.utterances[speaker])).tolist())
        return deck.pop()


# ---------------------------------------------------------------------------------------------------
# Laying out a conversation


class _Layout:
    """Turns placed so far (sample positions): each new turn overlaps at most the one before it."""

    def __init__(self, plan: ConversationPlan, rng: np.random.Generator) -> None:
        self.plan, self.rng = plan, rng
        self.pieces: list[tuple[int, str, np.ndarray]] = []
        self.turns: list[list] = []  # [start, end, speaker], in samples
        self.cut_ins: list[tuple[int, int]] = []
        self.settled = 0  # end of everything before the last turn

    @property
    def end(self) -> int:
        return max((t[1] for t in self.turns), default=0)

    def add(self, speaker: str, audio: np.ndarray) -> None:
        """Place `audio` as `speaker`'s next turn, after a gap or cutting into the previous turn."""
        start = self.end + self._seconds(self.plan.gap)
        if self.turns and self.rng.random() < self.plan.cut_in_probability:
            last_start, last_end, _ = self.turns[-1]
            limit = min(self.plan.max_cut_in * SAMPLE_RATE, (last_end - last_start) / 2, len(audio) / 2)
            start = max(last_end - round(self.rng.uniform(0.05, 1.0) * limit), self.settled, last_start + 1)
            if start < last_end:
                self.cut_ins.append((start, last_end))
        self._place(start, speaker, audio, merge=False)

    def extend(self, speaker: str, audio: np.ndarray) -> None:
        """Place `audio` after a natural pause of the same speaker (inside the turn if short)."""
        pause = self._seconds(self.plan.pause)
        self._place(self.end + pause, speaker, audio, merge=pause < MERGE_PAUSE * SAMPLE_RATE)

    def _place(self, start: int, speaker: str, audio: np.ndarray, merge: bool) -> None:
        self.pieces.append((start, speaker, audio))
        if merge:
            self.turns[-1][1] = start + len(audio)
            return
        if self.turns:
            self.settled = max(self.settled, self.turns[-1][1])
        self.turns.append([start, start + len(audio), speaker])

    def _seconds(self, bounds: tuple[float, float]) -> int:
        return round(self.rng.uniform(*bounds) * SAMPLE_RATE)


def stitch(voices: Voices, plan: ConversationPlan) -> Conversation:
    """Lay out `plan` with real utterances of its speakers (see `ConversationPlan`)."""
    rng = np.random.default_rng(plan.seed)
    speakers = (plan.main, *plan.others)
    pool = _Pool(voices, speakers, rng)
    offsets = dict(zip(speakers, rng.uniform(-plan.level_db, plan.level_db, len(speakers)), strict=True))
    layout = _Layout(plan, rng)
    counts = dict.fromkeys(plan.others, 0)
    while True:
        _short_block(layout, pool, counts, rng)
        _main_turn(layout, pool, rng)
        done = min(counts.values()) >= plan.min_short_turns
        if done and layout.end >= plan.target_duration * SAMPLE_RATE:
            break
    return _render(layout, offsets)


def _short_block(layout: _Layout, pool: _Pool, counts: dict[str, int], rng: np.random.Generator) -> None:
    plan = layout.plan
    double = len(counts) > 1 and rng.random() < plan.double_short_probability
    previous = layout.turns[-1][2] if layout.turns else None
    for _ in range(2 if double else 1):
        choices = [s for s in counts if s != previous]
        fewest = min(counts[s] for s in choices)
        speaker = str(rng.choice([s for s in choices if counts[s] == fewest]))
        low, high = plan.short_turn
        layout.add(speaker, pool.piece(speaker, low, high, rng.uniform(low, high)))
        counts[speaker] += 1
        previous = speaker


def _main_turn(layout: _Layout, pool: _Pool, rng: np.random.Generator) -> None:
    """Utterances of the main speaker joined with pauses until the turn's drawn length is reached."""
    main, (low, high) = layout.plan.main, layout.plan.main_turn
    remaining = rng.uniform(low, high)
    first = True
    while remaining >= 1.0 or first:
        audio = pool.piece(main, min(1.0, remaining), remaining + 0.5, remaining, spread=True)
        if first:
            layout.add(main, audio)
        else:
            layout.extend(main, audio)
        first = False
        remaining -= len(audio) / SAMPLE_RATE + float(np.mean(layout.plan.pause))


def _render(layout: _Layout, offsets: dict[str, float]) -> Conversation:
    samples = np.zeros(layout.end, dtype=np.float64)
    for start, speaker, audio in layout.pieces:
        samples[start:start + len(audio)] += _levelled(audio, offsets[speaker])
    peak = np.max(np.abs(samples)) if samples.size else 0.0
    samples = (samples * (PEAK / peak if peak > 0 else 1.0)).astype(np.float32)
    turns = tuple(SpeakerTurn(s / SAMPLE_RATE, e / SAMPLE_RATE, speaker) for s, e, speaker in layout.turns)
    cut_ins = tuple((s / SAMPLE_RATE, e / SAMPLE_RATE) for s, e in layout.cut_ins)
    return Conversation(samples, turns, len(samples) / SAMPLE_RATE, cut_ins, layout.plan)


def _levelled(audio: np.ndarray, offset_db: float) -> np.ndarray:
    """`audio` at `TARGET_RMS_DB` + `offset_db` over its speech frames, faded in and out."""
    level = _frame_db(audio)
    speech = level[speech_frames(audio)]
    current = 10 * np.log10(np.mean(10 ** (speech / 10))) if speech.size else -100.0
    out = audio.astype(np.float64) * 10 ** ((TARGET_RMS_DB + offset_db - current) / 20)
    fade = min(round(FADE * SAMPLE_RATE), len(out) // 2)
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(fade) / fade)
    out[:fade] *= ramp
    out[len(out) - fade:] *= ramp[::-1]
    return out


# ---------------------------------------------------------------------------------------------------
# Press briefing and RTTM


def press_briefing(voices: Voices, seed: int, *, others: tuple[int, int] = (2, 4),
                   duration: tuple[float, float] = (60.0, 120.0), min_short_turns: int = 3,
                   cut_in_probability: float = 0.2) -> Conversation:
    """A press briefing of `duration` seconds: a main speaker with at least `MAIN_MIN_SOLO` s of solo
    speech answers at length; `others` (2-4) people speak only 0.5-2 s at a time, at least
    `min_short_turns` times each."""
    rng = np.random.default_rng(seed)
    mains = [p for p in sorted(voices) if solo_seconds(voices[p]) >= MAIN_MIN_SOLO]
    if not mains:
        raise ValueError(f"no speaker has {MAIN_MIN_SOLO:.0f} s of solo speech to be the main speaker")
    main = str(rng.choice(mains))
    rest = [p for p in sorted(voices) if p != main]
    chosen = rng.choice(rest, size=min(len(rest), int(rng.integers(others[0], others[1] + 1))), replace=False)
    conversation = None
    for attempt_seed in rng.integers(0, 2**31, size=20):
        target = float(rng.uniform(duration[0], (duration[0] + duration[1]) / 2))
        plan = ConversationPlan(main=main, others=tuple(str(p) for p in chosen), seed=int(attempt_seed),
                                target_duration=target, min_short_turns=min_short_turns,
                                cut_in_probability=cut_in_probability)
        conversation = stitch(voices, plan)
        if duration[0] <= conversation.duration <= duration[1]:
            return conversation
    last = conversation.duration if conversation else 0.0
    raise ValueError(f"no layout fits {duration} s (last try: {last:.0f} s)")


def to_rttm(turns: Sequence[SpeakerTurn], uri: str) -> str:
    """Turns as RTTM lines (`SPEAKER uri 1 start duration <NA> <NA> speaker <NA> <NA>`)."""
    if any(ch.isspace() for ch in uri) or any(ch.isspace() for t in turns for ch in t.speaker):
        raise ValueError("RTTM fields cannot contain whitespace")
    return "".join(f"SPEAKER {uri} 1 {t.start:.3f} {t.duration:.3f} <NA> <NA> {t.speaker} <NA> <NA>\n"
                   for t in turns)
