"""`podium bench`: podium under several configurations over recordings with references, one row each.

Each configuration runs in its own child process, so its peak RSS is its own and models of one
configuration do not linger in the next.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import os
import platform
import resource
import sys
import time
import typing
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from podium.errors import PodiumError
from podium.evaluate.api import (
    MANIFEST_REFERENCES,
    EvaluateOptions,
    PairResult,
    pool,
    reference_from_manifest_item,
    reference_from_transcript,
    score_pair,
)
from podium.evaluate.readers import read_reference
from podium.files import atomic_write_text
from podium.options import base_type
from podium.pipeline import TranscribeOptions

METRICS = ("wer", "der", "cpwer", "wder")


@dataclass(frozen=True)
class BenchRow:
    config: str
    files: int
    audio_seconds: float
    wall_seconds: float
    peak_rss_mb: float
    metrics: dict[str, dict[str, Any]]

    @property
    def realtime(self) -> float:
        return self.audio_seconds / self.wall_seconds if self.wall_seconds else 0.0


def parse_config(text: str, base: TranscribeOptions) -> TranscribeOptions:
    """`model=base,batch_size=8,diarize=false` -> options; each key names a field of one stage."""
    options = base
    for pair in filter(None, (p.strip() for p in text.split(","))):
        key, _, raw = pair.partition("=")
        stage = next((s.name for s in dataclasses.fields(options)
                      if key in {f.name for f in dataclasses.fields(getattr(options, s.name))}), None)
        if stage is None or not raw:
            raise PodiumError(f"--config {text!r}: {pair!r} is not KEY=VALUE with a `podium transcribe` "
                              "option name as KEY (e.g. model=tiny.en, batch_size=8, diarize=false)")
        stage_options = getattr(options, stage)
        kind = base_type(typing.get_type_hints(type(stage_options))[key])
        options = replace(options, **{stage: replace(stage_options, **{key: _convert(raw, kind, key)})})
    return options


def _convert(raw: str, kind: type, key: str) -> Any:
    if kind is bool:
        if raw.lower() not in ("true", "false", "1", "0", "yes", "no"):
            raise PodiumError(f"--config: {key} takes true or false, not {raw!r}")
        return raw.lower() in ("true", "1", "yes")
    if kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            raise PodiumError(f"--config: {key} takes a number, not {raw!r}") from None
    if kind is tuple:
        return tuple(part for part in raw.split("+") if part)
    return raw


def read_manifest(path: Path, ids: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Manifest lines (the format of ../shared/data/manifest.jsonl); paths relative to its folder."""
    if not path.is_file():
        raise PodiumError(f"no such manifest: {path}")
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as err:
            raise PodiumError(f"{path}:{number}: expected one JSON object per line ({err.msg})") from None
        if not isinstance(item, dict) or "audio" not in item:
            raise PodiumError(f"{path}:{number}: expected an object with an \"audio\" path")
        if not any(isinstance(item.get(key), str) for key in ("ref", *MANIFEST_REFERENCES)):
            # Found now, not in the child after the item is transcribed.
            raise PodiumError(f"{path}:{number}: no reference to score against: give \"transcript\" "
                              "(the text), \"rttm\" (speaker turns) or \"ref\" (a reference file)")
        if not ids or item.get("id") in ids:
            items.append(item)
    if not items:
        raise PodiumError(f"{path}: no recordings to benchmark" + (" with those --id values" if ids else ""))
    return items


def reference_for(item: dict[str, Any], root: Path):
    """A manifest item's reference: a `ref` file (any evaluate format, plus `rttm` turns) or asr/diar."""
    if "ref" not in item:
        return reference_from_manifest_item(item, root)
    reference = read_reference(root / item["ref"])
    if item.get("rttm"):
        reference = replace(reference, turns=read_reference(root / item["rttm"], "rttm").turns)
    return reference, None


def run_config(options: TranscribeOptions, items: list[dict[str, Any]], root: str,
               evaluate: EvaluateOptions) -> tuple[float, float, float, list[PairResult]]:
    """Runs in the child: transcribe and score every item; returns audio s, wall s, peak RSS MB, results."""
    from podium.pipeline import Podium

    engine = Podium(options)
    results, audio_seconds = [], 0.0
    started = time.perf_counter()
    for item in items:
        transcript = engine.transcribe(Path(root) / item["audio"])
        audio_seconds += transcript.duration
        reference, uem = reference_for(item, Path(root))
        result = score_pair(reference, reference_from_transcript(transcript), evaluate, uem=uem,
                            pair_id=item.get("id", item["audio"]))
        results.append(replace(result, alignment=()))  # the alignment is for HTML pages, not tables
    wall = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return audio_seconds, wall, peak_mb, results


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.node()}: {cpu}, {os.cpu_count()} cores, {platform.system()}"


def bench(manifest: Path, configs: list[str], base: TranscribeOptions, evaluate: EvaluateOptions,
          ids: tuple[str, ...] = ()) -> list[BenchRow]:
    items = read_manifest(manifest, ids)
    parsed = [(text, parse_config(text, base)) for text in configs]  # refuse bad configs before any run
    rows = []
    context = multiprocessing.get_context("spawn")
    for text, options in parsed:
        with context.Pool(1) as worker:
            audio, wall, peak, results = worker.apply(run_config, (options, items, str(manifest.parent),
                                                                   evaluate))
        rows.append(BenchRow(text, len(items), audio, wall, peak, pool(results)))
    return rows


def print_rows(rows: list[BenchRow], where: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"podium bench on {where}")
    for column in ("config", "files", "audio", "WER", "DER", "cpWER", "WDER", "x realtime", "peak RSS"):
        table.add_column(column, justify="left" if column == "config" else "right")
    for row in rows:
        table.add_row(row.config, str(row.files), f"{row.audio_seconds:.0f} s",
                      *(_percent(row.metrics.get(key, {})) for key in METRICS),
                      f"{row.realtime:.1f}x", f"{row.peak_rss_mb:.0f} MB")
    # A table piped to a file would otherwise be cut to 80 columns.
    Console(width=None if sys.stdout.isatty() else 160).print(table)


def _percent(metric: dict[str, Any]) -> str:
    value = metric.get("value")
    return "-" if value is None else f"{100 * value:.1f}%"


def add_parser(sub: argparse._SubParsersAction) -> None:
    from podium.cli import add_transcribe_arguments
    from podium.options import add_arguments

    parser = sub.add_parser("bench", help="benchmark configurations over recordings with references",
                            description="Run podium with one or more configurations over a manifest "
                            "of recordings with references; print WER, DER, cpWER, WDER, speed and "
                            "memory per configuration.")
    parser.add_argument("manifest", type=Path, metavar="MANIFEST.jsonl",
                        help="one JSON object per line: audio plus transcript (asr), rttm/uem (diar), "
                        "or ref (a reference file in any `podium evaluate` format, with optional rttm)")
    parser.add_argument("--config", action="append", default=[], metavar="KEY=VALUE[,...]",
                        help="a configuration of `podium transcribe` options to run (repeatable), "
                        "e.g. model=tiny.en or model=base,batch_size=8 (list values join items with "
                        "+, e.g. speaker_names=Host+Guest); default: podium's defaults")
    parser.add_argument("--id", action="append", default=[], dest="ids", metavar="ID",
                        help="only the manifest items with this id (repeatable)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the rows as JSON")
    add_transcribe_arguments(parser, with_output=False)
    add_arguments(parser.add_argument_group("scoring"), EvaluateOptions)
    parser.set_defaults(handler=run_bench)


def run_bench(args: argparse.Namespace) -> int:
    from podium.cli import transcribe_options_from
    from podium.options import from_args

    base = transcribe_options_from(args)
    evaluate = from_args(EvaluateOptions, args)
    rows = bench(args.manifest, args.config or [""], base, evaluate, tuple(args.ids))
    where = machine()
    print_rows(rows, where)
    if args.json:
        payload = {"machine": where, "manifest": str(args.manifest),
                   "rows": [{**dataclasses.asdict(r), "realtime": r.realtime} for r in rows]}
        atomic_write_text(args.json, json.dumps(payload, indent=2))
    return 0
