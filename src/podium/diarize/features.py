"""Batched Kaldi filterbank features, as CAM++ was trained on (`torchaudio.compliance.kaldi.fbank`).

3D-Speaker computes 80 log-mel bins with Kaldi defaults (25 ms Povey window, 10 ms shift,
pre-emphasis 0.97, DC removal, power spectrum, `snip_edges=True`, dither 0 at inference) on the
waveform as torchaudio loads it, i.e. floats in [-1, 1] (no 16-bit scaling), then subtracts the
mean over time. torchaudio's function takes one waveform at a time; this one takes a batch and runs
on whatever device the samples are on, so the GPU path needs no round trip through the CPU.
"""

from __future__ import annotations

import functools
import math

import torch

from podium.media import PCM_SCALE, SAMPLE_RATE

WINDOW = 400  # 25 ms
HOP = 160  # 10 ms
FFT_SIZE = 512  # window rounded up to a power of two
NUM_MEL_BINS = 80
PREEMPHASIS = 0.97
LOW_FREQ = 20.0
LOG_FLOOR = torch.finfo(torch.float32).eps


def float_waveform(waveform: torch.Tensor) -> torch.Tensor:
    """16-bit PCM (the compact form `Diarizer.diarize` accepts) as floats in [-1, 1], the same values
    as `podium.media.float32_samples`; a float waveform is returned as it is."""
    if waveform.dtype == torch.int16:
        return waveform.float().div_(PCM_SCALE)
    return waveform


def num_frames(num_samples: int) -> int:
    """Kaldi frames with `snip_edges=True`: only windows that fit entirely inside the signal."""
    return 0 if num_samples < WINDOW else 1 + (num_samples - WINDOW) // HOP


def _mel(freq: torch.Tensor) -> torch.Tensor:
    return 1127.0 * torch.log1p(freq / 700.0)


@functools.lru_cache(maxsize=8)
def _mel_banks(device: torch.device) -> torch.Tensor:
    """(257, 80) triangular filters, equally spaced on Kaldi's mel scale from 20 Hz to Nyquist."""
    fft_bins = torch.arange(FFT_SIZE // 2, dtype=torch.float64) * SAMPLE_RATE / FFT_SIZE
    mel_low = 1127.0 * math.log1p(LOW_FREQ / 700.0)
    mel_high = 1127.0 * math.log1p(SAMPLE_RATE / 2 / 700.0)
    delta = (mel_high - mel_low) / (NUM_MEL_BINS + 1)
    left = mel_low + delta * torch.arange(NUM_MEL_BINS, dtype=torch.float64)[:, None]
    center, right = left + delta, left + 2 * delta
    mel = _mel(fft_bins)[None, :]
    rising = (mel - left) / (center - left)
    falling = (right - mel) / (right - center)
    banks = torch.clamp(torch.minimum(rising, falling), min=0.0)
    # Kaldi's filters cover FFT bins 0..255; the Nyquist bin (256) gets weight 0.
    banks = torch.nn.functional.pad(banks, (0, 1))
    return banks.T.to(torch.float32).to(device)


@functools.lru_cache(maxsize=8)
def _povey_window(device: torch.device) -> torch.Tensor:
    window = torch.hann_window(WINDOW, periodic=False, dtype=torch.float64).pow(0.85)
    return window.to(torch.float32).to(device)


def fbank(waveforms: torch.Tensor) -> torch.Tensor:
    """(B, T) float waveforms in [-1, 1] at 16 kHz -> (B, frames, 80) log-mel energies (not normalised)."""
    if waveforms.shape[-1] < WINDOW:
        raise ValueError(f"need at least {WINDOW} samples (25 ms) for one fbank frame")
    frames = waveforms.float().unfold(-1, WINDOW, HOP)  # (B, F, 400), a view
    frames = frames - frames.mean(dim=-1, keepdim=True)
    previous = torch.cat([frames[..., :1], frames[..., :-1]], dim=-1)
    frames = (frames - PREEMPHASIS * previous) * _povey_window(frames.device)
    power = torch.fft.rfft(frames, n=FFT_SIZE).abs().pow(2)
    return torch.log(torch.clamp(power @ _mel_banks(frames.device), min=LOG_FLOOR))


def normalised_fbank(waveforms: torch.Tensor) -> torch.Tensor:
    """`fbank` minus its mean over time, per waveform (3D-Speaker's `mean_nor=True`)."""
    features = fbank(waveforms)
    return features - features.mean(dim=1, keepdim=True)
