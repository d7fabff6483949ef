"""Scoring from Python: `score` on two References, `evaluate_pair` on two files, `pool` over pairs.

    from podium.evaluate.api import EvaluateOptions, reference_from_transcript, score
    metrics = score(reference, reference_from_transcript(transcript), EvaluateOptions())
    metrics["wer"]["value"], metrics["der"].get("skipped")

Every metric is a dict with a "value" (None when it has no denominator) and its counts, or
{"skipped": reason} when it does not apply to the pair. The metrics, and how each is pooled and
shown, are `podium.evaluate.registry.METRICS`; some are scored only when asked for by key:

    score_pair(reference, hypothesis, EvaluateOptions(), uem=uem, metrics=("der", "der_short", "speakers"))
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
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
from podium.evaluate.registry import METRICS, Metric, selected
from podium.options import option
from podium.transcript import SpeakerTurn

__all__ = ["EvaluateOptions", "PairResult", "PairScoring", "evaluate_pair", "pool",
           "reference_from_manifest_item", "reference_from_transcript", "score", "score_pair"]

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


class PairScoring:
    """One pair being scored: what several metrics share (normalised tokens, the word alignment,
    speaker turns), each worked out once, when a metric first asks for it.

    A shared step that does not apply raises `metrics.Skipped` (or `NoTurns`) with its reason, and
    raises it again for every later metric that needs it, so they are skipped for the same reason.
    """

    def __init__(self, ref: Reference, hyp: Reference, options: EvaluateOptions, uem: Region | None) -> None:
        self.ref, self.hyp, self.options, self.uem = ref, hyp, options, uem
        self._done: dict[str, tuple[Any, Exception | None]] = {}

    @cached_property
    def normalizer(self) -> Normalizer:
        return get_normalizer(self.options.normalize)

    def _once(self, step: str, compute: Callable[[], Any]) -> Any:
        if step not in self._done:
            try:
                self._done[step] = (compute(), None)
            except (m.Skipped, NoTurns) as error:
                self._done[step] = (None, error)
        value, reason = self._done[step]
        if reason is not None:
            raise reason
        return value

    def outcome(self, step: str, default: Any) -> Any:
        """What a step gave, if some metric ran it and it applied; else `default` (nothing is run)."""
        value, reason = self._done.get(step, (default, None))
        return default if reason is not None else value

    def tokens(self) -> tuple[tuple[Token, ...], tuple[Token, ...], tuple[float | None, ...]]:
        """Reference tokens, hypothesis tokens, and per reference token its turn's duration."""
        return self._once("tokens", self._tokens)

    def _tokens(self) -> tuple[tuple[Token, ...], tuple[Token, ...], tuple[float | None, ...]]:
        ref_tokens, durations = tokens_with_turn_durations(self.ref, self.normalizer)
        if not ref_tokens:
            raise m.Skipped(f"reference ({self.ref.format}) has no text" if not self.ref.has_text
                            else "reference has no words left after normalisation")
        return ref_tokens, tokenize(self.hyp, self.normalizer), durations

    def alignment(self) -> tuple[dict[str, Any], tuple[m.AlignedWord, ...]]:
        """WER and the word alignment behind it."""
        return self._once("alignment", lambda: m.align_words(*self.tokens()[:2]))

    def speaker_mapping(self) -> tuple[dict[str, Any], dict[str, str]]:
        """WDER and the hyp -> ref speaker mapping it found."""
        return self._once("speaker_mapping", lambda: m.wder(self.alignment()[1]))

    def timing(self) -> tuple[dict[str, Any], list[float]]:
        """Word start-time error, and every matched word's error (pooled by their median)."""
        return self._once("timing", lambda: m.word_timing(self.alignment()[1]))

    def names(self) -> tuple[str, ...]:
        return self._once("names", lambda: read_names(self.options.names) if self.options.names else ())

    def turns(self) -> tuple[tuple[SpeakerTurn, ...], tuple[SpeakerTurn, ...]]:
        """Reference and hypothesis speaker turns."""
        return self._once("turns", self._turns)[:2]

    def _turns(self) -> tuple[tuple[SpeakerTurn, ...], tuple[SpeakerTurn, ...], str, str]:
        ref, ref_source = speaker_turns(self.ref, "reference")
        hyp, hyp_source = _hyp_turns(self.hyp)
        return ref, hyp, ref_source, hyp_source

    def diarization(self) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
        """DER and JER (pyannote.metrics), and the hyp -> ref speaker mapping DER used."""
        return self._once("diarization", self._diarization)

    def _diarization(self) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
        ref, hyp, ref_source, hyp_source = self._once("turns", self._turns)
        der, jer, mapping = m.diarization_errors(ref, hyp, self.uem, self.options.collar,
                                                 self.options.skip_overlap)
        for metric in (der, jer):
            metric.update(reference_turns=ref_source, hypothesis_turns=hyp_source)
        return der, jer, mapping

    def score(self, metric: Metric) -> dict[str, Any]:
        try:
            return metric.compute(self)
        except (m.Skipped, NoTurns) as reason:
            return {"skipped": str(reason)}


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


def score_pair(ref: Reference, hyp: Reference, options: EvaluateOptions, *, uem: Region | None = None,
               pair_id: str = "pair", metrics: Collection[str] | None = None) -> PairResult:
    """Every registered metric that applies to this pair (or those of `metrics`, by key, which may
    name metrics that are not scored by default), with the alignment and turns behind them."""
    pair = PairScoring(ref, hyp, options, uem)
    scores = {metric.key: pair.score(metric) for metric in selected(options, metrics)}
    return PairResult(id=pair_id, metrics=scores, ref_format=ref.format, hyp_format=hyp.format,
                      ref_path=ref.source, hyp_path=hyp.source,
                      alignment=pair.outcome("alignment", (None, ()))[1],
                      speaker_mapping=pair.outcome("speaker_mapping", (None, {}))[1],
                      turn_mapping=pair.outcome("diarization", (None, None, {}))[2],
                      ref_turns=_turns_or_empty(ref), hyp_turns=_turns_or_empty(hyp),
                      timing_errors=tuple(pair.outcome("timing", (None, ()))[1]))


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


# --- pooling over pairs: each metric's rule is in the registry -------------------------------------

def pool(results: Sequence[PairResult]) -> dict[str, dict[str, Any]]:
    """One overall row: each rate recomputed from the summed counts of the pairs that have it."""
    keys = [k for r in results for k in r.metrics]
    pooled: dict[str, dict[str, Any]] = {}
    for key in dict.fromkeys(keys):
        parts = [r.metrics[key] for r in results if "skipped" not in r.metrics.get(key, {"skipped": ""})]
        if not parts:
            pooled[key] = {"skipped": "no pair could be scored for it"}
            continue
        if key not in METRICS:
            raise ValueError(f"no pooling rule for metric {key!r}")
        pooled[key] = METRICS[key].pool(parts, results)
        pooled[key]["pairs"] = len(parts)
    return pooled
