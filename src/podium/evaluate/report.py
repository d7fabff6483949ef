"""The report in three forms from one set of rows: a rich terminal table, JSON and Markdown."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from podium.evaluate.api import EvaluateOptions, PairResult
from podium.options import as_dict

Metrics = dict[str, dict[str, Any]]
NOT_SCORED = "–"

LABELS = {"wer": "WER", "cer": "CER", "cpwer": "cpWER", "wder": "WDER", "wder_short": "WDER short turns",
          "der": "DER", "jer": "JER", "names": "Names", "word_timing": "Word start error"}


def percent(metric: dict[str, Any] | None) -> str:
    if not metric or metric.get("value") is None:
        return NOT_SCORED
    return f"{100 * metric['value']:.1f}%"


def _sdi(metrics: Metrics) -> str:
    wer = metrics.get("wer", {})
    if "substitutions" not in wer:
        return NOT_SCORED
    return f"{wer['substitutions']}/{wer['deletions']}/{wer['insertions']}"


def _names(metrics: Metrics) -> str:
    names = metrics.get("names", {})
    if "found" not in names:
        return NOT_SCORED
    return f"{names['found']}/{names['total']} ({percent(names)})" if names["total"] else "0/0"


def _wder_short(metrics: Metrics) -> str:
    short = metrics.get("wder_short", {})
    if "scored_words" not in short:
        return NOT_SCORED
    return f"{percent(short)} of {short['scored_words']}"


def _timing(metrics: Metrics) -> str:
    timing = metrics.get("word_timing", {})
    return f"{timing['value']:.2f} s" if "value" in timing else NOT_SCORED


# (header, cell) for every column; a column appears only when some row has that metric.
COLUMNS: tuple[tuple[str, str, Callable[[Metrics], str]], ...] = (
    ("wer", "WER", lambda ms: percent(ms.get("wer"))),
    ("wer", "S/D/I", _sdi),
    ("cer", "CER", lambda ms: percent(ms.get("cer"))),
    ("cpwer", "cpWER", lambda ms: percent(ms.get("cpwer"))),
    ("wder", "WDER", lambda ms: percent(ms.get("wder"))),
    ("der", "DER", lambda ms: percent(ms.get("der"))),
    ("jer", "JER", lambda ms: percent(ms.get("jer"))),
    ("wder_short", "WDER short", _wder_short),
    ("names", "Names", _names),
    ("word_timing", "Start err.", _timing),
)


def _columns(rows: Sequence[Metrics]) -> list[tuple[str, Callable[[Metrics], str]]]:
    return [(header, cell) for key, header, cell in COLUMNS if any(key in r for r in rows)]


def table_rows(results: Sequence[PairResult], overall: Metrics) -> tuple[list[str], list[list[str]]]:
    """Headers and cells: one row per pair, then the pooled overall row."""
    columns = _columns([r.metrics for r in results])
    headers = ["Pair", *(h for h, _ in columns)]
    rows = [[r.id, *(cell(r.metrics) for _, cell in columns)] for r in results]
    rows.append([f"Overall ({len(results)}, pooled)", *(cell(overall) for _, cell in columns)])
    return headers, rows


def skip_notes(results: Sequence[PairResult]) -> list[str]:
    """'cpWER, WDER not scored for a, b: reference has no speaker labels', one line per reason and set."""
    by_reason: dict[str, dict[str, list[str]]] = {}
    for r in results:
        for key, metric in r.metrics.items():
            if "skipped" in metric:
                by_reason.setdefault(metric["skipped"], {}).setdefault(r.id, []).append(LABELS.get(key, key))
    notes = []
    for reason, per_pair in by_reason.items():
        groups: dict[tuple[str, ...], list[str]] = {}
        for pair_id, labels in per_pair.items():
            groups.setdefault(tuple(labels), []).append(pair_id)
        notes += [f"{', '.join(labels)} not scored for {', '.join(ids)}: {reason}"
                  for labels, ids in groups.items()]
    return notes


def settings_lines(options: EvaluateOptions) -> list[str]:
    lines = [f"Text normalisation: {options.normalization}",
             f"DER/JER: collar {options.collar:g} s, overlapping speech "
             f"{'excluded' if options.skip_overlap else 'included'}",
             f"WDER short: WDER over the correctly recognised words of reference turns under "
             f"{options.short_turn_s:g} s (same speaker mapping as WDER); 'of N' counts those words",
             "Overall rates are pooled: errors summed over all pairs divided by their summed reference"]
    if options.names:
        lines.append(f"Names from {options.names}")
    return lines


def print_table(results: Sequence[PairResult], overall: Metrics, options: EvaluateOptions,
                console: Console | None = None) -> None:
    if console is None:
        console = Console()
        if not console.is_terminal:  # a pipe or file: no width to respect, so do not squeeze columns
            console = Console(width=160)
    headers, rows = table_rows(results, overall)
    table = Table(title="podium evaluate", show_lines=False)
    for index, header in enumerate(headers):
        table.add_column(header, justify="left" if index == 0 else "right", no_wrap=index > 0,
                         min_width=len(header) if index else 8)
    for index, row in enumerate(rows):
        table.add_row(*row, style="bold" if index == len(rows) - 1 else None,
                      end_section=index == len(rows) - 2)
    console.print(table)
    for line in (*settings_lines(options), *skip_notes(results)):
        console.print(f"  {line}", highlight=False, markup=False)


def report_dict(results: Sequence[PairResult], overall: Metrics, options: EvaluateOptions) -> dict[str, Any]:
    return {
        "settings": {**as_dict(options), "normalization": options.normalization,
                     "pooling": "errors summed over pairs, divided by the summed reference"},
        "pairs": [r.to_dict() for r in results],
        "overall": overall,
    }


def report_json(results: Sequence[PairResult], overall: Metrics, options: EvaluateOptions) -> str:
    return json.dumps(report_dict(results, overall, options), ensure_ascii=False, indent=2) + "\n"


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def report_markdown(results: Sequence[PairResult], overall: Metrics, options: EvaluateOptions) -> str:
    headers, rows = table_rows(results, overall)
    lines = ["# podium evaluate", ""]
    lines += [f"- {_md_escape(line)}" for line in settings_lines(options)]
    rule = "|" + "|".join(["---"] + ["---:"] * (len(headers) - 1)) + "|"
    lines += ["", "| " + " | ".join(headers) + " |", rule]
    lines += ["| " + " | ".join(_md_escape(cell) for cell in row) + " |" for row in rows]
    lines += ["", "S/D/I: substituted, deleted and inserted words. cpWER and WDER use the best speaker "
              "mapping; DER and JER come from pyannote.metrics. Start err.: median absolute difference "
              "of word start times over correctly recognised words."]
    notes = skip_notes(results)
    if notes:
        lines += ["", "## Not scored", ""] + [f"- {_md_escape(n)}" for n in notes]
    names = overall.get("names", {}).get("per_name")
    if names:
        lines += ["", "## Names", "", "| Name | In reference | In hypothesis | Found | Status |",
                  "|---|---:|---:|---:|---|"]
        lines += [f"| {_md_escape(n['name'])} | {n['reference']} | {n['hypothesis']} | {n['found']} | "
                  f"{n['status']} |" for n in names]
    lines += ["", "## Pairs", ""]
    lines += [f"- **{_md_escape(r.id)}**: reference `{r.ref_path}` ({r.ref_format}), hypothesis "
              f"`{r.hyp_path}` ({r.hyp_format})" for r in results]
    return "\n".join(lines) + "\n"
