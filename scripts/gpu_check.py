"""Diarize the shared files on CPU and on CUDA; print speed and check CUDA agrees with CPU.

Run by scripts/gpu_check.sh on the GPU machine (no soundfile, no ffmpeg there: wavs are read with
scipy). The ~10-minute file is the five shared files concatenated four times.
"""

from __future__ import annotations

import sys
import time
import traceback
import warnings
from pathlib import Path

import numpy as np
import torch
from pyannote.core import Segment, Timeline
from pyannote.metrics.diarization import DiarizationErrorRate
from scipy.io import wavfile

from podium.diarize.pipeline import DiarizationResult, DiarizeOptions, Diarizer
from podium.diarize.scoring import as_annotation, load_rttm, load_uem, score

LOOPS = 4


def read_wav(path: Path) -> np.ndarray:
    rate, data = wavfile.read(path)
    assert rate == 16000 and data.ndim == 1, f"{path}: expected 16 kHz mono"
    if data.dtype == np.int16:
        return (data.astype(np.float32) / 32768.0)
    return data.astype(np.float32)


def load_files(folder: Path) -> list[tuple[str, np.ndarray]]:
    files = [(p.stem, read_wav(p)) for p in sorted(folder.glob("*.wav"))]
    long = np.concatenate([samples for _ in range(LOOPS) for _, samples in files])
    return [*files, ("long_10min", long)]


def run(device: str, files: list[tuple[str, np.ndarray]]) -> dict[str, tuple[DiarizationResult, float]]:
    diarizer = Diarizer(DiarizeOptions(device=device))
    diarizer.diarize(files[0][1])  # warm-up (kernel selection, cuDNN autotune)
    results = {}
    for name, samples in files:
        if device == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        result = diarizer.diarize(samples, uri=name)
        if device == "cuda":
            torch.cuda.synchronize()
        results[name] = (result, time.perf_counter() - started)
    return results


def agreement(cpu: DiarizationResult, cuda: DiarizationResult, duration: float) -> float:
    """DER of the CUDA output taking the CPU output as reference (0 = identical)."""
    region = Timeline([Segment(0, duration)])
    metric = DiarizationErrorRate(collar=0.0, skip_overlap=False)
    reference, hypothesis = as_annotation(cpu.overlapping_turns), as_annotation(cuda.overlapping_turns)
    return float(metric(reference, hypothesis, uem=region))


def main() -> int:
    folder = Path(sys.argv[1])
    warnings.simplefilter("ignore")
    files = load_files(folder)
    print(f"torch {torch.__version__}, cuda available: {torch.cuda.is_available()}, "
          f"CPU threads: {torch.get_num_threads()}")
    runs = {}
    for device in ("cpu", "cuda"):
        try:
            runs[device] = run(device, files)
        except Exception:
            print(f"--- {device} run failed:")
            traceback.print_exc()
    print(f"\n{'file':<26} {'sec':>6} {'DER% cpu':>9} {'DER% cuda':>10} {'xRT cpu':>8} {'xRT cuda':>9} "
          f"{'spk cpu/cuda':>12} {'cuda-vs-cpu DER%':>17}")
    failures = 0
    for name, samples in files:
        duration = len(samples) / 16000
        cells = {}
        for device, results in runs.items():
            result, seconds = results[name]
            rttm = folder / f"{name}.rttm"
            der = (score(load_rttm(rttm), result.overlapping_turns, load_uem(folder / f"{name}.uem")).der
                   if rttm.exists() else float("nan"))
            cells[device] = (der, duration / seconds, len(result.speakers))
        if len(cells) < 2:
            summary = " ".join(f"{d}: DER {c[0]:.3f} x{c[1]:.1f}" for d, c in cells.items())
            print(f"{name:<26} {duration:6.0f} {summary}")
            continue
        between = agreement(runs["cpu"][name][0], runs["cuda"][name][0], duration)
        same_count = cells["cpu"][2] == cells["cuda"][2]
        failures += int(between > 0.05 or not same_count)
        print(f"{name:<26} {duration:6.0f} {100 * cells['cpu'][0]:9.1f} {100 * cells['cuda'][0]:10.1f} "
              f"{cells['cpu'][1]:8.1f} {cells['cuda'][1]:9.1f} {cells['cpu'][2]:>5}/{cells['cuda'][2]:<6} "
              f"{100 * between:17.2f}")
    if len(runs) < 2:
        print("\nFAILED: a device run crashed (see above)")
        return 1
    print("\nOK: CUDA matches CPU" if failures == 0
          else f"\nMISMATCH on {failures} file(s) (DER > 5% or speaker count)")
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
