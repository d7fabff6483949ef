"""The report in three forms from one set of rows: a rich terminal table, JSON and Markdown."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from podium.evaluate.api import EvaluateOptions, PairResult
from podium.evaluate.registry import METRICS, label, md_escape, table_columns
from podium.options import as_dict

Metrics = dict[str, dict[str, Any]]


def table_rows(results: Sequence[PairResult], overall: Metrics) -> tuple[list[str], list[list[str]]]:
    """Headers and cells: one row per pair, then the pooled overall row. A metric's columns (from the
    registry) appear when some pair has that metric, scored or not."""
    columns = table_columns({key for r in results for key in r.metrics})
    headers = ["Pair", *(column.header for _, column in columns)]
    rows = [[r.id, *(column.cell(r.metrics.get(key, {})) for key, column in columns)] for r in results]
    rows.append([f"Overall ({len(results)}, pooled)", *(column.cell(overall.get(key, {}))
                                                        for key, column in columns)])
    return headers, rows


def skip_notes(results: Sequence[PairResult]) -> list[str]:
    """'cpWER, WDER not scored for a, b: reference has no speaker labels', one line per reason and set."""
    by_reason: dict[str, dict[str, list[str]]] = {}
    for r in results:
        for key, metric in r.metrics.items():
            if "skipped" in metric:
                by_reason.setdefault(metric["skipped"], {}).setdefault(r.id, []).append(label(key))
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


def report_markdown(results: Sequence[PairResult], overall: Metrics, options: EvaluateOptions) -> str:
    headers, rows = table_rows(results, overall)
    lines = ["# podium evaluate", ""]
    lines += [f"- {md_escape(line)}" for line in settings_lines(options)]
    rule = "|" + "|".join(["---"] + ["---:"] * (len(headers) - 1)) + "|"
    lines += ["", "| " + " | ".join(headers) + " |", rule]
    lines += ["| " + " | ".join(md_escape(cell) for cell in row) + " |" for row in rows]
    shown = dict.fromkeys(key for key, _ in table_columns({key for r in results for key in r.metrics}))
    notes = " ".join(METRICS[key].note for key in shown if METRICS[key].note)
    if notes:  # what the table's columns mean, for the metrics it shows
        lines += ["", notes]
    skipped = skip_notes(results)
    if skipped:
        lines += ["", "## Not scored", ""] + [f"- {md_escape(n)}" for n in skipped]
    for key, metric in METRICS.items():
        if metric.markdown is not None and key in overall:
            lines += metric.markdown(overall[key])
    lines += ["", "## Pairs", ""]
    lines += [f"- **{md_escape(r.id)}**: reference `{r.ref_path}` ({r.ref_format}), hypothesis "
              f"`{r.hyp_path}` ({r.hyp_format})" for r in results]
    return "\n".join(lines) + "\n"
