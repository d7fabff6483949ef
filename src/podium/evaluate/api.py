"""Scoring from Python: `score` on two References, `evaluate_pair` on two files, `pool` over pairs.

    from podium.evaluate.api import EvaluateOptions, reference_from_transcript, score
    metrics = score(reference, reference_from_transcript(transcript), EvaluateOptions())
    metrics["wer"]["value"], metrics["der"].get("skipped")

Every metric is a dict with a "value" (None when it has no denominator) and its counts, or
{"skipped": reason} when it does not apply to the pair.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from podium.errors import OptionError, PodiumError
from podium.evaluate import metrics as m
from podium.evaluate.normalize import (
    DESCRIPTIONS,
    NORMALIZATIONS,
    Normalizer,
    Token,
    get_normalizer,
    tokenize,
)
from podium.evaluate.readers import FORMATS, read_names, read_reference, read_uem
from podium.evaluate.reference import NoTurns, Reference, Utterance, reference_from_transcript, speaker_turns
from podium.options import option
from podium.transcript import SpeakerTurn

__all__ = ["EvaluateOptions", "PairResult", "evaluate_pair", "pool", "reference_from_manifest_item",
           "reference_from_transcript", "score", "score_pair"]

Region = tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class EvaluateOptions:
    normalize: str = option("whisper", "text normalisation applied to both sides before scoring words",
                            choices=NORMALIZATIONS)
    collar: float = option(0.0, "seconds excluded from DER/JER around each reference speaker boundary "
                                "(pyannote: centred on the boundary)", metavar="SECONDS")
    skip_overlap: bool = option(False, "leave overlapping speech out of DER/JER")
    short_turn_s: float = option(m.SHORT_TURN_S, "also report WDER over the words of reference turns "
                                 "(STM lines, cues, segments) shorter than this", metavar="SECONDS")
    names: str | None = option(None, "file of proper nouns, one per line, whose recall to report",
                               metavar="FILE")
    ref_format: str | None = option(None, "reference file format (default: from extension and content)",
                                    choices=FORMATS)
    hyp_format: str | None = option(None, "hypothesis file format (default: from extension and content)",
                                    choices=FORMATS)

    def __post_init__(self) -> None:
        if self.normalize not in NORMALIZATIONS:
            raise OptionError(f"normalize must be one of {', '.join(NORMALIZATIONS)}, not {self.normalize!r}")
        if self.collar < 0:
            raise OptionError(f"collar must be >= 0 seconds, not {self.collar}")
        if self.short_turn_s <= 0:
            raise OptionError(f"short_turn_s must be > 0 seconds, not {self.short_turn_s}")

    @property
    def normalization(self) -> str:
        return DESCRIPTIONS[self.normalize]


@dataclass(frozen=True)
class PairResult:
    """The metrics of one pair, plus what the HTML page draws: alignment and both sides' turns."""

    id: str
    metrics: dict[str, dict[str, Any]]
    ref_path: str | None = None
    hyp_path: str | None = None
    ref_format: str = "unknown"
    hyp_format: str = "unknown"
    alignment: tuple[m.AlignedWord, ...] = ()
    speaker_mapping: dict[str, str] = field(default_factory=dict)  # hyp -> ref speaker, by words (WDER)
    turn_mapping: dict[str, str] = field(default_factory=dict)  # hyp -> ref speaker, by time (DER)
    ref_turns: tuple[SpeakerTurn, ...] = ()
    hyp_turns: tuple[SpeakerTurn, ...] = ()
    timing_errors: tuple[float, ...] = ()

    def is_speaker_error(self, word: m.AlignedWord) -> bool:
        return "value" in self.metrics.get("wder", {}) and m.is_speaker_error(word, self.speaker_mapping)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "ref": self.ref_path, "hyp": self.hyp_path, "ref_format": self.ref_format,
                "hyp_format": self.hyp_format, "metrics": self.metrics}


def _attempt(compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return compute()
    except (m.Skipped, NoTurns) as reason:
        return {"skipped": str(reason)}


@dataclass
class _WordScores:
    """Text metrics of one pair, and what the page and the pooled timing need from them."""

    metrics: dict[str, dict[str, Any]]
    alignment: tuple[m.AlignedWord, ...] = ()
    mapping: dict[str, str] = field(default_factory=dict)
    timing_errors: list[float] = field(default_factory=list)


def tokens_with_turn_durations(ref: Reference, normalize: Normalizer
                               ) -> tuple[tuple[Token, ...], tuple[float | None, ...]]:
    """`tokenize(ref)`, and for each token the duration of the utterance (turn) it came from."""
    tokens: list[Token] = []
    durations: list[float | None] = []
    for utterance in ref.utterances:
        own = tokenize(Reference(utterances=(utterance,)), normalize)
        duration = (utterance.end - utterance.start
                    if utterance.start is not None and utterance.end is not None else None)
        tokens.extend(own)
        durations.extend([duration] * len(own))
    return tuple(tokens), tuple(durations)


def _score_words(ref: Reference, hyp: Reference, options: EvaluateOptions) -> _WordScores:
    normalize = get_normalizer(options.normalize)
    ref_tokens, turn_durations = tokens_with_turn_durations(ref, normalize)
    hyp_tokens = tokenize(hyp, normalize)
    keys = ("wer", "cer", "cpwer", "wder", "wder_short", *(("names",) if options.names else ()),
            "word_timing")
    names = read_names(options.names) if options.names else ()
    if not ref_tokens:
        reason = (f"reference ({ref.format}) has no text" if not ref.has_text
                  else "reference has no words left after normalisation")
        return _WordScores({key: {"skipped": reason} for key in keys})
    scores = _WordScores({})
    scores.metrics["wer"], scores.alignment = m.align_words(ref_tokens, hyp_tokens)
    scores.metrics["cer"] = m.character_error(ref_tokens, hyp_tokens)
    scores.metrics["cpwer"] = _attempt(lambda: m.cpwer(ref_tokens, hyp_tokens))
    try:
        scores.metrics["wder"], scores.mapping = m.wder(scores.alignment)
    except m.Skipped as reason:
        scores.metrics["wder"] = {"skipped": str(reason)}
    if "skipped" in scores.metrics["wder"]:
        scores.metrics["wder_short"] = dict(scores.metrics["wder"])
    else:
        scores.metrics["wder_short"] = _attempt(lambda: m.short_turn_wder(
            scores.alignment, scores.mapping, turn_durations, options.short_turn_s))
    if names:
        scores.metrics["names"] = m.names_recall(names, ref_tokens, hyp_tokens, normalize)
    try:
        scores.metrics["word_timing"], scores.timing_errors = m.word_timing(scores.alignment)
    except m.Skipped as reason:
        scores.metrics["word_timing"] = {"skipped": str(reason)}
    return scores


def _score_speakers(ref: Reference, hyp: Reference, options: EvaluateOptions,
                    uem: Region | None) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """DER and JER with the hyp -> ref mapping pyannote found, or both skipped with the reason."""
    try:
        turns_ref, ref_source = speaker_turns(ref, "reference")
        turns_hyp, hyp_source = _hyp_turns(hyp)
        der, jer, mapping = m.diarization_errors(turns_ref, turns_hyp, uem, options.collar,
                                                 options.skip_overlap)
    except (m.Skipped, NoTurns) as reason:
        return {"der": {"skipped": str(reason)}, "jer": {"skipped": str(reason)}}, {}
    for metric in (der, jer):
        metric.update(reference_turns=ref_source, hypothesis_turns=hyp_source)
    return {"der": der, "jer": jer}, mapping


def score_pair(ref: Reference, hyp: Reference, options: EvaluateOptions, *, uem: Region | None = None,
               pair_id: str = "pair") -> PairResult:
    """Every metric that applies to this pair, with the alignment and turns behind them."""
    words = _score_words(ref, hyp, options)
    speakers, der_mapping = _score_speakers(ref, hyp, options, uem)
    order = ("wer", "cer", "cpwer", "wder", "wder_short", "der", "jer", "names", "word_timing")
    metrics = {**words.metrics, **speakers}
    metrics = {key: metrics[key] for key in order if key in metrics}
    return PairResult(id=pair_id, metrics=metrics, ref_format=ref.format, hyp_format=hyp.format,
                      ref_path=ref.source, hyp_path=hyp.source, alignment=words.alignment,
                      speaker_mapping=words.mapping, turn_mapping=der_mapping, ref_turns=_turns_or_empty(ref),
                      hyp_turns=_turns_or_empty(hyp), timing_errors=tuple(words.timing_errors))


def _hyp_turns(hyp: Reference) -> tuple[tuple[SpeakerTurn, ...], str]:
    """A hypothesis without any speech is a valid (if poor) diarization: no turns at all."""
    if not hyp.turns and not hyp.has_text:
        return (), "empty"
    return speaker_turns(hyp, "hypothesis")


def _turns_or_empty(ref: Reference) -> tuple[SpeakerTurn, ...]:
    try:
        return speaker_turns(ref)[0]
    except NoTurns:
        return ()


def score(ref: Reference, hyp: Reference, options: EvaluateOptions | None = None, *,
          uem: Region | None = None) -> dict[str, dict[str, Any]]:
    """The metrics dict for one pair (see the module docstring)."""
    return score_pair(ref, hyp, options or EvaluateOptions(), uem=uem).metrics


def evaluate_pair(ref_path: str | Path, hyp_path: str | Path, options: EvaluateOptions | None = None, *,
                  uem_path: str | Path | None = None, pair_id: str | None = None) -> PairResult:
    """Read both files (formats from the options or detected) and score them."""
    options = options or EvaluateOptions()
    ref = read_reference(ref_path, options.ref_format)
    hyp = read_reference(hyp_path, options.hyp_format)
    uem = read_uem(uem_path) if uem_path else None
    result = score_pair(ref, hyp, options, uem=uem, pair_id=pair_id or Path(hyp_path).stem)
    return replace(result, ref_path=str(ref_path), hyp_path=str(hyp_path))


MANIFEST_REFERENCES = ("transcript", "rttm")  # the fields of a manifest item that hold a reference


def reference_from_manifest_item(item: dict[str, Any], root: str | Path) -> tuple[Reference, Region | None]:
    """A shared-data manifest item as a Reference and its UEM: `transcript` text, `rttm` turns, or both.

    The fields decide, not "kind": the shape `podium bench --help` describes (audio plus transcript)
    has no kind, and an item of kind "asr+diar" carries both.
    """
    text, rttm = item.get("transcript"), item.get("rttm")
    if not isinstance(text, str) and not isinstance(rttm, str):
        name = item.get("id") or item.get("audio")
        raise PodiumError(f"manifest item {name!r} has no reference: give \"transcript\" (its text), "
                          "\"rttm\" (its speaker turns) or \"ref\" (a reference file)")
    root = Path(root)
    ref = read_reference(root / rttm, "rttm") if isinstance(rttm, str) else Reference(
        format="text", source=item.get("id"))
    if isinstance(text, str):
        ref = replace(ref, utterances=(Utterance(text),))
    return ref, read_uem(root / item["uem"]) if isinstance(item.get("uem"), str) else None


# --- pooling over pairs: errors summed over the reference, not rates averaged ----------------------

def _sum(parts: Sequence[dict[str, Any]], key: str) -> Any:
    return sum(p[key] for p in parts)


def _pooled_wer(parts: Sequence[dict[str, Any]], length_key: str) -> dict[str, Any]:
    keys = ("substitutions", "deletions", "insertions", length_key)
    out = {k: _sum(parts, k) for k in keys}
    for extra in ("hits", "hypothesis_words"):
        if all(extra in p for p in parts):
            out[extra] = _sum(parts, extra)
    errors = out["substitutions"] + out["deletions"] + out["insertions"]
    return {"value": m.rate(errors, out[length_key]), **out}


def _pooled_names(parts: Sequence[dict[str, Any]]) -> dict[str, Any]:
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


def _pooled_ratio(parts: Sequence[dict[str, Any]], errors: Sequence[str], total: str,
                  keep: Sequence[str] = ()) -> dict[str, Any]:
    out = {k: _sum(parts, k) for k in (*errors, total)}
    out.update({k: parts[0][k] for k in keep if k in parts[0]})
    return {"value": m.rate(sum(out[k] for k in errors), out[total]), **out}


def pool(results: Sequence[PairResult]) -> dict[str, dict[str, Any]]:
    """One overall row: each rate recomputed from the summed counts of the pairs that have it."""
    keys = [k for r in results for k in r.metrics]
    pooled: dict[str, dict[str, Any]] = {}
    for key in dict.fromkeys(keys):
        parts = [r.metrics[key] for r in results if "skipped" not in r.metrics.get(key, {"skipped": ""})]
        if not parts:
            pooled[key] = {"skipped": "no pair could be scored for it"}
            continue
        pooled[key] = _pool_one(key, parts, results)
        pooled[key]["pairs"] = len(parts)
    return pooled


def _pool_one(key: str, parts: Sequence[dict[str, Any]], results: Sequence[PairResult]) -> dict[str, Any]:
    if key == "wer":
        return _pooled_wer(parts, "reference_words")
    if key == "cer":
        return _pooled_wer(parts, "reference_chars")
    if key == "cpwer":
        return _pooled_ratio(parts, ("errors",), "length")
    if key == "wder":
        return _pooled_ratio(parts, ("speaker_errors",), "scored_words")
    if key == "wder_short":
        return _pooled_ratio(parts, ("speaker_errors",), "scored_words", keep=("short_turn_s",)) | {
            "reference_words": _sum(parts, "reference_words")}
    if key == "der":
        return _pooled_ratio(parts, ("false_alarm", "missed_detection", "confusion"), "total",
                             keep=("collar", "skip_overlap"))
    if key == "jer":
        return _pooled_ratio(parts, ("speaker_error",), "speaker_count", keep=("collar", "skip_overlap"))
    if key == "names":
        return _pooled_names(parts)
    if key == "word_timing":
        errors = [e for r in results for e in r.timing_errors]
        return {"value": statistics.median(errors), "words": len(errors)}
    raise ValueError(f"no pooling rule for metric {key!r}")
