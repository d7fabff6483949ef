"""DER/JER of diarization turns against an RTTM reference inside a UEM (for tests and benchmarks).

Scored as the shared data's README asks: no collar, overlapped speech included; also with a 0.25 s
collar (for references whose turn times are machine-made) and on short reference turns alone.
Each `Score` keeps its error and reference seconds so that files pool by summing, as pyannote does.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pyannote.core import Annotation, Segment, Timeline
from pyannote.metrics.diarization import DiarizationErrorRate, JaccardErrorRate

from podium.transcript import SpeakerTurn

# Reference turns shorter than this are "short" (a moderator's "next question", an interjection).
SHORT_TURN = 2.0


@dataclass(frozen=True)
class Score:
    der: float
    jer: float
    reference_speakers: int
    hypothesis_speakers: int
    errors: tuple[float, float] = (0.0, 0.0)  # DER error seconds with no collar, with a 0.25 s collar
    total: tuple[float, float] = (0.0, 0.0)  # reference speech seconds, the same two ways
    short_errors: float = 0.0  # DER error seconds inside reference turns under SHORT_TURN
    short_total: float = 0.0

    @property
    def speaker_count_error(self) -> int:
        return self.hypothesis_speakers - self.reference_speakers


def load_rttm(path: Path, uri: str | None = None) -> Annotation:
    """Speaker turns of an RTTM file (all its files merged under one uri)."""
    annotation = Annotation(uri=uri)
    for line in Path(path).read_text().splitlines():
        fields = line.split()
        if len(fields) >= 8 and fields[0] == "SPEAKER":
            start, duration = float(fields[3]), float(fields[4])
            annotation[Segment(start, start + duration), len(annotation)] = fields[7]
    return annotation


def load_uem(path: Path) -> Timeline:
    rows = (line.split() for line in Path(path).read_text().splitlines())
    segments = [Segment(float(f[2]), float(f[3])) for f in rows if len(f) >= 4]
    return Timeline(segments)


def as_annotation(turns: tuple[SpeakerTurn, ...] | list[SpeakerTurn], uri: str | None = None) -> Annotation:
    annotation = Annotation(uri=uri)
    for index, turn in enumerate(turns):
        annotation[Segment(turn.start, turn.end), index] = turn.speaker
    return annotation


def score(reference: Annotation, turns: tuple[SpeakerTurn, ...] | list[SpeakerTurn] | Annotation,
          uem: Timeline) -> Score:
    hypothesis = turns if isinstance(turns, Annotation) else as_annotation(turns, reference.uri)
    parts = [_der_parts(reference, hypothesis, uem, collar) for collar in (0.0, 0.25)]
    short = short_turn_region(reference, uem)
    short_parts = _der_parts(reference, hypothesis, short, 0.0) if short else (0.0, 0.0)
    jer = JaccardErrorRate(collar=0.0, skip_overlap=False)(reference, hypothesis, uem=uem)
    return Score(der=parts[0][0] / parts[0][1] if parts[0][1] else 0.0, jer=float(jer),
                 reference_speakers=len(reference.crop(uem).labels()),
                 hypothesis_speakers=len(hypothesis.crop(uem).labels()),
                 errors=(parts[0][0], parts[1][0]), total=(parts[0][1], parts[1][1]),
                 short_errors=short_parts[0], short_total=short_parts[1])


def _der_parts(reference: Annotation, hypothesis: Annotation, uem: Timeline, collar: float
               ) -> tuple[float, float]:
    """(error seconds, reference speech seconds) of DER, overlap scored."""
    components = DiarizationErrorRate(collar=collar, skip_overlap=False)(
        reference, hypothesis, uem=uem, detailed=True)
    errors = components["false alarm"] + components["missed detection"] + components["confusion"]
    return float(errors), float(components["total"])


def short_turn_region(reference: Annotation, uem: Timeline) -> Timeline:
    """The scored region restricted to reference turns shorter than SHORT_TURN seconds."""
    short = Timeline([segment for segment, _ in reference.itertracks() if segment.duration < SHORT_TURN])
    return short.support().crop(uem, mode="intersection") if short else short


@dataclass(frozen=True)
class ReferenceFile:
    """One `diar` recording of the shared data set (../shared/data/manifest.jsonl)."""

    id: str
    audio: Path
    rttm: Path
    uem: Path

    def reference(self) -> Annotation:
        return load_rttm(self.rttm, uri=self.id)

    def scored_region(self) -> Timeline:
        return load_uem(self.uem)


def shared_diarization_files(data_dir: Path) -> list[ReferenceFile]:
    files = []
    for line in (data_dir / "manifest.jsonl").read_text().splitlines():
        entry = json.loads(line)
        if entry.get("kind") == "diar":
            files.append(ReferenceFile(entry["id"], data_dir / entry["audio"], data_dir / entry["rttm"],
                                       data_dir / entry["uem"]))
    return files


def read_audio_16k(path: Path) -> np.ndarray:
    """Any audio file as 16 kHz mono float32, decoded and resampled by ffmpeg (for the shared data,
    whose clips come at 16, 22.05 and 44.1 kHz)."""
    command = ["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(path), "-ac", "1", "-ar", "16000",
               "-f", "f32le", "-"]
    decoded = subprocess.run(command, capture_output=True, check=True).stdout
    return np.frombuffer(decoded, dtype=np.float32).copy()
