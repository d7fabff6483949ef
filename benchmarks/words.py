"""Who said each word: podium's word-level speaker attribution on the 12 HarperValleyBank calls.

For each `hvb_*` recording of ../shared/data/manifest.jsonl, runs podium's own pipeline stage by
stage (`Podium.decode`, `transcribe`, `diarize`, `align`) and scores the transcript with
`podium.evaluate` (`score_pair` on the in-memory transcript, then `pool`, errors summed over files)
against the call's STM (human transcript, one line per reference segment, speaker from its own
channel) with the RTTM turns and UEM for DER. Prints per file and pooled: WER, cpWER, WDER, WDER
over the words of reference segments shorter than --short-turn-s (with how many words that is),
DER with no collar and with a 0.25 s collar (the segment times are machine-made), speaker counts
and diarization seconds.

The ASR result of each file is cached (pickle per file, model and ASR/media options) under --cache,
so a rerun only redoes diarization and word-speaker alignment: run once, change the diarization,
run again, and compare:

    .venv/bin/python benchmarks/words.py --label before --json /tmp/words_before.json
    .venv/bin/python benchmarks/words.py --label after --json /tmp/words_after.json
    .venv/bin/python benchmarks/words.py --compare /tmp/words_before.json /tmp/words_after.json

Twelve calls of two speakers (about 14 minutes, 18 people) are a development set: differences of a
few words say little; read the per-file rows before concluding anything.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import subprocess
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from common import SHARED_DATA, load_average, machine, read_manifest

DER_COLLAR_S = 0.25  # the data README: hvb segment times are machine-made, score with a collar too
COLUMNS = ("wer", "cpwer", "wder", "wder_short", "der", "der_collar")
DEFAULT_CACHE = Path(tempfile.gettempdir()) / "podium-words-asr-cache"


# --- running podium -----------------------------------------------------------------------------

def asr_cache_path(cache: Path, item_id: str, options: Any) -> Path:
    """One pickle per file and ASR-shaping options (media + asr), so a changed option misses."""
    from podium.options import as_dict

    shape = json.dumps({"media": as_dict(options.media), "asr": as_dict(options.asr)}, sort_keys=True)
    digest = hashlib.sha1(shape.encode()).hexdigest()[:12]
    return cache / f"{item_id}.{options.asr.model}.{digest}.pkl"


def recognize_cached(engine: Any, audio: Any, path: Path) -> tuple[Any, bool]:
    """The AsrResult from the cache, or recognised now and stored; and whether it was a cache hit."""
    if path.is_file():
        with path.open("rb") as handle:
            return pickle.load(handle), True
    result = engine.transcribe(audio)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    with partial.open("wb") as handle:
        pickle.dump(result, handle)
    partial.replace(path)
    return result, False


def run_file(engine: Any, item: dict[str, Any], cache: Path, short_turn_s: float) -> dict[str, Any]:
    """Transcribe one call with podium (ASR from the cache when there) and score it."""
    from podium.evaluate.api import EvaluateOptions, reference_from_transcript, score_pair
    from podium.evaluate.readers import read_reference, read_uem

    audio = engine.decode(SHARED_DATA / item["audio"])
    started = time.perf_counter()
    asr, cached = recognize_cached(engine, audio, asr_cache_path(cache, item["id"], engine.options))
    asr_s = time.perf_counter() - started
    started = time.perf_counter()
    diarization = engine.diarize(audio)
    diarize_s = time.perf_counter() - started
    transcript = engine.align(audio, asr, diarization)
    hypothesis = reference_from_transcript(transcript)

    # Text and speakers from the STM, turns for DER from the RTTM (the same segments, as the
    # diarization benchmarks score them), inside the UEM.
    reference = read_reference(SHARED_DATA / item["stm"], "stm")
    reference = replace(reference, turns=read_reference(SHARED_DATA / item["rttm"], "rttm").turns)
    uem = read_uem(SHARED_DATA / item["uem"])
    result = score_pair(reference, hypothesis, EvaluateOptions(short_turn_s=short_turn_s), uem=uem,
                        pair_id=item["id"])
    collared = score_pair(reference, hypothesis, EvaluateOptions(collar=DER_COLLAR_S), uem=uem,
                          pair_id=item["id"], metrics=("der",))
    hyp_speakers = {w.speaker for s in transcript.segments for w in s.words if w.speaker}
    return {"id": item["id"], "duration_s": audio.duration, "asr_cached": cached, "asr_s": asr_s,
            "diarize_s": diarize_s, "ref_speakers": len(reference.speakers),
            "hyp_speakers": len(hyp_speakers), "result": result, "der_collar": collared.metrics["der"]}


def source_state() -> dict[str, Any]:
    """Which podium ran: its path, the commit of the tree it lives in, and files changed there."""
    import podium

    src = Path(podium.__file__).resolve().parent
    state: dict[str, Any] = {"podium": str(src)}
    try:
        git = ["git", "-C", str(src)]
        state["commit"] = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True,
                                         text=True, check=True).stdout.strip()
        changed = subprocess.run([*git, "status", "--porcelain", "--", "."], capture_output=True,
                                 text=True, check=True).stdout.splitlines()
        state["changed"] = [line[3:] for line in changed]
    except (OSError, subprocess.CalledProcessError):
        pass
    return state


def run(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from podium.asr import AsrOptions
    from podium.diarize import DiarizeOptions
    from podium.evaluate.api import PairResult, pool
    from podium.pipeline import Podium, TranscribeOptions

    torch.set_num_threads(args.threads)
    asr = AsrOptions(model=args.model, device="cpu", threads=args.threads)
    if args.batch_size is not None:
        asr = replace(asr, batch_size=args.batch_size)
    options = TranscribeOptions(asr=asr,
                                diarize=DiarizeOptions(device="cpu"))
    engine = Podium(options)  # models load on first use: Whisper only on a cache miss
    items = [i for i in read_manifest(SHARED_DATA / "manifest.jsonl", ("diar",))
             if i["id"].startswith("hvb_") and "stm" in i]
    if args.ids:
        items = [i for i in items if i["id"] in args.ids.split(",")]
    started = time.perf_counter()
    files = []
    for item in items:
        done = run_file(engine, item, Path(args.cache), args.short_turn_s)
        files.append(done)
        asr = "cached" if done["asr_cached"] else f"{done['asr_s']:.1f} s"
        print(f"  {item['id']}: asr {asr}, diarize {done['diarize_s']:.1f} s", flush=True)
    results = [f["result"] for f in files]
    pooled = pool(results)
    der_collar = pool([PairResult(f["id"], {"der": f["der_collar"]}) for f in files])["der"]
    rows = [_row(f["id"], f["result"].metrics, f["der_collar"], f) for f in files]
    return {
        "label": args.label, "model": args.model, "short_turn_s": args.short_turn_s,
        "der_collar_s": DER_COLLAR_S, "threads": args.threads, **source_state(),
        "wall_s": time.perf_counter() - started,
        "audio_s": sum(f["duration_s"] for f in files),
        "diarize_s": sum(f["diarize_s"] for f in files),
        "files": rows,
        "pooled": _row("pooled", pooled, der_collar, {
            "duration_s": sum(f["duration_s"] for f in files),
            "ref_speakers": None, "hyp_speakers": None,
            "diarize_s": sum(f["diarize_s"] for f in files)}),
    }


def _row(name: str, metrics: dict[str, dict[str, Any]], der_collar: dict[str, Any],
         extra: dict[str, Any]) -> dict[str, Any]:
    """The numbers one table row shows, as plain JSON."""
    short = metrics.get("wder_short", {})
    return {
        "id": name,
        "wer": metrics["wer"].get("value"), "cpwer": metrics["cpwer"].get("value"),
        "wder": metrics["wder"].get("value"), "wder_words": metrics["wder"].get("scored_words"),
        "wder_short": short.get("value"), "wder_short_words": short.get("scored_words"),
        "wder_short_errors": short.get("speaker_errors"),
        "wder_errors": metrics["wder"].get("speaker_errors"),
        "der": metrics["der"].get("value"), "der_collar": der_collar.get("value"),
        "duration_s": extra["duration_s"], "ref_speakers": extra["ref_speakers"],
        "hyp_speakers": extra["hyp_speakers"], "diarize_s": extra["diarize_s"],
    }


# --- the table ----------------------------------------------------------------------------------

def pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


HEADER = ("| file | audio s | WER | cpWER | WDER (errors/words) | WDER short turns (errors/words) "
          "| DER | DER c0.25 | speakers ref/hyp | diarize s |")
RULE = "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"


def table_line(row: dict[str, Any], label: str | None = None) -> str:
    speakers = "-" if row["ref_speakers"] is None else f"{row['ref_speakers']}/{row['hyp_speakers']}"
    wder = f"{pct(row['wder'])} ({row['wder_errors']}/{row['wder_words']})"
    short = f"{pct(row['wder_short'])} ({row['wder_short_errors']}/{row['wder_short_words']})"
    return (f"| {label or row['id']} | {row['duration_s']:.0f} | {pct(row['wer'])} | {pct(row['cpwer'])} "
            f"| {wder} | {short} | {pct(row['der'])} | {pct(row['der_collar'])} | {speakers} "
            f"| {row['diarize_s']:.1f} |")


def print_report(report: dict[str, Any]) -> None:
    print(f"\n{report.get('label') or 'run'}: model {report['model']}, podium from {report['podium']} "
          f"(commit {report.get('commit', '?')}, changed: {', '.join(report.get('changed', [])) or 'none'})")
    print(f"WDER short turns: words of reference STM segments under {report['short_turn_s']:g} s; "
          "pooled = errors summed over files")
    print(f"\n{HEADER}\n{RULE}")
    for row in report["files"]:
        print(table_line(row))
    print(table_line(report["pooled"], f"**pooled ({len(report['files'])})**"))
    print(f"\n{report['audio_s']:.0f} s of audio; diarization {report['diarize_s']:.1f} s; "
          f"whole run {report['wall_s']:.1f} s")


def compare(paths: list[str]) -> None:
    """Pooled rows of each saved run, then WDER, short-turn WDER and DER per file, side by side."""
    reports = [json.loads(Path(p).read_text(encoding="utf-8")) for p in paths]
    print(f"\n{HEADER}\n{RULE}")
    for path, report in zip(paths, reports, strict=True):
        print(table_line(report["pooled"], f"{report.get('label') or Path(path).stem} (pooled)"))
    labels = [r.get("label") or Path(p).stem for p, r in zip(paths, reports, strict=True)]
    print("\n| file | " + " | ".join(f"{metric} {label}" for metric in ("WDER", "WDER short", "DER")
                                     for label in labels) + " |")
    print("| --- |" + " ---: |" * (3 * len(labels)))
    by_id = [{row["id"]: row for row in r["files"]} for r in reports]
    for file_id in dict.fromkeys(row_id for rows in by_id for row_id in rows):
        cells = []
        for key in ("wder", "wder_short", "der"):
            cells += [pct(rows[file_id][key]) if file_id in rows else "-" for rows in by_id]
        print(f"| {file_id} | " + " | ".join(cells) + " |")
    for path, report in zip(paths, reports, strict=True):
        print(f"{report.get('label') or path}: commit {report.get('commit', '?')}, "
              f"changed: {', '.join(report.get('changed', [])) or 'none'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny.en", help="Whisper model (default: tiny.en)")
    parser.add_argument("--batch-size", type=int, default=None, metavar="N",
                        help="Whisper batch size (0 = sequential; default: podium's)")
    parser.add_argument("--cache", default=str(DEFAULT_CACHE), metavar="DIR",
                        help=f"folder of cached ASR results (default: {DEFAULT_CACHE})")
    parser.add_argument("--short-turn-s", type=float, default=None, metavar="SECONDS",
                        help="limit of a short reference segment (default: podium.evaluate's, 2 s)")
    parser.add_argument("--threads", type=int, default=max(1, (os.cpu_count() or 2) // 2),
                        help="torch and Whisper CPU threads (default: half the cores)")
    parser.add_argument("--ids", help="comma-separated hvb ids to run (default: all 12)")
    parser.add_argument("--label", help="name of this run in the table and its JSON")
    parser.add_argument("--json", metavar="OUT", help="also write the rows to this JSON file")
    parser.add_argument("--compare", nargs="+", metavar="RUN.json",
                        help="print saved runs (from --json) side by side instead of running")
    args = parser.parse_args()
    if args.compare:
        compare(args.compare)
        return
    if args.short_turn_s is None:
        from podium.evaluate.metrics import SHORT_TURN_S

        args.short_turn_s = SHORT_TURN_S
    print(f"machine: {machine()}")
    report = run(args)
    print_report(report)
    print(f"load average at end: {load_average()}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
