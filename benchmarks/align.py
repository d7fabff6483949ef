"""Word-level speaker accuracy of `assign_speakers` alone vs followed by `smooth_speakers`.

Synthetic test (default): the shared AMI / pyannote reference RTTMs are the truth. Words are synthesized
inside the reference turns (~3 words/s, sentences of 6-15 words, every turn ends a sentence); a
hypothesis diarization is the reference with realistic errors (each change point shifted by
N(0, sigma), some short turns dropped). Every word's true speaker is the reference turn it was made in.

    .venv/bin/python benchmarks/align.py                 # table over all reference RTTMs, 20 seeds
    .venv/bin/python benchmarks/align.py --seeds 5 --sigma 0.5 --drop-punct 0.3

Real test (`real_word_accuracy`): a podium Transcript JSON (words + the diarizer's turns) against a
reference RTTM of the same recording:

    .venv/bin/python benchmarks/align.py --real out/briefing.json examples/briefing.rttm

In between (`--asr-words`): real faster-whisper words of a recording, simulated diarization errors:

    .venv/bin/python benchmarks/align.py --asr-words examples/briefing.mp4 examples/briefing.rttm
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from scipy.optimize import linear_sum_assignment

from podium.align import assign_speakers, smooth_speakers
from podium.formats.rttm import read_turns
from podium.transcript import SpeakerTurn, Transcript, Word

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
DIARIZATION = SHARED / "data" / "diarization"


def exclusive(turns: Sequence[SpeakerTurn]) -> list[SpeakerTurn]:
    """One speaker at a time, as ASR hears it: in overlapped speech the speaker of the longer turn."""
    cuts = sorted({t.start for t in turns} | {t.end for t in turns})
    pieces: list[SpeakerTurn] = []
    for left, right in itertools.pairwise(cuts):
        active = [t for t in turns if t.start <= left and t.end >= right]
        if not active:
            continue
        speaker = max(active, key=lambda t: t.duration).speaker
        if pieces and pieces[-1].speaker == speaker and pieces[-1].end == left:
            pieces[-1] = SpeakerTurn(pieces[-1].start, right, speaker)
        else:
            pieces.append(SpeakerTurn(left, right, speaker))
    return pieces


def synthesize_words(turns: Sequence[SpeakerTurn], rng: random.Random,
                     drop_punct: float = 0.0) -> list[Word]:
    """Words filling each turn, carrying the turn's speaker as the truth, with sentence punctuation.

    `drop_punct` is the chance that a sentence end loses its punctuation (ASR run-on sentences), which
    lets "sentences" straddle a speaker change: the case where smoothing can do harm.
    """
    words: list[Word] = []
    for turn in turns:
        t = turn.start + rng.uniform(0.0, 0.1)
        left_in_sentence = rng.randint(6, 15)
        turn_words: list[Word] = []
        while True:
            length = rng.uniform(0.18, 0.42)
            if t + length > turn.end:
                break
            left_in_sentence -= 1
            ends = left_in_sentence == 0
            turn_words.append(Word(round(t, 3), round(t + length, 3), " w" + ("." if ends else ""),
                                   speaker=turn.speaker))
            t += length + rng.choice((0.0, 0.02, 0.05, 0.08))
            if ends:
                left_in_sentence = rng.randint(6, 15)
                t += rng.uniform(0.1, 0.6) if rng.random() < 0.5 else 0.0
        if turn_words and not turn_words[-1].text.endswith("."):
            turn_words[-1] = replace(turn_words[-1], text=turn_words[-1].text + rng.choice(".?"))
        words += turn_words
    return [replace(w, text=w.text.rstrip(".?")) if w.text[-1] in ".?" and rng.random() < drop_punct else w
            for w in words]


def perturb(turns: Sequence[SpeakerTurn], rng: random.Random, sigma: float,
            drop_below: float = 1.0, drop_chance: float = 0.3) -> list[SpeakerTurn]:
    """A plausible diarizer output: change points moved by N(0, sigma), some short turns missed.

    Where one turn ends as the next begins (a change point), both move together, as a diarizer
    places one boundary, not two.
    """
    shifted = [[t.start + rng.gauss(0, sigma), t.end + rng.gauss(0, sigma), t.speaker] for t in turns]
    for (a, b), (ta, tb) in zip(itertools.pairwise(shifted), itertools.pairwise(turns), strict=True):
        if abs(tb.start - ta.end) < 0.05:
            b[0] = a[1] = ta.end + rng.gauss(0, sigma)
    kept = []
    for (start, end, speaker), truth in zip(shifted, turns, strict=True):
        if end <= start or (truth.duration < drop_below and rng.random() < drop_chance):
            continue
        kept.append(SpeakerTurn(start, end, speaker))
    return kept


@dataclass
class Score:
    words: int = 0
    assigned: int = 0  # words right after assign_speakers
    smoothed: int = 0  # words right after assign_speakers + smooth_speakers
    fixed: int = 0  # wrong -> right by smoothing
    broken: int = 0  # right -> wrong by smoothing

    def add(self, truth: Sequence[str | None], assigned: Sequence[str | None],
            smoothed: Sequence[str | None]) -> None:
        for t, a, s in zip(truth, assigned, smoothed, strict=True):
            self.words += 1
            self.assigned += a == t
            self.smoothed += s == t
            self.fixed += a != t and s == t
            self.broken += a == t and s != t

    def row(self, name: str) -> str:
        pct = 100 / max(self.words, 1)
        return (f"{name:<22} {self.words:>7} {self.assigned * pct:>8.2f} {self.smoothed * pct:>8.2f} "
                f"{(self.smoothed - self.assigned) * pct:>+7.2f} {self.fixed:>6} {self.broken:>6}")


HEADER = (f"{'recording':<22} {'words':>7} {'assign%':>8} {'smooth%':>8} {'delta':>7} "
          f"{'fixed':>6} {'broken':>6}")


def synthetic(rttm: Path, seeds: int, sigma: float, drop_punct: float, smooth_kwargs: dict) -> Score:
    score = Score()
    truth_turns = exclusive(read_turns(rttm))
    for seed in range(seeds):
        rng = random.Random(seed)
        words = synthesize_words(truth_turns, rng, drop_punct)
        hypothesis = perturb(truth_turns, rng, sigma)
        assigned = assign_speakers(words, hypothesis)
        smoothed = smooth_speakers(assigned, **smooth_kwargs)
        score.add([w.speaker for w in words], [w.speaker for w in assigned], [w.speaker for w in smoothed])
    return score


# --- real ASR output: wire a real run here ---------------------------------------------------------


def best_mapping(truth: Sequence[str], hypothesis: Sequence[str | None]) -> dict[str | None, str]:
    """Hypothesis label -> reference label, one-to-one, maximizing the words that agree."""
    pairs = Counter(zip(truth, hypothesis, strict=True))
    refs = sorted(set(truth))
    hyps = sorted({h for h in hypothesis if h is not None})
    counts = [[pairs[r, h] for r in refs] for h in hyps]
    if not counts:
        return {}
    rows, cols = linear_sum_assignment(counts, maximize=True)
    return {hyps[i]: refs[j] for i, j in zip(rows, cols, strict=True)}


def real_word_accuracy(transcript_json: Path, reference_rttm: Path, **smooth_kwargs) -> Score:
    """REAL-DATA HOOK: word speaker accuracy of a real transcript against a reference RTTM.

    The transcript's words (ASR timings) are re-assigned from the transcript's own diarizer turns,
    with and without smoothing. A word's true speaker is the reference turn it overlaps most. Labels
    are matched to the reference by the best one-to-one mapping over all words.
    """
    transcript = Transcript.from_json(transcript_json.read_text())
    if not transcript.turns:
        raise SystemExit(f"{transcript_json}: no diarization turns in this transcript")
    words = [replace(w, speaker=None) for w in transcript.words]
    truth = [w.speaker for w in assign_speakers(words, read_turns(reference_rttm))]
    assigned = [w.speaker for w in assign_speakers(words, transcript.turns)]
    smoothed = [w.speaker for w in smooth_speakers(assign_speakers(words, transcript.turns), **smooth_kwargs)]
    mapping = best_mapping(truth * 2, assigned + smoothed)
    score = Score()
    score.add(truth, [mapping.get(s) for s in assigned], [mapping.get(s) for s in smoothed])
    return score


def real_words_perturbed_turns(media: Path, reference_rttm: Path, seeds: int, sigma: float,
                               **smooth_kwargs) -> Score:
    """Real faster-whisper words (timings, punctuation) with a perturbed reference as the diarizer.

    Sits between the synthetic test and `real_word_accuracy`: the words are real, the diarization
    errors are simulated. Needs podium.asr and an offline Whisper model; runs ASR once on the CPU.
    """
    from podium.asr import AsrOptions, Transcriber
    from podium.media import load_audio

    asr = Transcriber(AsrOptions(device="cpu", threads=2)).transcribe(load_audio(media).samples)
    words = [replace(w, speaker=None) for s in asr.segments for w in s.words]
    reference = read_turns(reference_rttm)
    truth = [w.speaker for w in assign_speakers(words, reference)]
    score = Score()
    for seed in range(seeds):
        hypothesis = perturb(exclusive(reference), random.Random(seed), sigma)
        assigned = assign_speakers(words, hypothesis)
        smoothed = smooth_speakers(assigned, **smooth_kwargs)
        score.add(truth, [w.speaker for w in assigned], [w.speaker for w in smoothed])
    return score


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--sigma", type=float, default=0.3, help="boundary error std (s)")
    parser.add_argument("--drop-punct", type=float, default=0.0,
                        help="chance a sentence end loses its punctuation")
    parser.add_argument("--max-flip-words", type=int, default=None)
    parser.add_argument("--max-flip-seconds", type=float, default=None)
    parser.add_argument("--pause", type=float, default=None)
    parser.add_argument("--real", nargs=2, type=Path, metavar=("TRANSCRIPT_JSON", "REFERENCE_RTTM"),
                        help="score a real podium transcript (words + diarizer turns)")
    parser.add_argument("--asr-words", nargs=2, type=Path, metavar=("MEDIA", "REFERENCE_RTTM"),
                        help="real ASR words, simulated diarization errors (e.g. examples/briefing.*)")
    args = parser.parse_args(argv)
    smooth_kwargs = {k: v for k, v in (("max_flip_words", args.max_flip_words),
                                       ("max_flip_seconds", args.max_flip_seconds),
                                       ("pause", args.pause)) if v is not None}
    print(f"smoothing options: {json.dumps(smooth_kwargs) if smooth_kwargs else 'defaults'}")
    print(HEADER)
    if args.real:
        print(real_word_accuracy(*args.real, **smooth_kwargs).row(args.real[0].stem))
        return 0
    if args.asr_words:
        score = real_words_perturbed_turns(*args.asr_words, args.seeds, args.sigma, **smooth_kwargs)
        print(score.row(args.asr_words[0].stem))
        print(f"(real ASR words, reference turns perturbed with sigma={args.sigma} s, {args.seeds} seeds)")
        return 0
    rttms = sorted(DIARIZATION.glob("*.rttm"))
    if not rttms:
        print(f"no reference RTTMs under {DIARIZATION}", file=sys.stderr)
        return 1
    total = Score()
    for rttm in rttms:
        score = synthetic(rttm, args.seeds, args.sigma, args.drop_punct, smooth_kwargs)
        print(score.row(rttm.stem.replace("pyannote_", "")))
        for field in ("words", "assigned", "smoothed", "fixed", "broken"):
            setattr(total, field, getattr(total, field) + getattr(score, field))
    print(total.row("all"))
    print(f"(synthetic words in reference turns; sigma={args.sigma} s, drop_punct={args.drop_punct}, "
          f"{args.seeds} seeds; 150 s of reference speech in all: a small set)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
