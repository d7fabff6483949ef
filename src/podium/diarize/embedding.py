"""CAM++ as a pyannote.audio speaker-embedding model, plus the shared-frame fast path.

`CamPlusPlus` subclasses pyannote's `Model`, so `SpeakerDiarization(embedding=CamPlusPlus(...))`
accepts it as is: pyannote wraps it in `PyannoteAudioPretrainedSpeakerEmbedding`, which provides
`sample_rate`, `dimension`, `metric="cosine"`, `min_num_samples` and `__call__(waveforms (B, 1, T),
masks (B, T')) -> (B, 192)` exactly as for its own WeSpeaker models.

pyannote's own embedding step runs the network once per (chunk, speaker) pair, i.e. for 10 s
windows every step (1 s by default) times three speakers: each second of audio goes through CAM++
about thirty times. `file_frames` + `chunk_embeddings` run CAM++ over the file once (in 10 s blocks
with 0.5 s of context on each side) and pool each (chunk, speaker) pair from those shared frames.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from pyannote.audio import Model

from podium.diarize import features
from podium.diarize.campplus import EMBEDDING_DIM, CAMPPlus, masked_statistics
from podium.media import SAMPLE_RATE

# Shared-frame blocks, in fbank frames (10 ms). Even numbers keep block starts on the stride-2 grid.
# Half a second of context either side costs 10% extra CAM++ work instead of 20% at one second, for
# a little DER (benchmarks/README.md, "How the diarization defaults were chosen").
BLOCK_FRAMES = 1000
CONTEXT_FRAMES = 50
# Fbank frames per CAM++ output frame (the TDNN's time stride), and the seconds between output frames.
FRAME_STRIDE = 2
FRAME_SECONDS = FRAME_STRIDE * features.HOP / SAMPLE_RATE


@dataclass(frozen=True, eq=False)  # eq=False: comparing tensors with == is not a bool
class FileFrames:
    """CAM++ frame features of a whole file, (512, N) at one per 20 ms, held in one byte each.

    They are the one array of a long recording that grows with it (0.37 GB an hour in float32,
    0.18 in float16): each block of `file_frames` is stored as 8-bit codes of its channels, scaled
    per (channel, block) by the block's largest value (the features follow a ReLU, so none is
    negative and a zero stays exactly zero). `take` reads them back as float32 for pooling. Against
    float16 storage: the same DER on the 21 shared recordings and on the 1-hour meeting loop
    (benchmarks/README.md, "Frames in one byte")."""

    codes: torch.Tensor  # (512, N) uint8
    scales: torch.Tensor  # (512, blocks) float32: a code of 255 is the block's largest value
    block: int = BLOCK_FRAMES // FRAME_STRIDE  # frames per scale

    @property
    def shape(self) -> torch.Size:
        return self.codes.shape

    @property
    def device(self) -> torch.device:
        return self.codes.device

    def take(self, index: torch.Tensor) -> torch.Tensor:
        """(512, *index.shape) float32 features of the frames numbered in `index`."""
        values = self.codes[:, index].float()
        return values.mul_(self.scales[:, index // self.block])


def _encoded(frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(512, T) features of one block -> (uint8 codes, (512,) scales): `FileFrames`' storage."""
    scales = frames.amax(dim=1).clamp_min(torch.finfo(torch.float32).tiny) / 255
    codes = torch.round(frames / scales[:, None]).clamp_(0, 255).to(torch.uint8)
    return codes, scales


class CamPlusPlus(Model):
    """CAM++ (192-d, 16 kHz) taking raw waveforms and optional frame weights, like pyannote's WeSpeaker."""

    def __init__(self) -> None:
        super().__init__(sample_rate=SAMPLE_RATE, num_channels=1)
        self.campplus = CAMPPlus()

    @classmethod
    def from_state_dict(cls, path: Path) -> CamPlusPlus:
        model = cls()
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.campplus.load_state_dict(state, strict=True)
        model.campplus.fold_batchnorms()
        # The 2-D front end is over half of CAM++'s time on a CPU; oneDNN runs its convolutions
        # about twice as fast in channels-last layout (same results to 1e-5).
        # (`Module.to` takes `memory_format` at run time; torch's type stubs leave it out.)
        model.campplus.head.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        return model.eval()

    @property
    def dimension(self) -> int:
        return EMBEDDING_DIM

    # pyannote's `Model.forward(waveforms, **kwargs)` accepts anything; this one takes only frame
    # weights, as pyannote's embedding wrapper passes them, and a misspelt keyword should fail.
    def forward(self, waveforms: torch.Tensor,  # type: ignore[override]
                weights: torch.Tensor | None = None) -> torch.Tensor:
        """(B, 1, T) waveforms, optional (B, T') or (B, S, T') 0/1 weights at any frame rate ->
        (B, 192) or (B, S, 192) embeddings (NaN where fewer than two weighted frames)."""
        # Clips of whatever length their caller cut (`voices.clip_embed`, pyannote's embedding
        # step, enrollment); the whole-file blocks go through `file_frames` instead.
        frames = self.campplus.frames(features.normalised_fbank(waveforms[:, 0]), varied_lengths=True)
        if weights is None:
            return self.campplus.pool(frames)[:, 0]
        squeeze = weights.dim() == 2
        weights = weights[:, None] if squeeze else weights
        weights = F.interpolate(weights.float(), size=frames.shape[-1], mode="nearest")
        embeddings = self.campplus.pool(frames, weights)
        return embeddings[:, 0] if squeeze else embeddings


def file_frames(model: CamPlusPlus, waveform: torch.Tensor, batch_size: int,
                progress: Callable[[int, int], None] | None = None) -> FileFrames:
    """(T,) waveform (float, or 16-bit PCM) -> (512, N) CAM++ frame features for the whole file, N =
    one per 20 ms, in one byte each (`FileFrames`).

    Blocks of BLOCK_FRAMES fbank frames (+ context either side, trimmed afterwards) are mean-
    normalised on their own, as a 10 s chunk would be, and run through CAM++ in batches. Each
    block's fbank is computed from its own samples (Kaldi frames depend on their 25 ms alone), and
    its frames are written straight into the result: memory is the result plus one batch, not a
    whole-file fbank and its FFT (gigabytes for a 3-hour file) nor a second copy while joining.
    `progress(blocks done, blocks in all)` is called after each batch.
    """
    total = features.num_frames(waveform.shape[-1])
    window = min(total, BLOCK_FRAMES + 2 * CONTEXT_FRAMES)
    starts = list(range(0, total, BLOCK_FRAMES))
    # Each block's window: its context on both sides, slid back inside the file at the edges,
    # on even frames so output frames line up with the global 20 ms grid.
    windows = [min(max(0, s - CONTEXT_FRAMES), total - window) // FRAME_STRIDE * FRAME_STRIDE for s in starts]
    span = (window - 1) * features.HOP + features.WINDOW  # samples of one window's fbank frames
    codes: torch.Tensor | None = None
    scales: torch.Tensor | None = None
    end = 0
    for first in range(0, len(starts), batch_size):
        batch_windows = windows[first:first + batch_size]
        audio = torch.stack([waveform[w * features.HOP:w * features.HOP + span] for w in batch_windows])
        batch = features.fbank(features.float_waveform(audio))
        batch = batch - batch.mean(dim=1, keepdim=True)
        frames = model.campplus.frames(batch)  # (b, 512, window/2)
        if codes is None or scales is None:  # each block but the last: BLOCK_FRAMES / FRAME_STRIDE frames
            codes = frames.new_empty(frames.shape[1], -(-total // FRAME_STRIDE), dtype=torch.uint8)
            scales = frames.new_empty(frames.shape[1], len(starts))
        for index, w in enumerate(batch_windows, start=first):
            keep_from = (starts[index] - w) // FRAME_STRIDE
            keep = -(-min(BLOCK_FRAMES, total - starts[index]) // FRAME_STRIDE)
            piece = frames[index - first, :, keep_from:keep_from + keep]  # the last may be a frame short
            at = starts[index] // FRAME_STRIDE
            codes[:, at:at + piece.shape[-1]], scales[:, index] = _encoded(piece)
            end = at + piece.shape[-1]
        if progress is not None:
            progress(min(first + batch_size, len(starts)), len(starts))
    if codes is None or scales is None:
        raise ValueError("no audio to embed")
    return FileFrames(codes[:, : min(end, CAMPPlus.num_output_frames(total))], scales)


def chunk_embeddings(model: CamPlusPlus, frames: FileFrames, chunk_starts: np.ndarray,
                     chunk_duration: float, masks: np.ndarray, batch_size: int) -> np.ndarray:
    """Pool (chunk, speaker) embeddings from whole-file frames.

    frames: (512, N) from `file_frames`; chunk_starts: (C,) seconds; masks: (C, M, S) binary
    segmentation at the segmentation model's frame rate. Returns (C, S, 192), NaN for pairs with
    fewer than two active frames (pyannote's clustering skips them).
    """
    num_chunks, _, num_speakers = masks.shape
    chunk_samples = round(chunk_duration * SAMPLE_RATE)
    chunk_frames = CAMPPlus.num_output_frames(features.num_frames(chunk_samples))
    offsets = np.rint(np.asarray(chunk_starts) / FRAME_SECONDS).astype(np.int64)
    # Chunks past the end of the file (pyannote zero-pads the last one) read the last frame again,
    # with weight 0 (no padded copy of the frames: they are the largest array of a long file).
    available = frames.shape[-1] - offsets  # frames of each chunk that lie inside the file
    weights = torch.from_numpy(np.nan_to_num(masks, nan=0.0).astype(np.float32)).to(frames.device)
    weights = F.interpolate(weights.transpose(1, 2), size=chunk_frames, mode="nearest")  # (C, S, T)
    inside = torch.arange(chunk_frames, device=frames.device)[None, :] < torch.from_numpy(available).to(
        frames.device)[:, None]
    weights = weights * inside[:, None, :]
    embeddings = torch.empty(num_chunks, num_speakers, EMBEDDING_DIM, device=frames.device)
    index = torch.arange(chunk_frames, device=frames.device)
    for first in range(0, num_chunks, batch_size):
        last = min(first + batch_size, num_chunks)
        gather = torch.from_numpy(offsets[first:last]).to(frames.device)[:, None] + index[None, :]
        windows = frames.take(gather.clamp(max=frames.shape[-1] - 1)).transpose(0, 1)  # (b, 512, T)
        embeddings[first:last] = model.campplus.pool(windows, weights[first:last])
    return embeddings.cpu().numpy()


# `frame_set_embeddings` pools sets of up to SHORT_SET_FRAMES frames together, at most
# SET_BATCH_FRAMES (padded) at a time: 512 channels x 8192 frames x 4 bytes = 16 MB per copy, about
# four copies while pooling. (256 sets at a time, as before, gathered up to 0.5 GB when the sets were
# long; 32768 frames still added 0.2-0.3 GB to the speaker-splitting step on a 3-hour file.) Longer
# sets are summed in pieces of LONG_SET_PIECE frames (float64: 16 MB each).
SHORT_SET_FRAMES = 1000
SET_BATCH_FRAMES = 8192
LONG_SET_PIECE = 4096


def frame_set_embeddings(model: CamPlusPlus, frames: FileFrames,
                         index_sets: list[np.ndarray]) -> np.ndarray:
    """Unit-norm (len(index_sets), 192) embeddings, each pooled over the listed whole-file frames
    (from `file_frames`); a set may be any length and need not be contiguous."""
    stats = torch.empty(len(index_sets), 2 * frames.shape[0], device=frames.device)
    short = [row for row, indices in enumerate(index_sets) if len(indices) <= SHORT_SET_FRAMES]
    for rows in _frame_batches(short, [len(index_sets[row]) for row in short]):  # gathered and pooled
        longest = max(len(index_sets[row]) for row in rows)
        gather = np.zeros((len(rows), longest), dtype=np.int64)
        weights = torch.zeros(len(rows), 1, longest, device=frames.device)
        for position, row in enumerate(rows):
            gather[position, :len(index_sets[row])] = index_sets[row]
            weights[position, 0, :len(index_sets[row])] = 1.0
        windows = frames.take(torch.from_numpy(gather).to(frames.device)).transpose(0, 1)  # (b, 512, longest)
        stats[rows] = masked_statistics(windows, weights)[:, 0]
    for row in sorted(set(range(len(index_sets))) - set(short)):  # whole speakers: read in pieces
        stats[row] = _long_set_statistics(frames, index_sets[row])
    return F.normalize(model.campplus.xvector.dense(stats), dim=-1).cpu().numpy()


def _frame_batches(rows: list[int], lengths: list[int]) -> list[list[int]]:
    """`rows` in batches of at most SET_BATCH_FRAMES frames once padded to their longest set; longest
    sets first, so that sets of like length share a batch."""
    batches: list[list[int]] = []
    longest = 0
    for length, row in sorted(zip(lengths, rows, strict=True), key=lambda pair: -pair[0]):
        if batches and (len(batches[-1]) + 1) * longest <= SET_BATCH_FRAMES:
            batches[-1].append(row)
        else:
            batches.append([row])
            longest = max(1, length)
    return batches


def _long_set_statistics(frames: FileFrames, indices: np.ndarray, piece: int = LONG_SET_PIECE
                          ) -> torch.Tensor:
    """`masked_statistics` (mean, unbiased std) over many frames, accumulated in float64 pieces."""
    indices_tensor = torch.from_numpy(np.asarray(indices, dtype=np.int64)).to(frames.device)
    total = torch.zeros(frames.shape[0], dtype=torch.float64, device=frames.device)
    squares = torch.zeros_like(total)
    for first in range(0, len(indices_tensor), piece):
        values = frames.take(indices_tensor[first:first + piece]).double()
        total += values.sum(dim=1)
        squares += (values * values).sum(dim=1)
    count = len(indices_tensor)
    mean = total / count
    variance = (squares - count * mean * mean) / (count - 1)
    return torch.cat([mean, variance.clamp_min(0.0).sqrt()]).float()


def short_solo_frame_sets(masks: np.ndarray, chunk_starts: np.ndarray, frame_start: float,
                          frame_step: float, max_share: float, min_seconds: float
                          ) -> tuple[list[tuple[int, int]], list[np.ndarray]]:
    """(chunk, speaker) pairs that talk alone for less than `max_share` of their chunk (but at least
    `min_seconds`), each with the CAM++ frames (20 ms grid of the whole file) of that solo speech.

    masks: (C, M, S) binary segmentation; segmentation frame m of chunk c covers
    [start_c + frame_start + m * frame_step, ... + frame_step) once centred (pyannote's receptive field).
    """
    data = np.nan_to_num(masks) > 0
    solo = data & (data.sum(axis=2, keepdims=True) == 1)
    counts = solo.sum(axis=1)  # (C, S)
    share = counts / data.shape[1]
    pairs, index_sets = [], []
    for chunk, speaker in zip(*np.nonzero((share < max_share) & (counts * frame_step >= min_seconds)),
                              strict=True):
        starts = chunk_starts[chunk] + frame_start + np.flatnonzero(solo[chunk, :, speaker]) * frame_step
        first = np.floor(starts / FRAME_SECONDS).astype(np.int64)
        last = np.floor((starts + frame_step - 1e-6) / FRAME_SECONDS).astype(np.int64)
        indices = np.unique(np.concatenate([first, last]))
        pairs.append((int(chunk), int(speaker)))
        index_sets.append(indices)
    return pairs, index_sets


def embed_via_runs(index_sets: list[np.ndarray], embed: Callable[[list[np.ndarray]], np.ndarray],
                   max_piece_frames: int) -> np.ndarray:
    """Unit embeddings of many overlapping frame sets, each piece of audio embedded once.

    Chunks overlap (10 s windows every 5 s by default, every 1 s at pyannote's step), so one turn
    is a short pair in several chunks, with nearly the same frames each time. The union of the sets
    is cut into contiguous runs, runs longer than `max_piece_frames` into equal pieces; `embed` runs
    once on every piece, and a set's embedding is the mean of its pieces' embeddings weighted by how
    many of its frames each piece holds.
    """
    if not index_sets:
        return np.zeros((0, 0))
    frames = np.unique(np.concatenate(index_sets))
    breaks = np.flatnonzero(np.diff(frames) > 1) + 1
    pieces = [piece for run in np.split(frames, breaks)
              for piece in np.array_split(run, -(-len(run) // max_piece_frames))]
    # Not padded to shared lengths for batching: reading each piece cyclically up to a multiple of
    # 0.5 s embedded twice as fast per frame, but cost DER on the bank calls (benchmarks/README.md).
    vectors = embed(pieces)
    owner = np.repeat(np.arange(len(pieces)), [len(piece) for piece in pieces])  # piece of frames[i]
    # Each set touches a few pieces: no (sets x pieces) matrix, which grows with the square of the
    # recording's length (0.3 GB at 3 hours).
    sums = np.zeros((len(index_sets), vectors.shape[1]))
    for row, indices in enumerate(index_sets):
        held, counts = np.unique(owner[np.searchsorted(frames, indices)], return_counts=True)
        sums[row] = counts @ vectors[held]
    return sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
