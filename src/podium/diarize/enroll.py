"""Name diarized speakers from enrolled voice samples (one CAM++ embedding per known person).

Each enrolled name goes to the cluster whose centroid is most similar, provided the cosine
similarity reaches the threshold; a cluster takes at most one name and a name at most one cluster
(an optimal one-to-one assignment maximising total similarity over the pairs above threshold).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

# Calibrated with `benchmarks/diarize.py --enrollment-scores`: cosine scores of whole-clip CAM++
# embeddings on the shared speech (LJSpeech, IEEE, JFK, pocketsphinx clips >= 1.5 s and each AMI
# speaker's solo speech): same speaker n=60 min 0.541 / p5 0.641 / median 0.873; different speakers
# n=375 median 0.029 / p95 0.188 / max 0.409. 0.5 sits in the gap; few speakers, so keep it modest.
DEFAULT_THRESHOLD = 0.5


def cosine_similarity(a: np.ndarray, b: np.ndarray) -> float:
    denominator = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(np.dot(a, b) / denominator) if denominator > 0 else 0.0


def match_enrollments(centroids: dict[str, np.ndarray], enrolled: dict[str, np.ndarray],
                      threshold: float = DEFAULT_THRESHOLD) -> dict[str, str]:
    """{cluster label: enrolled name} for the pairs that match; unmatched clusters are left out."""
    labels, names = list(centroids), list(enrolled)
    if not labels or not names:
        return {}
    scores = np.array([[cosine_similarity(centroids[label], enrolled[name]) for name in names]
                       for label in labels])
    return {labels[r]: names[c] for r, c in one_to_one(scores, threshold)}


def one_to_one(scores: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """(row, column) pairs, each row and column at most once, maximising the total score over the
    pairs at or above `threshold`; pairs below it are never chosen."""
    if scores.size == 0:
        return []
    eligible = scores >= threshold
    costs = np.where(eligible, scores, -float(scores.size) - 1.0)  # loses to any valid pair
    rows, cols = linear_sum_assignment(costs, maximize=True)
    return [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if eligible[r, c]]
