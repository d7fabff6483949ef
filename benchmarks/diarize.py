"""Diarization benchmark: podium, podium's previous clustering, and senko, in one run.

On every shared `diar` recording (21) prints, per file and pooled per source: DER with no collar and
with a 0.25 s collar, DER inside reference turns shorter than 2 s, JER, the speaker count (exact and
off by one), and speed (x realtime = audio seconds / wall seconds, models loaded and warmed up). A
~10-minute file (the five original excerpts looped four times, references shifted to match) measures
speed on something longer. `--cv` adds the cross-validated tuning tables of `tune_diarize.py`.

    .venv/bin/python benchmarks/diarize.py [--threads N] [--no-senko] [--cv] [--enrollment-scores]

`--enrollment-scores` prints same-speaker / different-speaker cosine scores of whole-clip CAM++
embeddings on the shared speech (enrollment threshold calibration) instead.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from common import DiarFile, diarization_files, read_manifest
from podium.diarize.clustering import SpeakerClustering
from podium.diarize.pipeline import DiarizeOptions, Diarizer, split_settings
from podium.evaluate.metrics import as_annotation
from podium.media import load_audio
from podium.transcript import SpeakerTurn
from tune_diarize import POOLED_HEADER, PREVIOUS, Score, pooled, score, source

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
LOOPS = 4


def original_excerpts(references: list[DiarFile]) -> list[DiarFile]:
    """pyannote's sample and the four AMI excerpts: the five files podium was first tuned on."""
    return [r for r in references if r.id.startswith("pyannote_")]


def build_long_file(references: list[DiarFile], folder: Path) -> DiarFile:
    """Concatenate the files LOOPS times as a 16-bit wav (senko reads nothing else).

    Decoded by ffmpeg and joined here: ffmpeg's concat demuxer garbles inputs of mixed sample
    formats (the sample is int16, the AMI excerpts float32)."""
    order = references * LOOPS
    audio = folder / "long.wav"
    sf.write(audio, np.concatenate([r.samples() for r in order]), 16000, subtype="PCM_16")
    rttm_lines, offset = [], 0.0
    for reference in order:
        for segment, _, label in as_annotation(reference.turns()).itertracks(yield_label=True):
            rttm_lines.append(f"SPEAKER long 1 {offset + segment.start:.3f} {segment.duration:.3f} "
                              f"<NA> <NA> {label} <NA> <NA>\n")
        offset += len(reference.samples()) / 16000
    (folder / "long.rttm").write_text("".join(rttm_lines))
    (folder / "long.uem").write_text(f"long NA 0.000 {offset:.3f}\n")
    return DiarFile("long_10min", audio, folder / "long.rttm", folder / "long.uem")


def pcm16_copy(reference: DiarFile, folder: Path) -> Path:
    """senko reads 16-bit PCM wav files only; the shared recordings come as float32 wav and flac."""
    path = folder / f"{reference.id}.wav"
    if not path.exists():
        subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(reference.audio),
                        "-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le", str(path)], check=True)
    return path


def run_podium(diarizer: Diarizer, reference: DiarFile) -> tuple[Score, float]:
    samples = reference.samples()
    started = time.perf_counter()
    result = diarizer.diarize(samples, uri=reference.id)
    elapsed = time.perf_counter() - started
    return score(reference.turns(), list(result.overlapping_turns), reference.region()), elapsed


def run_senko(senko_diarizer: object, reference: DiarFile, folder: Path) -> tuple[Score, float]:
    path = pcm16_copy(reference, folder)
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        output = senko_diarizer.diarize(str(path))  # type: ignore[attr-defined]
    elapsed = time.perf_counter() - started
    segments = (output or {}).get("merged_segments", [])
    turns = [SpeakerTurn(s["start"], s["end"], str(s["speaker"])) for s in segments]
    return score(reference.turns(), turns, reference.region()), elapsed


def previous_diarizer() -> Diarizer:
    """The same models with podium 0.1.0's clustering, for a side-by-side row."""
    diarizer = Diarizer(DiarizeOptions(device="cpu"))
    diarizer.pipeline.clustering = SpeakerClustering(PREVIOUS.clustering)
    diarizer.pipeline.split = replace(split_settings(), min_margin=PREVIOUS.split_margin)
    diarizer.pipeline.short_share = PREVIOUS.short_share
    diarizer.pipeline.instantiate({"min_speaker_seconds": PREVIOUS.min_speaker_seconds,
                                   "noise_max_speech_share": PREVIOUS.noise_share,
                                   "resegmentation": {"enabled": False, "window": 1.0, "min_gain": 0.0}})
    return diarizer


Run = Callable[[DiarFile], tuple[Score, float]]


def print_tables(rows: list[tuple[str, str, Score, float, float]]) -> None:
    print(f"\n{'file':<36} {'system':<9} {'DER%':>6} {'c.25%':>6} {'short%':>6} {'JER%':>6} "
          f"{'spk ref/hyp':>11} {'x RT':>7}")
    for file_id, system, result, seconds, duration in rows:
        print(f"{file_id:<36} {system:<9} {100 * result.der:6.1f} {100 * result.der_collar:6.1f} "
              f"{100 * result.short_der:6.1f} "
              f"{100 * result.jer:6.1f} {result.reference_speakers:>5}/{result.hypothesis_speakers:<5} "
              f"{duration / seconds:7.1f}")
    print(f"\n{'pooled':<26} {'system':<9} {POOLED_HEADER}   x RT")
    systems = list(dict.fromkeys(row[1] for row in rows))
    scored = [row for row in rows if row[0] != "long_10min"]
    groups = ["all", *sorted({source(row[0]) for row in scored})]
    for group, system in itertools.product(groups, systems):
        chosen = [row for row in scored if row[1] == system and group in ("all", source(row[0]))]
        speed = sum(row[4] for row in chosen) / sum(row[3] for row in chosen)
        print(f"{group:<26} {system:<9} {pooled(row[2] for row in chosen).row()} {speed:6.1f}")


def benchmark(args: argparse.Namespace) -> None:
    references = diarization_files(DATA)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = [*references, build_long_file(original_excerpts(references), folder)]
        podium = Diarizer(DiarizeOptions(device="cpu"))
        podium.diarize(references[0].samples())  # warm-up: first-call kernel setup
        systems: dict[str, Run] = {"podium": lambda r: run_podium(podium, r)}
        if args.previous:
            previous = previous_diarizer()
            systems["previous"] = lambda r: run_podium(previous, r)
        if args.senko:
            import senko

            with contextlib.redirect_stdout(io.StringIO()):
                senko_diarizer = senko.Diarizer(device="cpu", warmup=True, quiet=True)
            if args.threads:
                torch.set_num_threads(args.threads)  # senko resets it to the core count
            systems["senko"] = lambda r: run_senko(senko_diarizer, r, folder)
        rows = []
        for reference in files:
            duration = len(reference.samples()) / 16000
            for name, run in systems.items():
                result, seconds = run(reference)
                rows.append((reference.id, name, result, seconds, duration))
        print_tables(rows)
        print(f"\ntorch threads: {torch.get_num_threads()}")


def enrollment_scores() -> None:
    """Cosine scores between whole-clip embeddings, grouped same / different speaker."""
    diarizer = Diarizer(DiarizeOptions(device="cpu"))
    clips: list[tuple[str, np.ndarray]] = []
    for entry in read_manifest(DATA / "manifest.jsonl", ("asr",)):
        if entry["duration_s"] >= 1.5:
            embedding = diarizer.embed(load_audio(DATA / entry["audio"]).samples)
            clips.append((entry.get("speaker") or entry["id"], embedding))
    for reference in diarization_files(DATA):
        samples = reference.samples()
        annotation = as_annotation(reference.turns())
        for label in annotation.labels():
            # the speaker's speech with nobody else talking, as one clip
            alone = annotation.label_timeline(label).extrude(
                annotation.subset([x for x in annotation.labels() if x != label]).get_timeline())
            pieces = [samples[int(s.start * 16000):int(s.end * 16000)] for s in alone]
            if sum(len(p) for p in pieces) >= 16000 * 1.5:
                clips.append((f"{reference.id}:{label}", diarizer.embed(np.concatenate(pieces))))
    same, different = [], []
    for (a, x), (b, y) in itertools.combinations(clips, 2):
        speaker_a, speaker_b = a.split(":")[-1], b.split(":")[-1]
        (same if speaker_a == speaker_b else different).append(float(x @ y))
    for name, values in (("same speaker", same), ("different speakers", different)):
        values = np.array(values)
        print(f"{name:>18}: n={len(values):4d} min {values.min():.3f} p5 {np.percentile(values, 5):.3f} "
              f"median {np.median(values):.3f} p95 {np.percentile(values, 95):.3f} max {values.max():.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=0, help="torch threads for both systems (0 = default)")
    parser.add_argument("--no-senko", dest="senko", action="store_false")
    parser.add_argument("--no-previous", dest="previous", action="store_false",
                        help="skip the row with podium 0.1.0's clustering")
    parser.add_argument("--cv", action="store_true", help="also print the cross-validated tuning tables")
    parser.add_argument("--enrollment-scores", action="store_true")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.enrollment_scores:
        enrollment_scores()
        return
    benchmark(args)
    if args.cv:
        import tune_diarize

        tune_diarize.run(argparse.Namespace(methods="ahc,spectral,vbx", cache=None, oracle=True, stitched=8))


if __name__ == "__main__":
    main()
