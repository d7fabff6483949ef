"""Enrollment: naming diarized speakers from voice samples, with real voices and the real model."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import SHARED_DATA, shared_missing
from podium.diarize.pipeline import DiarizeOptions, Diarizer
from podium.media import load_audio
from podium.speakers import DEFAULT_THRESHOLD, match_enrollments

ASR = SHARED_DATA / "asr"
GAP = np.zeros(8000, dtype=np.float32)  # 0.5 s of silence between clips


def _clip(name: str) -> np.ndarray:
    if reason := shared_missing(f"asr/{name}"):
        pytest.skip(reason)
    return load_audio(ASR / name).samples


@pytest.fixture(scope="module")
def diarizer() -> Diarizer:
    return Diarizer(DiarizeOptions(device="cpu"))


def test_one_to_one_above_threshold() -> None:
    east, north = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
    centroids = {"A": east, "B": north, "C": np.array([0.0, 0.0, 1.0])}
    enrolled = {"east": np.array([0.9, 0.1, 0.0]), "north": np.array([0.2, 0.8, 0.0]),
                "alsoeast": np.array([0.8, 0.0, 0.1])}
    matches = match_enrollments(centroids, enrolled, threshold=0.5)
    assert matches == {"A": "east", "B": "north"}  # one name per cluster; C matches nobody
    assert match_enrollments(centroids, {"nobody": np.array([-1.0, -1.0, 0.0])}, threshold=0.5) == {}
    assert match_enrollments({}, enrolled) == {}


@pytest.mark.slow
def test_enrolled_voices_name_their_clusters(diarizer: Diarizer) -> None:
    enrolled = {"Linda": diarizer.embed(_clip("ljspeech_LJ001-0001.wav")),
                "Ian": diarizer.embed(_clip("ieee_S_01_04.wav"))}
    # Other clips of both voices, interleaved, plus a third voice nobody enrolled.
    sources = [("Linda", "ljspeech_LJ001-0003.wav"), ("Ian", "ieee_S_02_01.wav"),
               ("Linda", "ljspeech_LJ001-0005.wav"), ("Ian", "ieee_S_02_09.wav"),
               ("other", "pocketsphinx_cards_005.wav"), ("Linda", "ljspeech_LJ001-0007.wav"),
               ("Ian", "ieee_S_03_07.wav"), ("other", "pocketsphinx_cards_002.wav"),
               ("other", "pocketsphinx_cards_003.wav")]
    pieces, spans, cursor = [], [], 0.0
    for who, name in sources:
        clip = _clip(name)
        spans.append((who, cursor, cursor + len(clip) / 16000))
        pieces += [clip, GAP]
        cursor += (len(clip) + len(GAP)) / 16000
    result = diarizer.diarize(np.concatenate(pieces))
    names = match_enrollments(result.centroids, enrolled, threshold=DEFAULT_THRESHOLD)

    def dominant_source(label: str) -> str:
        talk = {who: 0.0 for who, _, _ in spans}
        for turn in result.turns:
            if turn.speaker == label:
                for who, start, end in spans:
                    talk[who] += max(0.0, min(end, turn.end) - max(start, turn.start))
        return max(talk, key=talk.__getitem__)

    sources_of = {label: dominant_source(label) for label in result.centroids}
    assert set(sources_of.values()) >= {"Linda", "Ian"}, sources_of
    # Every enrolled name lands on a cluster of that voice; the unknown voice stays unnamed.
    # (A voice split over two clusters names only the closer one: one name per cluster.)
    assert sorted(names.values()) == ["Ian", "Linda"], names
    for label, name in names.items():
        assert sources_of[label] == name, (names, sources_of)
