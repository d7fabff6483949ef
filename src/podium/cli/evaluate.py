"""`podium evaluate`: score hypothesis transcripts against references and report the results.

    podium evaluate --ref a.stm --hyp a.json [--ref b.srt --hyp b.txt] [--uem a.uem] [--html page.html]
    podium evaluate --manifest pairs.jsonl --report out/

Exit status 0 whatever the scores; 2 with a one-line message when an input cannot be read.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from podium.cli.common import OneLineErrorParser, options_from, run_handler
from podium.errors import PodiumError
from podium.evaluate.api import EvaluateOptions, evaluate_pair, pool
from podium.evaluate.html import render_html
from podium.evaluate.readers import fail
from podium.evaluate.report import print_table, report_json, report_markdown
from podium.files import atomic_write_text
from podium.manifest import ManifestItem, read_items
from podium.options import add_arguments, option

DESCRIPTION = ("Score transcripts against hand-corrected references: WER/CER, cpWER and WDER, DER/JER, "
               "proper-noun recall and word timing, pooled over all pairs.")


@dataclass(frozen=True)
class PairSpec:
    id: str
    ref: Path
    hyp: Path
    uem: Path | None = None


@dataclass(frozen=True)
class PairOptions:
    """What to score: pairs in order, or a manifest."""

    ref: tuple[str, ...] = option((), "reference file", metavar="FILE", repeat=True)
    hyp: tuple[str, ...] = option((), "hypothesis file, paired with the --ref in the same position",
                                  metavar="FILE", repeat=True)
    uem: tuple[str, ...] = option((), "UEM file with the region DER/JER score: once for every pair, or "
                                  "once per pair", metavar="FILE", repeat=True)
    manifest: str | None = option(None, 'one JSON object per line: {"ref": ..., "hyp": ..., "uem": ..., '
                                  '"id": ...}; paths relative to the manifest', metavar="FILE.jsonl")


@dataclass(frozen=True)
class ReportOptions:
    report: str | None = option(None, "write report.json and report.md here", metavar="DIR")
    html: str | None = option(None, "write a self-contained HTML page here", metavar="FILE")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add `evaluate` to the `podium` command's subparsers."""
    parser = subparsers.add_parser("evaluate", help="score transcripts against references",
                                   description=DESCRIPTION)
    add_evaluate_arguments(parser)
    parser.set_defaults(handler=run)
    return parser


def add_evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    add_arguments(parser.add_argument_group("what to score (pairs in order, or a manifest)"), PairOptions,
                  "pairs")
    add_arguments(parser.add_argument_group("outputs"), ReportOptions, "report")
    add_arguments(parser.add_argument_group("scoring"), EvaluateOptions, "scoring")


def run(args: argparse.Namespace) -> int:
    options = options_from(EvaluateOptions, args, "scoring")
    pairs = options_from(PairOptions, args, "pairs")
    reports = options_from(ReportOptions, args, "report")
    specs = read_manifest(Path(pairs.manifest)) if pairs.manifest else pairs_from_options(pairs)
    results = [evaluate_pair(s.ref, s.hyp, options, uem_path=s.uem, pair_id=s.id) for s in specs]
    overall = pool(results)
    # Everything is rendered before anything is written, so a failure leaves no partial report.
    outputs: dict[Path, str] = {}
    if reports.report:
        outputs[Path(reports.report) / "report.json"] = report_json(results, overall, options)
        outputs[Path(reports.report) / "report.md"] = report_markdown(results, overall, options)
    if reports.html:
        outputs[Path(reports.html)] = render_html(results, overall, options)
    for path, text in outputs.items():
        try:
            atomic_write_text(path, text)
        except OSError as error:
            raise PodiumError(f"{path}: cannot write ({error.strerror or error})") from None
    print_table(results, overall, options)
    for path in outputs:
        print(f"wrote {path}")
    return 0


def pairs_from_options(pairs: PairOptions) -> list[PairSpec]:
    refs, hyps, uems = list(pairs.ref), list(pairs.hyp), list(pairs.uem)
    if not refs and not hyps:
        raise PodiumError("nothing to score: give --ref FILE --hyp FILE (repeatable) "
                          "or --manifest FILE.jsonl")
    if len(refs) != len(hyps):
        raise PodiumError(f"--ref and --hyp come in pairs: got {len(refs)} --ref and {len(hyps)} --hyp")
    if len(uems) not in (0, 1, len(refs)):
        raise PodiumError(f"give --uem once for all pairs or once per pair: "
                          f"got {len(uems)} for {len(refs)} pairs")
    per_pair: list[str | None] = [*uems] * len(refs) if len(uems) == 1 else [*uems] or [None] * len(refs)
    ids = unique_ids([Path(h).stem for h in hyps])
    return [PairSpec(i, Path(r), Path(h), Path(u) if u else None)
            for i, r, h, u in zip(ids, refs, hyps, per_pair, strict=True)]


def read_manifest(path: Path) -> list[PairSpec]:
    items = [_manifest_item(item) for item in read_items(path, expected=MANIFEST_LINE)]
    if not items:
        raise fail(path, None, 'expected one JSON object per line with "ref" and "hyp"')
    ids = unique_ids([given or hyp.stem for given, _, hyp, _ in items])
    return [PairSpec(i, ref, hyp, uem) for i, (_, ref, hyp, uem) in zip(ids, items, strict=True)]


MANIFEST_LINE = 'expected a JSON object with "ref" and "hyp" paths (and optional "uem", "id")'


def _manifest_item(item: ManifestItem) -> tuple[str | None, Path, Path, Path | None]:
    fields = item.fields
    if not all(isinstance(fields.get(k), str) for k in ("ref", "hyp")):
        raise item.error(MANIFEST_LINE)
    if not all(isinstance(fields.get(k), (str, type(None))) for k in ("uem", "id")):
        raise item.error(MANIFEST_LINE)
    uem = item.resolve(fields["uem"]) if fields.get("uem") else None
    return fields.get("id"), item.resolve(fields["ref"]), item.resolve(fields["hyp"]), uem


def unique_ids(names: Sequence[str]) -> list[str]:
    """Names as given, with '-2', '-3' added to repeats so every pair has its own row and section."""
    seen: dict[str, int] = {}
    ids = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        ids.append(name if seen[name] == 1 else f"{name}-{seen[name]}")
    return ids


def main(argv: Sequence[str] | None = None) -> int:
    """`podium evaluate` on its own (`python -m podium.cli.evaluate`)."""
    parser = OneLineErrorParser(prog="podium evaluate", description=DESCRIPTION)
    add_evaluate_arguments(parser)
    return run_handler(run, parser.parse_args(argv), prefix="podium evaluate")


if __name__ == "__main__":
    sys.exit(main())
