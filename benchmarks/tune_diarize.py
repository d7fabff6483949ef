"""Cross-validated tuning of the diarizer's clustering on every shared `diar` recording.

Each recording is segmented and embedded once (pyannote's training cache); every candidate setting
then only re-clusters. A candidate is scored on all 21 recordings, and each tuned value is judged by
leave-one-recording-out cross-validation: for every recording, the candidate with the lowest pooled
DER (no collar; ties go to more exact speaker counts) on the OTHER recordings is applied to it, and
the held-out results are pooled. VBx needs a fitted two-covariance model (no trained PLDA ships
offline), so its model and values are chosen on the other sources and scored on the held-out source.

`--oracle` prints the bound of any clustering on these segmentations: pyannote's OracleClustering,
which gives every (chunk, speaker) to the reference speaker it overlaps most. `--stitched N` scores
podium 0.1.0's clustering and today's defaults on N press briefings stitched from real voices
(telephone band), where everyone but the main speaker talks 0.5-2 s at a time.

    .venv/bin/python benchmarks/tune_diarize.py [--methods ahc,spectral,vbx] [--cache FILE]
                                                [--oracle] [--stitched N] [--fleeting] [--split]
                                                [--noise] [--gaps] [--resegment]
"""

from __future__ import annotations

import argparse
import itertools
import pickle
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pyannote.core import Annotation

from common import DiarFile, diarization_files
from podium.diarize import tuned
from podium.diarize.clustering import ClusteringSettings, SpeakerClustering, fit_vbx_model, unit
from podium.diarize.pipeline import DiarizeOptions, Diarizer, clustering_settings, split_settings
from podium.evaluate.api import EvaluateOptions, PairResult, pool, score_pair
from podium.evaluate.metrics import as_annotation
from podium.evaluate.reference import Reference
from podium.transcript import SpeakerTurn

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
# Scored as the shared data's README asks (inside the UEM, no collar, overlapped speech included),
# and again with a 0.25 s collar for the references whose turn times are machine-made.
PLAIN, COLLARED = EvaluateOptions(), EvaluateOptions(collar=0.25)
Region = tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Score:
    """One recording's diarization scores, all from `podium.evaluate`: DER, JER, DER inside reference
    turns under 2 s and speaker counts with no collar (`plain`), and DER with the collar (`collared`)."""

    plain: dict[str, dict[str, Any]]
    collared: dict[str, Any]

    @property
    def der(self) -> float:
        return self.plain["der"]["value"]

    @property
    def der_collar(self) -> float:
        return self.collared["value"]

    @property
    def short_der(self) -> float:
        """0 when the recording has no reference turn under 2 s."""
        return self.plain["der_short"]["value"] or 0.0

    @property
    def jer(self) -> float:
        return self.plain["jer"]["value"]

    @property
    def reference_speakers(self) -> int:
        return self.plain["speakers"]["reference_speakers"]

    @property
    def hypothesis_speakers(self) -> int:
        return self.plain["speakers"]["hypothesis_speakers"]


def score(reference: tuple[SpeakerTurn, ...], hypothesis: Annotation | list[SpeakerTurn], region: Region
          ) -> Score:
    """Score diarization output (turns, or pyannote's Annotation) against reference turns in `region`."""
    if isinstance(hypothesis, Annotation):
        hypothesis = [SpeakerTurn(segment.start, segment.end, str(label))
                      for segment, _, label in hypothesis.itertracks(yield_label=True)]
    ref = Reference(turns=tuple(reference), format="rttm")
    hyp = Reference(turns=tuple(hypothesis), format="diarization")
    plain = score_pair(ref, hyp, PLAIN, uem=region, metrics=("der", "jer", "der_short", "speakers"))
    collared = score_pair(ref, hyp, COLLARED, uem=region, metrics=("der",))
    return Score(plain.metrics, collared.metrics["der"])


def source(file_id: str) -> str:
    """The recording's source, for per-source tables and source folds."""
    if file_id.startswith(("pyannote_", "ami")):
        return "excerpts5"
    return file_id.split("_")[0]


@dataclass(frozen=True)
class Candidate:
    clustering: ClusteringSettings
    split_margin: float | None  # `tuned.SPLIT_MIN_MARGIN`; None: no speaker-splitting pass
    short_share: float = tuned.SHORT_MAX_SHARE  # 0: every pair pooled from the shared frames (0.1.0)
    min_speaker_seconds: float = tuned.MIN_SPEAKER_SECONDS  # 0: every speaker found is kept (0.1.0)
    noise_share: float = tuned.NOISE_MAX_SPEECH_SHARE  # 0: no speaker is dropped as noise (0.1.0)
    min_duration_off: float = tuned.MIN_DURATION_OFF  # a speaker's gaps shorter than this are filled
    # (window s, min gain) of `refine.resegment`; None: no resegmentation (0.1.0)
    resegment: tuple[float, float] | None = (tuned.RESEGMENT_WINDOW, tuned.RESEGMENT_MIN_GAIN)

    @property
    def name(self) -> str:
        c = self.clustering
        parts = [c.method, f"thr={c.threshold:g}", f"ratio={c.min_active_ratio:g}",
                 f"keep={c.keep_distance}", f"split={self.split_margin}", f"short={self.short_share:g}",
                 f"min_speaker={self.min_speaker_seconds:g}", f"noise={self.noise_share:g}",
                 f"gaps={self.min_duration_off:g}", f"reseg={self.resegment}"]
        if c.method == "vbx":
            parts += [f"Fa={c.vbx_fa:g}", f"Fb={c.vbx_fb:g}"]
        return " ".join(parts)


def prepare(diarizer: Diarizer, references: list[DiarFile]) -> dict[str, dict]:
    """Segment and embed every recording once; returns pyannote file dicts holding the caches."""
    pipeline = diarizer.pipeline
    pipeline.training = True
    files = {}
    for reference in references:
        samples = reference.samples()
        file = {"waveform": torch.from_numpy(samples)[None], "sample_rate": 16000, "uri": reference.id}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pipeline(file)
        files[reference.id] = file  # with its waveform, which the speaker-splitting pass reads
    return files


def load_or_prepare(diarizer: Diarizer, references: list[DiarFile], cache: Path | None
                    ) -> dict[str, dict]:
    if cache is not None and cache.exists():
        with cache.open("rb") as handle:
            return pickle.load(handle)
    files = prepare(diarizer, references)
    if cache is not None:
        with cache.open("wb") as handle:
            pickle.dump(files, handle)
    return files


def diarize_cached(diarizer: Diarizer, file: dict, candidate: Candidate, **hints: int | None) -> Annotation:
    pipeline = diarizer.pipeline
    pipeline.training = True
    pipeline.clustering = SpeakerClustering(candidate.clustering)
    pipeline.short_share = candidate.short_share
    window, min_gain = candidate.resegment or (tuned.RESEGMENT_WINDOW, tuned.RESEGMENT_MIN_GAIN)
    pipeline.instantiate({"segmentation": {"min_duration_off": candidate.min_duration_off},
                          "min_speaker_seconds": candidate.min_speaker_seconds,
                          "noise_max_speech_share": candidate.noise_share,
                          "resegmentation": {"enabled": candidate.resegment is not None,
                                             "window": window, "min_gain": min_gain}})
    pipeline.split = (None if candidate.split_margin is None
                      else replace(split_settings(), min_margin=candidate.split_margin))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pipeline.apply(file, **hints).speaker_diarization


def score_candidates(diarizer: Diarizer, files: dict[str, dict], references: dict[str, DiarFile],
                     candidates: Iterable[Candidate], only: Iterable[str] | None = None
                     ) -> dict[str, dict[str, Score]]:
    """{candidate name: {file id: Score}}."""
    ids = list(only or files)
    table = {}
    for candidate in candidates:
        table[candidate.name] = {}
        for file_id in ids:
            hypothesis = diarize_cached(diarizer, files[file_id], candidate)
            reference = references[file_id]
            scored = score(reference.turns(), hypothesis, reference.region())
            table[candidate.name][file_id] = scored
    return table


@dataclass(frozen=True)
class Pooled:
    der: float
    der_collar: float
    short_der: float
    jer: float  # mean over recordings (JER does not pool by seconds)
    exact: int
    off_by_one: int
    count: int

    def row(self) -> str:
        return (f"{100 * self.der:5.1f} {100 * self.der_collar:5.1f} {100 * self.short_der:6.1f} "
                f"{100 * self.jer:5.1f} {self.exact:>3}/{self.count:<3} {self.off_by_one:>3}/{self.count:<3}")


POOLED_HEADER = "DER%  c.25% short% JER%  exact   off<=1"


def pooled(scores: Iterable[Score]) -> Pooled:
    """DER pooled by `podium.evaluate.api.pool` (errors summed over recordings); JER averaged."""
    scores = list(scores)
    plain = pool([PairResult(id=str(i), metrics=s.plain) for i, s in enumerate(scores)])
    collared = pool([PairResult(id=str(i), metrics={"der": s.collared}) for i, s in enumerate(scores)])
    return Pooled(der=plain["der"]["value"], der_collar=collared["der"]["value"],
                  short_der=plain["der_short"].get("value") or 0.0,
                  jer=float(np.mean([s.jer for s in scores])),
                  exact=plain["speakers"]["exact"], off_by_one=plain["speakers"]["within_one"],
                  count=len(scores))


def _rank(scores: Iterable[Score]) -> tuple[float, int]:
    summary = pooled(scores)
    return (round(summary.der, 4), -summary.exact)


def leave_one_out(table: dict[str, dict[str, Score]]) -> tuple[dict[str, Score], dict[str, str]]:
    """Held-out score of every recording under the candidate that did best on the others."""
    files = list(next(iter(table.values())))
    held_out, chosen = {}, {}
    for file_id in files:
        best = min(table, key=lambda name: _rank(s for f, s in table[name].items() if f != file_id))
        held_out[file_id], chosen[file_id] = table[best][file_id], best
    return held_out, chosen


def labelled_embeddings(diarizer: Diarizer, files: dict[str, dict], references: dict[str, DiarFile],
                        min_ratio: float = 0.2, purity: float = 0.7
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(unit embeddings, person, file id) of (chunk, speaker) pairs that the reference gives to one
    person (at least `purity` of their active frames). Bank-call people keep their corpus ids."""
    frames = diarizer.pipeline._segmentation.model.receptive_field
    vectors, people, owners = [], [], []
    for file_id, file in files.items():
        reference = as_annotation(references[file_id].turns(), uri=file_id)
        segmentation = file["training_cache/segmentation"]
        embeddings = file["training_cache/shared_embeddings"]
        labels = reference.labels()
        for chunk in range(segmentation.data.shape[0]):
            start = segmentation.sliding_window[chunk].start
            for speaker in range(segmentation.data.shape[2]):
                active = np.flatnonzero(segmentation.data[chunk, :, speaker] > 0)
                too_short = active.size < min_ratio * segmentation.data.shape[1]
                if too_short or np.isnan(embeddings[chunk, speaker]).any():
                    continue
                votes = np.zeros(len(labels))
                for index in active[::5]:
                    t = start + frames[int(index)].middle
                    for segment, _, label in reference.itertracks(yield_label=True):
                        if segment.start <= t < segment.end:
                            votes[labels.index(label)] += 1
                if votes.sum() == 0 or votes.max() < purity * votes.sum():
                    continue
                label = labels[int(votes.argmax())]
                vectors.append(embeddings[chunk, speaker])
                people.append(label if file_id.startswith("hvb") else f"{file_id}:{label}")
                owners.append(file_id)
    return unit(np.array(vectors)), np.array(people), np.array(owners)


VBX_VALUES = {"dimension": (16, 32), "fa_fb": ((0.3, 5.0), (0.1, 5.0), (0.3, 15.0))}


def vbx_by_source(diarizer: Diarizer, files: dict[str, dict], references: dict[str, DiarFile],
                  base: Candidate) -> tuple[dict[str, Score], dict[str, str]]:
    """VBx scored on each source with its model and values chosen on the other sources."""
    vectors, people, owners = labelled_embeddings(diarizer, files, references)
    held_out, chosen = {}, {}
    for held in sorted({source(f) for f in files}):
        training = [f for f in files if source(f) != held]
        keep = np.array([source(o) != held for o in owners])
        options = []
        for dimension, (fa, fb) in itertools.product(VBX_VALUES["dimension"], VBX_VALUES["fa_fb"]):
            model = fit_vbx_model(vectors[keep], people[keep], dimension)
            clustering = replace(base.clustering, method="vbx", vbx=model, vbx_fa=fa, vbx_fb=fb)
            candidate = replace(base, clustering=clustering)
            options.append((candidate, f"dim={dimension} {candidate.name}"))
        table = {name: score_candidates(diarizer, files, references, [c], only=training)[c.name]
                 for c, name in options}
        best = min(table, key=lambda name: _rank(table[name].values()))
        candidate = next(c for c, name in options if name == best)
        for file_id in (f for f in files if source(f) == held):
            held_out[file_id] = score_candidates(diarizer, files, references, [candidate], only=[file_id]
                                                 )[candidate.name][file_id]
            chosen[file_id] = best
    return held_out, chosen


def oracle(diarizer: Diarizer, files: dict[str, dict], references: dict[str, DiarFile]
           ) -> dict[str, Score]:
    """Scores with each (chunk, speaker) given to its reference speaker: no clustering does better."""
    from pyannote.audio.pipelines.clustering import OracleClustering

    pipeline = diarizer.pipeline
    pipeline.training, pipeline.split = True, None
    pipeline.clustering = OracleClustering()
    scores = {}
    for file_id, file in files.items():
        reference = references[file_id]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            annotation = as_annotation(reference.turns(), uri=file_id)
            with_reference = {**file, "annotation": annotation, "audio": str(reference.audio)}
            output = pipeline.apply(with_reference)
        scores[file_id] = score(reference.turns(), output.speaker_diarization, reference.region())
    return scores


# podium 0.1.0's clustering: pyannote's rule (2 s alone to be clustered, small clusters always merge).
# (0.1.0's speaker-splitting pass, which compared two halves as wholes, is gone: today's runs here.)
PREVIOUS = Candidate(ClusteringSettings(method="ahc", threshold=0.45, min_active_ratio=0.2),
                     tuned.SPLIT_MIN_MARGIN, 0.0, 0.0, 0.0, resegment=None)
# The values `--fleeting` cross-validates for `tuned.MIN_SPEAKER_SECONDS`, at today's other defaults.
MIN_SPEAKER_GRID = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
# The values `--split` cross-validates for `tuned.SPLIT_MIN_MARGIN` (None: no splitting pass).
SPLIT_MARGIN_GRID = (None, 0.06, 0.10, 0.14, 0.18, 0.22, 0.26)
# The values `--noise` cross-validates for `tuned.NOISE_MAX_SPEECH_SHARE` (0: no speaker dropped).
NOISE_SHARE_GRID = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
# The values `--gaps` cross-validates for `tuned.MIN_DURATION_OFF` (0: no gap filled).
GAP_GRID = (0.0, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0)
# The (window s, min gain) pairs `--resegment` cross-validates for `tuned.RESEGMENT_WINDOW` and
# `tuned.RESEGMENT_MIN_GAIN` (None: no resegmentation).
RESEGMENT_GRID = (None, *itertools.product((0.4, 0.8, 1.6), (0.0, 0.05, 0.1, 0.2)))


def stitched(diarizer: Diarizer, count: int, candidates: list[Candidate]) -> None:
    """Pooled scores on `count` stitched press briefings, and how many of their short-turn speakers
    keep their own hypothesis speaker (the one holding most of their speech is not the main one's)."""
    from podium.evaluate.simulate import load_voices, press_briefing

    voices = load_voices(DATA, telephone=True)
    briefings = [press_briefing(voices, seed) for seed in range(count)]
    pipeline = diarizer.pipeline
    pipeline.training = True
    pipeline.clustering = SpeakerClustering(candidates[0].clustering)  # (after `oracle`) any real one
    files = []
    for seed, briefing in enumerate(briefings):
        file = {"waveform": torch.from_numpy(briefing.samples.astype(np.float32))[None],
                "sample_rate": 16000, "uri": f"stitched{seed}"}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pipeline(file)
        files.append(file)
    for candidate in candidates:
        scores, kept, total = [], 0, 0
        for file, briefing in zip(files, briefings, strict=True):
            reference = as_annotation(briefing.turns)
            hypothesis = diarize_cached(diarizer, file, candidate)
            scores.append(score(briefing.turns, hypothesis, ((0.0, briefing.duration),)))
            assert briefing.plan is not None
            main = _owner(hypothesis, reference, briefing.plan.main)
            owners = [_owner(hypothesis, reference, other) for other in briefing.plan.others]
            kept += sum(owner not in (main, None) for owner in owners)
            total += len(briefing.plan.others)
        print(f"{'stitched ' + ('0.1.0' if candidate == PREVIOUS else 'defaults'):<34} {'briefings':<16} "
              f"{pooled(scores).row()}  short-turn speakers kept apart {kept}/{total}")


def _owner(hypothesis: Annotation, reference: Annotation, label: str) -> str | None:
    timeline = reference.label_timeline(label)
    shares = {h: hypothesis.label_timeline(h).crop(timeline).duration() for h in hypothesis.labels()}
    return max(shares, key=lambda h: shares[h]) if shares and max(shares.values()) > 0 else None


def grid(methods: Iterable[str]) -> list[Candidate]:
    candidates = []
    for method in methods:
        if method == "ahc":
            for threshold, ratio, keep, split in itertools.product(
                    (0.4, 0.45, 0.5), (0.1, 0.2), (None, 0.5, 0.6), (tuned.SPLIT_MIN_MARGIN,)):
                candidates.append(Candidate(ClusteringSettings(
                    method="ahc", threshold=threshold, min_active_ratio=ratio, keep_distance=keep), split))
        elif method == "spectral":
            for ratio, split in itertools.product((0.1, 0.2), (tuned.SPLIT_MIN_MARGIN,)):
                settings = ClusteringSettings(method="spectral", min_active_ratio=ratio)
                candidates.append(Candidate(settings, split))
    return candidates


def print_summary(label: str, scores: dict[str, Score]) -> None:
    groups = {"all": list(scores)} | {name: [f for f in scores if source(f) == name]
                                      for name in sorted({source(f) for f in scores})}
    for name, ids in groups.items():
        print(f"{label:<34} {name:<16} {pooled(scores[f] for f in ids).row()}")


def run(args: argparse.Namespace, report: Callable[[str, dict[str, Score]], None] = print_summary) -> None:
    references = {r.id: r for r in diarization_files(DATA)}
    diarizer = Diarizer(DiarizeOptions(device="cpu"))
    files = load_or_prepare(diarizer, list(references.values()), args.cache)
    methods = [m for m in args.methods.split(",") if m]
    print(f"{'':<34} {'source':<16} {POOLED_HEADER}")
    if args.oracle:
        report("oracle clustering (a bound)", oracle(diarizer, files, references))
    today = Candidate(clustering_settings(DiarizeOptions()), split_settings().min_margin)
    if args.stitched:
        stitched(diarizer, args.stitched, [PREVIOUS, today])
    def sweep(label: str, candidates: list[Candidate], values: Iterable[Any]) -> None:
        """Each candidate's pooled scores (labelled by its value), then the CV figure."""
        table = score_candidates(diarizer, files, references, candidates)
        for candidate, value in zip(candidates, values, strict=True):
            report(f"{label} {value}", table[candidate.name])
        cross_validate(label, table, report)

    if args.fleeting:
        sweep("min speaker seconds",
              [replace(today, min_speaker_seconds=seconds) for seconds in MIN_SPEAKER_GRID], MIN_SPEAKER_GRID)
    if args.split:
        sweep("split margin", [replace(today, split_margin=margin) for margin in SPLIT_MARGIN_GRID],
              SPLIT_MARGIN_GRID)
    if args.noise:
        sweep("noise speech share", [replace(today, noise_share=share) for share in NOISE_SHARE_GRID],
              NOISE_SHARE_GRID)
    if args.resegment:
        sweep("resegment (window, gain)", [replace(today, resegment=pair) for pair in RESEGMENT_GRID],
              RESEGMENT_GRID)
    if args.gaps:
        sweep("gaps filled under", [replace(today, min_duration_off=gap) for gap in GAP_GRID], GAP_GRID)
    for method in (m for m in methods if m != "vbx"):
        cross_validate(method, score_candidates(diarizer, files, references, grid([method])), report)
    if "vbx" in methods:
        base = Candidate(ClusteringSettings(method="vbx"), split_settings().min_margin)
        held_out, chosen = vbx_by_source(diarizer, files, references, base)
        report("vbx: leave-one-source-out CV", held_out)
        for name, count in sorted(_count(chosen.values()).items(), key=lambda x: -x[1]):
            print(f"  chosen for {count:>2} of {len(chosen)} held-out recordings: {name}")


def cross_validate(label: str, table: dict[str, dict[str, Score]],
                   report: Callable[[str, dict[str, Score]], None]) -> None:
    """The in-sample best of `table` ({candidate: {file: Score}}), the leave-one-out CV figure and
    how often each candidate was chosen for a held-out recording."""
    best = min(table, key=lambda name: _rank(table[name].values()))
    report(f"{label}: best in-sample", table[best])
    held_out, chosen = leave_one_out(table)
    report(f"{label}: leave-one-out CV", held_out)
    print(f"  in-sample best: {best}")
    for name, count in sorted(_count(chosen.values()).items(), key=lambda x: -x[1]):
        print(f"  chosen for {count:>2} of {len(chosen)} held-out recordings: {name}")


def _count(values: Iterable[Any]) -> dict[Any, int]:
    counts: dict[Any, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default="ahc,spectral,vbx")
    parser.add_argument("--cache", type=Path, default=None,
                        help="pickle of the segmented and embedded recordings (made if missing)")
    parser.add_argument("--oracle", action="store_true", help="also score oracle clustering (a bound)")
    parser.add_argument("--stitched", type=int, default=0, metavar="N",
                        help="also score N stitched press briefings (0.1.0's clustering vs the defaults)")
    parser.add_argument("--fleeting", action="store_true",
                        help="also cross-validate the least speech a speaker may have (min_speaker_seconds)")
    parser.add_argument("--split", action="store_true",
                        help="also cross-validate the speaker-splitting pass's margin (split_margin)")
    parser.add_argument("--noise", action="store_true",
                        help="also cross-validate the speech share under which a speaker is noise "
                             "(noise_max_speech_share)")
    parser.add_argument("--gaps", action="store_true",
                        help="also cross-validate the gaps within a speaker's speech that are filled "
                             "(min_duration_off)")
    parser.add_argument("--resegment", action="store_true",
                        help="also cross-validate the resegmentation's window and gain")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    run(args)


if __name__ == "__main__":
    main()
