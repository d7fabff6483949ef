"""The metric registry drives every output: a metric registered once is computed, pooled, and shown in
the terminal table, report.json, report.md, the HTML page and `podium bench`."""

from __future__ import annotations

import json
from typing import Any

import pytest

from podium.cli.bench import print_rows
from podium.evaluate import metrics as m
from podium.evaluate.api import EvaluateOptions, PairScoring, pool, score_pair
from podium.evaluate.bench import BenchRow
from podium.evaluate.html import render_html
from podium.evaluate.reference import Reference, Utterance
from podium.evaluate.registry import METRICS, Column, Metric, pooled_ratio
from podium.evaluate.report import report_json, report_markdown, table_rows
from podium.transcript import SpeakerTurn

NONE = EvaluateOptions(normalize="none")


def text(line: str) -> Reference:
    return Reference(utterances=(Utterance(line),), format="test")


def length_ratio(pair: PairScoring) -> dict[str, Any]:
    ref, hyp, _ = pair.tokens()
    if not hyp:
        raise m.Skipped("hypothesis has no words")
    return {"value": len(hyp) / len(ref), "hyp_words": len(hyp), "ref_words": len(ref)}


FAKE = Metric("length_ratio", "Length ratio", length_ratio, pooled_ratio(("hyp_words",), "ref_words"),
              (Column("Len."),), detail=lambda x: f"{x['hyp_words']} words for {x['ref_words']}",
              note="Len.: hypothesis words per reference word.", table_order=55, bench_order=50)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Metric:
    monkeypatch.setitem(METRICS, FAKE.key, FAKE)
    return FAKE


def test_a_registered_metric_appears_in_every_output(fake: Metric,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    # 3 hypothesis words for 4 reference words, then 1 for 2: 75% and 50%, pooled (3 + 1) / (4 + 2)
    results = [score_pair(text("a b c d"), text("a b c"), NONE, pair_id="first"),
               score_pair(text("a b"), text("a"), NONE, pair_id="second"),
               score_pair(text("a b"), text(""), NONE, pair_id="silent")]
    assert list(results[0].metrics)[-1] == "length_ratio"  # registry order is JSON order
    overall = pool(results)
    assert overall["length_ratio"] == {"value": pytest.approx(4 / 6), "hyp_words": 4, "ref_words": 6,
                                       "pairs": 2}

    headers, rows = table_rows(results, overall)
    column = headers.index("Len.")
    assert headers[column - 1:column + 2] == ["DER", "Len.", "JER"]  # its table_order: between them
    assert [row[column] for row in rows] == ["75.0%", "50.0%", "–", "66.7%"]

    report = json.loads(report_json(results, overall, NONE))
    assert report["pairs"][0]["metrics"]["length_ratio"]["value"] == 0.75
    assert report["pairs"][2]["metrics"]["length_ratio"] == {"skipped": "hypothesis has no words"}
    assert report["overall"]["length_ratio"]["pairs"] == 2

    markdown = report_markdown(results, overall, NONE)
    assert "| DER | Len. | JER |" in markdown
    assert "Len.: hypothesis words per reference word." in markdown
    assert "Length ratio not scored for silent: hypothesis has no words" in markdown

    page = render_html(results, overall, NONE)
    assert "<th>Len.</th>" in page
    assert ('<div class="card" data-metric="length_ratio"><span class="label">Length ratio</span>'
            '<span class="value">75.0%</span><span class="detail">3 words for 4</span></div>') in page
    assert '<span data-metric="length_ratio">Length ratio: hypothesis has no words</span>' in page

    print_rows([BenchRow("cfg", 3, 9.0, 3.0, 100.0, overall)], "here")
    header, row = [line for line in capsys.readouterr().out.splitlines() if "WDER" in line or "cfg" in line]
    assert header.index("WDER") < header.index("Length ratio") < header.index("x realtime")
    assert "66.7%" in row


def test_without_the_metric_the_outputs_do_not_mention_it() -> None:
    result = score_pair(text("a b c d"), text("a b c"), NONE, pair_id="first")
    overall = pool([result])
    assert "length_ratio" not in result.metrics
    assert "Len." not in report_markdown([result], overall, NONE)
    assert "Length ratio" not in render_html([result], overall, NONE)


def test_metrics_off_by_default_are_scored_when_asked_for() -> None:
    # Reference: A 0-10, B's short answer 10-11.5, A 11.5-20. The hypothesis hears B from 10.5 only.
    ref = Reference(turns=(SpeakerTurn(0, 10, "A"), SpeakerTurn(10, 11.5, "B"), SpeakerTurn(11.5, 20, "A")))
    hyp = Reference(turns=(SpeakerTurn(0, 10.5, "s1"), SpeakerTurn(10.5, 11.5, "s2"),
                           SpeakerTurn(11.5, 20, "s1")))
    default = score_pair(ref, hyp, NONE)
    assert "der_short" not in default.metrics and "speakers" not in default.metrics
    asked = score_pair(ref, hyp, NONE, metrics=("der", "der_short", "speakers"))
    assert list(asked.metrics) == ["der", "der_short", "speakers"]
    # Inside B's 1.5 s turn (the only one under 2 s), 0.5 s goes to the other speaker.
    assert asked.metrics["der_short"]["value"] == pytest.approx(0.5 / 1.5)
    assert asked.metrics["der_short"]["total"] == pytest.approx(1.5)
    assert asked.metrics["der"]["value"] == pytest.approx(0.5 / 20)
    assert asked.metrics["speakers"] == {"value": 0, "reference_speakers": 2, "hypothesis_speakers": 2,
                                         "exact": 1, "within_one": 1}
    one = score_pair(ref, Reference(turns=(SpeakerTurn(0, 20, "s1"),)), NONE, metrics=("speakers",))
    overall = pool([asked, one])
    assert overall["speakers"] == {"value": 0.5, "exact": 1, "within_one": 2, "pairs": 2}
    headers, rows = table_rows([asked, one], overall)
    assert [row[headers.index("Speakers ref/hyp")] for row in rows] == ["2/2", "2/1", "1/2 exact"]


def test_short_turn_der_without_short_turns_scores_nothing() -> None:
    ref = Reference(turns=(SpeakerTurn(0, 10, "A"),))
    short = score_pair(ref, ref, NONE, metrics=("der_short",)).metrics["der_short"]
    assert (short["value"], short["total"]) == (None, 0.0)


def test_a_metric_skipped_by_der_is_skipped_for_the_same_reason() -> None:
    asked = score_pair(text("no turns here"), text("none"), NONE, metrics=("der", "der_short", "speakers"))
    reasons = {key: metric.get("skipped") for key, metric in asked.metrics.items()}
    assert len(set(reasons.values())) == 1 and None not in reasons.values()


def test_unknown_metric_names_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown metric 'nope'"):
        score_pair(text("a"), text("a"), NONE, metrics=("wer", "nope"))
