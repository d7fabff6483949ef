"""Decode memory and speed of podium.media.load_audio on long inputs.

Builds an hours-long AAC .m4a (44.1 kHz stereo, 128 kb/s, like broadcast audio) by looping a real
speech recording from ../shared/data with `ffmpeg -stream_loop ... -c copy`, then decodes it in a fresh
child process and reports the child's peak RSS (VmHWM) against the decoded array's size.

    .venv/bin/python benchmarks/media.py --hours 0.5 3
    .venv/bin/python benchmarks/media.py --hours 0.5 --compare   # also ffmpeg-python's .run()

`--compare` adds the obvious alternative (ffmpeg-python `.run(capture_stdout=True)` and
`np.frombuffer`) so the peak/decoded ratio has something to be read against.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SOURCE = SHARED / "asr" / "jfk_inaugural_1961.flac"
MB = 1e6


def vm_hwm_bytes() -> int:
    """Peak resident set size of this process so far (Linux /proc)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def child(path: str, method: str) -> None:
    """Runs in the measured process: decode once, print figures as JSON on stdout."""
    import ffmpeg
    import numpy as np

    from podium.media import SAMPLE_RATE, load_audio

    baseline = vm_hwm_bytes()
    started = time.perf_counter()
    if method == "load_audio":
        samples = load_audio(path).samples
    else:  # the straightforward way: whole stdout as one bytes object, then an owned array
        out, _ = (ffmpeg.input(path).output("pipe:", format="f32le", ac=1, ar=SAMPLE_RATE)
                  .global_args("-loglevel", "error").run(capture_stdout=True, capture_stderr=True))
        samples = np.frombuffer(out, dtype=np.float32).copy()
        del out
    seconds = time.perf_counter() - started
    print(json.dumps({
        "samples": len(samples), "decoded_bytes": samples.nbytes, "decode_s": seconds,
        "baseline_bytes": baseline, "peak_bytes": vm_hwm_bytes(),
        # ffmpeg ran as our child: its own peak shows up here (ru_maxrss is in KiB on Linux).
        "ffmpeg_peak_bytes": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024,
        "audio_s": len(samples) / SAMPLE_RATE,
    }))


def make_long_input(hours: float, workdir: Path) -> Path:
    seed = workdir / "seed.m4a"
    if not seed.exists():
        run_ffmpeg("-i", str(SOURCE), "-c:a", "aac", "-b:a", "128k", "-ar", "44100", "-ac", "2", str(seed))
    target = workdir / f"long_{hours:g}h.m4a"
    seconds = hours * 3600
    loops = math.ceil(seconds / 11.0)  # the source is 11 s
    run_ffmpeg("-stream_loop", str(loops), "-i", str(seed), "-t", f"{seconds:.3f}", "-c", "copy",
               str(target))
    return target


def run_ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def measure(path: Path, method: str) -> dict[str, float]:
    result = subprocess.run([sys.executable, __file__, "--child", str(path), "--method", method],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"child failed on {path.name}:\n{result.stderr}")
    return json.loads(result.stdout)


def row(hours: float, method: str, figures: dict[str, float]) -> str:
    decoded = figures["decoded_bytes"]
    return (f"{hours:>5g} | {method:<10} | {figures['audio_s']:>8.0f} | {decoded / MB:>8.1f} | "
            f"{figures['baseline_bytes'] / MB:>8.1f} | {figures['peak_bytes'] / MB:>8.1f} | "
            f"{figures['peak_bytes'] / decoded:>6.2f} | "
            f"{(figures['peak_bytes'] - figures['baseline_bytes']) / decoded:>6.2f} | "
            f"{figures['ffmpeg_peak_bytes'] / MB:>7.1f} | {figures['decode_s']:>6.1f} | "
            f"{figures['audio_s'] / figures['decode_s']:>6.0f}")


HEADER = ("hours | method     |  audio s |  dec. MB |  base MB |  peak MB | peak/  | +peak/ | "
          "ffmpeg  | dec s  | x RT")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, nargs="+", default=[0.5, 3.0])
    parser.add_argument("--compare", action="store_true", help="also measure ffmpeg-python .run()")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--method", default="load_audio", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.method)
        return
    methods = ["load_audio", *(["run"] if args.compare else [])]
    print("peak = child's VmHWM; base = its VmHWM after imports; peak/ and +peak/ divide peak and "
          "peak-base by the decoded size; ffmpeg = ffmpeg's own peak RSS (MB); x RT = audio s / decode s")
    print(HEADER)
    with tempfile.TemporaryDirectory(prefix="podium-bench-") as tmp:
        for hours in args.hours:
            started = time.perf_counter()
            path = make_long_input(hours, Path(tmp))
            print(f"# made {path.name} ({path.stat().st_size / MB:.0f} MB) in "
                  f"{time.perf_counter() - started:.1f} s", flush=True)
            for method in methods:
                print(row(hours, method, measure(path, method)), flush=True)
            path.unlink()


if __name__ == "__main__":
    main()
