"""podium: speaker-labelled transcripts from news video, offline."""

from podium.transcript import Segment, Speaker, SpeakerTurn, Transcript, Word

__version__ = "0.1.0"

__all__ = ["Segment", "Speaker", "SpeakerTurn", "Transcript", "Word", "__version__"]
