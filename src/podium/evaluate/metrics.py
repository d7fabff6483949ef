"""The metrics, each computed by a well-kept library and returned as plain JSON-able dicts.

jiwer aligns words and characters (WER, CER), MeetEval finds cpWER's best speaker permutation,
pyannote.metrics scores DER (also inside short reference turns) and JER, scipy's Hungarian solver
maps speakers for WDER. A metric that cannot be had for a pair raises `Skipped` with the reason,
which the report states. Which metrics a pair gets, and how each is pooled and shown, is
`podium.evaluate.registry`.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from pyannote.core import Annotation, Segment, Timeline
from scipy.optimize import linear_sum_assignment

from podium.transcript import SpeakerTurn

if TYPE_CHECKING:
    from podium.evaluate.normalize import Normalizer, Token

NO_SPEAKER = "(no speaker)"
# WDER is also reported over words whose reference turn (STM line, caption cue, segment) is shorter
# than this: quick back-channels and answers are where diarization gives words to the wrong speaker.
SHORT_TURN_S = 2.0


class Skipped(Exception):
    """This metric does not apply to this pair; the message says why."""


@dataclass(frozen=True)
class AlignedWord:
    """One step of the word alignment: 'equal' (a hit), 'substitute', 'delete' or 'insert'."""

    op: str
    ref: Token | None
    hyp: Token | None


def rate(errors: float, total: float) -> float | None:
    return errors / total if total else None


# --- WER and CER --------------------------------------------------------------------------------

def align_words(ref: Sequence[Token], hyp: Sequence[Token]) -> tuple[dict[str, Any], tuple[AlignedWord, ...]]:
    """WER with its substitutions, deletions and insertions, and the word alignment behind it."""
    import jiwer  # imported on use, like MeetEval and pyannote.metrics: DER alone needs none of them

    if not ref:
        raise Skipped("reference has no words to score")
    out = jiwer.process_words(" ".join(t.text for t in ref), " ".join(t.text for t in hyp))
    alignment: list[AlignedWord] = []
    for chunk in out.alignments[0]:
        refs = ref[chunk.ref_start_idx:chunk.ref_end_idx]
        hyps = hyp[chunk.hyp_start_idx:chunk.hyp_end_idx]
        if chunk.type in ("equal", "substitute"):
            alignment.extend(AlignedWord(chunk.type, r, h) for r, h in zip(refs, hyps, strict=True))
        elif chunk.type == "delete":
            alignment.extend(AlignedWord("delete", r, None) for r in refs)
        else:
            alignment.extend(AlignedWord("insert", None, h) for h in hyps)
    wer = {
        "value": out.wer,
        "substitutions": out.substitutions,
        "deletions": out.deletions,
        "insertions": out.insertions,
        "hits": out.hits,
        "reference_words": len(ref),
        "hypothesis_words": len(hyp),
    }
    return wer, tuple(alignment)


def character_error(ref: Sequence[Token], hyp: Sequence[Token]) -> dict[str, Any]:
    """CER over the normalised text, spaces between words counted as characters."""
    ref_text = " ".join(t.text for t in ref)
    if not ref_text:
        raise Skipped("reference has no words to score")
    import jiwer

    out = jiwer.process_characters(ref_text, " ".join(t.text for t in hyp))
    return {
        "value": out.cer,
        "substitutions": out.substitutions,
        "deletions": out.deletions,
        "insertions": out.insertions,
        "reference_chars": len(ref_text),
    }


# --- speaker-attributed word errors -------------------------------------------------------------

def _text_by_speaker(tokens: Sequence[Token], side: str) -> dict[str, str]:
    if not any(t.speaker is not None for t in tokens):
        raise Skipped(f"{side} has no speaker labels")
    words: dict[str, list[str]] = {}
    for t in tokens:
        words.setdefault(t.speaker or NO_SPEAKER, []).append(t.text)
    return {speaker: " ".join(ws) for speaker, ws in words.items()}


def cpwer(ref: Sequence[Token], hyp: Sequence[Token]) -> dict[str, Any]:
    """Concatenated minimum-permutation WER (MeetEval): each speaker's words against their best match."""
    if not ref:
        raise Skipped("reference has no words to score")
    ref_text = _text_by_speaker(ref, "reference")
    hyp_text = _text_by_speaker(hyp, "hypothesis")
    # Tokens are already in spoken order per speaker, so MeetEval must not re-sort them.
    import meeteval.wer

    result = meeteval.wer.cp_word_error_rate(ref_text, hyp_text, reference_sort=False, hypothesis_sort=False)
    return {
        "value": float(result.error_rate),
        "errors": result.errors,
        "length": result.length,
        "substitutions": result.substitutions,
        "deletions": result.deletions,
        "insertions": result.insertions,
        "missed_speakers": result.missed_speaker,
        "extra_speakers": result.falarm_speaker,
        "assignment": [[r, h] for r, h in result.assignment],
    }


def optimal_speaker_mapping(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """hyp speaker -> ref speaker maximising the number of co-occurring (ref, hyp) pairs (Hungarian)."""
    counts = Counter(pairs)
    refs = sorted({r for r, _ in counts})
    hyps = sorted({h for _, h in counts})
    matrix = np.array([[counts.get((r, h), 0) for h in hyps] for r in refs], dtype=float)
    if not matrix.size:
        return {}
    rows, cols = linear_sum_assignment(matrix, maximize=True)
    return {hyps[c]: refs[r] for r, c in zip(rows, cols, strict=True) if matrix[r, c] > 0}


def wder(alignment: Sequence[AlignedWord]) -> tuple[dict[str, Any], dict[str, str]]:
    """Share of correctly recognised words given to the wrong speaker, after the best speaker mapping."""
    refs = [a.ref for a in alignment if a.ref is not None]
    hyps = [a.hyp for a in alignment if a.hyp is not None]
    if not refs:
        raise Skipped("reference has no words to score")
    if not any(t.speaker for t in refs):
        raise Skipped("reference has no speaker labels")
    if not any(t.speaker for t in hyps):
        raise Skipped("hypothesis has no speaker labels")
    hits = [(a.ref.speaker, a.hyp.speaker or NO_SPEAKER) for a in alignment
            if a.op == "equal" and a.ref is not None and a.hyp is not None and a.ref.speaker is not None]
    if not hits:
        raise Skipped("no correctly recognised words to attribute")
    mapping = optimal_speaker_mapping(hits)
    errors = sum(1 for r, h in hits if mapping.get(h) != r)
    result = {"value": errors / len(hits), "speaker_errors": errors, "scored_words": len(hits),
              "mapping": mapping}
    return result, mapping


def is_speaker_error(word: AlignedWord, mapping: dict[str, str]) -> bool:
    """A hit whose hypothesis speaker maps to another reference speaker (what WDER counts)."""
    if word.op != "equal" or word.ref is None or word.hyp is None or word.ref.speaker is None:
        return False
    return mapping.get(word.hyp.speaker or NO_SPEAKER) != word.ref.speaker


def short_turn_wder(alignment: Sequence[AlignedWord], mapping: dict[str, str],
                    turn_durations: Sequence[float | None],
                    short_turn_s: float = SHORT_TURN_S) -> dict[str, Any]:
    """WDER over the reference words whose reference turn lasts under `short_turn_s` seconds.

    `turn_durations` has one entry per reference token, in order (None: the turn has no times);
    `mapping` is the whole pair's hyp -> ref mapping from `wder`, not one refitted to the subset.
    """
    refs = [a for a in alignment if a.ref is not None]
    if len(refs) != len(turn_durations):
        raise ValueError(f"{len(turn_durations)} turn durations for {len(refs)} reference words")
    if all(d is None for d in turn_durations):
        raise Skipped("reference has no turn times")
    short = [a for a, d in zip(refs, turn_durations, strict=True) if d is not None and d < short_turn_s]
    hits = [a for a in short if a.op == "equal" and a.hyp is not None and a.ref is not None
            and a.ref.speaker is not None]
    errors = sum(1 for a in hits if is_speaker_error(a, mapping))
    return {"value": rate(errors, len(hits)), "speaker_errors": errors, "scored_words": len(hits),
            "reference_words": len(short), "short_turn_s": short_turn_s}


# --- diarization: DER and JER -------------------------------------------------------------------

def as_annotation(turns: Sequence[SpeakerTurn], uri: str | None = None) -> Annotation:
    """Speaker turns as a pyannote Annotation (one track per turn), the shape pyannote.metrics scores."""
    annotation = Annotation(uri=uri)
    for index, turn in enumerate(turns):
        annotation[Segment(turn.start, turn.end), index] = turn.speaker
    return annotation


def _scored_region(ref: Sequence[SpeakerTurn], hyp: Sequence[SpeakerTurn],
                   uem: Sequence[tuple[float, float]] | None) -> Timeline:
    if uem:
        return Timeline([Segment(s, e) for s, e in uem])
    turns = [*ref, *hyp]
    return Timeline([Segment(min(t.start for t in turns), max(t.end for t in turns))])


def diarization_errors(ref: Sequence[SpeakerTurn], hyp: Sequence[SpeakerTurn],
                       uem: Sequence[tuple[float, float]] | None, collar: float,
                       skip_overlap: bool) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """DER and JER (pyannote.metrics) inside the UEM, and the hyp -> ref speaker mapping DER used."""
    # Imported here: pyannote.metrics takes over a second to import, which every `podium` call paid.
    from pyannote.metrics.diarization import DiarizationErrorRate, JaccardErrorRate

    if not ref:
        raise Skipped("reference has no speaker turns")
    reference, hypothesis = as_annotation(ref), as_annotation(hyp)
    region = _scored_region(ref, hyp, uem)
    der_metric = DiarizationErrorRate(collar=collar, skip_overlap=skip_overlap)
    parts = der_metric(reference, hypothesis, uem=region, detailed=True)
    if not parts["total"]:
        raise Skipped("reference has no speech inside the scored region")
    jer_parts = JaccardErrorRate(collar=collar, skip_overlap=skip_overlap)(
        reference, hypothesis, uem=region, detailed=True)
    best = der_metric.optimal_mapping(reference, hypothesis, uem=region)
    mapping = {str(h): str(r) for h, r in best.items()}
    settings = {"collar": collar, "skip_overlap": skip_overlap, "uem": "given" if uem else "extent of speech",
                "scored_s": round(region.duration(), 3)}
    der = {"value": parts["diarization error rate"], "false_alarm": parts["false alarm"],
           "missed_detection": parts["missed detection"], "confusion": parts["confusion"],
           "total": parts["total"], **settings}
    jer = {"value": jer_parts["jaccard error rate"], "speaker_error": jer_parts["speaker error"],
           "speaker_count": jer_parts["speaker count"], **settings}
    return der, jer, mapping


def short_turn_der(ref: Sequence[SpeakerTurn], hyp: Sequence[SpeakerTurn],
                   uem: Sequence[tuple[float, float]] | None, collar: float, skip_overlap: bool,
                   short_turn_s: float = SHORT_TURN_S) -> dict[str, Any]:
    """DER inside the reference turns shorter than `short_turn_s` (within the scored region): the
    quick answers and interjections a diarizer tends to give to the speaker around them.

    Zero seconds scored, and value None, when the reference has no such turn there.
    """
    from pyannote.metrics.diarization import DiarizationErrorRate

    region = _scored_region(ref, hyp, uem)
    short = Timeline([Segment(t.start, t.end) for t in ref if t.end - t.start < short_turn_s])
    if short:
        short = short.support().crop(region, mode="intersection")
    parts = {"false alarm": 0.0, "missed detection": 0.0, "confusion": 0.0, "total": 0.0}
    if short:
        parts = DiarizationErrorRate(collar=collar, skip_overlap=skip_overlap)(
            as_annotation(ref), as_annotation(hyp), uem=short, detailed=True)
    errors = parts["false alarm"] + parts["missed detection"] + parts["confusion"]
    return {"value": rate(errors, parts["total"]), "false_alarm": parts["false alarm"],
            "missed_detection": parts["missed detection"], "confusion": parts["confusion"],
            "total": parts["total"], "collar": collar, "skip_overlap": skip_overlap,
            "short_turn_s": short_turn_s, "scored_s": round(short.duration(), 3)}


def speaker_count(ref: Sequence[SpeakerTurn], hyp: Sequence[SpeakerTurn],
                  uem: Sequence[tuple[float, float]] | None) -> dict[str, Any]:
    """How many speakers each side has inside the scored region; "value" is how far off the
    hypothesis is (absolute difference)."""
    region = _scored_region(ref, hyp, uem)
    ref_count = len(as_annotation(ref).crop(region).labels())
    hyp_count = len(as_annotation(hyp).crop(region).labels())
    error = abs(hyp_count - ref_count)
    return {"value": error, "reference_speakers": ref_count, "hypothesis_speakers": hyp_count,
            "exact": int(error == 0), "within_one": int(error <= 1)}


# --- proper nouns -------------------------------------------------------------------------------

def _name_key(text: str) -> str:
    return text.casefold().strip(".,;:!?'\"()[]")


def _count(sequence: list[str], needle: list[str]) -> int:
    """Non-overlapping occurrences of `needle` in `sequence`."""
    count, i = 0, 0
    while needle and i + len(needle) <= len(sequence):
        if sequence[i:i + len(needle)] == needle:
            count, i = count + 1, i + len(needle)
        else:
            i += 1
    return count


def name_status(in_reference: int, found: int) -> str:
    if not in_reference:
        return "not in reference"
    return "found" if found == in_reference else "partly found" if found else "missed"


def names_recall(names: Sequence[str], ref: Sequence[Token], hyp: Sequence[Token],
                 normalize: Normalizer) -> dict[str, Any]:
    """Per name: how often the reference says it and how often the hypothesis got it right."""
    if not ref:
        raise Skipped("reference has no words to score")
    ref_words = [_name_key(t.text) for t in ref]
    hyp_words = [_name_key(t.text) for t in hyp]
    per_name: list[dict[str, Any]] = []
    for name in names:
        key = [_name_key(w) for w in normalize(name).split()]
        in_ref, in_hyp = _count(ref_words, key), _count(hyp_words, key)
        found = min(in_ref, in_hyp)
        per_name.append({"name": name, "reference": in_ref, "hypothesis": in_hyp, "found": found,
                         "status": name_status(in_ref, found)})
    total = sum(n["reference"] for n in per_name)
    found = sum(n["found"] for n in per_name)
    return {"value": rate(found, total), "found": found, "total": total, "per_name": per_name}


# --- word timing --------------------------------------------------------------------------------

def word_timing(alignment: Sequence[AlignedWord]) -> tuple[dict[str, Any], list[float]]:
    """Median absolute start-time error over hits that have a start time on both sides."""
    if not alignment:
        raise Skipped("reference has no words to score")
    if not any(a.ref is not None and a.ref.start is not None for a in alignment):
        raise Skipped("reference has no word times")
    if not any(a.hyp is not None and a.hyp.start is not None for a in alignment):
        raise Skipped("hypothesis has no word times")
    errors = [abs(a.hyp.start - a.ref.start) for a in alignment
              if a.op == "equal" and a.ref and a.hyp and a.ref.start is not None and a.hyp.start is not None]
    if not errors:
        raise Skipped("no correctly recognised words with times on both sides")
    return {"value": statistics.median(errors), "words": len(errors)}, errors
