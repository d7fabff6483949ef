"""Speech recognition on the real tiny.en / base models and real speech from ../shared/data."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np
import pytest
from whisper_normalizer.english import EnglishTextNormalizer

from conftest import REPO, ffmpeg
from podium import asr
from podium.asr import (
    AsrOptions,
    Transcriber,
    at_most,
    audible_regions,
    collapse_repeats,
    suppress_hallucinations,
    whisper_pieces,
)
from podium.manifest import read_items
from podium.media import load_audio
from podium.transcript import Segment, Word

pytestmark = pytest.mark.slow  # loads a real model or runs the whole command

normalize = EnglishTextNormalizer()


def wer(reference: str, hypothesis: str) -> float:
    import jiwer

    return jiwer.wer(normalize(reference), normalize(hypothesis))


def max_consecutive_repeats(words: list[str], max_ngram: int = 6) -> int:
    """The longest back-to-back run of any n-gram (n ≤ max_ngram) in a word list."""
    tokens = [re.sub(r"\W", "", w.lower()) for w in words]
    worst = 1
    for n in range(1, max_ngram + 1):
        for i in range(len(tokens) - n):
            reps = 1
            while tokens[i + reps * n:i + (reps + 1) * n] == tokens[i:i + n]:
                reps += 1
            worst = max(worst, reps)
    return worst


@pytest.fixture(scope="module")
def tiny() -> Transcriber:
    return Transcriber(AsrOptions(model="tiny.en"))


@pytest.fixture(scope="module")
def manifest(shared_data: Path) -> dict[str, dict]:
    return {item.fields["id"]: item.fields for item in read_items(shared_data / "manifest.jsonl")}


def test_jfk_sentence_with_tiny_en(tiny: Transcriber, shared_data: Path, manifest: dict) -> None:
    item = manifest["jfk_inaugural_1961"]
    result = tiny.transcribe(load_audio(shared_data / item["audio"]).samples)
    text = " ".join(s.text for s in result.segments)
    assert wer(item["transcript"], text) <= 0.10, text
    assert result.language == "en"
    words = [w for s in result.segments for w in s.words]
    assert words and all(0 <= w.start <= w.end <= 11.1 for w in words)
    assert all(a.start <= b.start for a, b in itertools.pairwise(words))


def test_ljspeech_and_ieee_clips_with_tiny_en(tiny: Transcriber, shared_data: Path, manifest: dict) -> None:
    items = [m for m in manifest.values()
             if m["kind"] == "asr" and m["id"].startswith(("ljspeech_LJ001", "ieee"))]
    refs, hyps = [], []
    for item in items:
        result = tiny.transcribe(load_audio(shared_data / item["audio"]).samples)
        refs.append(normalize(item["transcript"]))
        hyps.append(normalize(" ".join(s.text for s in result.segments)))
    import jiwer

    assert jiwer.wer(refs, hyps) < 0.15


@pytest.mark.parametrize("batch_size", [0, 8])
def test_meeting_audio_has_no_repetition_loops(batch_size: int, shared_data: Path) -> None:
    # Batched base decoding turned this AMI excerpt's crosstalk into "Yeah, yeah, yeah, yeah."
    transcriber = Transcriber(AsrOptions(model="base", batch_size=batch_size))
    audio = load_audio(shared_data / "diarization/pyannote_debug_tst00.wav")
    result = transcriber.transcribe(audio.samples)
    words = [w.text for s in result.segments for w in s.words]
    assert len(words) > 30  # it did transcribe the meeting
    assert max_consecutive_repeats(words) <= 2, " ".join(words)
    texts = [s.text for s in result.segments]
    assert all(texts[i:i + 3].count(texts[i]) < 3 for i in range(len(texts)))


def test_language_is_detected_on_the_first_minutes_only(shared_data: Path, manifest: dict,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # base is multilingual, so it detects; a five-minute recording is heard for four minutes at most.
    transcriber = Transcriber(AsrOptions(model="base"))
    heard: list[int] = []
    detect = transcriber.detect_language

    def counting(samples: np.ndarray) -> tuple[str, float]:
        heard.append(samples.size)
        return detect(samples)

    monkeypatch.setattr(transcriber, "detect_language", counting)
    speech = load_audio(shared_data / manifest["jfk_inaugural_1961"]["audio"]).samples
    five_minutes = np.resize(speech, 300 * 16000)
    language, probability = transcriber._language(five_minutes)
    assert heard == [round(asr.LANGUAGE_SECONDS * 16000)] and asr.LANGUAGE_SECONDS < 300
    assert language == "en" and probability > 0.9


@pytest.mark.parametrize("bed", [
    "sine=frequency=440:duration=20",
    "anoisesrc=color=pink:amplitude=0.2:duration=20",
    # a crude "jingle": a chord that swells and fades, then silence
    "aevalsrc=0.3*sin(2*PI*262*t)*sin(PI*t/4)+0.3*sin(2*PI*330*t)+0.2*sin(2*PI*392*t):d=12,apad=pad_dur=8",
])
def test_tone_noise_and_music_beds_yield_no_text(bed: str, tiny: Transcriber, tmp_path: Path) -> None:
    path = tmp_path / "bed.m4a"
    ffmpeg("-f", "lavfi", "-i", bed, "-ar", "44100", "-c:a", "aac", path)
    result = tiny.transcribe(load_audio(path).samples)
    assert result.segments == (), [s.text for s in result.segments]


def test_batched_and_sequential_agree_on_clear_speech(shared_data: Path) -> None:
    audio = load_audio(shared_data / "asr/jfk_inaugural_1961.flac")
    batched = Transcriber(AsrOptions(model="tiny.en", batch_size=4)).transcribe(audio.samples)
    text = " ".join(s.text for s in batched.segments)
    assert wer("And so, my fellow Americans: ask not what your country can do for you—ask what you "
               "can do for your country.", text) <= 0.10


def _words(text: str, step: float = 0.3) -> tuple[Word, ...]:
    return tuple(Word(i * step, i * step + 0.25, " " + token) for i, token in enumerate(text.split()))


def test_collapse_repeats_keeps_two_and_drops_the_loop() -> None:
    words = _words("I said yeah, yeah, yeah, yeah, yeah. Okay")
    assert [w.text.strip() for w in collapse_repeats(words)] == ["I", "said", "yeah,", "yeah,", "Okay"]


def test_collapse_repeats_handles_phrases_and_keeps_times() -> None:
    words = _words("thank you very much thank you very much thank you very much thank you very much bye")
    kept = collapse_repeats(words)
    assert " ".join(w.text.strip() for w in kept) == "thank you very much thank you very much bye"
    assert kept[-1] == words[-1]  # surviving words keep their own timings


def test_collapse_repeats_leaves_normal_speech_alone() -> None:
    words = _words("we we need to to talk about the plan and the plan is good")
    assert collapse_repeats(words) == words


def test_suppress_drops_a_segment_repeated_a_third_time() -> None:
    seg = Segment(0, 1, "Thank you.", _words("Thank you."))
    other = Segment(1, 2, "Next question.", _words("Next question."))
    out = suppress_hallucinations([seg, seg, seg, seg, other])
    assert [s.text for s in out] == ["Thank you.", "Thank you.", "Next question."]


def _speech_silence_speech(silence_seconds: float) -> np.ndarray:
    """The example's 9 s enrollment clip, then digital silence, then the clip again."""
    clip = load_audio(REPO / "examples" / "enroll" / "secretary-general.wav").samples
    return np.concatenate([clip, np.zeros(round(silence_seconds * 16000), np.float32), clip])


@pytest.mark.parametrize("batch_size", [0, 4])
def test_without_vad_digital_silence_gets_no_invented_text(batch_size: int) -> None:
    """Issue 11: `--no-vad` gave "You" at 19:57 of 20 silent minutes (tiny.en: at 01:13 of 75 s), and
    batched decoding without VAD crashed on anything over 30 s. Only sound is decoded now."""
    transcriber = Transcriber(AsrOptions(model="tiny.en", vad=False, batch_size=batch_size))
    assert transcriber.transcribe(np.zeros(75 * 16000, np.float32)).segments == ()
    samples = _speech_silence_speech(60.0)
    words = [w for s in transcriber.transcribe(samples).segments for w in s.words]
    assert not [w for w in words if 9.6 < w.start < 68.5], "text invented inside the silence"
    for start, end in ((0, 9.1), (69.0, 78.1)):  # both sentences are there
        assert "spending" in "".join(w.text for w in words if start <= w.start <= end).lower()


def test_audible_regions_skip_only_silence() -> None:
    samples = _speech_silence_speech(60.0)
    dither = np.random.default_rng(0).normal(0, 10 ** (-95 / 20), samples.size).astype(np.float32)
    regions = audible_regions(samples + dither)
    assert len(regions) == 2 and regions[0][0] == 0.0 and regions[1][1] == pytest.approx(78.1, abs=0.01)
    assert 9.0 < regions[0][1] < 10.0 and 68.0 < regions[1][0] < 69.1
    assert at_most([(0.0, 75.0)], 30.0) == [(0.0, 25.0), (25.0, 50.0), (50.0, 75.0)]


@pytest.mark.parametrize("batch_size", [0, 4])
def test_without_vad_a_clip_whose_length_is_not_whole_milliseconds_decodes(batch_size: int) -> None:
    """1.5396875 s of sound to its last sample: its audible region was rounded to end at 1.54 s,
    past the audio, and faster-whisper's batched pipeline failed an assertion on it."""
    clip = load_audio(REPO / "examples" / "enroll" / "secretary-general.wav").samples[:24635]
    regions = audible_regions(clip)
    assert regions[-1][1] == len(clip) / 16000 and at_most(regions, 30.0)[-1][1] == len(clip) / 16000
    transcriber = Transcriber(AsrOptions(model="tiny.en", vad=False, batch_size=batch_size))
    assert transcriber.transcribe(clip).segments  # words, and no AssertionError


# --- long recordings in pieces -------------------------------------------------------------------

def test_a_recording_up_to_the_piece_length_is_one_piece() -> None:
    samples = np.zeros(round(asr.PIECE_SECONDS * 16000), np.float32)
    assert whisper_pieces(samples) == [(0, samples.size)]


def test_long_recordings_are_cut_at_their_quietest_moments(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(asr, "PIECE_SECONDS", 10.0)
    monkeypatch.setattr(asr, "CUT_SEARCH_SECONDS", 3.0)
    samples = (0.1 * np.random.default_rng(0).standard_normal(35 * 16000)).astype(np.float32)
    pauses = [8.2, 17.5, 26.9]  # one 0.3 s pause in the last 3 s of each 10 s piece
    for start in pauses:
        samples[round(start * 16000):round((start + 0.3) * 16000)] *= 1e-3
    pieces = whisper_pieces(samples)
    assert pieces[0][0] == 0 and pieces[-1][1] == samples.size
    assert all(a[1] == b[0] for a, b in itertools.pairwise(pieces))  # contiguous, no gap, no overlap
    assert all(last - first <= 10 * 16000 for first, last in pieces)
    cuts = [last / 16000 for _, last in pieces[:-1]]
    assert len(cuts) == len(pauses)
    assert all(start < cut < start + 0.3 for cut, start in zip(cuts, pauses, strict=True))


def test_each_piece_is_decoded_in_its_place(tiny: Transcriber, monkeypatch: pytest.MonkeyPatch) -> None:
    """A recording longer than a piece is decoded piece by piece (here pieces of at most 12 s, cut in
    the 2 s pause between two copies of a sentence): each copy is found, at its own time, as the
    sentence is recognised alone (tiny.en: a few words differ). Whisper's text depends on what
    shares its window, so the words are compared with the sentence decoded alone, not with the
    recording decoded whole."""
    clip = load_audio(REPO / "examples" / "enroll" / "secretary-general.wav").samples
    alone = " ".join(s.text for s in tiny.transcribe(clip).segments)
    samples = _speech_silence_speech(2.0)
    monkeypatch.setattr(asr, "PIECE_SECONDS", 12.0)
    monkeypatch.setattr(asr, "CUT_SEARCH_SECONDS", 4.0)
    pieces = whisper_pieces(samples)
    assert len(pieces) == 2
    cut = pieces[0][1] / 16000
    assert clip.size / 16000 <= cut <= clip.size / 16000 + 2.0  # in the pause
    words = [w for s in tiny.transcribe(samples).segments for w in s.words]
    assert all(a.start <= b.start for a, b in itertools.pairwise(words))
    first = " ".join(w.text for w in words if w.start < cut)
    second = " ".join(w.text for w in words if w.start >= cut)
    assert wer(alone, first) <= 0.3 and wer(alone, second) <= 0.3, (alone, first, second)  # tiny.en
    assert min(w.start for w in words if w.start >= cut) >= cut + 1.0  # after the pause (Whisper: ±0.5 s)
    assert max(w.end for w in words) <= samples.size / 16000 + 0.1
