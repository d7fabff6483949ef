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
from scipy.io import wavfile

from podium.diarize.pipeline import DiarizationResult, DiarizeOptions, Diarizer
from podium.evaluate.api import EvaluateOptions, score_pair
from podium.evaluate.readers import read_reference, read_uem
from podium.evaluate.reference import Reference
from podium.transcript import SpeakerTurn

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


def der(reference: tuple[SpeakerTurn, ...], hypothesis: tuple[SpeakerTurn, ...],
        region: tuple[tuple[float, float], ...]) -> float:
    """DER by `podium evaluate` inside `region`: no collar, overlapped speech scored."""
    if not reference:  # nothing to miss: any hypothesis speech is all error
        return 1.0 if hypothesis else 0.0
    result = score_pair(Reference(turns=reference), Reference(turns=hypothesis), EvaluateOptions(),
                        uem=region, metrics=("der",))
    return result.metrics["der"].get("value", float("nan"))


def agreement(cpu: DiarizationResult, cuda: DiarizationResult, duration: float) -> float:
    """DER of the CUDA output taking the CPU output as reference (0 = identical)."""
    return der(tuple(cpu.overlapping_turns), tuple(cuda.overlapping_turns), ((0.0, duration),))


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
            measured = (der(read_reference(rttm, "rttm").turns, tuple(result.overlapping_turns),
                            read_uem(folder / f"{name}.uem")) if rttm.exists() else float("nan"))
            cells[device] = (measured, duration / seconds, len(result.speakers))
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
