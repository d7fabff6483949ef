"""podium: speaker-labelled transcripts from news video, offline.

    >>> import podium
    >>> transcript = podium.transcribe("briefing.mp4", podium.TranscribeOptions())
"""

from __future__ import annotations

import os
from typing import Any

from podium.transcript import Segment, Speaker, SpeakerTurn, Transcript, Word

__version__ = "0.1.0"

# pyannote.audio sends usage telemetry unless told not to; podium never reaches for the network.
os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "false")

__all__ = ["Podium", "Segment", "Speaker", "SpeakerTurn", "TranscribeOptions", "Transcript", "Word",
           "__version__", "transcribe"]


def __getattr__(name: str) -> Any:
    # The pipeline pulls in torch and faster-whisper; load it only when asked for.
    if name in ("transcribe", "TranscribeOptions", "Podium"):
        from podium import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'podium' has no attribute {name!r}")
