"""The whole job: media -> asr -> diarize -> align -> Transcript, with models loaded once.

One name per stage, the same for the `Podium` methods, timings, progress and the batch ledger:
`STAGES` below. Each stage is its own method so `podium batch` can run them on different files at once.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from podium import align, heap, provenance, speakers
from podium.asr import AsrOptions, AsrResult, Transcriber
from podium.diarize import DiarizationResult, DiarizeOptions
from podium.errors import PodiumError
from podium.formats import OutputOptions, write_outputs
from podium.media import Audio, MediaOptions, float32_samples, load_audio
from podium.options import as_dict
from podium.progress import ProgressHook
from podium.speakers import SpeakerOptions
from podium.transcript import Transcript

if TYPE_CHECKING:
    from podium.diarize import Diarizer

T = TypeVar("T")
STAGES = ("decode", "transcribe", "diarize", "align", "write")
# Below this, segmentation has nothing to work on (the diarizer refuses it): such an input is still
# transcribed, without speakers, and the caller says so. An enrollment clip needs more: a voice print
# from a fraction of a second names the wrong speaker.
MIN_DIARIZE_SECONDS = 0.1
MIN_ENROLL_SECONDS = 0.5
# Whisper on a CPU (CTranslate2) holds a few hundred MB after decoding, and torch with pyannote adds
# 0.8 GB of its own. `Podium.run` lets the Whisper model go before diarizing an input at least this
# long and loads it again for the next input (0.3-0.7 s): the default command on 10 minutes peaks
# at 1.43 GB instead of 1.73 GB (benchmarks/README.md). Shorter inputs keep it: for them the reload
# would cost more time than the memory is worth. Audio that `run` decoded itself and holds in memory
# (no ON_DISK_SECONDS file: a tmpfs or full temporary folder) is also kept as 16-bit PCM from then
# on where that is exact (`Audio.compact`: 16-bit sources at 16 kHz): Whisper was its only reader
# that needs floats, and the diarizer takes PCM, so the largest array of a long recording is halved
# (0.35 GB saved at 3 hours) with the same result to the bit.
RELEASE_WHISPER_SECONDS = 120.0
# From this long on, decoded audio is read from a temporary file kept out of resident memory
# (`Audio.on_disk`): every pass of Whisper and the diarizer reads the whole recording, and the pages
# it read would stay resident (0.69 GB of float32 at 3 hours, as a video's sound track is held).
# Shorter audio is a few MB, for which a file buys nothing.
ON_DISK_SECONDS = 120.0


def too_short_note(duration: float, options: TranscribeOptions) -> str | None:
    """The note for an input too short to tell speakers apart (None when diarization ran or was off)."""
    if not options.diarize.diarize or duration >= MIN_DIARIZE_SECONDS:
        return None
    return (f"only {duration:.2f} s of audio, too short to tell speakers apart "
            f"(diarization needs {MIN_DIARIZE_SECONDS} s): the transcript has no speaker labels")


@dataclass(frozen=True)
class TranscribeOptions:
    """Every option of `podium transcribe`, grouped by stage; the CLI builds exactly this."""

    media: MediaOptions = field(default_factory=MediaOptions)
    asr: AsrOptions = field(default_factory=AsrOptions)
    diarize: DiarizeOptions = field(default_factory=DiarizeOptions)
    speakers: SpeakerOptions = field(default_factory=SpeakerOptions)
    output: OutputOptions = field(default_factory=OutputOptions)

    def to_dict(self) -> dict[str, dict]:
        """The options that shape a transcript (not where it is written), as plain data."""
        return {name: as_dict(getattr(self, name)) for name in ("media", "asr", "diarize", "speakers")}


@dataclass
class Job:
    """One input on its way through the stages: each stage reads what the ones before it left here.

    `podium transcribe` runs the stages one after another; `podium batch` runs them on threads, a
    different input in each, but through the same `Podium.run_stage`.
    """

    source: str | Path | Audio
    stem: str = ""  # the output files' name, without extension
    # The source file's sha256 when the caller already has it (batch hashes every input for its
    # ledger), so the align stage does not read the file a second time for the provenance.
    source_sha256: str | None = None
    audio: Audio | None = None
    asr: AsrResult | None = None
    diarization: DiarizationResult | None = None
    transcript: Transcript | None = None
    outputs: list[Path] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # wall seconds per stage


class Podium:
    """Loaded models plus options. Create once, call `run` for each input (or `run_stage` per stage)."""

    def __init__(self, options: TranscribeOptions | None = None) -> None:
        self.options = options or TranscribeOptions()
        self._transcriber: Transcriber | None = None
        self._diarizer: Diarizer | None = None
        self._enrolled: dict[str, np.ndarray] | None = None
        # Decoded now, before any model loads: a missing, broken or too short clip stops the run at
        # once, not after the first input is transcribed (and not once per input).
        self._clips = self._decode_enrollments() if self.options.diarize.diarize else {}

    @property
    def transcriber(self) -> Transcriber:
        if self._transcriber is None:
            self._transcriber = Transcriber(self.options.asr)
        return self._transcriber

    @property
    def diarizer(self) -> Diarizer:
        if self._diarizer is None:
            self._diarizer = _load_diarizer(self.options)
        return self._diarizer

    def release_transcriber(self) -> None:
        """Let the Whisper model go and hand its memory back; `transcriber` loads it again when next
        needed. `run` does this before diarizing long inputs on a CPU (RELEASE_WHISPER_SECONDS)."""
        if self._transcriber is None:
            return
        self._transcriber = None
        gc.collect()
        heap.trim()

    def load_models(self) -> None:
        """Load every model the options need now, so errors surface before any input is read."""
        self.transcriber  # noqa: B018 - property access loads the model
        if self.options.diarize.diarize:
            self.diarizer  # noqa: B018
            self._enrollments()

    # --- stages -----------------------------------------------------------------------------

    def decode(self, path: str | Path) -> Audio:
        """The input's audio; from ON_DISK_SECONDS on, read from a temporary file (`Audio.on_disk`)."""
        audio = load_audio(path, self.options.media)
        return audio.on_disk() if audio.duration >= ON_DISK_SECONDS else audio

    def transcribe(self, audio: Audio, hook: ProgressHook | None = None) -> AsrResult:
        """Words with timings (Whisper). The whole job, from a path, is `run`."""
        if not isinstance(audio, Audio):
            raise TypeError("Podium.transcribe takes decoded Audio; for a file use Podium.run(path)")
        report = None if hook is None else (lambda done: hook("transcribe", done, audio.duration))
        return self.transcriber.transcribe(float32_samples(audio.samples), report)

    def diarize(self, audio: Audio, hook: ProgressHook | None = None) -> DiarizationResult | None:
        if not self.options.diarize.diarize or audio.duration < MIN_DIARIZE_SECONDS:
            return None  # too short: see too_short_note
        # Enrolled voices are also looked for inside other speakers (a moderator merged into the
        # main speaker gets their turns back), then name their speakers in `align`.
        enrolled = self._enrollments()
        voices = np.stack(list(enrolled.values())) if enrolled else None
        return self.diarizer.diarize(audio.samples, voices=voices, hook=hook)

    def align(self, audio: Audio, asr: AsrResult, diarization: DiarizationResult | None) -> Transcript:
        """Fuse words and speaker turns into the final transcript (pure, fast: `align.attribute`)."""
        words_only = Transcript(segments=asr.segments, language=asr.language, duration=audio.duration,
                                source=audio.source, model=asr.model, options=self.options.to_dict())
        enrolled = {} if diarization is None else self._match_voices(diarization)
        return align.attribute(words_only, diarization, self.options.speakers, enrolled)

    def write(self, transcript: Transcript, stem: str) -> list[Path]:
        out = self.options.output
        return write_outputs(transcript, out.output_dir, stem, out.formats, out)

    def _enrollments(self) -> dict[str, np.ndarray]:
        """Voice embeddings of the `--enroll NAME=CLIP` clips, computed once."""
        if self._enrolled is None:
            self._enrolled = {name: self.diarizer.embed(audio.samples) for name, audio in self._clips.items()}
            self._clips = {}  # the embeddings are all that is needed from now on
        return self._enrolled

    def _decode_enrollments(self) -> dict[str, Audio]:
        return {name: _enrollment_clip(name, clip) for name, clip in self.options.speakers.enrollments()}

    def _match_voices(self, diarization: DiarizationResult) -> dict[str, str]:
        """{diarizer label: enrolled name} for the speakers whose voice matches an enrolled clip."""
        enrolled = self._enrollments()
        if not enrolled:
            return {}
        return speakers.match_enrollments(diarization.centroids, enrolled)

    # --- the whole job ----------------------------------------------------------------------

    def run_stage(self, stage: str, job: Job, hook: ProgressHook | None = None) -> None:
        """Run one of `STAGES` on `job`, timed; `hook` hears when it is done. The align stage also
        records the transcript's provenance (`provenance_of`)."""
        if stage == "align":
            self._hash_source(job)
        started = time.perf_counter()
        try:
            if stage == "decode":
                job.audio = job.source if isinstance(job.source, Audio) else self.decode(job.source)
            elif stage == "transcribe":
                job.asr = self.transcribe(_needs(job.audio, stage), hook)
            elif stage == "diarize":
                job.diarization = self.diarize(_needs(job.audio, stage), hook)
            elif stage == "align":
                transcript = self.align(_needs(job.audio, stage), _needs(job.asr, stage), job.diarization)
                job.transcript = replace(transcript, provenance=self.provenance_of(job))
            elif stage == "write":
                job.outputs = self.write(_needs(job.transcript, stage), job.stem)
            else:
                raise ValueError(f"no stage {stage!r}; the stages are {', '.join(STAGES)}")
        finally:
            job.seconds[stage] = job.seconds.get(stage, 0.0) + time.perf_counter() - started
        if hook is not None and job.audio is not None:
            hook(stage, job.audio.duration, job.audio.duration)

    def provenance_of(self, job: Job) -> dict[str, Any]:
        """Where `job`'s transcript comes from: its media, these options, the models and libraries
        used, now, and the stage times so far (`podium.provenance`)."""
        models = [provenance.whisper_model(self.options.asr.model)]
        diarized = job.diarization is not None
        if diarized:
            models += provenance.diarization_models(self.options.diarize.segmentation,
                                                    self.options.diarize.embedding)
        return provenance.build(_source_record(job), self.options.to_dict(), models,
                                provenance.library_versions(diarized), job.seconds)

    def _hash_source(self, job: Job) -> None:
        """The source file's sha256 for the provenance, timed as the "hash" step (as batch times its
        own): once per job, and not at all when the caller knew it."""
        if job.source_sha256 is not None or isinstance(job.source, Audio):
            return
        started = time.perf_counter()
        try:
            job.source_sha256 = provenance.describe_source(job.source).sha256
        finally:
            job.seconds["hash"] = job.seconds.get("hash", 0.0) + time.perf_counter() - started

    @property
    def stages(self) -> tuple[str, ...]:
        """The STAGES these options use, in order (no diarize stage when diarization is off)."""
        return tuple(s for s in STAGES if s != "diarize" or self.options.diarize.diarize)

    def run(self, source: str | Path | Audio, hook: ProgressHook | None = None,
            stages: Sequence[str] | None = None) -> Job:
        """`stages` on one input, in order: by default all of `self.stages` but writing, so the
        transcript is `job.transcript` and nothing is written (`run_stage("write", job)` writes it
        once `job.stem` is set). One input at a time: before diarizing a long one, the Whisper model
        is let go on a CPU (`release_transcriber`; loaded again for the next input) and audio decoded
        here and held in memory is kept as 16-bit PCM where that is exact (RELEASE_WHISPER_SECONDS)."""
        job = Job(source)
        for stage in self.stages[:-1] if stages is None else stages:
            if stage == "diarize":
                self._make_room_to_diarize(job)
            self.run_stage(stage, job, hook)
        return job

    def _make_room_to_diarize(self, job: Job) -> None:
        """Free what a long diarization does not need: idle Whisper on a CPU, float samples in memory
        that are 16-bit PCM in fact."""
        if not (self.options.diarize.diarize and job.audio is not None
                and job.audio.duration >= RELEASE_WHISPER_SECONDS):
            return
        if self._transcriber is not None and self._transcriber.device == "cpu":
            self.release_transcriber()
        if not isinstance(job.source, Audio):  # the caller's own Audio is theirs to keep as it is
            job.audio = job.audio.compact()


def _needs(value: T | None, stage: str) -> T:
    if value is None:
        raise ValueError(f"the {stage} stage needs the stages before it to have run on this job")
    return value


def _source_record(job: Job) -> provenance.SourceRecord:
    """The provenance's description of the media: the file (its digest from `_hash_source`), or for
    decoded audio handed in directly, only the name it carries."""
    if isinstance(job.source, Audio):
        return provenance.SourceRecord(job.source.source)
    return provenance.describe_source(job.source, job.source_sha256)


def _enrollment_clip(name: str, clip: Path) -> Audio:
    """One clip's audio; a clip that is not usable is a setup error that names it."""
    try:
        audio = load_audio(clip)
    except PodiumError as err:  # MediaError included: a bad clip spoils every input, not just one
        raise PodiumError(f"--enroll {name}={clip}: {err}") from None
    if audio.duration < MIN_ENROLL_SECONDS:
        raise PodiumError(f"--enroll {name}={clip}: it holds only {audio.duration:.2f} s of audio; an "
                          f"enrollment clip needs at least {MIN_ENROLL_SECONDS} s (a few seconds of that "
                          "voice alone is best)")
    return audio


def diarizer_options(options: TranscribeOptions) -> DiarizeOptions:
    """The diarization options with the GPU settled: Whisper's unless --diarize-device-index says
    otherwise (one GPU per process is the usual batch setup)."""
    index = options.diarize.device_index
    return replace(options.diarize, device_index=options.asr.device_index if index is None else index)


def _load_diarizer(options: TranscribeOptions) -> Diarizer:
    from podium.diarize import Diarizer

    return Diarizer(diarizer_options(options))


def transcribe(path: str | Path, options: TranscribeOptions | None = None) -> Transcript:
    """Transcribe one file: the Python API of `podium transcribe` (same options, no files written)."""
    return _needs(Podium(options).run(path).transcript, "align")
