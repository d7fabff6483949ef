"""Clustering of chunk embeddings (`podium.diarize.clustering`): hand-made embeddings whose
distances are known, every method, and the speaker-count hints."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from pyannote.core import SlidingWindow, SlidingWindowFeature

from podium.diarize.clustering import (
    ClusteringSettings,
    SpeakerBounds,
    SpeakerClustering,
    ahc,
    fit_vbx_model,
    spectral,
    unit,
    vbx,
)

DIMENSION = 16


def voices(count: int, seed: int = 0) -> np.ndarray:
    """`count` orthogonal unit voices."""
    basis, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(DIMENSION, DIMENSION)))
    return basis[:count]


def samples(voice: np.ndarray, count: int, noise: float, rng: np.random.Generator) -> np.ndarray:
    """Noisy unit embeddings of one voice (cosine to the voice about 1 / sqrt(1 + noise^2 * D))."""
    return unit(voice + noise * rng.normal(size=(count, DIMENSION)))


def groups(labels: np.ndarray, sizes: list[int]) -> list[set[int]]:
    """The labels given to each consecutive block of `sizes` items."""
    edges = np.cumsum([0, *sizes])
    return [set(labels[a:b].tolist()) for a, b in itertools.pairwise(edges)]


FREE = SpeakerBounds(1, 50)


def test_ahc_separates_two_voices() -> None:
    rng = np.random.default_rng(1)
    v = voices(2)
    labels = ahc(np.concatenate([samples(v[0], 30, 0.1, rng), samples(v[1], 20, 0.1, rng)]),
                 ClusteringSettings(), FREE)
    first, second = groups(labels, [30, 20])
    assert len(first) == 1 and len(second) == 1 and first != second


def test_a_small_distinct_voice_is_kept_when_distances_decide() -> None:
    rng = np.random.default_rng(2)
    v = voices(2)
    vectors = np.concatenate([samples(v[0], 40, 0.1, rng), samples(v[1], 3, 0.1, rng)])
    # pyannote's rule: 3 members < min_cluster_size, so the moderator joins the main speaker.
    merged = ahc(vectors, ClusteringSettings(min_cluster_size=12), FREE)
    assert merged.max() == 0
    # Podium's: the moderator sounds like nobody else (centroid distance ~1 > 0.5), so stays.
    kept = ahc(vectors, ClusteringSettings(min_cluster_size=12, keep_distance=0.5), FREE)
    main, moderator = groups(kept, [40, 3])
    assert len(main) == 1 and len(moderator) == 1 and main != moderator


def test_a_small_cluster_that_sounds_like_a_large_one_still_merges() -> None:
    rng = np.random.default_rng(3)
    v = voices(2)
    near = unit(v[0] + 0.8 * v[1])  # cosine ~0.78 to the main voice: distance ~0.22 < 0.5
    vectors = np.concatenate([samples(v[0], 40, 0.05, rng), samples(near, 3, 0.05, rng)])
    labels = ahc(vectors, ClusteringSettings(threshold=0.1, min_cluster_size=12, keep_distance=0.5), FREE)
    assert labels.max() == 0


@pytest.mark.parametrize("method", ["ahc", "spectral", "vbx"])
def test_every_method_honours_the_speaker_hints(method: str) -> None:
    rng = np.random.default_rng(4)
    v = voices(4)
    sizes = [20, 15, 12, 10]
    vectors = np.concatenate([samples(v[k], n, 0.08, rng) for k, n in enumerate(sizes)])
    people = np.repeat(np.arange(4), sizes)
    settings = ClusteringSettings(method=method, vbx=fit_vbx_model(vectors, people, 8))
    cluster = {"ahc": ahc, "spectral": spectral, "vbx": vbx}[method]
    free = cluster(vectors, settings, FREE)
    assert free.max() + 1 == 4
    assert all(len(g) == 1 for g in groups(free, sizes))
    assert cluster(vectors, settings, SpeakerBounds(2, 2, 2)).max() + 1 == 2
    assert cluster(vectors, settings, SpeakerBounds(6, 6, 6)).max() + 1 == 6
    assert cluster(vectors, settings, SpeakerBounds(1, 3)).max() + 1 <= 3
    assert cluster(vectors, settings, SpeakerBounds(5, 50)).max() + 1 >= 5


def test_vbx_needs_a_model() -> None:
    with pytest.raises(ValueError, match="VbxModel"):
        vbx(unit(np.ones((3, DIMENSION))), ClusteringSettings(method="vbx"), FREE)


def segmentation(active: np.ndarray) -> SlidingWindowFeature:
    """(chunks, frames, speakers) binary activity as pyannote passes it."""
    return SlidingWindowFeature(active.astype(float), SlidingWindow(start=0.0, duration=10.0, step=5.0))


def two_halves(chunks: int) -> SlidingWindowFeature:
    """Two speakers, each alone for half of every chunk (local speakers 0 and 1; 2 is silent)."""
    active = np.zeros((chunks, 100, 3), dtype=bool)
    active[:, :50, 0] = True
    active[:, 50:, 1] = True
    return segmentation(active)


def test_short_turns_are_clustered_above_the_active_ratio_and_assigned_below_it() -> None:
    rng = np.random.default_rng(5)
    v = voices(2)
    chunks, frames = 12, 100
    active = np.zeros((chunks, frames, 3), dtype=bool)
    active[:, :80, 0] = True  # the main speaker, 8 s alone in every chunk
    embeddings = np.full((chunks, 3, DIMENSION), np.nan)
    embeddings[:, 0] = samples(v[0], chunks, 0.1, rng)
    for chunk, seconds in ((1, 1.5), (4, 1.2), (7, 1.6), (10, 0.5)):  # the moderator's short turns
        active[chunk, 80:80 + int(10 * seconds), 1] = True
        embeddings[chunk, 1] = samples(v[1], 1, 0.1, rng)[0]
    settings = ClusteringSettings(min_active_ratio=0.1, keep_distance=0.5)
    hard, soft, centroids = SpeakerClustering(settings)(embeddings, segmentation(active))
    assert len(centroids) == 2 and soft.shape == (chunks, 3, 2)
    main = hard[0, 0]
    assert set(hard[:, 0].tolist()) == {main}
    # 1.2-1.6 s turns were clustered as a speaker of their own; the 0.5 s one joined the nearest voice.
    assert {hard[c, 1] for c in (1, 4, 7, 10)} == {1 - main}
    previous = ClusteringSettings(min_active_ratio=0.2)  # pyannote's rule: 2 s alone, sizes decide
    hard, _, centroids = SpeakerClustering(previous)(embeddings, segmentation(active))
    assert len(centroids) == 1


def test_hints_reach_the_clustering_through_the_adapter() -> None:
    rng = np.random.default_rng(6)
    v = voices(3)
    chunks = 9
    embeddings = np.stack([samples(v[c % 3], 3, 0.1, rng) for c in range(chunks)])
    clustering = SpeakerClustering(ClusteringSettings())
    assert len(clustering(embeddings, two_halves(chunks))[2]) == 3
    assert len(clustering(embeddings, two_halves(chunks), num_clusters=2)[2]) == 2
    assert len(clustering(embeddings, two_halves(chunks), max_clusters=1)[2]) == 1


def test_count_from_caps_the_speakers_the_mixed_embeddings_may_find() -> None:
    rng = np.random.default_rng(7)
    v = voices(3)
    chunks = 12
    # Two people; re-embedded, a third of the second person's chunks drift (cosine ~0.53 to their
    # voice, ~0 to the first person's): a third cluster unless the shared embeddings cap the count.
    shared = np.full((chunks, 3, DIMENSION), np.nan)
    shared[:, 0] = samples(v[0], chunks, 0.05, rng)
    shared[:, 1] = samples(v[1], chunks, 0.05, rng)
    mixed = shared.copy()
    mixed[::3, 1] = samples(unit(v[1] + 1.6 * v[2]), len(mixed[::3]), 0.05, rng)
    clustering = SpeakerClustering(ClusteringSettings(keep_distance=0.5))
    assert len(clustering(mixed, two_halves(chunks))[2]) == 3
    clustering.count_from = shared
    hard, _, centroids = clustering(mixed, two_halves(chunks))
    assert len(centroids) == 2
    assert len(set(hard[:, 0].tolist())) == 1 and len(set(hard[:, 1].tolist())) == 1
    assert len(clustering(mixed, two_halves(chunks), num_clusters=3)[2]) == 3  # an exact count wins


def test_short_solo_pairs_and_their_frames_on_the_campplus_grid() -> None:
    from podium.diarize.embedding import FRAME_SECONDS, short_solo_frame_sets

    step = 0.02  # segmentation frames aligned with the 20 ms CAM++ grid, to read the result easily
    masks = np.zeros((2, 500, 3))
    masks[:, :400, 0] = 1  # 8 s alone: not short
    masks[0, 400:460, 1] = 1  # 1.2 s alone: short
    masks[0, 450:470, 2] = 1  # overlaps the last 0.2 s of speaker 1, then 0.2 s alone: under min_seconds
    masks[1, 420:430, 1] = 1  # 0.2 s: under min_seconds
    pairs, index_sets = short_solo_frame_sets(masks, np.array([0.0, 5.0]), 0.0, step, max_share=0.3,
                                              min_seconds=0.5)
    assert pairs == [(0, 1)]
    (frames,) = index_sets
    assert frames.min() == round(8.0 / FRAME_SECONDS) and frames.max() == round(9.0 / FRAME_SECONDS) - 1
    assert len(frames) == 50  # 400-449 only: 450-459 had two speakers


def test_overlapping_frame_sets_embed_each_piece_of_audio_once() -> None:
    from podium.diarize.embedding import embed_via_runs

    voice_of_frame = np.array([0] * 100 + [1] * 100 + [2] * 100)
    calls: list[int] = []

    def embed(index_sets: list[np.ndarray]) -> np.ndarray:  # toy voices: frame set -> mean voice
        calls.append(sum(len(s) for s in index_sets))
        return unit(np.stack([np.eye(3)[voice_of_frame[s]].mean(axis=0) for s in index_sets]))

    # The same turn (frames 100-199) seen by many chunks, each a little differently, plus a set that
    # spans two runs (a turn of voice 0 and one of voice 2).
    sets = [np.arange(100 + k, 200 - k) for k in range(10)] + [np.r_[40:60, 250:290]]
    vectors = embed_via_runs(sets, embed, max_piece_frames=60)
    assert calls == [100 + 20 + 40]  # each frame of the union embedded once, in one call
    assert np.allclose(vectors[:10], [0, 1, 0], atol=1e-9)
    assert vectors[10][0] > 0 and vectors[10][2] > vectors[10][0] and vectors[10][1] == 0


def test_long_recordings_cluster_a_bounded_sample_and_assign_the_rest() -> None:
    rng = np.random.default_rng(8)
    v = voices(2)
    chunks = 400
    embeddings = np.full((chunks, 3, DIMENSION), np.nan)
    embeddings[:, 0] = samples(v[0], chunks, 0.1, rng)
    embeddings[:, 1] = samples(v[1], chunks, 0.1, rng)
    clustering = SpeakerClustering(ClusteringSettings(max_clustered=50))  # 800 embeddings, 50 clustered
    hard, _, centroids = clustering(embeddings, two_halves(chunks))
    assert len(centroids) == 2
    assert len(set(hard[:, 0].tolist())) == 1 and len(set(hard[:, 1].tolist())) == 1
    assert hard[0, 0] != hard[0, 1]
