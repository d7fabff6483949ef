"""Calibration of `Word.speaker_confidence` on the shared diarization recordings.

Every `diar` recording of ../shared/data is run through podium (Whisper tiny.en by default, podium's
diarizer); the ASR words and the diarizer's turns are cached as JSON (default
/tmp/podium-confidence/<model>/<id>.json), so the scoring re-runs `podium.align.attribute` on them in
about a second: change the confidence definition, re-run, compare. Delete the cache (or `--refresh`)
when the ASR or the diarizer changes.

Scoring: a word's reference speaker is the reference (RTTM) speaker active at the word's midpoint.
Words at a midpoint with no reference speaker (a reference gap) or with two or more (reference
overlap) are counted apart and not scored. The hypothesis -> reference speaker mapping is the one
that maximises the number of words whose speakers agree (Hungarian, per recording); a hypothesis
speaker left unmapped (more speakers than the reference) is wrong on every word. The report pools
all recordings: wrong % of words with confidence < 0.5 vs >= 0.5, and a reliability table by
confidence bin (count, mean confidence, wrong %).

    .venv/bin/python benchmarks/confidence.py                   # transcribe what is not cached, score
    .venv/bin/python benchmarks/confidence.py --ids gecko_demo  # a subset (never tune on one file)
    .venv/bin/python benchmarks/confidence.py --json out.json   # also write every scored word
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import json
import math
import os
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from scipy.optimize import linear_sum_assignment

from common import DiarFile, diarization_files, load_average, machine
from podium.transcript import SpeakerTurn, Transcript, merge_turns

DEFAULT_CACHE = Path("/tmp/podium-confidence")
# Bin edges: finer near the 0.5 threshold and at the top, where most words are.
EDGES = (0.0, 0.2, 0.4, 0.5, 0.6, 0.8, 0.9, 1.0)


# --- transcripts (slow, cached) ---------------------------------------------------------------------


def cache_path(cache: Path, model: str, file_id: str) -> Path:
    return cache / model / f"{file_id}.json"


def transcribe_missing(files: Sequence[DiarFile], cache: Path, model: str, threads: int,
                       refresh: bool = False) -> None:
    """Run podium on each file not cached yet and cache what `attribute` needs, plus the transcript
    `Podium.run` made (to check that re-attribution from the cache reproduces it)."""
    todo = [f for f in files if refresh or not cache_path(cache, model, f.id).exists()]
    if not todo:
        return
    import torch

    from podium.asr import AsrOptions
    from podium.diarize import DiarizeOptions
    from podium.pipeline import Podium, TranscribeOptions

    torch.set_num_threads(threads)
    engine = Podium(TranscribeOptions(asr=AsrOptions(model=model, device="cpu", threads=threads),
                                      diarize=DiarizeOptions(device="cpu")))
    for file in todo:
        started = time.perf_counter()
        job = engine.run(file.audio)
        assert job.asr is not None and job.transcript is not None and job.audio is not None
        words_only = Transcript(segments=job.asr.segments, language=job.asr.language,
                                duration=job.audio.duration, source=str(file.audio), model=job.asr.model)
        diarization = job.diarization
        data = {
            "id": file.id, "model": model, "seconds": time.perf_counter() - started,
            "asr": words_only.to_dict(),
            "turns": [asdict(t) for t in diarization.turns] if diarization else None,
            "overlapping_turns": [asdict(t) for t in diarization.overlapping_turns] if diarization else None,
            "transcript": job.transcript.to_dict(),
        }
        target = cache_path(cache, model, file.id)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(data, ensure_ascii=False))
        print(f"  {file.id}: {job.audio.duration:.0f} s audio, {data['seconds']:.1f} s", flush=True)


def attributed(cached: dict[str, Any]) -> Transcript:
    """The cached ASR words attributed by the current `podium.align.attribute`."""
    from podium.align import attribute
    from podium.diarize import DiarizationResult
    from podium.speakers import SpeakerOptions

    asr = Transcript.from_dict(cached["asr"])
    if cached["turns"] is None:
        return asr
    overlapping = tuple(SpeakerTurn(**t) for t in cached["overlapping_turns"])
    diarization = DiarizationResult(turns=tuple(SpeakerTurn(**t) for t in cached["turns"]),
                                    overlapping_turns=overlapping, centroids={})
    result = attribute(asr, diarization, SpeakerOptions())
    made = [w.speaker for w in Transcript.from_dict(cached["transcript"]).words]
    if [w.speaker for w in result.words] != made:  # the cache is stale, or attribution changed: say so
        print(f"  warning: {cached['id']}: re-attributed speakers differ from the cached run's",
              file=sys.stderr)
    return result


# --- scoring (pure) ---------------------------------------------------------------------------------


def reference_speakers(turns: Sequence[SpeakerTurn], t: float) -> frozenset[str]:
    """Reference speakers active at time `t` (turn ends included)."""
    return frozenset(turn.speaker for turn in turns if turn.start <= t <= turn.end)


def best_mapping(pairs: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Hypothesis -> reference speaker, one to one, maximising the number of agreeing (hyp, ref) pairs."""
    counts = Counter(pairs)
    hyps = sorted({h for h, _ in counts})
    refs = sorted({r for _, r in counts})
    if not hyps or not refs:
        return {}
    gain = [[-counts.get((h, r), 0) for r in refs] for h in hyps]
    rows, cols = linear_sum_assignment(gain)
    return {hyps[i]: refs[j] for i, j in zip(rows, cols, strict=True) if counts.get((hyps[i], refs[j]), 0)}


@dataclass(frozen=True)
class Scored:
    """One word with a single reference speaker at its midpoint: its confidence and whether its
    hypothesis speaker (mapped) is that reference speaker. `index` is its position in the transcript."""

    file: str
    index: int
    start: float
    end: float
    text: str
    confidence: float
    overlap: bool
    wrong: bool


@dataclass
class FileScore:
    file: str
    words: list[Scored]
    reference_gap: int  # words whose midpoint no reference speaker covers
    reference_overlap: int  # words whose midpoint two or more reference speakers cover
    reference_overlap_wrong: int  # ... whose speaker (mapped) is none of them
    no_speaker: int  # words without a speaker or confidence (no diarization)
    turns: list[tuple[bool, list[Scored]]] = field(default_factory=list)  # (marked [?], scored words)


def score_file(file_id: str, transcript: Transcript, reference: Sequence[SpeakerTurn]) -> FileScore:
    """Each word against the reference speaker at its midpoint (see the module docstring), and each
    txt paragraph (`merge_turns`) with whether `--mark-uncertain` marks it."""
    from podium.formats.txt import uncertain_turn

    words = transcript.words
    active = [reference_speakers(reference, w.mid) for w in words]
    mapping = best_mapping([(w.speaker, next(iter(refs))) for w, refs in zip(words, active, strict=True)
                            if w.speaker is not None and len(refs) == 1])
    result = FileScore(file_id, [], 0, 0, 0, 0)
    by_index = {}
    for index, (word, refs) in enumerate(zip(words, active, strict=True)):
        if word.speaker is None or word.speaker_confidence is None:
            result.no_speaker += 1
        elif not refs:
            result.reference_gap += 1
        elif len(refs) > 1:
            result.reference_overlap += 1
            result.reference_overlap_wrong += mapping.get(word.speaker) not in refs
        else:
            by_index[index] = Scored(file_id, index, word.start, word.end, word.text.strip(),
                                     word.speaker_confidence, word.overlap,
                                     mapping.get(word.speaker) not in refs)
    result.words = list(by_index.values())
    position = 0
    for turn in merge_turns(transcript.segments):
        span = range(position, position + len(turn.words))
        position = span.stop
        if turn.speaker is not None:
            result.turns.append((uncertain_turn(turn.words), [by_index[i] for i in span if i in by_index]))
    return result


def log_loss(words: Sequence[Scored], floor: float = 1e-3) -> float:
    """Mean negative log-likelihood of right/wrong under the confidence (clipped to [floor, 1 - floor])."""
    def p_observed(w: Scored) -> float:
        p = min(1 - floor, max(floor, w.confidence))
        return 1 - p if w.wrong else p
    return -sum(math.log(p_observed(w)) for w in words) / len(words)


def brier(words: Sequence[Scored]) -> float:
    return sum((w.confidence - (not w.wrong)) ** 2 for w in words) / len(words)


def wrong_share(words: Sequence[Scored]) -> str:
    if not words:
        return "–"
    return f"{100 * sum(w.wrong for w in words) / len(words):.1f}%"


def bins(words: Sequence[Scored], edges: Sequence[float] = EDGES) -> list[tuple[str, list[Scored]]]:
    """Words by confidence bin [edge, next edge); the last bin includes 1.0."""
    out = []
    for i, (low, high) in enumerate(itertools.pairwise(edges)):
        last = i == len(edges) - 2
        inside = [w for w in words if low <= w.confidence < high or (last and w.confidence == high)]
        out.append((f"[{low:.1f}, {high:.1f}{']' if last else ')'}", inside))
    return out


def report(scores: Sequence[FileScore], header: str) -> str:
    """The pooled figures as Markdown, ready for benchmarks/README.md."""
    words = [w for s in scores for w in s.words]
    if not words:
        return f"{header}\n\nNo scored words."
    low = [w for w in words if w.confidence < 0.5]
    high = [w for w in words if w.confidence >= 0.5]
    overlap = [w for w in words if w.overlap]
    right_rate = 1 - sum(w.wrong for w in words) / len(words)
    constant = [replace(w, confidence=right_rate) for w in words]
    lines = [header, "",
             f"Scored words: {len(words)} (wrong {wrong_share(words)}); not scored: "
             f"{sum(s.reference_gap for s in scores)} in reference gaps, "
             f"{sum(s.reference_overlap for s in scores)} in reference overlap "
             f"({sum(s.reference_overlap_wrong for s in scores)} given a speaker not among those "
             f"talking), {sum(s.no_speaker for s in scores)} without a speaker. Brier score "
             f"{brier(words):.4f}, log loss {log_loss(words):.4f} (a constant {right_rate:.3f}, the "
             f"pooled share right: {brier(constant):.4f}, {log_loss(constant):.4f}).", "",
             "| words | count | wrong |", "| --- | ---: | ---: |",
             f"| confidence < 0.5 | {len(low)} | {wrong_share(low)} |",
             f"| confidence >= 0.5 | {len(high)} | {wrong_share(high)} |",
             f"| overlap: true | {len(overlap)} | {wrong_share(overlap)} |", "",
             "| confidence | count | mean confidence | wrong |", "| --- | ---: | ---: | ---: |"]
    for name, inside in bins(words):
        mean = f"{sum(w.confidence for w in inside) / len(inside):.2f}" if inside else "–"
        lines.append(f"| {name} | {len(inside)} | {mean} | {wrong_share(inside)} |")
    turns = [t for s in scores for t in s.turns]
    lines += ["", "| txt paragraphs (`--mark-uncertain`) | paragraphs | mostly wrong | words | wrong |",
              "| --- | ---: | ---: | ---: | ---: |"]
    for name, marked in (("marked [?]", True), ("not marked", False)):
        chosen = [scored for is_marked, scored in turns if is_marked is marked]
        mostly = sum(1 for scored in chosen if scored and 2 * sum(w.wrong for w in scored) > len(scored))
        inside = [w for scored in chosen for w in scored]
        lines.append(f"| {name} | {len(chosen)} | {mostly} | {len(inside)} | {wrong_share(inside)} |")
    lines += ["", "| recording | words | wrong | words < 0.5 | wrong < 0.5 | wrong >= 0.5 |",
              "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for s in scores:
        below = [w for w in s.words if w.confidence < 0.5]
        above = [w for w in s.words if w.confidence >= 0.5]
        lines.append(f"| {s.file} | {len(s.words)} | {wrong_share(s.words)} | {len(below)} | "
                     f"{wrong_share(below)} | {wrong_share(above)} |")
    return "\n".join(lines)


# --- leave-one-recording-out check of the constants ---------------------------------------------------

# podium.align's constants and the values tried for each (the shipped ones among them).
GRID = {"_SHORT_TURN": (0.05, 0.1, 0.15, 0.2, 0.3), "_CLEAR_OF_CHANGE": (0.25, 0.5, 1.0),
        "_EDGE_FLOOR": (0.0, 0.25), "_OVERLAP_SHARE": (0.25, 0.5)}


def cross_validate(files: Sequence[DiarFile], cached: Sequence[dict[str, Any]]) -> str:
    """For each recording, the grid values with the lowest log loss on the other 20, scored on it.

    Reports the held-out log loss pooled over all words next to the shipped constants' (fitted on
    all recordings) and a constant base rate's (the other recordings' share right), and how often
    each value set was chosen: a definition whose choice moves from fold to fold is overfitted."""
    from podium import align

    shipped = {name: getattr(align, name) for name in GRID}
    references = [f.turns() for f in files]
    results: dict[tuple[float, ...], list[list[Scored]]] = {}
    try:
        for values in itertools.product(*GRID.values()):
            for name, value in zip(GRID, values, strict=True):
                setattr(align, name, value)
            results[values] = [score_file(f.id, attributed(c), r).words
                               for f, c, r in zip(files, cached, references, strict=True)]
    finally:
        for name, value in shipped.items():
            setattr(align, name, value)
    held_out: list[Scored] = []
    base_rate: list[Scored] = []
    chosen: Counter[tuple[float, ...]] = Counter()
    for k in range(len(files)):
        def rest(values: tuple[float, ...], k: int = k) -> list[Scored]:
            return [w for i, words in enumerate(results[values]) if i != k for w in words]
        best = min(results, key=lambda values: log_loss(rest(values)))
        chosen[best] += 1
        held_out += results[best][k]
        others = rest(best)
        right = 1 - sum(w.wrong for w in others) / len(others)
        base_rate += [replace(w, confidence=right) for w in results[best][k]]
    everything = [w for words in results[tuple(shipped.values())] for w in words]
    picks = ", ".join(f"{dict(zip(GRID, values, strict=True))} x{n}" for values, n in chosen.most_common())
    return (f"Leave-one-recording-out over {len(results)} value sets of {', '.join(GRID)}: held-out log "
            f"loss {log_loss(held_out):.4f} (shipped constants, fitted on all: "
            f"{log_loss(everything):.4f}; base rate: {log_loss(base_rate):.4f}). Chosen: {picks}.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--refresh", action="store_true", help="transcribe again even when cached")
    parser.add_argument("--ids", default="", help="comma-separated recording ids (default: all 21)")
    parser.add_argument("--cv", action="store_true",
                        help="also check the constants leave-one-recording-out (about a minute)")
    parser.add_argument("--json", type=Path, help="write every scored word here")
    args = parser.parse_args()

    files = diarization_files()
    if args.ids:
        files = [f for f in files if f.id in args.ids.split(",")]
    start_line = f"{datetime.date.today()}, {machine()}"
    transcribe_missing(files, args.cache, args.model, args.threads, args.refresh)
    cached = [json.loads(cache_path(args.cache, args.model, f.id).read_text()) for f in files]
    scores = [score_file(f.id, attributed(c), f.turns()) for f, c in zip(files, cached, strict=True)]
    print(report(scores, f"{start_line}, {load_average()} at end; Whisper {args.model}, "
                         f"{len(files)} recordings"))
    if args.cv:
        print("\n" + cross_validate(files, cached))
    if args.json:
        args.json.write_text(json.dumps([asdict(w) for s in scores for w in s.words], indent=1))


if __name__ == "__main__":
    main()
