"""Splitting speakers that hold two voices (`podium.diarize.refine`): hand-made cases with a toy
embedding, then the real CAM++ frames of two shared recordings."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import SHARED_DATA, skip_without_shared
from podium.diarize.refine import SplitSettings, fleeting_speakers, split_mixed_speakers

SETTINGS = SplitSettings(window_frames=10, hop_frames=5, min_part_frames=40, max_similarity=0.45)
VOICES = np.eye(4)  # orthogonal toy voices: different people have similarity 0


def toy_embed(voice_of_frame: np.ndarray, voices: np.ndarray = VOICES):
    """Embedding of a frame set = the normalised mean of its frames' voice vectors."""
    def embed(index_sets: list[np.ndarray]) -> np.ndarray:
        vectors = np.stack([voices[voice_of_frame[indices]].mean(axis=0) for indices in index_sets])
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return embed


def one_speaker(num_frames: int) -> np.ndarray:
    return np.ones((num_frames, 1), dtype=bool)


def close(column: np.ndarray, expected: np.ndarray) -> bool:
    """Equal but for frames near a voice change, which windows straddling it may give either way."""
    return int(np.sum(column != expected)) <= SETTINGS.window_frames


def test_two_voices_in_one_speaker_are_split_at_the_change() -> None:
    voices = np.array([0] * 300 + [1] * 200)
    activity, moves = split_mixed_speakers(one_speaker(500), toy_embed(voices), SETTINGS)
    assert activity.shape == (500, 2)
    assert len(moves) == 1 and moves[0].source == 0 and moves[0].target == 1
    assert close(activity[:, 1], voices == 1)  # the smaller voice moved
    assert close(activity[:, 0], voices == 0)
    assert not np.any(activity[:, 0] & activity[:, 1])


def test_one_voice_is_left_alone() -> None:
    activity, moves = split_mixed_speakers(one_speaker(500), toy_embed(np.zeros(500, dtype=int)), SETTINGS)
    assert moves == [] and activity.shape == (500, 1)


def test_similar_halves_are_not_split() -> None:
    # Two "voices" at cosine 0.6: above the threshold, so the same person.
    voices = np.array([[1.0, 0.0], [0.6, 0.8]])
    embed = toy_embed(np.repeat([0, 1], 200), voices)
    activity, moves = split_mixed_speakers(one_speaker(400), embed, SETTINGS)
    assert moves == [] and activity.shape == (400, 1)


def test_a_half_that_sounds_like_another_speaker_joins_it() -> None:
    voices = np.array([0] * 300 + [1] * 100 + [1] * 200)
    activity = np.zeros((600, 2), dtype=bool)
    activity[:400, 0] = True  # speaker 0 holds voice 0 and the first 100 frames of voice 1
    activity[400:, 1] = True  # speaker 1 is voice 1
    activity, moves = split_mixed_speakers(activity, toy_embed(voices), SETTINGS)
    assert activity.shape == (600, 2), "no new speaker: voice 1 already has one"
    assert [(m.source, m.target) for m in moves] == [(0, 1)]
    assert close(activity[:, 1], voices == 1)


def test_three_voices_end_up_as_three_speakers() -> None:
    voices = np.array([0] * 300 + [1] * 200 + [2] * 150)
    activity, moves = split_mixed_speakers(one_speaker(650), toy_embed(voices), SETTINGS)
    assert activity.shape == (650, 3) and len(moves) == 2
    for voice in range(3):
        assert any(close(activity[:, column], voices == voice) for column in range(3))


def test_overlapped_frames_keep_their_speakers() -> None:
    voices = np.array([0] * 300 + [1] * 200)
    activity = np.zeros((500, 2), dtype=bool)
    activity[:, 0] = True
    activity[450:, 1] = True  # overlap at the end: frames 450-499 have two speakers
    result, moves = split_mixed_speakers(activity, toy_embed(voices), SETTINGS)
    assert len(moves) == 1
    assert result[450:, 0].all() and result[450:, 1].all(), "overlapped frames changed"
    assert not np.any(np.isin(moves[0].frames, np.arange(450, 500)))


def test_max_speakers_blocks_new_speakers() -> None:
    voices = np.array([0] * 300 + [1] * 200)
    settings = SplitSettings(**{**SETTINGS.__dict__, "max_speakers": 1})
    activity, moves = split_mixed_speakers(one_speaker(500), toy_embed(voices), settings)
    assert moves == [] and activity.shape == (500, 1)


@pytest.mark.parametrize("minority", [0, 20, 39])
def test_too_little_of_a_second_voice_is_not_a_speaker(minority: int) -> None:
    voices = np.array([0] * (400 - minority) + [1] * minority)
    activity, moves = split_mixed_speakers(one_speaker(400), toy_embed(voices), SETTINGS)
    assert moves == [] and activity.shape == (400, 1)


def test_no_speech_and_no_speakers() -> None:
    activity, moves = split_mixed_speakers(np.zeros((100, 0), dtype=bool), toy_embed(np.zeros(100, int)),
                                           SETTINGS)
    assert moves == [] and activity.shape == (100, 0)
    activity, moves = split_mixed_speakers(np.zeros((100, 2), dtype=bool), toy_embed(np.zeros(100, int)),
                                           SETTINGS)
    assert moves == [] and activity.shape == (100, 2)


# --- real CAM++ frames -------------------------------------------------------------------------

DATA = SHARED_DATA / "asr"


@pytest.fixture(scope="module")
def campplus():
    from podium import weights
    from podium.diarize.embedding import CamPlusPlus

    return CamPlusPlus.from_state_dict(weights.locate(weights.CAMPLUS))


def _frames_and_embed(campplus, samples: np.ndarray):
    import torch

    from podium.diarize.embedding import file_frames, frame_set_embeddings

    with torch.inference_mode():
        frames = file_frames(campplus, torch.from_numpy(samples), batch_size=8)

    def embed(index_sets: list[np.ndarray]) -> np.ndarray:
        with torch.inference_mode():
            return frame_set_embeddings(campplus, frames, index_sets)
    return frames, embed


def _real_settings():
    from podium.diarize.pipeline import split_settings

    return split_settings()


@pytest.mark.slow
@skip_without_shared()
def test_real_voices_two_readers_split_one_reader_does_not(campplus) -> None:
    from podium.media import load_audio

    reader = np.concatenate([load_audio(DATA / f"ljspeech_LJ001-000{i}.wav").samples for i in (1, 2, 3, 4)])
    other = np.concatenate([load_audio(DATA / f"ieee_S_0{n}.wav").samples for n in ("1_04", "2_01", "3_07")])

    frames, embed = _frames_and_embed(campplus, reader)
    activity, moves = split_mixed_speakers(one_speaker(frames.shape[-1]), embed, _real_settings())
    assert moves == [], "one LJSpeech reader was split in two"

    frames, embed = _frames_and_embed(campplus, np.concatenate([reader, other]))
    activity, moves = split_mixed_speakers(one_speaker(frames.shape[-1]), embed, _real_settings())
    assert activity.shape[1] == 2, "a female and a male reader stayed one speaker"
    change = round(len(reader) / 16000 / 0.02)  # the junction, in 20 ms frames
    reader_column = int(activity[:change].sum(axis=0).argmax())
    # Every frame counts as speech here, pauses included, and pauses may go either way.
    assert activity[:change, reader_column].mean() > 0.9
    assert activity[change:, 1 - reader_column].mean() > 0.85


@pytest.mark.slow
@skip_without_shared()
@pytest.mark.parametrize("length", [75, 999, 1001, 1700])  # both sides of SHORT_SET_FRAMES
def test_frame_set_embeddings_match_campplus_pooling(campplus, length: int) -> None:
    import torch

    from podium.media import load_audio

    reader = np.concatenate([load_audio(DATA / f"ljspeech_LJ001-000{i}.wav").samples for i in range(1, 9)])
    frames, embed = _frames_and_embed(campplus, reader)
    first = 40
    assert frames.shape[-1] >= first + length
    indices = np.arange(first, first + length)
    with torch.inference_mode():
        expected = campplus.campplus.pool(frames[None, :, first:first + length].float())[0, 0]
    expected = (expected / expected.norm()).numpy()
    assert float(embed([indices])[0] @ expected) > 0.9999
    # Non-contiguous sets pool exactly their frames, in any order.
    scattered = np.concatenate([indices[::2], indices[1::2]])
    assert float(embed([scattered])[0] @ expected) > 0.9999


@pytest.mark.slow
@skip_without_shared()
def test_frame_sets_of_any_lengths_in_small_batches_match_one_by_one(campplus,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Sets are pooled in batches of at most SET_BATCH_FRAMES padded frames, longest first; each
    set's embedding does not depend on the others in its batch, nor on their order."""
    from podium.diarize import embedding
    from podium.media import load_audio

    reader = np.concatenate([load_audio(DATA / f"ljspeech_LJ001-000{i}.wav").samples for i in range(1, 5)])
    frames, embed = _frames_and_embed(campplus, reader)
    rng = np.random.default_rng(0)
    sets = [np.sort(rng.choice(frames.shape[-1], size=size, replace=False))
            for size in (2, 75, 300, 999, 40, 120, 75, 1000, 5)]
    one_by_one = np.stack([embed([indices])[0] for indices in sets])
    monkeypatch.setattr(embedding, "SET_BATCH_FRAMES", 300)  # most batches hold one or two sets
    together = embed(sets)
    assert np.allclose(together, one_by_one, atol=1e-5)


# --- fleeting speakers -----------------------------------------------------------------------------

def _voices(**angles: float) -> dict[str, np.ndarray]:
    """Unit vectors in a plane, one per speaker, at the given angles (degrees)."""
    return {label: np.array([np.cos(np.radians(a)), np.sin(np.radians(a))]) for label, a in angles.items()}


def test_a_fleeting_speaker_joins_the_nearest_voice() -> None:
    centroids = _voices(A=0, B=90, C=80)
    assert fleeting_speakers({"A": 30.0, "B": 12.0, "C": 0.4}, centroids, 0.75) == {"C": "B"}


def test_a_short_but_real_speaker_is_kept_however_distant() -> None:
    centroids = _voices(A=0, B=90, C=180)
    assert fleeting_speakers({"A": 30.0, "B": 12.0, "C": 0.75}, centroids, 0.75) == {}


def test_several_fleeting_speakers_join_only_speakers_that_stay() -> None:
    centroids = _voices(A=0, B=90, C=85, D=5)
    # C is nearest to D, but D is fleeting too: both end with the speakers that stay.
    joins = fleeting_speakers({"A": 30.0, "B": 12.0, "C": 0.1, "D": 0.0}, centroids, 0.75)
    assert joins == {"C": "B", "D": "A"}


def test_fleeting_speakers_never_leave_fewer_than_asked() -> None:
    centroids = _voices(A=0, B=90, C=180)
    seconds = {"A": 30.0, "B": 0.3, "C": 0.2}
    assert fleeting_speakers(seconds, centroids, 0.75, min_speakers=3) == {}
    assert fleeting_speakers(seconds, centroids, 0.75, min_speakers=2) == {"C": "B"}
    # Never none: one speaker with little speech is still the one speaker.
    assert fleeting_speakers({"A": 0.2}, _voices(A=0), 0.75) == {}
    assert fleeting_speakers({"A": 0.3, "B": 0.2}, _voices(A=0, B=90), 0.75) == {"B": "A"}


def test_zero_min_seconds_keeps_everyone() -> None:
    assert fleeting_speakers({"A": 30.0, "B": 0.0}, _voices(A=0, B=90), 0.0) == {}
