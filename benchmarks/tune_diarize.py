"""Grid search of the diarizer's clustering/segmentation hyper-parameters on the shared data.

Procedure: for each segmentation step, segment and embed every shared `diar` file once (pyannote's
training cache keeps them), then re-cluster for every (threshold, min_cluster_size,
min_duration_off) of the grid and score DER over all files together (pyannote.metrics, inside the
UEM, no collar, overlap scored). Prints the best settings and the DER surface around them.

Five 30-second files (2.5 minutes, 2-4 speakers) is a tiny development set: the winner is a
sanity-checked default, not a measured optimum.

`--split` instead sweeps the similarity below which a speaker's two halves count as two people
(`podium.diarize.refine`), at the tuned defaults, on the five files pooled and on the ~10-minute
loop of `benchmarks/diarize.py` (8 reference speakers).

    .venv/bin/python benchmarks/tune_diarize.py [--steps 0.1,0.2] [--top 15] [--split]
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from pyannote.metrics.diarization import DiarizationErrorRate

from podium.diarize.pipeline import DiarizeOptions, Diarizer, split_settings
from podium.diarize.scoring import ReferenceFile, shared_diarization_files

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.40, 1.151, 0.05))
MIN_CLUSTER_SIZES = (1, 3, 6, 12)
MIN_DURATIONS_OFF = (0.0, 0.2, 0.5)
METHODS = ("centroid", "average")


def file_dict(reference: ReferenceFile) -> dict:
    samples, rate = sf.read(reference.audio, dtype="float32")
    assert rate == 16000 and samples.ndim == 1, f"{reference.audio}: expected 16 kHz mono"
    return {"waveform": torch.from_numpy(samples)[None], "sample_rate": rate, "uri": reference.id}


def grid_for_step(step: float, references: list[ReferenceFile]) -> list[tuple[float, dict, list[float]]]:
    diarizer = Diarizer(DiarizeOptions(segmentation_step=step, device="cpu"))
    pipeline = diarizer.pipeline
    pipeline.training = True  # cache segmentations and embeddings per file dict
    files = [file_dict(r) for r in references]
    results = []
    for method, threshold, min_cluster_size, min_duration_off in itertools.product(
            METHODS, THRESHOLDS, MIN_CLUSTER_SIZES, MIN_DURATIONS_OFF):
        pipeline.instantiate({
            "segmentation": {"min_duration_off": min_duration_off},
            "clustering": {"method": method, "threshold": float(threshold),
                           "min_cluster_size": min_cluster_size},
        })
        metric = DiarizationErrorRate(collar=0.0, skip_overlap=False)
        per_file = []
        for reference, file in zip(references, files, strict=True):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                output = pipeline(file)
            per_file.append(metric(reference.reference(), output.speaker_diarization,
                                   uem=reference.scored_region()))
        params = {"step": step, "method": method, "threshold": float(threshold),
                  "min_cluster_size": min_cluster_size, "min_duration_off": min_duration_off}
        results.append((abs(metric), params, per_file))
    return results


SPLIT_SIMILARITIES = (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6)


def split_sweep(references: list[ReferenceFile]) -> None:
    from diarize import build_long_file  # benchmarks/diarize.py, next to this script

    with tempfile.TemporaryDirectory() as tmp:
        long = build_long_file(references, Path(tmp))
        pipeline = Diarizer(DiarizeOptions(device="cpu")).pipeline
        pipeline.training = True  # segment and embed each file once
        files = [file_dict(r) for r in [*references, long]]
        print(f"{'similarity':>10} {'DER 5 files':>11} {'DER 10 min':>10} {'speakers 10 min':>15}")
        for similarity in (None, *SPLIT_SIMILARITIES):
            settings = None if similarity is None else replace(split_settings(), max_similarity=similarity)
            pipeline.split = settings
            pooled = DiarizationErrorRate(collar=0.0, skip_overlap=False)
            for reference, file in zip([*references, long], files, strict=True):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    output = pipeline(file).speaker_diarization
                if reference is long:
                    long_der = DiarizationErrorRate(collar=0.0, skip_overlap=False)(
                        long.reference(), output, uem=long.scored_region())
                    speakers = len(output.labels())
                else:
                    pooled(reference.reference(), output, uem=reference.scored_region())
            name = "no split" if similarity is None else f"{similarity:.2f}"
            print(f"{name:>10} {100 * abs(pooled):11.1f} {100 * long_der:10.1f} {speakers:>15}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default="0.1,0.2,0.3")
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    parser.add_argument("--split", action="store_true", help="sweep the speaker-splitting similarity instead")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    references = shared_diarization_files(DATA)
    if args.split:
        split_sweep(references)
        return
    results = []
    for step in (float(s) for s in args.steps.split(",")):
        started = time.perf_counter()
        results += grid_for_step(step, references)
        print(f"step {step}: grid done in {time.perf_counter() - started:.0f} s")
    results.sort(key=lambda r: (round(r[0], 4), -r[1]["step"], r[1]["min_duration_off"]))
    names = " ".join(f"{r.id.removeprefix('pyannote_'):>9}" for r in references)
    print(f"\n{'DER':>6} {'step':>5} {'method':>8} {'thr':>5} {'mcs':>4} {'off':>4}  {names}")
    for der, params, per_file in results[: args.top]:
        cells = " ".join(f"{100 * d:9.1f}" for d in per_file)
        print(f"{100 * der:6.1f} {params['step']:5.2f} {params['method']:>8} {params['threshold']:5.2f} "
              f"{params['min_cluster_size']:4d} {params['min_duration_off']:4.1f}  {cells}")
    print("\nDER (all files) by threshold, best over min_cluster_size and min_duration_off:")
    for step, method in sorted({(r[1]["step"], r[1]["method"]) for r in results}):
        row = []
        for threshold in THRESHOLDS:
            best = min(r[0] for r in results if (r[1]["step"], r[1]["method"], r[1]["threshold"])
                       == (step, method, threshold))
            row.append(f"{threshold:.2f}:{100 * best:.1f}")
        print(f"  step {step} {method}: " + " ".join(row))


if __name__ == "__main__":
    main()
