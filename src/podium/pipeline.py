"""The whole job: media -> asr -> diarize -> align -> Transcript, with models loaded once.

Each stage is its own method so `podium batch` can run them on different files at once.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from podium import align, speakers
from podium.asr import AsrOptions, AsrResult, Transcriber
from podium.diarize import DiarizationResult, DiarizeOptions
from podium.errors import OptionError, PodiumError
from podium.media import Audio, MediaOptions, load_audio
from podium.options import as_dict, option
from podium.render import WRITERS, write_outputs
from podium.speakers import SpeakerOptions
from podium.transcript import SpeakerTurn, Transcript

if TYPE_CHECKING:
    from podium.diarize import Diarizer

# hook(stage, seconds_of_audio_done, seconds_of_audio_total); called as each stage makes progress.
ProgressHook = Callable[[str, float, float], None]
# Below this, segmentation has nothing to work on (the diarizer refuses it): such an input is still
# transcribed, without speakers, and the caller says so. An enrollment clip needs more: a voice print
# from a fraction of a second names the wrong speaker.
MIN_DIARIZE_SECONDS = 0.1
MIN_ENROLL_SECONDS = 0.5


def too_short_note(duration: float, options: TranscribeOptions) -> str | None:
    """The note for an input too short to tell speakers apart (None when diarization ran or was off)."""
    if not options.diarize.diarize or duration >= MIN_DIARIZE_SECONDS:
        return None
    return (f"only {duration:.2f} s of audio, too short to tell speakers apart "
            f"(diarization needs {MIN_DIARIZE_SECONDS} s): the transcript has no speaker labels")


@dataclass(frozen=True)
class OutputOptions:
    output_dir: str = option(".", "folder for the output files, named <input stem>.<format>",
                             metavar="DIR")
    formats: tuple[str, ...] = option(("txt", "srt", "vtt", "json"),
                                      "output formats, comma-separated: txt, srt, vtt, json, tsv, rttm, png",
                                      flag="--format", metavar="LIST")

    def __post_init__(self) -> None:
        unknown = [f for f in self.formats if f not in WRITERS]
        if unknown:
            raise OptionError(f"unknown output format {unknown[0]!r}; choose from {', '.join(WRITERS)}")


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
class StageTimer:
    """Wall seconds spent per stage, for the progress display and batch ledgers."""

    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, stage: str, seconds: float) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds


class Podium:
    """Loaded models plus options. Create once, call `transcribe` for each input."""

    def __init__(self, options: TranscribeOptions | None = None) -> None:
        self.options = options or TranscribeOptions()
        self._transcriber: Transcriber | None = None
        self._diarizer: Diarizer | None = None
        self._diarizer_loading: threading.Thread | None = None
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
        if self._diarizer_loading is not None:
            self._diarizer_loading.join()
            self._diarizer_loading = None
        if self._diarizer is None:
            self._diarizer = _load_diarizer(self.options.diarize)
        return self._diarizer

    def _preload_diarizer(self) -> None:
        """Start loading the diarizer in the background: importing torch and pyannote takes several
        seconds of mostly single-threaded Python, which overlaps with Whisper's decoding. A failure
        is left for the `diarizer` property to raise, in this thread, when it is needed."""
        if not self.options.diarize.diarize or self._diarizer is not None or self._diarizer_loading:
            return

        def load() -> None:
            with contextlib.suppress(Exception):
                self._diarizer = _load_diarizer(self.options.diarize)

        self._diarizer_loading = threading.Thread(target=load, name="podium-load-diarizer", daemon=True)
        self._diarizer_loading.start()

    def load_models(self) -> None:
        """Load every model the options need now, so errors surface before any input is read."""
        self.transcriber  # noqa: B018 - property access loads the model
        if self.options.diarize.diarize:
            self.diarizer  # noqa: B018
            self._enrollments()

    # --- stages -----------------------------------------------------------------------------

    def decode(self, path: str | Path) -> Audio:
        return load_audio(path, self.options.media)

    def recognize(self, audio: Audio, hook: ProgressHook | None = None) -> AsrResult:
        report = None if hook is None else (lambda done: hook("transcribe", done, audio.duration))
        return self.transcriber.transcribe(audio.samples, report)

    def diarize(self, audio: Audio) -> DiarizationResult | None:
        if not self.options.diarize.diarize or audio.duration < MIN_DIARIZE_SECONDS:
            return None  # too short: see too_short_note
        # Enrolled voices are also looked for inside other speakers (a moderator merged into the
        # main speaker gets their turns back), then name their speakers in `assemble`.
        enrolled = self._enrollments()
        voices = np.stack(list(enrolled.values())) if enrolled else None
        return self.diarizer.diarize(audio.samples, voices=voices)

    def assemble(self, audio: Audio, asr: AsrResult, diarization: DiarizationResult | None) -> Transcript:
        """Fuse words and speaker turns into the final transcript (pure, fast)."""
        words = [w for s in asr.segments for w in s.words]
        base = Transcript(segments=asr.segments, language=asr.language, duration=audio.duration,
                          source=audio.source, model=asr.model, options=self.options.to_dict())
        if diarization is None:
            return base
        words = align.assign_speakers(words, diarization.turns)
        words = align.smooth_speakers(words)
        # Every diarizer label gets a SPEAKER_n, including a speaker heard only under another one:
        # they have overlapping turns but no exclusive turn, and their raw label (SPEAKER_01) once
        # leaked into the JSON turns, the RTTM and the PNG beside SPEAKER_1.
        words, _, mapping = speakers.relabel_by_first_appearance(
            words, (*diarization.turns, *diarization.overlapping_turns))
        enrolled = self._name_by_voice(diarization, mapping)
        labels = sorted(mapping.values(), key=_label_order)
        named = speakers.name_speakers(labels, self.options.speakers, enrolled)
        overlapping = tuple(SpeakerTurn(t.start, t.end, mapping[t.speaker])
                            for t in diarization.overlapping_turns)
        return replace(base, segments=align.build_segments(words), speakers=named, turns=overlapping)

    def _enrollments(self) -> dict[str, np.ndarray]:
        """Voice embeddings of the `--enroll NAME=CLIP` clips, computed once."""
        if self._enrolled is None:
            self._enrolled = {name: self.diarizer.embed(audio.samples) for name, audio in self._clips.items()}
            self._clips = {}  # the embeddings are all that is needed from now on
        return self._enrolled

    def _decode_enrollments(self) -> dict[str, Audio]:
        return {name: _enrollment_clip(name, clip) for name, clip in self.options.speakers.enrollments()}

    def _name_by_voice(self, diarization: DiarizationResult, mapping: dict[str, str]) -> dict[str, str]:
        enrolled = self._enrollments()
        if not enrolled:
            return {}
        from podium.diarize.enroll import match_enrollments

        by_raw_label = match_enrollments(diarization.centroids, enrolled)
        return {mapping[raw]: name for raw, name in by_raw_label.items() if raw in mapping}

    # --- the whole job ----------------------------------------------------------------------

    def transcribe(self, source: str | Path | Audio, hook: ProgressHook | None = None,
                   timer: StageTimer | None = None) -> Transcript:
        timer = timer if timer is not None else StageTimer()
        self._preload_diarizer()

        def timed(stage: str, run: Callable):
            started = time.perf_counter()
            result = run()
            timer.add(stage, time.perf_counter() - started)
            return result

        audio = source if isinstance(source, Audio) else timed("decode", lambda: self.decode(source))
        if hook:
            hook("decode", audio.duration, audio.duration)
        asr = timed("transcribe", lambda: self.recognize(audio, hook))
        if hook:
            hook("transcribe", audio.duration, audio.duration)
        diarization = timed("diarize", lambda: self.diarize(audio))
        if hook:
            hook("diarize", audio.duration, audio.duration)
        transcript = timed("align", lambda: self.assemble(audio, asr, diarization))
        if hook:
            hook("align", audio.duration, audio.duration)
        return transcript

    def write(self, transcript: Transcript, stem: str) -> list[Path]:
        out = self.options.output
        return write_outputs(transcript, Path(out.output_dir), stem, out.formats)


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


def _load_diarizer(options: DiarizeOptions) -> Diarizer:
    from podium.diarize import Diarizer

    return Diarizer(options)


def _label_order(label: str) -> tuple[int, str]:
    number = label.rsplit("_", 1)[-1]
    return (int(number), label) if number.isdigit() else (1 << 30, label)


def transcribe(path: str | Path, options: TranscribeOptions | None = None) -> Transcript:
    """Transcribe one file: the Python API of `podium transcribe` (same options, no files written)."""
    return Podium(options).transcribe(path)
