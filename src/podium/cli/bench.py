"""`podium bench`: run configurations of `podium transcribe` over a manifest with references; print
WER, DER, cpWER, WDER, speed and memory per configuration."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from podium.cli.common import add_transcribe_arguments, options_from, transcribe_options_from
from podium.evaluate.api import EvaluateOptions
from podium.evaluate.bench import BenchRow, bench, machine
from podium.evaluate.registry import bench_cell, bench_metrics
from podium.files import atomic_write_text
from podium.options import add_arguments, option


@dataclass(frozen=True)
class BenchOptions:
    config: tuple[str, ...] = option(
        (), "a configuration of `podium transcribe` options to run (repeatable): STAGE.FIELD=VALUE pairs "
        "joined by commas, e.g. asr.model=tiny.en or asr.model=base,asr.batch_size=8 (a bare FIELD works "
        "when one stage has it; list values join items with +, e.g. speakers.speaker_names=Host+Guest); "
        "default: podium's defaults", metavar="KEY=VALUE[,...]", repeat=True)
    id: tuple[str, ...] = option((), "only the manifest items with this id (repeatable)", metavar="ID",
                                 repeat=True)
    json: str | None = option(None, "also write the rows as JSON", metavar="FILE")


def add_parser(sub: Any) -> None:
    parser = sub.add_parser("bench", help="benchmark configurations over recordings with references",
                            description="Run podium with one or more configurations over a manifest "
                            "of recordings with references; print WER, DER, cpWER, WDER, speed and "
                            "memory per configuration.")
    parser.add_argument("manifest", type=Path, metavar="MANIFEST.jsonl",
                        help="one JSON object per line: audio plus transcript (asr), rttm/uem (diar), "
                        "or ref (a reference file in any `podium evaluate` format, with optional rttm)")
    add_arguments(parser.add_argument_group("bench"), BenchOptions, "bench")
    add_transcribe_arguments(parser, with_output=False)
    # The hypothesis is podium's own transcript, in memory: there is no hypothesis file to read.
    add_arguments(parser.add_argument_group("scoring"), EvaluateOptions, "scoring", skip=("hyp_format",))
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    base = transcribe_options_from(args)
    evaluate = options_from(EvaluateOptions, args, "scoring")
    settings = options_from(BenchOptions, args, "bench")
    rows = bench(args.manifest, list(settings.config) or [""], base, evaluate, settings.id)
    where = machine()
    print_rows(rows, where)
    if settings.json:
        payload = {"machine": where, "manifest": str(args.manifest),
                   "rows": [{**dataclasses.asdict(r), "realtime": r.realtime} for r in rows]}
        atomic_write_text(Path(settings.json), json.dumps(payload, indent=2))
    return 0


def print_rows(rows: list[BenchRow], where: str) -> None:
    from rich.console import Console
    from rich.table import Table

    metrics = bench_metrics()  # the registry's metrics marked for bench, in their bench order
    table = Table(title=f"podium bench on {where}")
    for column in ("config", "files", "audio", *(m.label for m in metrics), "x realtime", "peak RSS"):
        table.add_column(column, justify="left" if column == "config" else "right")
    for row in rows:
        table.add_row(row.config, str(row.files), f"{row.audio_seconds:.0f} s",
                      *(bench_cell(m, row.metrics.get(m.key, {})) for m in metrics),
                      f"{row.realtime:.1f}x", f"{row.peak_rss_mb:.0f} MB")
    # A table piped to a file would otherwise be cut to 80 columns.
    Console(width=None if sys.stdout.isatty() else 160).print(table)
