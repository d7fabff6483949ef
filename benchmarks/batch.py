"""`podium batch` against a shell loop of `podium transcribe`, on short clips of real speech.

Cuts N clips of 10-30 s (default 20) from the recordings in ../shared/data/diarization, the JFK
recording and examples/briefing.mp4 (that one stays a video), then times, each as a fresh process:

- batch:  `podium batch CLIPS --output-dir ...`        (models loaded once, stages overlapped)
- single: `podium transcribe CLIP1 ... CLIPN`           (models loaded once, one file after another)
- loop:   `for f in CLIPS; do podium transcribe $f; done` (what people write first)
- ray1:   `podium batch CLIPS --ray` (a local Ray cluster started by the run) with 1 Whisper actor
- ray2:   the same with 2 Whisper actors of half a CPU reservation each (on a 2-core machine one CPU
          must stay free for the decode tasks)

and reads the batch ledger for the overlap: the sum of per-stage seconds against the pipeline's wall time
(above 1 means stages ran at the same time).

    .venv/bin/python benchmarks/batch.py                       # tiny.en, diarization on
    .venv/bin/python benchmarks/batch.py --no-diarize --clips 10 --modes batch,loop
    .venv/bin/python benchmarks/batch.py --no-diarize --clips 10 --modes batch,ray1,ray2
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
PODIUM = [sys.executable, "-m", "podium.cli"]
MODES = ("batch", "single", "loop")
EXTRA_MODES = ("ray1", "ray2")  # need ray (pip install 'podium[ray]'); not run unless asked for
RAY_FLAGS = {"ray1": ["--ray", "local", "--ray-asr-actors", "1", "--ray-diarize-actors", "1"],
             "ray2": ["--ray", "local", "--ray-asr-actors", "2", "--ray-diarize-actors", "1",
                      "--ray-cpus-per-actor", "0.5"]}


def sources() -> list[Path]:
    return [*sorted((SHARED / "diarization").glob("*.wav")), SHARED / "asr" / "jfk_inaugural_1961.flac",
            REPO / "examples" / "briefing.mp4"]


def seconds_of(path: Path) -> float:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
                          str(path)], capture_output=True, text=True, check=True).stdout
    return float(out)


def make_clips(count: int, folder: Path) -> list[Path]:
    """Clip i: 10-30 s from source i mod n, at an offset that varies with i; stream copy, no re-encode."""
    folder.mkdir(parents=True, exist_ok=True)
    pool = [(path, seconds_of(path)) for path in sources()]
    clips = []
    for i in range(count):
        source, length = pool[i % len(pool)]
        duration = min(10 + (i * 7) % 21, length)
        start = (i * 3) % max(1, int(length - duration))
        clip = folder / f"clip{i:02d}{source.suffix}"
        codec = ["-c", "copy"] if source.suffix == ".mp4" else []
        subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-ss", str(start), "-t",
                        str(duration), "-i", str(source), *codec, str(clip)], check=True)
        clips.append(clip)
    return clips


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    if result.returncode != 0:
        shown = " ".join(command[:6])
        raise SystemExit(f"{shown} ... failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return time.perf_counter() - started


def run_mode(mode: str, clips: list[Path], out: Path, flags: list[str]) -> float:
    if mode in RAY_FLAGS:
        return timed([*PODIUM, "batch", str(clips[0].parent), "--output-dir", str(out), "--quiet", *flags,
                      *RAY_FLAGS[mode]])
    if mode == "batch":
        return timed([*PODIUM, "batch", str(clips[0].parent), "--output-dir", str(out), "--quiet", *flags])
    if mode == "single":
        return timed([*PODIUM, "transcribe", *map(str, clips), "--output-dir", str(out), "--quiet", *flags])
    return sum(timed([*PODIUM, "transcribe", str(clip), "--output-dir", str(out), "--quiet", *flags])
               for clip in clips)


def batch_overlap(out: Path) -> dict[str, float]:
    lines = [json.loads(line) for line in (out / "podium-ledger.jsonl").read_text().splitlines()]
    end = next(line for line in reversed(lines) if line.get("event") == "run_end")
    return {"stages": end["stages"], "busy": sum(end["stages"].values()),
            "pipeline": end["pipeline_seconds"], "wall": end["wall_seconds"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=20)
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--diarize", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--modes", default=",".join(MODES),
                        help="comma-separated: " + ", ".join(MODES + EXTRA_MODES))
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    modes = [m for m in args.modes.split(",") if m]
    diarize = ["--diarize", "--diarize-device", "cpu"] if args.diarize else ["--no-diarize"]
    flags = ["--model", args.model, "--device", "cpu", "--format", "txt,json", *diarize]
    with tempfile.TemporaryDirectory(prefix="podium-bench-batch-") as tmp:
        clips = make_clips(args.clips, Path(tmp) / "clips")
        audio = sum(seconds_of(clip) for clip in clips)
        print(f"# {len(clips)} clips, {audio:.0f} s of audio; model {args.model}, diarization "
              f"{'on' if args.diarize else 'off'}, CPU", flush=True)
        figures: dict[str, object] = {"clips": len(clips), "audio_seconds": audio, "model": args.model,
                                      "diarize": args.diarize}
        print("| mode | wall s | x realtime |\n| --- | ---: | ---: |", flush=True)
        for mode in modes:
            wall = run_mode(mode, clips, Path(tmp) / f"out-{mode}", flags)
            figures[mode] = {"wall_seconds": wall, "x_realtime": audio / wall}
            print(f"| {mode} | {wall:.1f} | {audio / wall:.1f} |", flush=True)
        for mode in (m for m in modes if m == "batch" or m in RAY_FLAGS):
            overlap = batch_overlap(Path(tmp) / f"out-{mode}")
            figures[f"{mode}_overlap"] = overlap
            stages = ", ".join(f"{k} {v:.1f}" for k, v in overlap["stages"].items())
            ratio = overlap["busy"] / overlap["pipeline"]
            print(f"\n{mode} stages (s): {stages}\nsum of stage time {overlap['busy']:.1f} s over "
                  f"{overlap['pipeline']:.1f} s of pipeline wall time = {ratio:.2f} (1.00 = no overlap; "
                  f"the batch process took {overlap['wall']:.1f} s inside, models and planning included)")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
