"""Speakers that are not speech (`podium.diarize.speech`): the rule on hand-made shares, Silero's
shares on real speech against noise, and the whole diarizer on a real bank call whose line noise
segmentation-3.0 takes for a third speaker."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import SHARED_DATA, SPEECH, skip_without_shared
from podium.diarize import tuned
from podium.diarize.speech import WINDOW_SAMPLES, noise_speakers, speech_probabilities, speech_shares
from podium.media import PCM_SCALE, SAMPLE_RATE, load_audio


def test_a_speaker_that_is_not_speech_is_dropped() -> None:
    assert noise_speakers({"A": 0.9, "B": 0.7, "N": 0.1}, 0.4) == ["N"]


def test_the_measured_extremes_fall_on_either_side_of_the_default() -> None:
    """On the 21 shared recordings: the faintest real voice against its clearest neighbour (0.58
    beside 0.98) stays, the most speech-like noise (0.21 beside 0.86) goes."""
    assert noise_speakers({"A": 0.98, "faint": 0.58}, tuned.NOISE_MAX_SPEECH_SHARE) == []
    assert noise_speakers({"A": 0.86, "noise": 0.21}, tuned.NOISE_MAX_SPEECH_SHARE) == ["noise"]


def test_the_line_is_relative_to_the_clearest_speaker() -> None:
    """A meeting where every voice is faint (an AMI recording scored 0.23) keeps all of them, while
    the same 0.23 beside a clear voice is noise; the line is `max_share` times the clearest share."""
    assert noise_speakers({"A": 0.23, "B": 0.2, "C": 0.25}, 0.4) == []
    assert noise_speakers({"A": 0.9, "N": 0.23}, 0.4) == ["N"]
    assert noise_speakers({"A": 0.5, "B": 0.19}, 0.4) == ["B"]  # under 0.2
    assert noise_speakers({"A": 0.5, "B": 0.21}, 0.4) == []


def test_the_least_speech_goes_first_and_min_speakers_holds() -> None:
    shares = {"A": 0.9, "N1": 0.2, "N2": 0.0, "B": 0.8}
    assert noise_speakers(shares, 0.4) == ["N2", "N1"]
    assert noise_speakers(shares, 0.4, min_speakers=3) == ["N2"]
    assert noise_speakers(shares, 0.4, min_speakers=4) == []


def test_the_only_speaker_is_never_dropped() -> None:
    assert noise_speakers({"A": 0.05}, 0.4) == []
    assert noise_speakers({"N1": 0.0, "N2": 0.2}, 0.4) == ["N1"]
    assert noise_speakers({}, 0.4) == []


def test_zero_share_drops_nobody() -> None:
    assert noise_speakers({"A": 0.9, "N": 0.0}, 0.0) == []


def test_ties_go_by_label() -> None:
    assert noise_speakers({"b": 0.1, "a": 0.1, "c": 0.9}, 0.4, min_speakers=2) == ["a"]


@skip_without_shared(SPEECH)
def test_real_speech_is_speech_and_noise_is_not() -> None:
    """JFK's sentence (real speech) and then 4 s of hiss and hum at speech level: the speech's turns
    score high, the noise's low; int16 PCM and floats give the same shares."""
    speech = load_audio(SHARED_DATA / SPEECH).samples
    rng = np.random.default_rng(0)
    seconds = np.arange(4 * SAMPLE_RATE) / SAMPLE_RATE
    hum = 0.1 * np.sin(2 * np.pi * 50 * seconds)
    noise = (0.05 * rng.standard_normal(seconds.size) + hum).astype(np.float32)
    samples = np.concatenate([speech, noise])
    end = len(speech) / SAMPLE_RATE
    turns = {"JFK": [(0.3, 3.0), (4.0, end - 0.5)], "noise": [(end + 0.5, end + 3.5)]}
    shares = speech_shares(samples, turns)
    assert shares["JFK"] >= 0.7 and shares["noise"] <= 0.2, shares
    pcm = np.clip(np.round(samples * PCM_SCALE), -32768, 32767).astype(np.int16)
    assert speech_shares(pcm, turns) == pytest.approx(shares, abs=0.02)
    assert noise_speakers(shares, tuned.NOISE_MAX_SPEECH_SHARE) == ["noise"]


def test_probabilities_cover_the_recording_in_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """One probability per 32 ms window; a speaker with no window inside the audio has no share
    (nothing to judge it on)."""
    import podium.diarize.speech as speech

    samples = np.zeros(10 * WINDOW_SAMPLES + 100, np.float32)
    assert len(speech_probabilities(samples)) == 11
    monkeypatch.setattr(speech, "BLOCK_WINDOWS", 4)
    assert len(speech_probabilities(np.zeros(3 * SAMPLE_RATE, np.float32))) == 94  # 93.75 windows
    assert speech_shares(samples, {"late": [(60.0, 61.0)]}) == {}


@skip_without_shared(SPEECH)
def test_blocks_hear_the_recording_as_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of 4 windows, carrying Silero's state over, give faster-whisper's own one-pass
    probabilities: no block boundary resets what the LSTM has heard."""
    from faster_whisper.vad import get_vad_model

    import podium.diarize.speech as speech

    samples = load_audio(SHARED_DATA / SPEECH).samples
    one_pass = get_vad_model()(np.pad(samples, (0, (-len(samples)) % WINDOW_SAMPLES))).reshape(-1)
    monkeypatch.setattr(speech, "BLOCK_WINDOWS", 4)
    np.testing.assert_allclose(speech_probabilities(samples), one_pass, atol=1e-6)


BANK_CALL = "hvb_0091a706bc604188"


@pytest.mark.slow
@skip_without_shared(f"diarization/{BANK_CALL}.flac")
def test_line_noise_is_not_a_third_speaker_in_a_real_call() -> None:
    """segmentation-3.0 gives 2.0 s of this call's line noise (no reference speech in it) a speaker
    of its own; with the check the call has its two people, and without it three."""
    from podium.diarize.pipeline import DiarizeOptions, Diarizer

    samples = load_audio(SHARED_DATA / "diarization" / f"{BANK_CALL}.flac").samples
    diarizer = Diarizer(DiarizeOptions(device="cpu"))
    assert len(diarizer.diarize(samples).speakers) == 2
    diarizer.pipeline.instantiate({"noise_max_speech_share": 0.0})
    assert len(diarizer.diarize(samples).speakers) == 3
