"""One self-contained HTML page: metrics, coloured word alignment and the two speaker timelines.

No scripts and no external assets (inline CSS and SVG only), so the page opens anywhere offline and
can be mailed as one file.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from podium.evaluate.api import EvaluateOptions, PairResult
from podium.evaluate.metrics import AlignedWord
from podium.evaluate.registry import METRICS, label, percent
from podium.evaluate.report import settings_lines, skip_notes, table_rows
from podium.transcript import SpeakerTurn

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7", "#9c755f")
UNMAPPED = "#8c8c8c"

CSS = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1100px;
padding:1.5rem;color:#1d1d1f;background:#fff}
h1{font-size:1.6rem;margin:0 0 .3rem}
h2{font-size:1.25rem;margin:2rem 0 .4rem}h3{font-size:1rem;margin:1.2rem 0 .4rem}
.settings,.files,.notes{color:#555;font-size:.9rem;margin:.2rem 0}
table{border-collapse:collapse;font-variant-numeric:tabular-nums;margin:.5rem 0}
th,td{padding:.3rem .7rem;border-bottom:1px solid #e3e3e3;text-align:right}
th:first-child,td:first-child{text-align:left}tr.overall td{font-weight:600;border-top:2px solid #999}
.cards{display:flex;flex-wrap:wrap;gap:.6rem;margin:.6rem 0}
.card{border:1px solid #ddd;border-radius:8px;padding:.5rem .8rem;min-width:7.5rem}
.card .label{display:block;font-size:.8rem;color:#666}
.card .value{display:block;font-size:1.4rem;font-weight:600}
.card .detail{display:block;font-size:.75rem;color:#666;max-width:14rem}
p.skipped{color:#666;font-size:.85rem;margin:.2rem 0}p.skipped span{margin-left:.4rem}
p.skipped span+span:before{content:"· ";color:#aaa}table.names td:last-child{text-align:left}
.legend{display:flex;flex-wrap:wrap;gap:1rem;font-size:.85rem;margin:.4rem 0}
.alignment{line-height:2.1;border:1px solid #eee;border-radius:8px;padding:.7rem 1rem;background:#fcfcfc}
.sub{background:#fff1c2;border-radius:3px;padding:0 2px}
.sub del{color:#8a6d00}.sub ins{text-decoration:none;font-weight:600}
.del{background:#ffd9d9;color:#a40000;text-decoration:line-through;border-radius:3px;padding:0 2px}
.ins{background:#d6f5d6;color:#0b6b0b;border-radius:3px;padding:0 2px}
.spkerr{text-decoration:underline wavy #7b2cbf;text-underline-offset:4px;text-decoration-thickness:2px}
.spk{display:inline-block;font-size:.75rem;font-weight:600;color:#fff;border-radius:10px;padding:0 .5rem;
margin:0 .25rem 0 .6rem;line-height:1.5}
svg text{font:12px system-ui,sans-serif;fill:#333}
"""


def _colours(result: PairResult) -> tuple[dict[str, str], dict[str, str]]:
    """Reference speakers get palette colours; hypothesis speakers take their mapped speaker's."""
    ref_speakers = list(dict.fromkeys([t.speaker for t in result.ref_turns] +
                                      [a.ref.speaker for a in result.alignment if a.ref and a.ref.speaker]))
    ref_colour = {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(ref_speakers)}
    hyp_speakers = list(dict.fromkeys([t.speaker for t in result.hyp_turns] +
                                      [a.hyp.speaker for a in result.alignment if a.hyp and a.hyp.speaker]))
    mapping = result.turn_mapping or result.speaker_mapping
    hyp_colour = {s: ref_colour.get(mapping.get(s, ""), UNMAPPED) for s in hyp_speakers}
    return ref_colour, hyp_colour


# --- metrics -----------------------------------------------------------------------------------

def _cards(metrics: dict[str, dict[str, Any]]) -> str:
    """A card per scored metric, then one line per metric that could not be scored, with the reason."""
    cards, notes = [], []
    for key, metric in metrics.items():
        if "skipped" in metric:
            notes.append(f'<span data-metric="{key}">{label(key)}: {escape(metric["skipped"])}</span>')
            continue
        entry = METRICS.get(key)
        value = entry.value(metric) if entry else percent(metric)
        detail = entry.detail(metric) if entry else ""
        cards.append(f'<div class="card" data-metric="{key}"><span class="label">{label(key)}</span>'
                     f'<span class="value">{escape(value)}</span>'
                     f'<span class="detail">{escape(detail)}</span></div>')
    skipped = f'<p class="skipped">Not scored: {"".join(notes)}</p>' if notes else ""
    return f'<div class="cards">{"".join(cards)}</div>{skipped}'


def _overall_table(results: Sequence[PairResult], overall: dict[str, dict[str, Any]]) -> str:
    headers, rows = table_rows(results, overall)
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for index, row in enumerate(rows):
        last = index == len(rows) - 1
        cells = "".join(f"<td>{escape(c)}</td>" for c in row)
        body.append(f'<tr class="{"overall" if last else "pair"}">{cells}</tr>')
    return f'<table id="summary"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


# --- aligned text ------------------------------------------------------------------------------

LEGEND = ('<div class="legend">'
          '<span><span class="sub"><del>ref</del> <ins>hyp</ins></span> substitution</span>'
          '<span><span class="del">word</span> deletion (missing in hypothesis)</span>'
          '<span><span class="ins">word</span> insertion (extra in hypothesis)</span>'
          '<span><span class="spkerr">word</span> right word, wrong speaker</span>'
          '<span><span class="spk" style="background:#555">Name</span> reference speaker</span></div>')


def _word_html(word: AlignedWord, speaker_error: bool, mapping: dict[str, str]) -> str:
    ref = escape(word.ref.text) if word.ref else ""
    hyp = escape(word.hyp.text) if word.hyp else ""
    if word.op == "substitute":
        return f'<span class="sub"><del>{ref}</del> <ins>{hyp}</ins></span>'
    if word.op == "delete":
        return f'<span class="del">{ref}</span>'
    if word.op == "insert":
        return f'<span class="ins">{hyp}</span>'
    if not speaker_error or word.ref is None or word.hyp is None:
        return f'<span class="w">{ref}</span>'
    hyp_speaker = word.hyp.speaker or "no speaker"
    title = (f"said by {word.ref.speaker}; hypothesis gives it to {hyp_speaker}"
             f" (mapped to {mapping.get(hyp_speaker, 'nobody')})")
    return f'<span class="w spkerr" title="{escape(title)}">{ref}</span>'


def _alignment_html(result: PairResult, ref_colour: dict[str, str]) -> str:
    if not result.alignment:
        return ""
    parts, current = [], None
    for word in result.alignment:
        speaker = word.ref.speaker if word.ref else None
        if speaker is not None and speaker != current:
            colour = ref_colour.get(speaker, UNMAPPED)
            parts.append(f'<span class="spk" style="background:{colour}">{escape(speaker)}</span>')
            current = speaker
        parts.append(_word_html(word, result.is_speaker_error(word), result.speaker_mapping))
    return ("<h3>Aligned text</h3><p class=\"notes\">Words after normalisation, in reference order.</p>"
            f'{LEGEND}<div class="alignment">{" ".join(parts)}</div>')


# --- speaker timelines -------------------------------------------------------------------------

ROW_H, LABEL_W, WIDTH, AXIS_H = 22, 150, 1000, 24


def _timeline_rows(turns: Sequence[SpeakerTurn]) -> list[tuple[str, list[SpeakerTurn]]]:
    rows: dict[str, list[SpeakerTurn]] = {}
    for turn in turns:
        rows.setdefault(turn.speaker, []).append(turn)
    return list(rows.items())


def _timeline_svg(result: PairResult, ref_colour: dict[str, str], hyp_colour: dict[str, str]) -> str:
    if not result.ref_turns and not result.hyp_turns:
        return ""
    span = max(t.end for t in (*result.ref_turns, *result.hyp_turns)) or 1.0
    scale = (WIDTH - LABEL_W - 30) / span
    groups = [("reference", _timeline_rows(result.ref_turns), ref_colour),
              ("hypothesis", _timeline_rows(result.hyp_turns), hyp_colour)]
    shapes, y = [], 0
    mapping = result.turn_mapping or result.speaker_mapping
    for side, rows, colours in groups:
        shapes.append(f'<text x="0" y="{y + 14}" font-weight="600">{side}</text>')
        y += ROW_H
        for speaker, turns in rows:
            label = speaker if side == "reference" else _hyp_label(speaker, mapping)
            shapes.append(f'<text x="8" y="{y + 15}">{escape(label[:22])}</text>')
            shapes += [_turn_rect(t, side, y, scale, colours.get(speaker, UNMAPPED)) for t in turns]
            y += ROW_H
        y += 6
    shapes.append(_axis(y, span, scale))
    height = y + AXIS_H
    return (f'<h3>Speaker timelines</h3><svg class="timeline" role="img" aria-label="speaker timelines" '
            f'viewBox="0 0 {WIDTH} {height}" width="100%" xmlns="http://www.w3.org/2000/svg">'
            f'{"".join(shapes)}</svg>')


def _turn_rect(turn: SpeakerTurn, side: str, y: int, scale: float, colour: str) -> str:
    x, width = LABEL_W + turn.start * scale, max((turn.end - turn.start) * scale, 0.5)
    return (f'<rect class="turn {side}" x="{x:.1f}" y="{y + 3}" width="{width:.1f}" height="{ROW_H - 6}" '
            f'fill="{colour}"><title>{escape(turn.speaker)} {turn.start:.2f}–{turn.end:.2f} s</title></rect>')


def _hyp_label(speaker: str, mapping: dict[str, str]) -> str:
    mapped = mapping.get(speaker)
    return f"{speaker} → {mapped}" if mapped and mapped != speaker else speaker


def _axis(y: int, span: float, scale: float) -> str:
    step = next(s for s in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600) if span / s <= 12)
    ticks = [f'<line x1="{LABEL_W}" y1="{y}" x2="{WIDTH - 30}" y2="{y}" stroke="#999"/>']
    t = 0
    while t <= span:
        x = LABEL_W + t * scale
        minutes, seconds = divmod(int(t), 60)
        ticks.append(f'<line x1="{x:.1f}" y1="{y}" x2="{x:.1f}" y2="{y + 4}" stroke="#999"/>'
                     f'<text x="{x:.1f}" y="{y + 17}" text-anchor="middle">{minutes}:{seconds:02d}</text>')
        t += step
    return "".join(ticks)


# --- page --------------------------------------------------------------------------------------

def _pair_section(result: PairResult) -> str:
    ref_colour, hyp_colour = _colours(result)
    files = (f"reference {escape(str(result.ref_path))} ({escape(result.ref_format)}) · "
             f"hypothesis {escape(str(result.hyp_path))} ({escape(result.hyp_format)})")
    return (f'<section class="pair" id="pair-{escape(result.id)}"><h2>{escape(result.id)}</h2>'
            f'<p class="files">{files}</p>{_cards(result.metrics)}'
            f'{_timeline_svg(result, ref_colour, hyp_colour)}{_alignment_html(result, ref_colour)}'
            f'{_metric_sections(result)}</section>')


def _metric_sections(result: PairResult) -> str:
    """Blocks some metrics add below the pair's text (the names table)."""
    return "".join(metric.html(result.metrics[key]) for key, metric in METRICS.items()
                   if metric.html is not None and key in result.metrics)


def render_html(results: Sequence[PairResult], overall: dict[str, dict[str, Any]],
                options: EvaluateOptions) -> str:
    settings = "".join(f'<p class="settings">{escape(line)}</p>' for line in settings_lines(options))
    notes = "".join(f'<p class="notes">{escape(line)}</p>' for line in skip_notes(results))
    overall_section = (f'<section id="overall"><h2>Overall</h2>{_overall_table(results, overall)}'
                       f'{notes}</section>')
    pairs = "".join(_pair_section(r) for r in results)
    return ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            f'<title>podium evaluate</title><style>{CSS}</style></head><body>'
            f'<header><h1>podium evaluate</h1>{settings}</header>{overall_section}{pairs}</body></html>\n')
