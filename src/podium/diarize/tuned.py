"""Clustering and segmentation hyper-parameters tuned by `benchmarks/tune_diarize.py`.

Tuned on the five 30-second files of ../shared/data/diarization (pyannote's sample and four AMI
excerpts): 2.5 minutes of audio, 2-4 speakers. That is enough to rule out bad regions of the grid,
not to claim these values are optimal elsewhere; retune on data from the target domain.

Grid (DER over all five files, no collar, overlap scored; measured before the speaker-splitting
pass below existed, which `--split` then tuned on top of these values): best 38.6% at step 0.1 /
average / 0.45; 40.2% at step 0.3 / average / 0.40-0.45; centroid linkage best 39.5% (step 0.1,
0.75-0.80).
min_cluster_size made no difference (pyannote caps it at 10% of the embeddings: 1-3 here).
Step 0.5 is the default: 40.8% pooled DER (+0.6 points over 0.3, +2.2 over 0.1), 30% faster than
0.3 on the 10-minute loop, and the only step that got every turn of examples/briefing.mp4 right
(0.3 gave the moderator's "First question, please." to the journalist).
"""

# pyannote's SpeakerDiarization.segmentation_step: chunk step as a fraction of the 10 s window.
SEGMENTATION_STEP = 0.5
# AgglomerativeClustering on CAM++ embeddings; for "average" the threshold is a cosine distance.
CLUSTERING_METHOD = "average"
CLUSTERING_THRESHOLD = 0.45
MIN_CLUSTER_SIZE = 12
# Gaps shorter than this between turns of one speaker are filled (seconds).
MIN_DURATION_OFF = 0.2

# Splitting speakers that hold two voices (`podium.diarize.refine`); durations in seconds. Halves
# less similar than SPLIT_MAX_SIMILARITY (cosine of CAM++ embeddings) are different people.
# `benchmarks/tune_diarize.py --split`: pooled DER on the five shared files is 35.8% for every value
# from 0.30 to 0.60 (41.1% without the pass); on the 10-minute loop (8 reference speakers) 0.40 does
# best: 38.7% DER with 8 speakers, against 40.1% / 10 at 0.45, 44.1% / 6 at 0.35, 51.8% / 4 unsplit.
# It sits at the low end of the gap between the enrollment calibration's different-speaker scores
# (p95 0.19, max 0.41) and same-speaker scores (min 0.54): split only when clearly two voices.
SPLIT_WINDOW = 1.5
SPLIT_HOP = 0.75
SPLIT_MIN_PART = 2.0
SPLIT_MAX_SIMILARITY = 0.40
