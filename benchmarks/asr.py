"""Whisper on CPU: podium's Transcriber next to plain faster-whisper, sequential and batched.

For each model (`--models`, default tiny.en,base), each mode (sequential = batch_size 0, batched =
batch_size 8) and each engine, one fresh child process loads the model and transcribes:

- plain:  `faster_whisper.WhisperModel(dir, device="cpu", compute_type="int8", cpu_threads=nproc)`
          `.transcribe(audio, word_timestamps=True, vad_filter=True)` with every other argument left at
          its default (`BatchedInferencePipeline(model).transcribe(..., batch_size=8)` when batched);
          int8 and the thread count match podium's CPU defaults, so only the decoding differs.
- podium: `podium.asr.Transcriber(AsrOptions(model, device="cpu", batch_size=...))`.

over (a) every `asr` item of ../shared/data (pooled WER: whisper-normalizer EnglishTextNormalizer, jiwer)
and (b) the shared meeting excerpts looped to `--minutes` (no reference text: repetition loops instead,
counted as the words `podium.asr.collapse_repeats` would drop). x realtime = audio seconds / wall
seconds of transcription with the model already loaded and the audio already decoded; peak RSS is the
child's own high-water mark (VmHWM).

    .venv/bin/python benchmarks/asr.py                    # both sets, 5 min of meeting audio
    .venv/bin/python benchmarks/asr.py --minutes 10       # the ~10-minute file (slower)
    .venv/bin/python benchmarks/asr.py --quick --models tiny.en
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from common import (
    SHARED_DATA,
    build_meeting_loop,
    in_child,
    load_average,
    machine,
    peak_rss_mb,
    read_manifest,
)

BATCH_SIZE = 8
LOOP_MINUTES = 2.5  # one pass over the five 30-s diarization excerpts


@dataclass(frozen=True)
class Config:
    engine: str  # "plain" (faster-whisper as documented) or "podium"
    model: str
    batch_size: int

    @property
    def mode(self) -> str:
        return f"batched ({self.batch_size})" if self.batch_size else "sequential"


@dataclass(frozen=True)
class LoopCount:
    """Whisper repetition loops: n-grams (n <= 6) repeated 3+ times back to back."""

    segments: int  # segments in which collapse_repeats drops a word
    words: int  # words it drops inside segments
    stream_words: int  # words it drops over the whole word stream (loops across segment borders too)


@dataclass(frozen=True)
class Run:
    config: Config
    audio_s: float
    load_s: float
    wall_s: float
    peak_rss_mb: float
    texts: tuple[str, ...]  # one hypothesis text per input
    words: int
    loops: LoopCount

    @property
    def realtime(self) -> float:
        return self.audio_s / self.wall_s


# --- in the child -------------------------------------------------------------------------------

def load_engine(config: Config) -> Callable:
    """A function samples -> podium Segments, with the model loaded."""
    if config.engine == "podium":
        from podium.asr import AsrOptions, Transcriber

        transcriber = Transcriber(AsrOptions(model=config.model, device="cpu", batch_size=config.batch_size))
        return lambda samples: transcriber.transcribe(samples).segments
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    from podium.weights import resolve_whisper

    model = WhisperModel(resolve_whisper(config.model).location, device="cpu", compute_type="int8",
                         cpu_threads=os.cpu_count() or 1)
    pipeline = BatchedInferencePipeline(model) if config.batch_size else None

    def transcribe(samples):
        if pipeline is not None:
            raw, _ = pipeline.transcribe(samples, batch_size=config.batch_size, word_timestamps=True,
                                         vad_filter=True)
        else:
            raw, _ = model.transcribe(samples, word_timestamps=True, vad_filter=True)
        return tuple(as_segment(segment) for segment in raw)

    return transcribe


def as_segment(raw):
    """A faster-whisper segment as a podium Segment, unfiltered."""
    from podium.transcript import Segment, Word

    words = tuple(Word(float(w.start), float(w.end), w.word, float(w.probability)) for w in raw.words or ())
    return Segment(float(raw.start), float(raw.end), raw.text.strip(), words)


def count_loops(outputs: Sequence[Sequence]) -> LoopCount:
    from podium.asr import collapse_repeats

    segments = [seg for output in outputs for seg in output]
    dropped = [len(seg.words) - len(collapse_repeats(seg.words)) for seg in segments]
    stream = 0
    for output in outputs:
        words = [w for seg in output for w in seg.words]
        stream += len(words) - len(collapse_repeats(words))
    return LoopCount(sum(1 for d in dropped if d), sum(dropped), stream)


def run_config(config: Config, audio_paths: list[str]) -> Run:
    """Runs in the child: decode, load, then time transcription alone."""
    from podium.media import load_audio

    clips = [load_audio(path).samples for path in audio_paths]
    started = time.perf_counter()
    transcribe = load_engine(config)
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    outputs = [transcribe(samples) for samples in clips]
    wall_s = time.perf_counter() - started
    return Run(config, sum(len(c) for c in clips) / 16000, load_s, wall_s, peak_rss_mb(),
               tuple(" ".join(seg.text for seg in output) for output in outputs),
               sum(len(seg.words) for output in outputs for seg in output), count_loops(outputs))


# --- in the parent ------------------------------------------------------------------------------

def pooled_wer(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    import jiwer
    from whisper_normalizer.english import EnglishTextNormalizer

    normalize = EnglishTextNormalizer()
    return jiwer.wer([normalize(r) for r in references], [normalize(h) for h in hypotheses])


def configs(models: Sequence[str]) -> list[Config]:
    return [Config(engine, model, batch) for model in models for batch in (0, BATCH_SIZE)
            for engine in ("plain", "podium")]


def print_table(title: str, runs: Sequence[Run], wers: Sequence[float] | None) -> None:
    """A markdown table, ready for benchmarks/README.md."""
    last = "WER" if wers is not None else "loop segments / words / stream words"
    print(f"\n{title}\n")
    print("| model | engine | mode | audio s | load s | wall s | x realtime | peak RSS MB | words "
          f"| {last} |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for index, run in enumerate(runs):
        c, loops = run.config, run.loops
        tail = f"{100 * wers[index]:.1f}%" if wers is not None else \
            f"{loops.segments} / {loops.words} / {loops.stream_words}"
        print(f"| {c.model} | {c.engine} | {c.mode} | {run.audio_s:.0f} | {run.load_s:.1f} "
              f"| {run.wall_s:.1f} | {run.realtime:.1f}x | {run.peak_rss_mb:.0f} | {run.words} | {tail} |",
              flush=True)


def asr_set(models: Sequence[str]) -> None:
    items = read_manifest(SHARED_DATA / "manifest.jsonl", ("asr",))
    paths = [str(SHARED_DATA / item["audio"]) for item in items]
    references = [item["transcript"] for item in items]
    runs = [in_child(run_config, config, paths) for config in configs(models)]
    print_table(f"ASR set: {len(items)} `asr` items of ../shared/data", runs,
                [pooled_wer(references, run.texts) for run in runs])


def long_file(models: Sequence[str], minutes: float) -> None:
    with tempfile.TemporaryDirectory(prefix="podium-bench-") as folder:
        audio, seconds = build_meeting_loop(Path(folder), max(1, round(minutes / LOOP_MINUTES)))
        runs = [in_child(run_config, config, [str(audio)]) for config in configs(models)]
    print_table(f"Long file: the 5 shared meeting excerpts looped to {seconds / 60:.1f} min", runs, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="tiny.en,base", help="comma-separated Whisper models")
    parser.add_argument("--quick", action="store_true", help="the ASR set only, no long file")
    # 5, not 10: base sequential on 10 minutes took the whole run past 10 minutes on a 2-core machine.
    parser.add_argument("--minutes", type=float, default=5.0,
                        help="length of the looped meeting file (a multiple of 2.5)")
    args = parser.parse_args()
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    print(f"machine: {machine()}")
    asr_set(models)
    if not args.quick:
        long_file(models, args.minutes)
    print(f"\nload average at end: {load_average()}")


if __name__ == "__main__":
    main()
