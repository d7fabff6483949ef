"""Benchmarking: podium under several configurations over recordings with references, one row each
(the `podium bench` command is `podium.cli.bench`).

Each configuration runs in its own child process, so its peak RSS is its own and models of one
configuration do not linger in the next.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import platform
import resource
import time
import typing
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from podium.errors import OptionError, PodiumError
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
from podium.manifest import read_items
from podium.options import base_type
from podium.pipeline import TranscribeOptions


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
    """`asr.model=base,asr.batch_size=8,diarize.diarize=false` -> options. A key is STAGE.FIELD (a
    stage of TranscribeOptions and one of its fields); a bare FIELD is accepted when one stage has it."""
    options = base
    for pair in filter(None, (p.strip() for p in text.split(","))):
        key, _, raw = pair.partition("=")
        stage, field = _stage_field(text, pair, key, options)
        if not raw:
            raise OptionError(f"--config {text!r}: {pair!r} has no value (KEY=VALUE)")
        stage_options = getattr(options, stage)
        kind = base_type(typing.get_type_hints(type(stage_options))[field])
        value = _convert(raw, kind, key)
        try:
            options = replace(options, **{stage: replace(stage_options, **{field: value})})
        except ValueError as err:
            raise OptionError(f"--config {text!r}: {err}") from None
    return options


def _stage_field(text: str, pair: str, key: str, options: TranscribeOptions) -> tuple[str, str]:
    fields = {s.name: {f.name for f in dataclasses.fields(getattr(options, s.name))}
              for s in dataclasses.fields(options)}
    stage, _, field = key.rpartition(".")
    candidates = [stage] if stage else [name for name, names in fields.items() if field in names]
    if len(candidates) == 1 and field in fields.get(candidates[0], ()):
        return candidates[0], field
    if len(candidates) > 1:
        raise OptionError(f"--config {text!r}: {key!r} is an option of several stages; write "
                          + " or ".join(f"{c}.{field}" for c in candidates))
    raise OptionError(f"--config {text!r}: {pair!r} is not KEY=VALUE with a `podium transcribe` option as "
                      "KEY, written STAGE.FIELD (stages: " + ", ".join(fields) + "), e.g. asr.model=tiny.en, "
                      "asr.batch_size=8, diarize.diarize=false")


def _convert(raw: str, kind: type, key: str) -> Any:
    if kind is bool:
        if raw.lower() not in ("true", "false", "1", "0", "yes", "no"):
            raise OptionError(f"--config: {key} takes true or false, not {raw!r}")
        return raw.lower() in ("true", "1", "yes")
    if kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            raise OptionError(f"--config: {key} takes a number, not {raw!r}") from None
    if kind is tuple:
        return tuple(part for part in raw.split("+") if part)
    return raw


def read_manifest(path: Path, ids: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Manifest lines (the format of ../shared/data/manifest.jsonl); paths relative to its folder."""
    if not path.is_file():
        raise PodiumError(f"no such manifest: {path}")
    items = []
    for item in read_items(path):
        if "audio" not in item.fields:
            raise item.error('expected an object with an "audio" path')
        if not any(isinstance(item.fields.get(key), str) for key in ("ref", *MANIFEST_REFERENCES)):
            # Found now, not in the child after the item is transcribed.
            raise item.error('no reference to score against: give "transcript" (the text), "rttm" '
                             '(speaker turns) or "ref" (a reference file)')
        if not ids or item.fields.get("id") in ids:
            items.append(item.fields)
    if not items:
        raise PodiumError(f"{path}: no recordings to benchmark" + (" with those --id values" if ids else ""))
    return items


def reference_for(item: dict[str, Any], root: Path, ref_format: str | None = None):
    """A manifest item's reference: a `ref` file (any evaluate format, or `ref_format`, plus `rttm`
    turns) or asr/diar."""
    if "ref" not in item:
        return reference_from_manifest_item(item, root)
    reference = read_reference(root / item["ref"], ref_format)
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
        transcript = engine.run(Path(root) / item["audio"]).transcript
        assert transcript is not None  # run's default stages end with align
        audio_seconds += transcript.duration
        reference, uem = reference_for(item, Path(root), evaluate.ref_format)
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
