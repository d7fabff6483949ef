"""What each of podium's Whisper loop guards costs and what it buys, one guard switched at a time.

podium decodes with guards against Whisper's repetition loops and invented text (`podium.asr`):

- `condition_on_previous_text=False` (sequential only: the batched pipeline never conditions);
- temperature fallback when a window's compression ratio > 2.4 or mean log-prob < -1.0 (sequential
  only: the batched pipeline decodes each window once, at temperature 0);
- `hallucination_silence_threshold=2.0` (sequential only): re-seeks past silence before a segment
  that looks invented;
- the no-speech drop: a segment Whisper itself calls silence (no-speech prob > 0.6 and mean log-prob
  < -1.0) is dropped (both modes; a comparison per segment);
- `suppress_hallucinations`: n-grams repeated 3+ times back to back are cut, and a sentence repeated
  a third time in a row is dropped (both modes; pure Python over the words);
- language detection over 4 speech windows (multilingual models only);
- Silero VAD itself (`--no-vad` decodes every audible stretch instead).

Each row is one fresh child process (`Transcriber`, base, CPU, int8) with one change from podium's
settings for that mode, over three inputs: every `asr` item of ../shared/data (pooled WER), the shared
meeting excerpts looped to `--minutes` (repetition loops: words `collapse_repeats` would drop from the
final words), and 90 s of sound with no speech made here (60 s of noise at -35 dBFS, 30 s of a
three-tone chord): every word on it is invented. For every row it also counts, from inside faster-
whisper, the windows decoded, the windows that fell back to a higher temperature, the segments the
no-speech drop removed and the words `suppress_hallucinations` removed (and the time it took).

    .venv/bin/python benchmarks/guards.py [--model base] [--minutes 5] [--modes sequential,batched]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asr import count_loops, pooled_wer
from common import SHARED_DATA, build_meeting_loop, in_child, load_average, machine, read_manifest

BATCH_SIZE = 8
LOOP_MINUTES = 2.5  # one pass over the five 30-s diarization excerpts
SETS = ("asr", "meeting", "no speech")


@dataclass(frozen=True)
class Variant:
    name: str
    batch_size: int
    decode: dict[str, Any] = field(default_factory=dict)  # overrides of podium's decoding arguments
    language: str | None = None  # given: no language detection
    keep_repeats: bool = False  # True: suppress_hallucinations off
    vad: bool = True  # False: every audible stretch is decoded, noise and music included


def variants(modes: Sequence[str]) -> list[Variant]:
    rows = []
    if "sequential" in modes:
        rows += [
            Variant("sequential, podium's guards", 0),
            Variant("sequential, conditioned on previous text", 0, {"condition_on_previous_text": True}),
            Variant("sequential, no temperature fallback", 0, {"temperature": 0.0}),
            Variant("sequential, no hallucination-silence re-seek", 0,
                    {"hallucination_silence_threshold": None}),
            Variant("sequential, no repeat filter", 0, keep_repeats=True),
            Variant("sequential, language given", 0, language="en"),
            Variant("sequential, no VAD", 0, vad=False),
        ]
    if "batched" in modes:
        rows += [
            Variant(f"batched ({BATCH_SIZE}), podium's guards", BATCH_SIZE),
            Variant(f"batched ({BATCH_SIZE}), no repeat filter", BATCH_SIZE, keep_repeats=True),
            Variant(f"batched ({BATCH_SIZE}), language given", BATCH_SIZE, language="en"),
            Variant(f"batched ({BATCH_SIZE}), no VAD", BATCH_SIZE, vad=False),
        ]
    return rows


@dataclass
class Counts:
    """What happened inside one input set's decoding."""

    audio_s: float = 0.0
    wall_s: float = 0.0
    windows: int = 0  # Whisper windows decoded (first attempt)
    fallbacks: int = 0  # windows whose kept result came from a temperature above 0
    no_speech_segments: int = 0  # segments the no-speech drop removed
    no_speech_words: int = 0
    repeat_words: int = 0  # words suppress_hallucinations removed
    repeat_s: float = 0.0  # time spent in suppress_hallucinations
    words: int = 0
    loop_words: int = 0  # words collapse_repeats would still drop from the final word stream
    texts: tuple[str, ...] = ()


# --- in the child -------------------------------------------------------------------------------

def no_speech_audio() -> Any:
    """90 s with no speech: noise at -35 dBFS, then a three-tone chord (a stand-in for music)."""
    import numpy as np

    rng = np.random.default_rng(7)
    noise = rng.normal(0.0, 10 ** (-35 / 20), 60 * 16000)
    t = np.arange(30 * 16000) / 16000
    chord = sum(0.1 * np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6))
    return np.concatenate([noise, chord]).astype(np.float32)


def instrument(transcriber: Any, variant: Variant, counts: list[Counts]) -> None:
    """Patch `transcriber` and podium.asr so that decoding follows `variant` and fills counts[-1]."""
    import faster_whisper.transcribe as fw

    import podium.asr as asr

    for owner in (transcriber.model, transcriber.batched):
        if owner is not None and variant.decode:
            decode = owner.transcribe
            owner.transcribe = lambda *a, decode=decode, **k: decode(*a, **{**k, **variant.decode})

    fallback = fw.WhisperModel.generate_with_fallback

    def counted_fallback(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = fallback(self, *args, **kwargs)
        counts[-1].windows += 1
        counts[-1].fallbacks += result[2] > 0  # (result, avg_logprob, temperature, compression_ratio)
        return result

    fw.WhisperModel.generate_with_fallback = counted_fallback
    batched = fw.BatchedInferencePipeline.generate_segment_batched

    def counted_batch(self: Any, features: Any, *args: Any, **kwargs: Any) -> Any:
        counts[-1].windows += len(features)
        return batched(self, features, *args, **kwargs)

    fw.BatchedInferencePipeline.generate_segment_batched = counted_batch
    collect = asr._collect

    def counted_collect(raw: Any, progress: Any) -> Any:
        raw = list(raw)
        for seg in raw:  # the same test as podium.asr._collect
            if seg.no_speech_prob > 0.6 and seg.avg_logprob < -1.0:
                counts[-1].no_speech_segments += 1
                counts[-1].no_speech_words += len(seg.words or ())
        return collect(raw, progress)

    asr._collect = counted_collect
    suppress = asr.suppress_hallucinations

    def counted_suppress(segments: Any) -> Any:
        started = time.perf_counter()
        kept = tuple(segments) if variant.keep_repeats else suppress(segments)
        counts[-1].repeat_s += time.perf_counter() - started
        counts[-1].repeat_words += sum(len(s.words) for s in segments) - sum(len(s.words) for s in kept)
        return kept

    asr.suppress_hallucinations = counted_suppress


def run_variant(variant: Variant, sets: dict[str, list[str]], model: str) -> list[Counts]:
    """Runs in the child: load once, then each input set in turn."""
    from podium.asr import AsrOptions, Transcriber
    from podium.media import load_audio

    transcriber = Transcriber(AsrOptions(model=model, device="cpu", batch_size=variant.batch_size,
                                         language=variant.language, vad=variant.vad))
    counts: list[Counts] = []
    instrument(transcriber, variant, counts)
    for name in SETS:
        clips = [no_speech_audio()] if name == "no speech" else [load_audio(p).samples for p in sets[name]]
        counts.append(Counts(audio_s=sum(len(c) for c in clips) / 16000))
        started = time.perf_counter()
        outputs = [transcriber.transcribe(samples).segments for samples in clips]
        current = counts[-1]
        current.wall_s = time.perf_counter() - started
        current.words = sum(len(seg.words) for output in outputs for seg in output)
        current.loop_words = count_loops(outputs).stream_words
        current.texts = tuple(" ".join(seg.text for seg in output) for output in outputs)
    return counts


# --- in the parent ------------------------------------------------------------------------------

def print_table(rows: list[tuple[Variant, list[Counts]]], references: list[str]) -> None:
    print("\n| variant | ASR set: wall s / WER | meeting: wall s / x RT / words / loop words "
          "| no speech: words | windows (fallbacks) | no-speech drops: segments / words "
          "| repeat filter: words / ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for variant, counts in rows:
        asr_set, meeting, silent = counts
        windows = sum(c.windows for c in counts)
        fallbacks = sum(c.fallbacks for c in counts)
        print(f"| {variant.name} | {asr_set.wall_s:.1f} / {100 * pooled_wer(references, asr_set.texts):.1f}% "
              f"| {meeting.wall_s:.1f} / {meeting.audio_s / meeting.wall_s:.1f}x / {meeting.words} / "
              f"{meeting.loop_words} | {silent.words} | {windows} ({fallbacks}) "
              f"| {sum(c.no_speech_segments for c in counts)} / {sum(c.no_speech_words for c in counts)} "
              f"| {sum(c.repeat_words for c in counts)} / {1000 * sum(c.repeat_s for c in counts):.0f} |",
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="base", help="Whisper model (tiny.en is English-only: no "
                        "language detection to switch off)")
    parser.add_argument("--minutes", type=float, default=5.0, help="length of the looped meeting file")
    parser.add_argument("--modes", default="sequential,batched", help="sequential, batched or both")
    args = parser.parse_args()
    print(f"machine: {machine()}; model {args.model}")
    items = read_manifest(SHARED_DATA / "manifest.jsonl", ("asr",))
    references = [item["transcript"] for item in items]
    with tempfile.TemporaryDirectory(prefix="podium-guards-") as folder:
        meeting, _ = build_meeting_loop(Path(folder), max(1, round(args.minutes / LOOP_MINUTES)))
        sets = {"asr": [str(SHARED_DATA / item["audio"]) for item in items], "meeting": [str(meeting)]}
        rows = [(variant, in_child(run_variant, variant, sets, args.model))
                for variant in variants(args.modes.split(","))]
    print_table(rows, references)
    print(f"\nload average at end: {load_average()}")


if __name__ == "__main__":
    main()
