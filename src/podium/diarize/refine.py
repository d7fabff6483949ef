"""Split diarized speakers that hold two voices; fold away speakers with almost no speech.

segmentation-3.0 sometimes tracks two people as one local speaker across its 10 s window (on the
AMI excerpts of ../shared/data it does so in four of six chunks: a chunk's "speaker" is 46-69% one
person). pyannote then embeds the blend, and no clustering threshold can separate the two again.
This pass looks inside each speaker instead: it embeds short windows of the speaker's solo speech,
splits them in two (k-means), and keeps the split when the two halves, each embedded as a whole,
sound like different people (cosine similarity below `tuned.SPLIT_MAX_SIMILARITY`, which sits in the
gap between same- and different-speaker scores). A half that sounds like another existing speaker
joins that one instead of becoming a new speaker.

Pure over plain arrays: activity is a (frames, speakers) boolean matrix and `embed` maps lists of
frame indices to unit-norm embeddings, so the pipeline passes CAM++ and tests pass anything.

`fleeting_speakers`, the last pass, folds "speakers" left with a fraction of a second of speech in
the whole recording into the nearest voice (pure over durations and centroids).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.cluster import KMeans

# frame index arrays -> (len(list), dim) unit-norm embeddings, one per array.
Embed = Callable[[list[np.ndarray]], np.ndarray]


@dataclass(frozen=True)
class SplitSettings:
    window_frames: int  # short windows that vote for one half or the other
    hop_frames: int
    min_part_frames: int  # each half needs this much solo speech to count as a speaker
    max_similarity: float  # halves less similar than this are different people
    max_speakers: int | None = None
    max_moves: int = 32  # a bound, in case halves keep trading places between two speakers


@dataclass(frozen=True)
class Move:
    frames: np.ndarray  # frame indices that change speaker
    source: int
    target: int  # an existing speaker or a new column of the activity matrix


def split_mixed_speakers(activity: np.ndarray, embed: Embed, settings: SplitSettings
                         ) -> tuple[np.ndarray, list[Move]]:
    """Return the new activity matrix (extra columns for new speakers) and the moves made.

    Only frames where exactly one speaker is active move; overlapped speech keeps its labels.
    A speaker that was split is examined again (it may hold a third voice), up to `max_speakers`.
    """
    activity = np.asarray(activity, dtype=bool).copy()
    moves: list[Move] = []
    pending = list(range(activity.shape[1]))
    while pending and len(moves) < settings.max_moves:
        speaker = pending.pop(0)
        solo = activity.sum(axis=1) == 1
        half = _separable_half(np.flatnonzero(activity[:, speaker] & solo), embed, settings)
        if half is None:
            continue
        frames, vector = half
        target = _matching_speaker(activity, solo, speaker, vector, embed, settings.max_similarity)
        if target is None:
            if settings.max_speakers is not None and activity.shape[1] >= settings.max_speakers:
                continue
            activity = np.concatenate([activity, np.zeros((activity.shape[0], 1), dtype=bool)], axis=1)
            target = activity.shape[1] - 1
        activity[frames, speaker] = False
        activity[frames, target] = True
        moves.append(Move(frames=frames, source=speaker, target=target))
        pending = [s for s in pending if s != target] + [speaker, target]
    return activity, moves


def _separable_half(frames: np.ndarray, embed: Embed, settings: SplitSettings
                    ) -> tuple[np.ndarray, np.ndarray] | None:
    """The smaller half of `frames` and its embedding, when the two halves are different voices."""
    if frames.size < 2 * settings.min_part_frames:
        return None
    # Windows slide over the speaker's solo frames as one sequence (pauses and others' turns cut out).
    starts = range(0, frames.size - settings.window_frames + 1, settings.hop_frames)
    windows = [frames[s:s + settings.window_frames] for s in starts]
    if len(windows) < 4:
        return None
    labels = KMeans(n_clusters=2, n_init=4, random_state=0).fit_predict(embed(windows))
    votes = np.zeros((frames.size, 2))
    for start, label in zip(starts, labels, strict=True):
        votes[start:start + settings.window_frames, label] += 1
    # Frames take the half most of their windows voted for (ties and unvoted tail frames stay).
    decided = votes[:, 0] != votes[:, 1]
    parts = [frames[decided & (votes.argmax(axis=1) == half)] for half in (0, 1)]
    if min(part.size for part in parts) < settings.min_part_frames:
        return None
    vectors = embed(parts)
    if float(vectors[0] @ vectors[1]) >= settings.max_similarity:
        return None
    smaller = int(parts[1].size < parts[0].size)
    return parts[smaller], vectors[smaller]


def _matching_speaker(activity: np.ndarray, solo: np.ndarray, speaker: int, vector: np.ndarray,
                      embed: Embed, max_similarity: float) -> int | None:
    """The other speaker that `vector` sounds like (similarity at least `max_similarity`), if any."""
    others = [s for s in range(activity.shape[1]) if s != speaker and (activity[:, s] & solo).sum() >= 2]
    if not others:
        return None
    similarities = embed([np.flatnonzero(activity[:, s] & solo) for s in others]) @ vector
    best = int(np.argmax(similarities))
    return others[best] if similarities[best] >= max_similarity else None


def fleeting_speakers(seconds: dict[str, float], centroids: dict[str, np.ndarray], min_seconds: float,
                      min_speakers: int = 1) -> dict[str, str]:
    """{speaker: the speaker it joins} for speakers with under `min_seconds` of speech in all.

    A voice heard for a fraction of a second cannot be told from its neighbours (CAM++ needs about
    half a second: `tuned.SHORT_MIN_SECONDS`); such "speakers" are left over from reconstruction
    and overlap (some hold 0.0 s) and only inflate the count. Each joins the remaining speaker whose
    voice is nearest (cosine of the unit-norm `centroids`), shortest first, never leaving fewer than
    `min_speakers`. Speakers with `min_seconds` or more are untouched, however few they are."""
    kept = sorted(seconds, key=lambda label: (seconds[label], label))
    fleeting = []
    while len(kept) > max(1, min_speakers) and seconds[kept[0]] < min_seconds:
        fleeting.append(kept.pop(0))
    if not fleeting:
        return {}
    others = np.stack([centroids[label] for label in kept])
    return {label: kept[int(np.argmax(others @ centroids[label]))] for label in fleeting}
