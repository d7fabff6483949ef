"""Find enrolled voices inside diarized speakers, pulling their speech out of merged clusters.

Enrollment (`podium.speakers.match_enrollments`) only names a cluster whose centroid sounds like the enrolled
person. A moderator who says "Next question, please." a few times is often merged into the main
speaker's cluster: no centroid sounds like the moderator, so the name is never used. This pass looks
for each enrolled voice inside the speakers' solo speech, in short windows, and moves the speech that
sounds like the enrolled person (and clearly less like its own speaker) to a speaker of its own.

1. A voice whose speaker already exists (that speaker's solo speech sounds like it, cosine at least
   `match_similarity`; one speaker per voice, as `speakers.match_enrollments`) keeps that speaker and
   none of its frames move; its turns hidden in OTHER speakers still join it (steps 2-4).
2. Every speaker's solo speech is cut into contiguous runs (gaps of at most `max_gap_frames`) and
   windows of `window_frames` slide over each run (runs of `min_window_frames` up to one window are
   one window). All windows are embedded in one call. A window votes for the enrolled voice it
   resembles most, provided that similarity reaches `window_similarity` AND beats the window's
   similarity to its own speaker's centroid by `margin`. The margin is what keeps a speaker's own
   speech in place: on the real-voice test a 1 s window of the main speaker resembles its own
   centroid 0.69-0.95, far more than any enrolled stranger, whereas a clean window of the hidden
   moderator scores -0.13 to 0.06 against that centroid, which the main speaker dominates.
3. A frame moves to a voice when at least half of the windows covering it, and more than for any
   other voice, vote for that voice, so no two voices can take the same frame. A voice needs at
   least `min_frames` of them, else it is not found.
4. The moved frames, embedded together, must sound like the enrolled voice (`match_similarity`),
   else nothing moves: one last check against windows that fooled the margin.

Pure over plain arrays like `podium.diarize.refine`: activity is a (frames, speakers) boolean matrix
and `embed` maps lists of frame indices to unit-norm embeddings, so tests pass toy voices.

Which `embed` to pass matters for real audio. The pipeline's shared-frame embedding
(`embedding.frame_set_embeddings`) does NOT work for short turns: CAM++'s context-aware masking
gates every frame with the mean of its whole 10 s block and of its 2 s segment, and the block's
fbank is mean-normalised over the block, so a short moderator turn inside the main speaker's speech
comes out sounding like the main speaker. On the real-voice test, against the enrolled moderator:
clean 1.5 s moderator windows 0.25 median from shared frames, 0.61 run through CAM++ on their own
audio; all the moderator's frames pooled together 0.10 from shared frames (0.74 to the main
speaker!). `clip_embed` runs CAM++ on each frame set's own audio, as enrollment does, and should be
the `embed` for all three calls here (centroids, windows, confirmation).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from podium.media import float32_samples
from podium.speakers import DEFAULT_THRESHOLD, one_to_one

if TYPE_CHECKING:
    from podium.diarize.embedding import CamPlusPlus

# frame index arrays -> (len(list), dim) unit-norm embeddings, one per array (as `refine.Embed`).
Embed = Callable[[list[np.ndarray]], np.ndarray]

# The CAM++ frame grid (`podium.diarize.embedding.FRAME_SECONDS`; not imported, to keep torch out).
FRAME_SECONDS = 0.02
FRAME_SAMPLES = 320  # at 16 kHz


@dataclass(frozen=True)
class VoiceSettings:
    """Durations in frames of the activity matrix; similarities are cosines of unit embeddings."""

    # Defaults, chosen on the real-voice test of tests/test_voices.py (six 1.0-2.1 s turns of a male
    # reader hidden without pauses in 50 s of a female reader; at least half the windows rule):
    # moderator frames moved / precision of the moved frames at window_similarity 0.4 were 0.79 / 0.96
    # with 1.0 s windows every 0.25 s, 0.48 / 1.00 with 1.5 s every 0.5 s (no 1.5 s window fits inside
    # a 1 s turn, and windows mixing both voices mostly sound like the louder main reader), 0.88 / 0.87
    # with 1.0 s every 0.5 s, 0.57 / 1.00 with 1.25 s every 0.25 s. Cost: every second of solo speech
    # is embedded window / hop = 4 times (CAM++ on each window's own audio; see `clip_embed`).
    window_frames: int = 50  # 1.0 s: fits inside a short turn; CAM++ still tells voices apart
    hop_frames: int = 12  # 0.25 s: each frame is covered by four windows that vote
    min_window_frames: int = 40  # 0.8 s: a shorter run of solo speech is not examined
    max_gap_frames: int = 10  # 0.2 s: a window never bridges a pause or an overlap longer than this
    # Clean 1 s moderator windows scored 0.42-0.66 against the enrolled moderator, main-speaker windows
    # at most 0.08 (mixed windows up to 0.31); 0.45 lost 0.14 of the recall for 9 fewer false frames.
    window_similarity: float = 0.4  # a window must sound at least this much like the enrolled voice
    margin: float = 0.1  # ... and this much more than like its own speaker's centroid
    min_frames: int = 25  # 0.5 s: less moved speech and the voice is not found
    match_similarity: float = DEFAULT_THRESHOLD  # a speaker, or the moved speech, is the voice

    @classmethod
    def from_seconds(cls, window: float = 1.0, hop: float = 0.25, min_window: float = 0.8,
                     max_gap: float = 0.2, min_speech: float = 0.5, window_similarity: float = 0.4,
                     margin: float = 0.1, match_similarity: float = 0.5,
                     frame_seconds: float = FRAME_SECONDS) -> VoiceSettings:
        def frames(seconds: float) -> int:
            return max(1, round(seconds / frame_seconds))

        return cls(window_frames=frames(window), hop_frames=frames(hop), min_window_frames=frames(min_window),
                   max_gap_frames=round(max_gap / frame_seconds), window_similarity=window_similarity,
                   margin=margin, min_frames=frames(min_speech), match_similarity=match_similarity)


def extract_enrolled_voices(activity: np.ndarray, embed: Embed, enrolled: np.ndarray,
                            settings: VoiceSettings | None = None) -> tuple[np.ndarray, dict[int, int]]:
    """Return the new activity matrix and {enrolled index: speaker column} for the voices found.

    activity: (frames, speakers) boolean; enrolled: (E, dim) embeddings (normalised here). A voice
    that has no speaker of its own but was found inside others gets a new column, appended in
    enrolled order. Only frames where exactly one speaker is active move; overlapped speech keeps
    its labels. Voices neither matched nor found are left out of the mapping. A speaker whose speech
    all moved is left as an empty column (callers drop it, as `pipeline._as_annotation` would).
    `embed` is called three times at most: speakers' solo speech, all windows, the moved speech.
    """
    settings = settings or VoiceSettings()
    activity = np.asarray(activity, dtype=bool).copy()
    voices = np.asarray(enrolled, dtype=np.float64).reshape(-1, np.shape(enrolled)[-1])
    voices = voices / np.maximum(np.linalg.norm(voices, axis=1, keepdims=True), 1e-12)
    num_frames, num_speakers = activity.shape
    if not len(voices) or not num_speakers:
        return activity, {}
    solo = activity.sum(axis=1) == 1
    own = {s: np.flatnonzero(activity[:, s] & solo) for s in range(num_speakers)}
    speakers = [s for s in range(num_speakers) if own[s].size >= settings.min_frames]
    if not speakers:
        return activity, {}
    centroids = np.asarray(embed([own[s] for s in speakers]), dtype=np.float64)

    # 1. Voices that already have a speaker.
    found = dict(one_to_one(voices @ centroids.T, settings.match_similarity))
    mapping = {voice: speakers[row] for voice, row in found.items()}
    owner = {column: voice for voice, column in mapping.items()}

    # 2. Windows of every speaker's solo speech vote for the voice they sound like.
    windows: list[np.ndarray] = []
    window_rows: list[int] = []  # the window's speaker, as a row of `centroids`
    for row, speaker in enumerate(speakers):
        for window in _windows(own[speaker], settings):
            windows.append(window)
            window_rows.append(row)
    if not windows:
        return activity, mapping
    vectors = np.asarray(embed(windows), dtype=np.float64)
    to_voices = vectors @ voices.T  # (windows, voices)
    to_own = np.einsum("wd,wd->w", vectors, centroids[window_rows])
    best = to_voices.argmax(axis=1)  # a window votes for one voice at most: the one it resembles most
    best_similarity = to_voices[np.arange(len(windows)), best]
    votes = np.zeros((num_frames, len(voices)), dtype=np.int32)
    cover = np.zeros(num_frames, dtype=np.int32)
    for window, row, voice, similarity, to_speaker in zip(windows, window_rows, best, best_similarity, to_own,
                                                          strict=True):
        cover[window] += 1
        if (similarity >= settings.window_similarity and similarity - to_speaker >= settings.margin
                and owner.get(speakers[row]) != voice):  # a voice's own speaker stays as it is
            votes[window, voice] += 1

    # 3. A frame goes to the voice most of its windows voted for: at least half of them, and more
    # than voted for any other voice (so one voice at most). Half, not a strict majority: the windows
    # that straddle a turn's edge and are mostly the other speaker rarely vote, so a strict majority
    # trims every moved turn by about half a window at each end.
    top = votes.argmax(axis=1)
    ranked = np.sort(votes, axis=1)
    runner_up = ranked[:, -2] if len(voices) > 1 else np.zeros(num_frames, dtype=np.int32)
    decided = (ranked[:, -1] > 0) & (2 * ranked[:, -1] >= cover) & (ranked[:, -1] > runner_up)
    candidates = [(voice, np.flatnonzero(decided & (top == voice))) for voice in range(len(voices))]
    candidates = [(voice, frames) for voice, frames in candidates if frames.size >= settings.min_frames]
    if not candidates:
        return activity, mapping

    # 4. The moved speech as a whole must be the enrolled voice.
    confirmed = np.asarray(embed([frames for _, frames in candidates]), dtype=np.float64)
    for (voice, frames), vector in zip(candidates, confirmed, strict=True):
        if float(vector @ voices[voice]) < settings.match_similarity:
            continue
        if voice not in mapping:
            activity = np.concatenate([activity, np.zeros((num_frames, 1), dtype=bool)], axis=1)
            mapping[voice] = activity.shape[1] - 1
        activity[frames] = False
        activity[frames, mapping[voice]] = True
    return activity, dict(sorted(mapping.items()))


def _windows(frames: np.ndarray, settings: VoiceSettings) -> list[np.ndarray]:
    """Windows over the contiguous runs of `frames` (sorted indices). A run shorter than a window but
    at least `min_window_frames` long is one window; a longer run ends with a window flush with its
    end, so no frame of it is left without a vote."""
    if frames.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(frames) > settings.max_gap_frames + 1) + 1
    windows = []
    for run in np.split(frames, breaks):
        if run.size < settings.min_window_frames:
            continue
        if run.size <= settings.window_frames:
            windows.append(run)
            continue
        last = run.size - settings.window_frames
        starts = list(range(0, last + 1, settings.hop_frames))
        if starts[-1] != last:
            starts.append(last)
        windows.extend(run[start:start + settings.window_frames] for start in starts)
    return windows


# --- a CAM++ `embed` for real audio ---------------------------------------------------------------

# Longer frame sets are embedded in pieces of this many frames (60 s), averaged: bounded memory.
CLIP_PIECE_FRAMES = 3000
# Audio per forward pass: CAM++'s activations grow with it (48 s, as before, put about 0.15 GB more
# on the own-audio step's peak on a 1-hour file; no slower at 16 s).
CLIP_BATCH_SAMPLES = 16 * 16000
MIN_CLIP_SAMPLES = 1600  # sets shorter than 0.1 s embed as zero vectors (similar to nothing)


def clip_embed(model: CamPlusPlus, samples: np.ndarray, batch_samples: int = CLIP_BATCH_SAMPLES) -> Embed:
    """An `Embed` that runs CAM++ on each frame set's own audio (16 kHz `samples` of the whole file;
    frame i is samples [320 i, 320 i + 320)), as enrollment embeds a clip: no context from the speech
    around it leaks in (see the module docstring). Sets of equal length share forward passes of up
    to `batch_samples` of audio."""
    import torch

    device = next(model.parameters()).device
    audio = np.asarray(samples)  # float32, or int16 PCM: each clip is converted as it is cut out
    offsets = np.arange(FRAME_SAMPLES)

    def clip(indices: np.ndarray) -> np.ndarray:
        positions = (np.sort(np.asarray(indices, dtype=np.int64))[:, None] * FRAME_SAMPLES + offsets).ravel()
        return float32_samples(audio[positions[positions < audio.size]]).astype(np.float32, copy=False)

    def samples_of(indices: np.ndarray) -> int:
        """len(clip(indices)), without cutting the audio out."""
        return int(np.clip(audio.size - indices * FRAME_SAMPLES, 0, FRAME_SAMPLES).sum())

    def embed(index_sets: list[np.ndarray]) -> np.ndarray:
        # Each set in pieces of at most CLIP_PIECE_FRAMES frames; a set's embedding is the
        # length-weighted mean of its pieces' embeddings. A piece's audio is cut out only when its
        # batch runs: all of them at once would hold every short turn of a long recording.
        pieces: list[tuple[int, np.ndarray]] = []
        for row, indices in enumerate(index_sets):
            indices = np.sort(np.asarray(indices, dtype=np.int64))
            count = max(1, round(indices.size / CLIP_PIECE_FRAMES))
            pieces.extend((row, part) for part in np.array_split(indices, count))
        sums = np.zeros((len(index_sets), model.dimension))
        by_length: dict[int, list[int]] = {}
        for number, (_, part) in enumerate(pieces):
            length = samples_of(part)
            if length >= MIN_CLIP_SAMPLES:
                by_length.setdefault(length, []).append(number)
        for length, numbers in by_length.items():
            step = max(1, batch_samples // length)
            for first in range(0, len(numbers), step):
                batch = numbers[first:first + step]
                waveforms = torch.from_numpy(np.stack([clip(pieces[n][1]) for n in batch])).to(device)
                with torch.inference_mode():
                    vectors = torch.nan_to_num(model(waveforms[:, None])).double().cpu().numpy()
                vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
                for n, vector in zip(batch, vectors, strict=True):
                    sums[pieces[n][0]] += vector * length
        return sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)

    return embed
