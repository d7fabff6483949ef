"""podium: speaker-labelled transcripts from news video, offline.

    >>> import podium
    >>> transcript = podium.transcribe("briefing.mp4", podium.TranscribeOptions())
"""

from __future__ import annotations

import os
from typing import Any

from podium.transcript import Segment, Speaker, SpeakerTurn, Transcript, Word

__version__ = "0.1.0"

# podium never reaches for the network, so every library's telemetry is switched off here, before any
# of them is imported (each reads its switch once, at import or first use):
# - onnxruntime >= 1.29 (Silero VAD in faster-whisper, and pyannote) uploads Microsoft 1DS events and
#   keeps a device id in ~/.cache/Microsoft; "1" is its full opt-out (no uploader, no files, no DNS),
#   forced because a "0" inherited from the environment would turn it back on.
# - pyannote.audio sends OpenTelemetry usage metrics unless told not to.
# - huggingface_hub reports downloads (only with a hub model and a network).
os.environ["ORT_DISABLE_TELEMETRY"] = "1"
os.environ["PYANNOTE_METRICS_ENABLED"] = "false"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"

__all__ = ["Podium", "Segment", "Speaker", "SpeakerTurn", "TranscribeOptions", "Transcript", "Word",
           "__version__", "transcribe"]


def __getattr__(name: str) -> Any:
    # The pipeline pulls in torch and faster-whisper; load it only when asked for.
    if name in ("transcribe", "TranscribeOptions", "Podium"):
        from podium import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'podium' has no attribute {name!r}")
