"""Split diarized speakers that hold two voices; fold away speakers with almost no speech.

segmentation-3.0 sometimes tracks two people as one local speaker across its 10 s window (on the
AMI excerpts of ../shared/data it does so in four of six chunks: a chunk's "speaker" is 46-69% one
person; on three of the bank calls it tracks the agent and the caller as one for most of the call).
pyannote then embeds the blend, and no clustering threshold can separate the two again. This pass
looks inside each speaker instead: it embeds short windows of the speaker's solo speech, each cut
from one stretch of speech so that no window holds two turns, splits them in two (k-means), and
keeps the split when the windows of each half sound alike more than they sound like the other
half's (mean cosine similarity within the less coherent half, minus the mean across halves, at
least `tuned.SPLIT_MIN_MARGIN`). A half that sounds like another existing speaker (similarity of the
whole half at least `tuned.SPLIT_MAX_SIMILARITY`) joins that one instead of becoming a new speaker.
The decision is made on at most `max_windows` windows spread over the speaker (the cost of a long
speaker is bounded); copies of one stretch of audio count once in it.

Pure over plain arrays: activity is a (frames, speakers) boolean matrix; `embed` maps lists of
frame indices to unit-norm embeddings, and `embed_windows` does so for the short windows (the
pipeline passes CAM++ on whole-file frames for the first and on each window's own audio for the
second; tests pass anything).

`fleeting_speakers` folds "speakers" heard alone for a fraction of a second in the whole recording
into the nearest voice (pure over durations and centroids). `resegment`, the last pass, moves solo
speech whose surroundings sound like another speaker to that speaker (pure over the activity matrix).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.cluster import KMeans

# frame index arrays -> (len(list), dim) unit-norm embeddings, one per array.
Embed = Callable[[list[np.ndarray]], np.ndarray]
# Two windows this alike are one stretch of audio heard twice: 1.4 s windows of different speech of
# one person score at most 0.79 on CAM++ (two minutes each of three shared voices); copies in a
# looped file score 0.99 and above.
DUPLICATE_SIMILARITY = 0.97
# `resegment` embeds its windows this many at a time (memory: a few MB a block).
RESEGMENT_BLOCK = 2048


@dataclass(frozen=True)
class SplitSettings:
    window_frames: int  # length of the windows of solo speech that are clustered into two halves
    min_run_frames: int  # stretches of solo speech shorter than this are too short to window
    min_part_frames: int  # each half needs this much solo speech to count as a speaker
    min_margin: float  # within-half minus across-half window similarity that makes two voices
    max_similarity: float  # a half at least this similar to another speaker joins that one
    max_windows: int = 24  # windows embedded to decide a split, spread over the speaker (16 lost DER)
    length_step_frames: int = 10  # window lengths are multiples of this, so that they batch
    max_speakers: int | None = None
    max_moves: int = 32  # a bound, in case halves keep trading places between two speakers


@dataclass(frozen=True)
class Move:
    frames: np.ndarray  # frame indices that change speaker
    source: int
    target: int  # an existing speaker or a new column of the activity matrix


def split_mixed_speakers(activity: np.ndarray, embed: Embed, settings: SplitSettings,
                         embed_windows: Embed | None = None) -> tuple[np.ndarray, list[Move]]:
    """Return the new activity matrix (extra columns for new speakers) and the moves made.

    Only frames where exactly one speaker is active move; overlapped speech keeps its labels.
    A speaker that was split is examined again (it may hold a third voice), up to `max_speakers`.
    `embed_windows` embeds the short windows that decide a split (default: `embed`); `embed` the
    speakers, the halves and, once a speaker splits, the windows that did not take part in deciding.
    """
    activity = np.asarray(activity, dtype=bool).copy()
    moves: list[Move] = []
    pending = list(range(activity.shape[1]))
    # A speaker examined again after a split is cut into the same windows where its speech did not
    # change: each window is embedded once.
    embed_windows = _remembered(embed_windows or embed)
    while pending and len(moves) < settings.max_moves:
        speaker = pending.pop(0)
        solo = activity.sum(axis=1) == 1
        frames = _separable_half(np.flatnonzero(activity[:, speaker] & solo), embed_windows, embed, settings)
        if frames is None:
            continue
        vector = embed([frames])[0]
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


def _remembered(embed: Embed) -> Embed:
    """`embed`, computing each distinct frame set once."""
    known: dict[bytes, np.ndarray] = {}

    def remembered(index_sets: list[np.ndarray]) -> np.ndarray:
        if not index_sets:
            return embed(index_sets)
        keys = [np.asarray(indices, dtype=np.int64).tobytes() for indices in index_sets]
        missing = {key: indices for key, indices in zip(keys, index_sets, strict=True) if key not in known}
        if missing:
            known.update(zip(missing, embed(list(missing.values())), strict=True))
        return np.stack([known[key] for key in keys])
    return remembered


def solo_windows(frames: np.ndarray, settings: SplitSettings) -> list[np.ndarray]:
    """`frames` (sorted indices) cut into windows that never span a gap: each stretch of consecutive
    frames of at least `min_run_frames` is cut into equal windows of about `window_frames`, each a
    multiple of `length_step_frames` long (the stretch's last few frames are left out)."""
    step = settings.length_step_frames
    windows: list[np.ndarray] = []
    for run in np.split(frames, np.flatnonzero(np.diff(frames) > 1) + 1):
        if run.size < max(settings.min_run_frames, step):
            continue
        count = max(1, round(run.size / settings.window_frames))
        length = max(step, run.size // count // step * step)
        windows.extend(run[first:first + length] for first in range(0, length * (run.size // length), length))
    return windows


def two_voices(vectors: np.ndarray, min_margin: float) -> np.ndarray | None:
    """Labels (0/1) splitting unit-norm window embeddings in two voices, or None when they are one.

    Two voices when each k-means half has two windows or more, and the mean similarity of the windows
    within the less coherent half exceeds the mean similarity across halves by `min_margin`. Copies
    (windows at least `DUPLICATE_SIMILARITY` alike: the same audio heard again, as a rebroadcast
    clip or a looped file) count once: a half of copies is perfectly coherent without being a voice."""
    unique = _distinct(vectors)
    if unique.size < 4:
        return None
    distinct = vectors[unique]
    labels = KMeans(n_clusters=2, n_init=4, random_state=0).fit_predict(distinct)
    halves = [labels == 0, labels == 1]
    if min(int(half.sum()) for half in halves) < 2:
        return None
    similarities = distinct @ distinct.T
    others = ~np.eye(len(distinct), dtype=bool)
    within = min(float(similarities[np.outer(half, half) & others].mean()) for half in halves)
    across = float(similarities[np.outer(halves[0], halves[1])].mean())
    if within - across < min_margin:
        return None
    return labels[np.argmax(vectors @ distinct.T, axis=1)]  # each copy with the window it copies


def _distinct(vectors: np.ndarray) -> np.ndarray:
    """Indices of the rows of `vectors` that are not copies of an earlier kept row."""
    kept: list[int] = []
    for row in range(len(vectors)):
        if not kept or float(np.max(vectors[kept] @ vectors[row])) < DUPLICATE_SIMILARITY:
            kept.append(row)
    return np.array(kept, dtype=int)


def _separable_half(frames: np.ndarray, embed_windows: Embed, embed: Embed, settings: SplitSettings
                    ) -> np.ndarray | None:
    """The frames of the smaller half of `frames`, when the two halves are different voices.

    The decision is made on at most `max_windows` windows (`embed_windows`); only when it is a split
    are the rest embedded, by `embed`, each joining the half whose `embed` centroid is nearest. On
    the pipeline's cheap shared frames, so that a long speaker costs no more own-audio CAM++ than a
    short one (77 windows, 110 s of audio, for one speaker of the 10-minute meeting file)."""
    if frames.size < 2 * settings.min_part_frames:
        return None
    windows = solo_windows(frames, settings)
    if len(windows) < 4:  # too few for two halves of two windows
        return None
    spread = np.linspace(0, len(windows) - 1, min(len(windows), settings.max_windows))
    sample = np.unique(spread.round().astype(int))
    vectors = embed_windows([windows[i] for i in sample])
    labels = two_voices(vectors, settings.min_margin)
    if labels is None:
        return None
    if sample.size < len(windows):
        rest = np.setdiff1d(np.arange(len(windows)), sample)
        centroids = embed([np.concatenate([windows[i] for i in sample[labels == half]]) for half in (0, 1)])
        all_labels = np.zeros(len(windows), dtype=int)
        all_labels[sample] = labels
        all_labels[rest] = np.argmax(embed([windows[i] for i in rest]) @ centroids.T, axis=1)
        labels = all_labels
    parts = [np.concatenate([w for w, label in zip(windows, labels, strict=True) if label == half])
             for half in (0, 1)]
    if min(part.size for part in parts) < settings.min_part_frames:
        return None
    return min(parts, key=lambda part: part.size)


def _matching_speaker(activity: np.ndarray, solo: np.ndarray, speaker: int, vector: np.ndarray,
                      embed: Embed, max_similarity: float) -> int | None:
    """The other speaker that `vector` sounds like (similarity at least `max_similarity`), if any."""
    others = [s for s in range(activity.shape[1]) if s != speaker and (activity[:, s] & solo).sum() >= 2]
    if not others:
        return None
    similarities = embed([np.flatnonzero(activity[:, s] & solo) for s in others]) @ vector
    best = int(np.argmax(similarities))
    return others[best] if similarities[best] >= max_similarity else None


def fleeting_speakers(solo_seconds: dict[str, float], centroids: dict[str, np.ndarray], min_seconds: float,
                      min_speakers: int = 1) -> dict[str, str]:
    """{speaker: the speaker it joins} for speakers heard alone for under `min_seconds` in all.

    A voice heard alone for a fraction of a second cannot be told from its neighbours (CAM++ needs
    about half a second: `tuned.SHORT_MIN_SECONDS`). Such "speakers" are left over from
    reconstruction and overlap: some hold 0.0 s, others seconds of speech that all lie under another
    speaker's (on a bank call, 1.7 s heard only over the caller; on an AMI excerpt, 3.7 s only under
    the others). They inflate the count. Each joins the remaining speaker whose voice is nearest
    (cosine of the unit-norm `centroids`), shortest first, never leaving fewer than `min_speakers`.
    Speakers heard alone for `min_seconds` or more are untouched, however few they are."""
    kept = sorted(solo_seconds, key=lambda label: (solo_seconds[label], label))
    fleeting = []
    while len(kept) > max(1, min_speakers) and solo_seconds[kept[0]] < min_seconds:
        fleeting.append(kept.pop(0))
    if not fleeting:
        return {}
    others = np.stack([centroids[label] for label in kept])
    return {label: kept[int(np.argmax(others @ centroids[label]))] for label in fleeting}


def resegment(activity: np.ndarray, embed: Embed, window_frames: int, hop_frames: int,
              min_gain: float) -> np.ndarray:
    """The activity matrix with solo frames moved to the speaker whose voice they sound like.

    segmentation-3.0 often tracks a one-second interjection as part of the speaker around it (a
    10 s chunk's local speaker runs on through the other voice), so no clustering can give it back.
    Here every `hop_frames`-th solo frame is judged by the `window_frames` around it: embedded, and
    compared (cosine) with each speaker's centroid, embedded from all of that speaker's solo frames.
    When another speaker's centroid is more similar than the frame's own speaker's by more than
    `min_gain`, the hop of solo frames around it moves to that speaker. Overlapped frames keep their
    labels, and speakers heard alone nowhere are no target."""
    activity = np.asarray(activity, dtype=bool)
    solo = activity.sum(axis=1) == 1
    speakers = [s for s in range(activity.shape[1]) if (activity[:, s] & solo).any()]
    if len(speakers) < 2:
        return activity.copy()
    centroids = embed([np.flatnonzero(activity[:, s] & solo) for s in speakers])
    num_frames, half = len(activity), window_frames // 2
    centers = np.flatnonzero(solo)[::hop_frames]
    # A block of windows at a time: 3 hours hold some 70000, whose pooled statistics alone would
    # take 0.3 GB at once.
    similarities = np.zeros((len(centers), len(speakers)))  # columns: `speakers`
    for first in range(0, len(centers), RESEGMENT_BLOCK):
        block = centers[first:first + RESEGMENT_BLOCK]
        windows = [np.arange(max(0, c - half), min(num_frames, c + half)) for c in block]
        similarities[first:first + len(block)] = embed(windows) @ centroids.T
    column = np.full(activity.shape[1], -1)
    column[speakers] = np.arange(len(speakers))
    own = column[activity[centers].argmax(axis=1)]  # a solo frame's speaker is among `speakers`
    best = similarities.argmax(axis=1)
    rows = np.arange(len(centers))
    movers = (best != own) & (similarities[rows, best] - similarities[rows, own] > min_gain)
    moved = activity.copy()
    for center, target in zip(centers[movers], np.asarray(speakers)[best[movers]], strict=True):
        frames = np.arange(max(0, center - hop_frames // 2), min(num_frames, center + hop_frames // 2 + 1))
        frames = frames[solo[frames]]
        moved[frames] = False
        moved[frames, target] = True
    return moved
