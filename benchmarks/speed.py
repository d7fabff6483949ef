"""The whole job against the one step a user would otherwise run: wall time, x realtime, peak RSS.

Every row is one fresh process started from here, timed from start to exit (model loading, decoding
and writing included), with its peak RSS read from the kernel (`wait4`'s ru_maxrss of that child):

- plain: faster-whisper base as its README shows it, text only: `WhisperModel(base, device="cpu",
  compute_type="int8", cpu_threads=nproc).transcribe(path, vad_filter=True, word_timestamps=True)`,
  every other argument at its default;
- `podium transcribe --no-diarize --model base`;
- `podium transcribe` (the default: base + diarization);
- `podium transcribe --model tiny.en` (+ diarization).

The rows alternate (`--repeats` rounds, plain first in each), so a noisy machine slows all of them
alike; the table gives the median wall time of each, its ratio to plain's median, and the lowest and
highest ratio to plain's run in the same round. The input is the five shared meeting excerpts looped
to ~10 minutes (`build_meeting_loop`); `--hours H` adds a file of H hours (the same loop) for memory
growth, one round only, of the rows `--long-systems` names, as a wav or (`--long-codec aac`) as AAC.

    .venv/bin/python benchmarks/speed.py [--repeats 3] [--minutes 10] [--hours 3 [--long-systems 2]
                                         [--long-codec aac]]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from common import REPO, build_meeting_loop, load_average, machine

PYTHON = sys.executable
PODIUM = str(Path(PYTHON).with_name("podium"))

PLAIN = """
import sys
from faster_whisper import WhisperModel
from podium.weights import resolve_whisper
import os
model = WhisperModel(resolve_whisper("base").location, device="cpu", compute_type="int8",
                     cpu_threads=os.cpu_count() or 1)
segments, _ = model.transcribe(sys.argv[1], vad_filter=True, word_timestamps=True)
words = sum(len(s.words or ()) for s in segments)
print(words)
"""


@dataclass(frozen=True)
class System:
    name: str
    podium_args: tuple[str, ...] | None  # None: plain faster-whisper


SYSTEMS = (
    System("plain faster-whisper base (text only)", None),
    System("podium --no-diarize --model base", ("--no-diarize", "--model", "base")),
    System("podium (default: base + diarization)", ()),
    System("podium --model tiny.en (+ diarization)", ("--model", "tiny.en")),
)


@dataclass(frozen=True)
class Run:
    wall_s: float
    peak_rss_mb: float
    words: int


def run(system: System, audio: Path, out: Path) -> Run:
    if system.podium_args is None:
        command = [PYTHON, "-c", PLAIN, str(audio)]
    else:
        command = [PODIUM, "transcribe", str(audio), "--quiet", "--format", "json",
                   "--output-dir", str(out), *system.podium_args]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    stdout, stderr = child.communicate()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{system.name} failed:\n{stderr[-2000:]}")
    if system.podium_args is None:
        words = int(stdout.split()[-1])
    else:
        document = json.loads((out / f"{audio.stem}.json").read_text(encoding="utf-8"))
        words = sum(len(segment["words"]) for segment in document["segments"])
    return Run(wall, usage.ru_maxrss / 1024, words)


def table(title: str, seconds: float, runs: dict[str, list[Run]]) -> None:
    plain_runs = runs.get(SYSTEMS[0].name)
    plain = statistics.median(r.wall_s for r in plain_runs) if plain_runs else None
    print(f"\n{title} ({seconds:.0f} s of audio; median of {len(next(iter(runs.values())))})\n")
    print("| what | wall s | x realtime | ratio to plain | ratio per round | peak RSS GB | words |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, rows in runs.items():
        wall = statistics.median(r.wall_s for r in rows)
        ratio = "-" if plain is None else f"{wall / plain:.2f}"
        print(f"| {name} | {wall:.1f} | {seconds / wall:.1f}x | {ratio} | {per_round(rows, plain_runs)} "
              f"| {max(r.peak_rss_mb for r in rows) / 1024:.2f} | {rows[-1].words} |", flush=True)


def per_round(rows: list[Run], plain_runs: list[Run] | None) -> str:
    """Lowest-highest ratio to plain's run of the same round: whether a row beats plain in every
    round, not only in the median."""
    if not plain_runs:
        return "-"
    ratios = [row.wall_s / plain.wall_s for row, plain in zip(rows, plain_runs, strict=True)]
    return f"{min(ratios):.2f}-{max(ratios):.2f}"


def measure(audio: Path, seconds: float, repeats: int, title: str, systems: tuple[System, ...]) -> None:
    runs: dict[str, list[Run]] = {system.name: [] for system in systems}
    with tempfile.TemporaryDirectory(prefix="podium-speed-") as folder:
        for _ in range(repeats):
            for system in systems:
                runs[system.name].append(run(system, audio, Path(folder)))
    table(title, seconds, runs)


def as_aac(wav: Path) -> Path:
    """`wav` encoded as 48 kHz stereo AAC, beside it (the encoding is not timed)."""
    m4a = wav.with_suffix(".m4a")
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(wav), "-ar", "48000", "-ac", "2",
                    "-c:a", "aac", "-b:a", "128k", str(m4a)], check=True)
    wav.unlink()
    return m4a


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="rounds over the systems (median taken)")
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the meeting file")
    parser.add_argument("--hours", type=float, default=0.0, help="also a file this many hours long")
    parser.add_argument("--long-systems", default="0,1,2,3",
                        help="rows run on the --hours file, by number (0 = plain ... 3 = tiny.en)")
    parser.add_argument("--long-codec", choices=("wav", "aac"), default="wav",
                        help="the --hours file as the 16-bit 16 kHz wav, or as 48 kHz stereo AAC (.m4a) "
                             "like a video's sound track, which podium cannot hold as 16-bit samples")
    args = parser.parse_args()
    print(machine(), f"; repository {REPO.name}", flush=True)
    with tempfile.TemporaryDirectory(prefix="podium-speed-audio-") as folder:
        if args.repeats:  # --repeats 0: the long file only
            audio, seconds = build_meeting_loop(Path(folder), max(1, round(args.minutes / 2.5)))
            measure(audio, seconds, args.repeats, f"{seconds / 60:.0f}-minute meeting file", SYSTEMS)
        if args.hours:
            long_folder = Path(folder) / "long"
            long_folder.mkdir()
            audio, seconds = build_meeting_loop(long_folder, max(1, round(args.hours * 60 / 2.5)))
            if args.long_codec == "aac":
                audio = as_aac(audio)
            systems = tuple(SYSTEMS[int(number)] for number in args.long_systems.split(","))
            measure(audio, seconds, 1, f"{seconds / 3600:.1f}-hour meeting file", systems)
    print(f"\nload average at end: {load_average()}")


if __name__ == "__main__":
    main()
