"""Clustering of (chunk, local speaker) embeddings into speakers: pyannote's clustering step, redone.

pyannote's `AgglomerativeClustering` loses short turns twice over: an embedding only takes part when
its speaker talks alone for 20% of the 10 s chunk (2 s), and any cluster with fewer than
`min_cluster_size` members is merged into the nearest large one, however different it sounds. A
moderator's 1.6 s "next question" is then given to the main speaker. Here:

1. Embeddings of speakers with at least `min_active_ratio` of the chunk to themselves are clustered
   (`ahc`, `spectral` or `vbx` below; `ahc` won the cross-validated comparison).
2. A small cluster is merged into its nearest large cluster only when it sounds like it (cosine
   distance of centroids within `keep_distance`): a distinct voice stays a speaker however little
   it says, and a brief interjection of a known voice still joins that voice.
3. Every embedding, clustered or not, then goes to the speaker whose centroid is nearest (in long
   recordings, only `max_clustered` evenly spaced embeddings are clustered: memory stays bounded).

`num_speakers` / `min_speakers` / `max_speakers` are honoured by every method. The functions below
are pure over arrays; `SpeakerClustering` adapts them to pyannote's `SpeakerDiarization`, where the
tunable settings are pyannote hyper-parameters (`pipeline.instantiate({"clustering": {...}})`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from pyannote.audio.pipelines.clustering import BaseClustering
from pyannote.core import SlidingWindowFeature
from pyannote.pipeline.parameter import Categorical, Integer, Uniform
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.linalg import eigh
from scipy.special import softmax
from sklearn.cluster import KMeans


@dataclass(frozen=True)
class ClusteringSettings:
    method: str = "ahc"
    threshold: float = 0.45  # AHC: average-linkage cosine distance at which clusters stop merging
    min_active_ratio: float = 0.2  # share of the chunk a speaker must hold alone to be clustered
    min_cluster_size: int = 12  # clusters with fewer members are "small" (capped at 10% of members)
    keep_distance: float | None = None  # a small cluster this far from every large one is kept
    max_spectral_speakers: int = 10
    # Agglomerative clustering holds every pairwise distance: 4000 embeddings (some 3-4 hours of
    # conversation at a 5 s chunk step) take 64 MB, a day-long recording's 30000 would take 3.6 GB.
    # Longer recordings cluster this many embeddings, evenly spaced; every embedding then goes to its
    # nearest centroid as usual.
    max_clustered: int = 4000
    vbx: VbxModel | None = None
    vbx_fa: float = 0.3
    vbx_fb: float = 5.0


@dataclass(frozen=True)
class VbxModel:
    """Two-covariance model of unit-norm embeddings: `(x - mean) @ transform` has identity
    within-speaker covariance and diagonal across-speaker covariance `phi` (as VBx expects)."""

    mean: np.ndarray
    transform: np.ndarray
    phi: np.ndarray


@dataclass(frozen=True)
class SpeakerBounds:
    minimum: int
    maximum: int
    exact: int | None = None


def unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


def centroids_of(vectors: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return unit(np.stack([vectors[labels == k].mean(axis=0) for k in range(int(labels.max()) + 1)]))


def renumber(labels: np.ndarray) -> np.ndarray:
    return np.unique(labels, return_inverse=True)[1]


# --- step 1: the methods -------------------------------------------------------------------------

def ahc(vectors: np.ndarray, settings: ClusteringSettings, bounds: SpeakerBounds) -> np.ndarray:
    """Average-linkage clustering cut at the threshold; small clusters close to a large one merge.

    With a speaker count to meet, the dendrogram is cut at the fewest clusters that leave exactly
    that many speakers once small, similar clusters have merged (or, failing that, at that count)."""
    if len(vectors) < 2:
        return np.zeros(len(vectors), dtype=int)
    tree = linkage(vectors, method="average", metric="cosine")
    labels = _merge_small(vectors, fcluster(tree, settings.threshold, criterion="distance") - 1, settings)
    count = int(labels.max()) + 1
    target = bounds.exact or (bounds.minimum if count < bounds.minimum else
                              bounds.maximum if count > bounds.maximum else None)
    if target is None:
        return labels
    for cut in range(target, len(vectors) + 1):
        candidate = _merge_small(vectors, fcluster(tree, cut, criterion="maxclust") - 1, settings)
        if int(candidate.max()) + 1 == target:
            return candidate
    # Small clusters cannot all merge away at any cut: the count asked for wins over the size rule.
    return renumber(fcluster(tree, target, criterion="maxclust") - 1)


def _merge_small(vectors: np.ndarray, labels: np.ndarray, settings: ClusteringSettings) -> np.ndarray:
    labels = renumber(labels)
    sizes = np.bincount(labels)
    min_size = min(settings.min_cluster_size, max(1, round(0.1 * len(vectors))))
    large = np.flatnonzero(sizes >= min_size)
    if large.size == 0:
        return np.zeros_like(labels)
    centroids = centroids_of(vectors, labels)
    for small in np.flatnonzero(sizes < min_size):
        distances = 1.0 - centroids[large] @ centroids[small]
        if settings.keep_distance is not None and distances.min() > settings.keep_distance:
            continue
        labels[labels == small] = large[int(np.argmin(distances))]
    return renumber(labels)


def spectral(vectors: np.ndarray, settings: ClusteringSettings, bounds: SpeakerBounds) -> np.ndarray:
    """Spectral clustering with the speaker count from the normalised maximum eigengap (NME-SC,
    Park et al. 2019, as in NeMo and 3D-Speaker): the affinity keeps each row's p nearest
    neighbours, and p is chosen where (p / normalised eigengap) is smallest."""
    count = len(vectors)
    if count < 3:
        return np.zeros(count, dtype=int)
    affinity = vectors @ vectors.T
    np.fill_diagonal(affinity, 0.0)
    order = np.argsort(-affinity, axis=1)
    high = min(bounds.maximum, settings.max_spectral_speakers, count - 1)
    best: tuple[float, int, np.ndarray] | None = None
    for neighbours in range(1, max(2, count // 4) + 1):
        graph = np.zeros_like(affinity)
        np.put_along_axis(graph, order[:, :neighbours], 1.0, axis=1)
        graph = (graph + graph.T) / 2
        values = np.linalg.eigvalsh(np.diag(graph.sum(axis=1)) - graph)
        gaps = np.diff(values[: high + 1])[bounds.minimum - 1:]
        if gaps.size == 0:
            continue
        ratio = neighbours / (gaps.max() / max(values[-1], 1e-10) + 1e-10)
        if best is None or ratio < best[0]:
            best = (ratio, int(np.argmax(gaps)) + bounds.minimum, graph)
    if best is None:
        return np.zeros(count, dtype=int)
    _, speakers, graph = best
    speakers = bounds.exact or speakers
    _, vectors_of_graph = np.linalg.eigh(np.diag(graph.sum(axis=1)) - graph)
    return KMeans(speakers, n_init=10, random_state=0).fit_predict(vectors_of_graph[:, :speakers])


def vbx(vectors: np.ndarray, settings: ClusteringSettings, bounds: SpeakerBounds) -> np.ndarray:
    """VBx (Landini et al. 2022) over the two-covariance model, started from AHC; k-means on the
    embeddings when the speakers it keeps fall outside the bounds (as pyannote's VBxClustering)."""
    if settings.vbx is None:
        raise ValueError("vbx clustering needs a fitted VbxModel")
    initial = ahc(vectors, settings, SpeakerBounds(1, len(vectors)))
    if len(vectors) < 2:
        return initial
    features = (vectors - settings.vbx.mean) @ settings.vbx.transform
    responsibilities = _vbx(features, settings.vbx.phi, initial, settings.vbx_fa, settings.vbx_fb)
    labels = renumber(responsibilities.argmax(axis=1))
    count = int(labels.max()) + 1
    target = bounds.exact or (bounds.minimum if count < bounds.minimum else
                              bounds.maximum if count > bounds.maximum else None)
    if target is not None and target != count:
        labels = KMeans(target, n_init=3, random_state=0).fit_predict(vectors)
    return labels


def _vbx(features: np.ndarray, phi: np.ndarray, initial: np.ndarray, fa: float, fb: float,
         iterations: int = 20) -> np.ndarray:
    from pyannote.audio.utils.vbx import VBx

    start = np.zeros((len(initial), int(initial.max()) + 1))
    start[np.arange(len(initial)), initial] = 1.0
    gamma, _, _ = VBx(features, phi, Fa=fa, Fb=fb, pi=start.shape[1], gamma=softmax(7.0 * start, axis=1),
                      maxIters=iterations)
    return gamma


def fit_vbx_model(vectors: np.ndarray, speakers: np.ndarray, dimension: int) -> VbxModel:
    """Fit the two-covariance model on labelled unit-norm embeddings (no trained PLDA ships offline):
    whiten the within-speaker covariance, then diagonalise the across-speaker one."""
    mean = vectors.mean(axis=0)
    centred = vectors - mean
    names = np.unique(speakers)
    means = np.stack([centred[speakers == name].mean(axis=0) for name in names])
    within = sum((centred[speakers == name] - means[i]).T @ (centred[speakers == name] - means[i])
                 for i, name in enumerate(names)) / len(vectors)
    across = np.cov(means.T, bias=True)
    values, transform = eigh(across, within + 1e-3 * np.eye(within.shape[0]))
    order = np.argsort(values)[::-1][:dimension]
    return VbxModel(mean=mean, transform=transform[:, order], phi=np.maximum(values[order], 1e-6))


CLUSTER = {"ahc": ahc, "spectral": spectral, "vbx": vbx}


# --- pyannote adapter ----------------------------------------------------------------------------

# The `ClusteringSettings` fields that are pyannote hyper-parameters of `SpeakerClustering`. The others
# are not tuned by search: the VBx model is fitted, and the two bounds only limit cost.
HYPER_PARAMETERS = ("method", "threshold", "min_active_ratio", "min_cluster_size", "keep_distance",
                    "vbx_fa", "vbx_fb")


class SpeakerClustering(BaseClustering):
    """Drop-in for pyannote's clustering step (`SpeakerDiarization.clustering`).

    `settings` gives the initial values of its hyper-parameters (`HYPER_PARAMETERS`) and the fixed
    fields; `instantiate` changes the former, as for any pyannote pipeline. A `keep_distance` of
    None (merge every small cluster) may be instantiated too.
    """

    def __init__(self, settings: ClusteringSettings | None = None) -> None:
        super().__init__(metric="cosine", constrained_assignment=False)
        settings = settings or ClusteringSettings()
        self.method = Categorical(sorted(CLUSTER))
        self.threshold = Uniform(0.0, 2.0)  # cosine distances lie in [0, 2]
        self.min_active_ratio = Uniform(0.0, 1.0)
        self.min_cluster_size = Integer(1, 100)
        self.keep_distance = Uniform(0.0, 2.0)
        self.vbx_fa = Uniform(0.01, 1.0)
        self.vbx_fb = Uniform(0.1, 20.0)
        self._fixed = settings
        self.instantiate({name: getattr(settings, name) for name in HYPER_PARAMETERS})
        # Set per file by the pipeline: embeddings (same shape) whose clustering caps the number of
        # speakers found, when the embeddings clustered are a less stable mix (short pairs re-embedded).
        self.count_from: np.ndarray | None = None

    @property
    def settings(self) -> ClusteringSettings:
        """The settings in use: the instantiated hyper-parameters and the fixed fields."""
        return replace(self._fixed, **{name: getattr(self, name) for name in HYPER_PARAMETERS})

    # pyannote annotates `BaseClustering.__call__` as returning one array, but its pipeline unpacks
    # (hard clusters, soft clusters, centroids), which its own clustering classes return.
    def __call__(self, embeddings: np.ndarray,  # type: ignore[override]
                 segmentations: SlidingWindowFeature | None = None, num_clusters: int | None = None,
                 min_clusters: int | None = None, max_clusters: int | None = None,
                 **kwargs: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if segmentations is None:
            raise ValueError("speaker clustering needs the binarized segmentations")
        settings = self.settings
        chunks, speakers, dimension = embeddings.shape
        vectors = unit(np.nan_to_num(embeddings.reshape(-1, dimension)))
        valid = ~np.any(np.isnan(embeddings.reshape(-1, dimension)), axis=1)
        clean = _clean_share(segmentations).reshape(-1)
        trained = valid & (clean >= settings.min_active_ratio)
        if not trained.any():  # everyone is brief: cluster what there is
            trained = valid & (clean > 0)
        if not trained.any():
            return (np.zeros((chunks, speakers), dtype=np.int8), np.ones((chunks, speakers, 1)),
                    np.zeros((1, dimension)))
        clustered = _evenly(np.flatnonzero(trained), settings.max_clustered)
        bounds = _bounds(len(clustered), num_clusters, min_clusters, max_clusters)
        method = CLUSTER[settings.method] if bounds.maximum > 1 else _one
        if self.count_from is not None and bounds.exact is None:
            reference = unit(np.nan_to_num(self.count_from.reshape(-1, dimension)))[clustered]
            bounds = _capped(bounds, int(method(reference, settings, bounds).max()) + 1)
        labels = method(vectors[clustered], settings, bounds)
        centroids = centroids_of(vectors[clustered], labels)
        scores = (2.0 - (1.0 - vectors @ centroids.T)).reshape(chunks, speakers, -1)
        scores[~valid.reshape(chunks, speakers)] = np.nan
        return np.argmax(np.nan_to_num(scores, nan=-np.inf), axis=2).astype(np.int8), scores, centroids


def _evenly(indices: np.ndarray, most: int) -> np.ndarray:
    """At most `most` of `indices`, evenly spaced through the recording."""
    if len(indices) <= most:
        return indices
    return indices[np.linspace(0, len(indices) - 1, most).round().astype(int)]


def _one(vectors: np.ndarray, settings: ClusteringSettings, bounds: SpeakerBounds) -> np.ndarray:
    return np.zeros(len(vectors), dtype=int)


def _clean_share(segmentations: SlidingWindowFeature) -> np.ndarray:
    """(chunks, speakers): share of each chunk where that speaker is the only one active."""
    data = np.nan_to_num(segmentations.data)
    alone = data.sum(axis=2, keepdims=True) == 1
    return (data * alone).sum(axis=1) / data.shape[1]


def _capped(bounds: SpeakerBounds, most: int) -> SpeakerBounds:
    high = max(bounds.minimum, min(bounds.maximum, most))
    return SpeakerBounds(bounds.minimum, high, high if high == bounds.minimum else None)


def _bounds(count: int, exact: int | None, minimum: int | None, maximum: int | None) -> SpeakerBounds:
    if exact is not None:
        exact = max(1, min(count, exact))
        return SpeakerBounds(exact, exact, exact)
    low = max(1, min(count, minimum or 1))
    high = max(low, min(count, maximum or count))
    return SpeakerBounds(low, high, low if low == high else None)
