"""Every metric podium scores, in one place: how to compute it, pool it, name it and show it.

The terminal table, report.json, report.md, the HTML page and `podium bench` all walk `METRICS`, so
a metric registered here (or with `register`) is computed by `score_pair`, pooled by `pool`, and
appears in every one of those outputs without further edits. The registry's order is the order of
the metrics in JSON; `table_order` and `bench_order` place their columns in the two tables.

A metric's `compute` gets the pair being scored (`podium.evaluate.api.PairScoring`: the options,
and the normalised tokens, word alignment and speaker turns that several metrics share) and returns
a dict with a "value" (None when there is no denominator) and the counts behind it, or raises
`metrics.Skipped` with the reason it does not apply.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING, Any

from podium.evaluate import metrics as m

if TYPE_CHECKING:
    from podium.evaluate.api import EvaluateOptions, PairResult, PairScoring

Scores = dict[str, Any]  # one metric of one pair, or of the pooled overall row
Text = Callable[[Scores], str]
Pool = Callable[[Sequence[Scores], Sequence["PairResult"]], Scores]

NOT_SCORED = "–"


def percent(metric: Scores | None) -> str:
    if not metric or metric.get("value") is None:
        return NOT_SCORED
    return f"{100 * metric['value']:.1f}%"


def md_escape(text: str) -> str:
    return text.replace("|", "\\|")


@dataclass(frozen=True)
class Column:
    """One column of the terminal/Markdown/HTML summary table: its header, and its cell text from
    the metric's dict ({} when the row does not have the metric)."""

    header: str
    cell: Text = percent


@dataclass(frozen=True)
class Metric:
    key: str  # its name in JSON
    label: str  # its name in notes ("... not scored for ...") and on HTML cards
    compute: Callable[[PairScoring], Scores]
    pool: Pool
    columns: tuple[Column, ...] = ()  # its columns in the summary table, where some row has it
    value: Text = percent  # its figure on an HTML card and in `podium bench`
    detail: Text = lambda metric: ""  # the small print under the figure on an HTML card
    note: str = ""  # a sentence under the Markdown table, when its columns are there
    markdown: Callable[[Scores], list[str]] | None = None  # a Markdown section from the overall row
    html: Callable[[Scores], str] | None = None  # an HTML block at the end of each pair's section
    applies: Callable[[EvaluateOptions], bool] = lambda options: True  # names: only with --names
    default: bool = True  # False: scored only for a caller who names it (`score_pair(metrics=...)`)
    table_order: float = 1000.0  # its columns' place in the summary table (lower first)
    bench_order: float | None = None  # its column's place in `podium bench`; None: not shown there


METRICS: dict[str, Metric] = {}


def register(metric: Metric) -> Metric:
    """Add `metric` (or replace the one with its key); it then shows in every output."""
    METRICS[metric.key] = metric
    return metric


def label(key: str) -> str:
    return METRICS[key].label if key in METRICS else key


def selected(options: EvaluateOptions, keys: Collection[str] | None = None) -> list[Metric]:
    """The metrics a pair is scored on, in registry order: the default ones, or those in `keys`."""
    unknown = set(keys or ()) - set(METRICS)
    if unknown:
        raise ValueError(f"unknown metric {sorted(unknown)[0]!r} (known: {', '.join(METRICS)})")
    return [metric for metric in METRICS.values()
            if (metric.default if keys is None else metric.key in keys) and metric.applies(options)]


def table_columns(present: Collection[str]) -> list[tuple[str, Column]]:
    """(key, column) of every registered metric in `present`, in table order."""
    metrics = sorted((metric for metric in METRICS.values() if metric.key in present),
                     key=lambda metric: metric.table_order)
    return [(metric.key, column) for metric in metrics for column in metric.columns]


def bench_metrics() -> list[Metric]:
    shown = [(metric.bench_order, metric) for metric in METRICS.values() if metric.bench_order is not None]
    return [metric for _, metric in sorted(shown, key=lambda pair: pair[0])]


def bench_cell(metric: Metric, scores: Scores) -> str:
    return "-" if scores.get("value") is None else metric.value(scores)


# --- pooling: errors summed over the reference, not rates averaged -------------------------------

def _sum(parts: Sequence[Scores], key: str) -> Any:
    return sum(p[key] for p in parts)


def pooled_ratio(errors: Sequence[str], total: str, keep: Sequence[str] = (), also: Sequence[str] = ()
                 ) -> Pool:
    """Pool by summing `errors` and `total` over pairs; `keep` copies the first pair's settings,
    `also` sums further counts after them."""
    def pool(parts: Sequence[Scores], results: Sequence[PairResult]) -> Scores:
        out = {k: _sum(parts, k) for k in (*errors, total)}
        out.update({k: parts[0][k] for k in keep if k in parts[0]})
        out.update({k: _sum(parts, k) for k in also})
        return {"value": m.rate(sum(out[k] for k in errors), out[total]), **out}
    return pool


def _pooled_edits(length_key: str) -> Pool:
    def pool(parts: Sequence[Scores], results: Sequence[PairResult]) -> Scores:
        keys = ("substitutions", "deletions", "insertions", length_key)
        out = {k: _sum(parts, k) for k in keys}
        for extra in ("hits", "hypothesis_words"):
            if all(extra in p for p in parts):
                out[extra] = _sum(parts, extra)
        errors = out["substitutions"] + out["deletions"] + out["insertions"]
        return {"value": m.rate(errors, out[length_key]), **out}
    return pool


def _pooled_names(parts: Sequence[Scores], results: Sequence[PairResult]) -> Scores:
    per_name: dict[str, dict[str, Any]] = {}
    for part in parts:
        for n in part["per_name"]:
            empty = {"name": n["name"], "reference": 0, "hypothesis": 0, "found": 0}
            slot = per_name.setdefault(n["name"], empty)
            for key in ("reference", "hypothesis", "found"):
                slot[key] += n[key]
    for n in per_name.values():
        n["status"] = m.name_status(n["reference"], n["found"])
    found, total = _sum(parts, "found"), _sum(parts, "total")
    return {"value": m.rate(found, total), "found": found, "total": total,
            "per_name": list(per_name.values())}


def _pooled_timing(parts: Sequence[Scores], results: Sequence[PairResult]) -> Scores:
    errors = [e for r in results for e in r.timing_errors]
    return {"value": statistics.median(errors), "words": len(errors)}


def _pooled_speaker_count(parts: Sequence[Scores], results: Sequence[PairResult]) -> Scores:
    return {"value": statistics.mean(p["value"] for p in parts), "exact": _sum(parts, "exact"),
            "within_one": _sum(parts, "within_one")}


# --- how each metric reads in the tables and on the page -------------------------------------------

def _sdi(wer: Scores) -> str:
    if "substitutions" not in wer:
        return NOT_SCORED
    return f"{wer['substitutions']}/{wer['deletions']}/{wer['insertions']}"


def _names_cell(names: Scores) -> str:
    if "found" not in names:
        return NOT_SCORED
    return f"{names['found']}/{names['total']} ({percent(names)})" if names["total"] else "0/0"


def _of_scored_words(short: Scores) -> str:
    if "scored_words" not in short:
        return NOT_SCORED
    return f"{percent(short)} of {short['scored_words']}"


def _seconds(timing: Scores) -> str:
    return f"{timing['value']:.2f} s" if "value" in timing else NOT_SCORED


def _speaker_count_cell(count: Scores) -> str:
    if "reference_speakers" in count:  # one pair
        return f"{count['reference_speakers']}/{count['hypothesis_speakers']}"
    if "exact" in count:  # the pooled row
        return f"{count['exact']}/{count['pairs']} exact"
    return NOT_SCORED


def _edits_detail(unit: str, total_key: str) -> Text:
    return lambda metric: (f"S {metric['substitutions']} · D {metric['deletions']} · "
                           f"I {metric['insertions']} of {metric[total_key]} reference {unit}")


def _der_detail(metric: Scores) -> str:
    return (f"false alarm {metric['false_alarm']:.2f} s · missed {metric['missed_detection']:.2f} s · "
            f"confusion {metric['confusion']:.2f} s of {metric['total']:.2f} s speech")


def _names_markdown(overall: Scores) -> list[str]:
    names = overall.get("per_name")
    if not names:
        return []
    lines = ["", "## Names", "", "| Name | In reference | In hypothesis | Found | Status |",
             "|---|---:|---:|---:|---|"]
    return lines + [f"| {md_escape(n['name'])} | {n['reference']} | {n['hypothesis']} | {n['found']} | "
                    f"{n['status']} |" for n in names]


def _names_html(metric: Scores) -> str:
    if "per_name" not in metric:
        return ""
    rows = "".join(f'<tr data-name="{escape(n["name"])}"><td>{escape(n["name"])}</td>'
                   f'<td>{n["reference"]}</td><td>{n["hypothesis"]}</td><td>{escape(n["status"])}</td></tr>'
                   for n in metric["per_name"])
    return ("<h3>Names</h3><table class=\"names\"><thead><tr><th>Name</th><th>In reference</th>"
            f"<th>In hypothesis</th><th>Status</th></tr></thead><tbody>{rows}</tbody></table>")


# --- what each metric computes from the pair -----------------------------------------------------

def _wer(pair: PairScoring) -> Scores:
    return pair.alignment()[0]


def _cer(pair: PairScoring) -> Scores:
    ref, hyp, _ = pair.tokens()
    return m.character_error(ref, hyp)


def _cpwer(pair: PairScoring) -> Scores:
    ref, hyp, _ = pair.tokens()
    return m.cpwer(ref, hyp)


def _wder(pair: PairScoring) -> Scores:
    return pair.speaker_mapping()[0]


def _wder_short(pair: PairScoring) -> Scores:
    _, mapping = pair.speaker_mapping()  # skipped, for the same reason, whenever WDER is
    _, _, durations = pair.tokens()
    return m.short_turn_wder(pair.alignment()[1], mapping, durations, pair.options.short_turn_s)


def _names(pair: PairScoring) -> Scores:
    names = pair.names()  # read first: a names file that cannot be read stops the run
    ref, hyp, _ = pair.tokens()
    return m.names_recall(names, ref, hyp, pair.normalizer)


def _word_timing(pair: PairScoring) -> Scores:
    return pair.timing()[0]


def _der_short(pair: PairScoring) -> Scores:
    pair.diarization()  # skipped, for the same reason, whenever DER is
    ref, hyp = pair.turns()
    options = pair.options
    return m.short_turn_der(ref, hyp, pair.uem, options.collar, options.skip_overlap, options.short_turn_s)


def _speaker_count(pair: PairScoring) -> Scores:
    pair.diarization()  # skipped, for the same reason, whenever DER is
    return m.speaker_count(*pair.turns(), pair.uem)


# In JSON order. Table columns: WER, S/D/I, CER, cpWER, WDER, DER, JER, WDER short, Names, Start err.
register(Metric(
    "wer", "WER", _wer, _pooled_edits("reference_words"), (Column("WER"), Column("S/D/I", _sdi)),
    detail=_edits_detail("words", "reference_words"), note="S/D/I: substituted, deleted and inserted words.",
    table_order=10, bench_order=10))
register(Metric(
    "cer", "CER", _cer, _pooled_edits("reference_chars"), (Column("CER"),),
    detail=_edits_detail("characters", "reference_chars"), table_order=20))
register(Metric(
    "cpwer", "cpWER", _cpwer, pooled_ratio(("errors",), "length"), (Column("cpWER"),),
    detail=lambda x: f"{x['errors']} errors in {x['length']} words, best speaker permutation",
    note="cpWER and WDER use the best speaker mapping;", table_order=30, bench_order=30))
register(Metric(
    "wder", "WDER", _wder, pooled_ratio(("speaker_errors",), "scored_words"), (Column("WDER"),),
    detail=lambda x: f"{x['speaker_errors']} of {x['scored_words']} correct words on the wrong speaker",
    table_order=40, bench_order=40))
register(Metric(
    "wder_short", "WDER short turns", _wder_short,
    pooled_ratio(("speaker_errors",), "scored_words", keep=("short_turn_s",), also=("reference_words",)),
    (Column("WDER short", _of_scored_words),), table_order=70))
_DER_PARTS = ("false_alarm", "missed_detection", "confusion")
register(Metric(
    "der", "DER", lambda pair: pair.diarization()[0],
    pooled_ratio(_DER_PARTS, "total", keep=("collar", "skip_overlap")), (Column("DER"),),
    detail=_der_detail, note="DER and JER come from pyannote.metrics.", table_order=50, bench_order=20))
register(Metric(
    "jer", "JER", lambda pair: pair.diarization()[1],
    pooled_ratio(("speaker_error",), "speaker_count", keep=("collar", "skip_overlap")), (Column("JER"),),
    detail=lambda x: f"mean over {x['speaker_count']:g} reference speakers", table_order=60))
register(Metric(
    "der_short", "DER short turns", _der_short,
    pooled_ratio(_DER_PARTS, "total", keep=("collar", "skip_overlap", "short_turn_s")),
    (Column("DER short"),), detail=_der_detail, default=False, table_order=65))
register(Metric(
    "speakers", "Speaker count", _speaker_count, _pooled_speaker_count,
    (Column("Speakers ref/hyp", _speaker_count_cell),), value=_speaker_count_cell,
    detail=lambda x: f"{x['reference_speakers']} in the reference, {x['hypothesis_speakers']} found",
    default=False, table_order=66))
register(Metric(
    "names", "Names", _names, _pooled_names, (Column("Names", _names_cell),),
    detail=lambda x: f"{x['found']} of {x['total']} mentions", markdown=_names_markdown, html=_names_html,
    applies=lambda options: bool(options.names), table_order=80))
register(Metric(
    "word_timing", "Word start error", _word_timing, _pooled_timing, (Column("Start err.", _seconds),),
    value=_seconds, detail=lambda x: f"median |start error| over {x['words']} matched words",
    note="Start err.: median absolute difference of word start times over correctly recognised words.",
    table_order=90))
