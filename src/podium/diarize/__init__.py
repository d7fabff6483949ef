"""Speaker diarization (pyannote.audio pipeline, segmentation-3.0 + CAM++, offline weights).

Importing this package is cheap; torch and pyannote load with the first `Diarizer`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from podium.diarize.options import DiarizationResult, DiarizeOptions

if TYPE_CHECKING:
    from podium.diarize.pipeline import Diarizer

__all__ = ["DiarizationResult", "DiarizeOptions", "Diarizer"]


def __getattr__(name: str) -> Any:
    if name == "Diarizer":
        from podium.diarize.pipeline import Diarizer

        return Diarizer
    raise AttributeError(f"module 'podium.diarize' has no attribute {name!r}")
