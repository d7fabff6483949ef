"""Clustering and segmentation hyper-parameters, tuned by `benchmarks/tune_diarize.py`.

These are the defaults of the diarization pipeline's pyannote hyper-parameters
(`podium.diarize.pipeline.hyper_parameters`; SEGMENTATION_STEP is a constructor argument instead):
a trial sets its own with `Diarizer(...).pipeline.instantiate({...})`.

Development data, all of it from ../shared/data: the 21 `diar` recordings and press briefings
stitched from the real voices in it (`podium.evaluate.simulate`). Values are judged by
leave-one-recording-out cross-validation on the 21; how each one was chosen, and the figures, are in
benchmarks/README.md ("How the diarization defaults were chosen").

Small data: these are sanity-checked defaults, not measured optima; retune on the target domain.
"""

# pyannote's SpeakerDiarization.segmentation_step: chunk step as a fraction of the 10 s window (a
# smaller step costs time for little DER: benchmarks/README.md).
SEGMENTATION_STEP = 0.5
# `podium.diarize.clustering` on CAM++ embeddings; the threshold is an average-linkage cosine distance.
CLUSTERING_METHOD = "ahc"
CLUSTERING_THRESHOLD = 0.45
MIN_CLUSTER_SIZE = 12
# A speaker's embedding in a 10 s chunk is clustered when they talk alone for this share of it (1 s).
MIN_ACTIVE_RATIO = 0.1
# A small cluster farther than this (cosine distance of centroids) from every large one is a speaker.
KEEP_DISTANCE = 0.5
# A (chunk, speaker) pair alone for less than this share of its 10 s chunk (3 s), and at least
# SHORT_MIN_SECONDS, is embedded from its own audio instead of the shared whole-file frames.
SHORT_MAX_SHARE = 0.3
SHORT_MIN_SECONDS = 0.5
# Their speech is embedded once per piece of at most this length (`embedding.embed_via_runs`).
SHORT_PIECE_SECONDS = 3.0
# A speaker whose turns Silero VAD hears as speech for less than this times the share of the
# recording's clearest speaker is noise and is dropped (`podium.diarize.speech`): chosen by
# leave-one-out CV over 0-0.7 (benchmarks/README.md, "Speakers that are not speech").
NOISE_MAX_SPEECH_SHARE = 0.3
# A speaker heard alone (no other speaker at the same time) for less than this in the whole
# recording joins the nearest voice: leave-one-out CV over 0-3 s gives the same figures anywhere in
# 0.25-1 s, and at 1.5 s an AMI excerpt loses a real speaker; 0.75 s stays, mid-plateau
# (benchmarks/README.md, "Fleeting speakers" and "Speakers never heard alone").
MIN_SPEAKER_SECONDS = 0.75
# Gaps shorter than this between turns of one speaker are filled (seconds): chosen by leave-one-out
# CV over 0-1 s, in all 21 folds (benchmarks/README.md, "Speakers never heard alone").
MIN_DURATION_OFF = 0.3

# Resegmentation (`podium.diarize.refine.resegment`): every RESEGMENT_HOP of solo speech, the
# RESEGMENT_WINDOW around it moves to another speaker when it is more like that speaker's centroid
# than its own by more than RESEGMENT_MIN_GAIN (cosine, CAM++ on the shared frames). Window and gain
# chosen together by leave-one-out CV; the hop (0.06-0.2 s) does not change DER, only the cost
# (benchmarks/README.md, "Resegmentation").
RESEGMENT_WINDOW = 0.8
RESEGMENT_HOP = 0.1
RESEGMENT_MIN_GAIN = 0.05

# Splitting speakers that hold two voices (`podium.diarize.refine`); durations in seconds. A speaker
# splits when its windows form two groups whose within-group similarity exceeds the across-group one
# by SPLIT_MIN_MARGIN (CAM++ on each window's own audio); a half at least SPLIT_MAX_SIMILARITY like
# another speaker (cosine of CAM++ embeddings) joins that speaker.
SPLIT_WINDOW = 1.5
SPLIT_MIN_RUN = 0.5
SPLIT_MIN_PART = 2.0
SPLIT_MIN_MARGIN = 0.10
SPLIT_MAX_SIMILARITY = 0.55
