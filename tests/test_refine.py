"""Splitting speakers that hold two voices (`podium.diarize.refine`): hand-made cases with a toy
embedding, then real CAM++ embeddings of shared recordings."""

from __future__ import annotations

import numpy as np
import pytest
from pyannote.core import Annotation, Segment

from conftest import SHARED_DATA, skip_without_shared
from podium.diarize import refine
from podium.diarize.pipeline import solo_seconds
from podium.diarize.refine import (
    SplitSettings,
    fleeting_speakers,
    resegment,
    solo_windows,
    split_mixed_speakers,
    two_voices,
)

SETTINGS = SplitSettings(window_frames=10, min_run_frames=5, min_part_frames=40, min_margin=0.3,
                         max_similarity=0.45, length_step_frames=5)
VOICES = np.eye(4)  # orthogonal toy voices: different people have similarity 0


def toy_embed(voice_of_frame: np.ndarray, voices: np.ndarray = VOICES):
    """Embedding of a frame set = the normalised mean of its frames' vectors: the frame's voice plus
    noise of the same norm in other dimensions (fixed per frame), so that, as with real speech, two
    windows of one voice are alike (about 0.9 for 10 frames) but not copies of each other."""
    noise = np.random.default_rng(0).normal(size=(len(voice_of_frame), 16)) / 4
    frames = np.concatenate([voices[voice_of_frame], noise], axis=1)

    def embed(index_sets: list[np.ndarray]) -> np.ndarray:
        vectors = np.stack([frames[indices].mean(axis=0) for indices in index_sets])
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
    # Two "voices" at cosine 0.8: the halves' windows are as alike across as within, less the margin.
    voices = np.array([[1.0, 0.0], [0.8, 0.6]])
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


@pytest.mark.parametrize("minority", [0, 20, 30])  # whole windows: a half is a multiple of 10 frames
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


def test_turns_taken_in_turn_are_split_by_windows_that_never_span_a_pause() -> None:
    # One "speaker" holds two voices alternating in 0.6 s turns with 3-frame pauses (a phone call
    # tracked as one person). A window spanning a pause would blend both voices.
    voices = np.full(660, -1)
    activity = np.zeros((660, 1), dtype=bool)
    for turn in range(20):
        start = turn * 33
        voices[start:start + 30] = turn % 2
        activity[start:start + 30, 0] = True
    embed = toy_embed(np.maximum(voices, 0))
    result, moves = split_mixed_speakers(activity, embed, SETTINGS)
    assert result.shape == (660, 2) and len(moves) == 1
    moved = voices[result[:, 1]][0]  # the halves are equal: either may move
    assert np.array_equal(result[:, 1], voices == moved)  # windows cut at pauses: every frame right
    assert np.array_equal(result[:, 0], voices == 1 - moved)


def test_solo_windows_never_span_a_gap_and_share_lengths() -> None:
    frames = np.concatenate([np.arange(0, 23), np.arange(30, 33), np.arange(40, 77)])
    settings = SplitSettings(window_frames=10, min_run_frames=5, min_part_frames=1, min_margin=0.1,
                             max_similarity=0.5, length_step_frames=5)
    windows = solo_windows(frames, settings)
    # 23 frames: two windows of 10 (3 left out). 3 frames: none. 37 frames: about 10 each would be
    # 9.25, a multiple of 5 is 5, so seven windows of 5 (2 left out).
    assert [(int(w[0]), w.size) for w in windows] == [(0, 10), (10, 10)] + [(s, 5) for s in range(40, 75, 5)]
    for window in windows:
        assert np.all(np.diff(window) == 1) and window.size % settings.length_step_frames == 0
    assert solo_windows(np.zeros(0, dtype=int), settings) == []


def _windows(*counts_and_voices: tuple[int, np.ndarray], spread: float = 0.04, seed: int = 0) -> np.ndarray:
    """Unit-norm window embeddings: `count` windows near each voice, never copies of each other
    (similarity about 0.9 among them at `spread` 0.04, about 0.45 at 0.14, as real windows score)."""
    rng = np.random.default_rng(seed)
    rows = []
    for count, voice in counts_and_voices:
        jitter = rng.normal(size=(count, 64)) * spread
        rows.append(np.concatenate([np.tile(voice, (count, 1)), jitter], axis=1))
    vectors = np.concatenate(rows)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_two_voices_needs_the_margin() -> None:
    one, other = np.array([1.0, 0.0]), np.array([0.6, 0.8])  # cosine 0.6 apart
    vectors = _windows((4, one), (3, other))
    similarities = vectors @ vectors.T
    within, across = min(similarities[:4, :4].min(), similarities[4:, 4:].min()), similarities[:4, 4:].mean()
    labels = two_voices(vectors, min_margin=within - across - 0.05)
    assert labels is not None and len(set(labels[:4])) == 1 and labels[0] != labels[-1]
    assert two_voices(vectors, min_margin=0.5) is None  # within about 0.92, across about 0.55
    assert two_voices(_windows((6, one), (1, other)), min_margin=0.1) is None  # a half of one window
    assert two_voices(_windows((2, one), (1, other)), min_margin=0.1) is None  # too few windows


def test_copies_of_the_same_audio_count_once() -> None:
    # One voice, every stretch heard four times (a looped file): any two groups of copies look
    # coherent (copies score 1.0), which without counting copies once is a margin of about 0.15.
    one = _windows((8, np.array([1.0, 0.0])), spread=0.14)
    assert two_voices(np.tile(one, (4, 1)), min_margin=0.1) is None
    # Copies of a real second voice still split, and each copy goes with its original.
    other = _windows((4, np.array([0.0, 1.0])), spread=0.14, seed=1)
    labels = two_voices(np.concatenate([one, other, other]), min_margin=0.1)
    assert labels is not None and len(set(labels[8:])) == 1 and labels[0] != labels[8]


def test_the_decision_uses_max_windows_and_every_window_moves() -> None:
    calls: list[int] = []

    def counted(embed):
        def wrapped(index_sets: list[np.ndarray]) -> np.ndarray:
            calls.append(len(index_sets))
            return embed(index_sets)
        return wrapped

    voices = np.array([0] * 3000 + [1] * 2000)
    settings = SplitSettings(**{**SETTINGS.__dict__, "max_windows": 40})
    whole: list[int] = []
    embed = toy_embed(voices)

    def whole_embed(index_sets: list[np.ndarray]) -> np.ndarray:
        whole.append(len(index_sets))
        return embed(index_sets)

    activity, moves = split_mixed_speakers(one_speaker(5000), whole_embed, settings, counted(embed))
    # 500 windows: 40 decide (the window embedder); the other 460 are placed by the cheap whole-set
    # embedder against the two halves' centroids, only once it is a split.
    assert calls[0] == 40 and 460 not in calls
    assert whole[:2] == [2, 460]
    assert np.array_equal(activity[:, 1], voices == 1)
    calls.clear()
    one_voice = toy_embed(np.zeros(5000, dtype=int))
    _, moves = split_mixed_speakers(one_speaker(5000), one_voice, settings, counted(one_voice))
    assert moves == [] and calls == [40]  # one voice: the other windows are never embedded


def test_windows_are_judged_by_their_own_embedder() -> None:
    # The whole-set embedder hears one voice; the window embedder hears two: windows decide. (All
    # 50 windows take part in the decision here: windows beyond `max_windows` are placed by the
    # whole-set embedder, which cannot tell these voices apart.)
    voices = np.array([0] * 300 + [1] * 200)
    blurred = toy_embed(np.zeros(500, dtype=int))
    settings = SplitSettings(**{**SETTINGS.__dict__, "max_windows": 50})
    activity, moves = split_mixed_speakers(one_speaker(500), blurred, settings, toy_embed(voices))
    assert len(moves) == 1 and np.array_equal(activity[:, 1], voices == 1)
    activity, moves = split_mixed_speakers(one_speaker(500), toy_embed(voices), settings, blurred)
    assert moves == []


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

    from podium.diarize.voices import clip_embed

    frames, embed = _frames_and_embed(campplus, reader)
    activity, moves = split_mixed_speakers(one_speaker(frames.shape[-1]), embed, _real_settings(),
                                           clip_embed(campplus, reader))
    assert moves == [], "one LJSpeech reader was split in two"

    both = np.concatenate([reader, other])
    frames, embed = _frames_and_embed(campplus, both)
    activity, moves = split_mixed_speakers(one_speaker(frames.shape[-1]), embed, _real_settings(),
                                           clip_embed(campplus, both))
    assert activity.shape[1] == 2, "a female and a male reader stayed one speaker"
    change = round(len(reader) / 16000 / 0.02)  # the junction, in 20 ms frames
    reader_column = int(activity[:change].sum(axis=0).argmax())
    # Every frame counts as speech here, pauses included, and pauses may go either way: the second
    # voice has 9 s, so one 1.4 s window of mostly pause going the wrong way costs 15% of it.
    assert activity[:change, reader_column].mean() > 0.9
    assert activity[change:, 1 - reader_column].mean() > 0.8


@pytest.mark.slow
@skip_without_shared()
def test_real_voices_taking_short_turns_in_one_speaker_are_split(campplus) -> None:
    """Two people of the shared two-person conversation alternating in 1.0-1.8 s turns with short
    pauses, given as one speaker (how segmentation-3.0 tracks some phone calls), come apart; one of
    them cut the same way stays whole."""
    from podium.diarize.voices import clip_embed
    from podium.evaluate.simulate import load_voices

    def turns(utterances: tuple[np.ndarray, ...]) -> list[np.ndarray]:
        """The utterances in 1.0-1.8 s pieces."""
        pieces = []
        for utterance in utterances:
            length = 16000 + 3200 * (len(pieces) % 3)
            starts = range(0, len(utterance) - length, length)
            pieces.extend(utterance[start:start + length] for start in starts)
        return pieces

    def conversation(first: list[np.ndarray], second: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Alternating turns with 0.3 s pauses: the samples, and each 20 ms frame's voice (-1: none)."""
        pause = np.zeros(4800, dtype=np.float32)
        samples, voices = [], []
        for one, two in zip(first, second, strict=True):
            for voice, piece in ((0, one), (1, two)):
                samples += [piece, pause]
                voices += [voice] * (len(piece) // 320) + [-1] * (len(pause) // 320)
        return np.concatenate(samples), np.array(voices)

    voices = load_voices(SHARED_DATA)
    roger, virgil = turns(voices["gecko:Roger"]), turns(voices["gecko:Virgil"])
    for first, second, two in ((roger[:20], virgil[:20], True), (roger[:20], roger[20:40], False)):
        samples, truth = conversation(first, second)
        frames, embed = _frames_and_embed(campplus, samples)
        truth = truth[:frames.shape[-1]]
        result, moves = split_mixed_speakers((truth >= 0)[:, None], embed, _real_settings(),
                                             clip_embed(campplus, samples))
        if not two:
            assert moves == [], "one person taking turns with himself was split"
            continue
        # Each voice has a speaker of its own, holding none of the other voice. (Known: the first
        # voice's speaker, examined again, sheds two windows, 2.2 s, as a third speaker: with two
        # windows a half's coherence is one similarity, and the margin cannot tell that from noise.)
        assert 2 <= result.shape[1] <= 3
        columns = [int(result[truth == voice].sum(axis=0).argmax()) for voice in (0, 1)]
        assert columns[0] != columns[1]
        for voice, column in enumerate(columns):
            assert result[truth == voice, column].mean() > 0.8, f"voice {voice} is not one speaker"
            assert result[truth == 1 - voice, column].mean() < 0.05, f"voice {voice} holds the other"


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
        expected = campplus.campplus.pool(frames.take(torch.from_numpy(indices))[None])[0, 0]
    expected = (expected / expected.norm()).numpy()
    assert float(embed([indices])[0] @ expected) > 0.9999
    # Non-contiguous sets pool exactly their frames, in any order.
    scattered = np.concatenate([indices[::2], indices[1::2]])
    assert float(embed([scattered])[0] @ expected) > 0.9999


@pytest.mark.slow
@skip_without_shared()
def test_file_frames_in_one_byte_stay_within_half_a_step_of_campplus(campplus) -> None:
    """`FileFrames` holds each block's frames as 8-bit codes of (channel, block) scales: every value
    within half a step of what CAM++ gave, its zeros (the ReLU's) still zero, pooling unchanged."""
    import torch

    from podium.diarize import features
    from podium.diarize.embedding import BLOCK_FRAMES, CONTEXT_FRAMES, FRAME_STRIDE
    from podium.media import load_audio

    reader = np.concatenate([load_audio(DATA / f"ljspeech_LJ001-000{i}.wav").samples for i in range(1, 4)])
    frames, _ = _frames_and_embed(campplus, reader)
    block = BLOCK_FRAMES // FRAME_STRIDE
    assert frames.codes.dtype == torch.uint8 and frames.scales.shape[1] == -(-frames.shape[-1] // block)
    # The first block as `file_frames` computes it (its context after it), in float32.
    span = (BLOCK_FRAMES + 2 * CONTEXT_FRAMES - 1) * features.HOP + features.WINDOW
    with torch.inference_mode():
        expected = campplus.campplus.frames(features.normalised_fbank(torch.from_numpy(reader[None, :span])))
        expected = expected[0, :, :block]
        stored = frames.take(torch.arange(block))
        pooled = [campplus.campplus.pool(x[None])[0, 0] for x in (expected, stored)]
    half_step = frames.scales[:, :1] / 2
    assert torch.all((stored - expected).abs() <= half_step * 1.001 + 1e-7)
    assert torch.all(stored[expected == 0] == 0)
    assert float(torch.nn.functional.cosine_similarity(*pooled, dim=0)) > 0.9999


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


def _annotation(*turns: tuple[float, float, str]) -> Annotation:
    annotation = Annotation()
    for start, end, label in turns:
        annotation[Segment(start, end)] = label
    return annotation


def test_solo_seconds_leave_out_speech_under_another_speaker() -> None:
    diarization = _annotation((0, 10, "A"), (2, 3, "B"), (9, 12, "C"), (20, 21.5, "B"), (11, 11.5, "A"))
    assert solo_seconds(diarization) == pytest.approx({"A": 8.0, "B": 1.5, "C": 1.5})


def test_a_speaker_heard_only_under_others_is_fleeting_however_long() -> None:
    """A bank call's third "speaker": 1.7 s, every bit of it over the caller's speech."""
    diarization = _annotation((0, 30, "A"), (31, 50, "B"), (4, 5.7, "C"), (55, 57, "D"), (56, 56.5, "B"))
    seconds = solo_seconds(diarization)
    assert seconds["C"] == 0.0 and seconds["D"] == pytest.approx(1.5)
    centroids = _voices(A=0, B=90, C=10, D=180)
    assert fleeting_speakers(seconds, centroids, 0.75) == {"C": "A"}


# --- resegmentation --------------------------------------------------------------------------------

def _two_speakers(voices: np.ndarray, speaker_of_frame: np.ndarray) -> np.ndarray:
    activity = np.zeros((len(voices), 2), dtype=bool)
    activity[np.arange(len(voices)), speaker_of_frame] = True
    return activity


def test_an_interjection_inside_another_speaker_goes_to_its_voice() -> None:
    """Speaker 0 runs on through 30 frames of voice 1 (segmentation tracked them as one)."""
    voices = np.array([0] * 200 + [1] * 100 + [0] * 100 + [1] * 30 + [0] * 100)
    speakers = np.array([0] * 200 + [1] * 100 + [0] * 230)
    moved = resegment(_two_speakers(voices, speakers), toy_embed(voices), 10, 5, 0.05)
    inside = slice(400, 430)
    assert moved[inside, 1][3:-3].all() and not moved[inside, 0][3:-3].any()
    assert int(np.sum(moved[:, 1] != (voices == 1))) <= 10  # only frames near a change may differ
    assert not np.any(moved[:, 0] & moved[:, 1])


def test_a_speaker_who_sounds_like_itself_is_left_alone() -> None:
    voices = np.array([0] * 200 + [1] * 200)
    activity = _two_speakers(voices, voices)
    assert np.array_equal(resegment(activity, toy_embed(voices), 10, 5, 0.05), activity)


def test_a_high_gain_moves_nothing() -> None:
    voices = np.array([0] * 200 + [1] * 100 + [0] * 100 + [1] * 30 + [0] * 100)
    activity = _two_speakers(voices, np.array([0] * 200 + [1] * 100 + [0] * 230))
    assert np.array_equal(resegment(activity, toy_embed(voices), 10, 5, 2.0), activity)


def test_overlapped_frames_keep_their_labels() -> None:
    voices = np.array([0] * 200 + [1] * 100 + [0] * 100 + [1] * 30 + [0] * 100)
    activity = _two_speakers(voices, np.array([0] * 200 + [1] * 100 + [0] * 230))
    activity[410:420] = True  # both speakers at once: not solo, never moved
    moved = resegment(activity, toy_embed(voices), 10, 5, 0.05)
    assert moved[410:420].all()
    assert moved[400:405, 1].any() or moved[423:430, 1].any()


def test_one_speaker_or_a_speaker_never_alone_is_no_target() -> None:
    voices = np.array([0] * 100 + [1] * 100)
    alone = np.ones((200, 1), dtype=bool)
    assert np.array_equal(resegment(alone, toy_embed(voices), 10, 5, 0.0), alone)
    never_alone = np.zeros((200, 2), dtype=bool)
    never_alone[:, 0] = True
    never_alone[100:, 1] = True  # speaker 1 only ever talks over speaker 0
    assert np.array_equal(resegment(never_alone, toy_embed(voices), 10, 5, 0.0), never_alone)


def test_a_speaker_never_alone_does_not_shift_the_targets() -> None:
    """Speaker 0 is only ever heard over speaker 1; the interjection still goes to speaker 2."""
    voices = np.array([0] * 200 + [1] * 100 + [0] * 100 + [1] * 30 + [0] * 100)
    activity = np.zeros((len(voices), 3), dtype=bool)
    activity[:, 1] = np.r_[np.ones(200), np.zeros(100), np.ones(230)].astype(bool)
    activity[200:300, 2] = True
    activity[50:80, 0] = True  # over speaker 1 only
    moved = resegment(activity, toy_embed(voices), 10, 5, 0.05)
    assert moved[403:427, 2].all() and not moved[403:427, 1].any()
    assert np.array_equal(moved[:, 0], activity[:, 0])


def test_windows_are_embedded_a_block_at_a_time_with_the_same_result(monkeypatch: pytest.MonkeyPatch) -> None:
    voices = np.array([0] * 200 + [1] * 100 + [0] * 100 + [1] * 30 + [0] * 100)
    activity = _two_speakers(voices, np.array([0] * 200 + [1] * 100 + [0] * 230))
    whole = resegment(activity, toy_embed(voices), 10, 5, 0.05)  # 106 windows in one block
    sizes: list[int] = []
    embed = toy_embed(voices)

    def counted(index_sets: list[np.ndarray]) -> np.ndarray:
        sizes.append(len(index_sets))
        return embed(index_sets)

    monkeypatch.setattr(refine, "RESEGMENT_BLOCK", 16)
    assert np.array_equal(resegment(activity, counted, 10, 5, 0.05), whole)
    assert max(sizes[1:]) == 16 and sum(sizes[1:]) == 106  # after the centroids: blocks of 16
