"""Finding enrolled voices inside diarized speakers (`podium.diarize.voices`): hand-made cases with toy
voices, then a moderator's short turns hidden in one real reader's speaker, with the real CAM++."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pytest

from conftest import SHARED_DATA
from podium.diarize.voices import FRAME_SECONDS, VoiceSettings, extract_enrolled_voices

SETTINGS = VoiceSettings()  # the defaults, on the 20 ms grid
VOICES = np.eye(6)  # orthogonal toy voices: different people have similarity 0
A, B, C = 0, 1, 2  # voices that speak; 5 never speaks, it only blurs the enrolled vectors
TURN = 75  # 1.5 s: the moderator's "Next question, please."


def toy_embed(voice_of_frame: np.ndarray, voices: np.ndarray = VOICES):
    """Embedding of a frame set = the normalised mean of its frames' voice vectors."""
    def embed(index_sets: list[np.ndarray]) -> np.ndarray:
        vectors = np.stack([voices[voice_of_frame[indices]].mean(axis=0) for indices in index_sets])
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return embed


def enrolled(*voices: int, similarity: float = 0.8) -> np.ndarray:
    """Enrollment clips never sound exactly like the speech in the file: cosine `similarity` to the
    voice, the rest in a direction nobody speaks in."""
    return np.stack([similarity * VOICES[v] + np.sqrt(1 - similarity ** 2) * VOICES[5] for v in voices])


def hidden_turns(turns: list[int], long: int = 300) -> np.ndarray:
    """Voice A for `long` frames, then each turn's voice for TURN frames, then A again, and so on."""
    parts = [np.full(long, A)]
    for voice in turns:
        parts += [np.full(TURN, voice), np.full(long, A)]
    return np.concatenate(parts)


def one_speaker(num_frames: int) -> np.ndarray:
    return np.ones((num_frames, 1), dtype=bool)


def close(column: np.ndarray, expected: np.ndarray, turns: int) -> bool:
    """Equal but for up to a hop (0.24 s) at each end of each turn, which windows straddling the voice
    change may give either way."""
    return int(np.sum(column != expected)) <= 2 * SETTINGS.hop_frames * turns


def test_settings_in_seconds_match_the_defaults() -> None:
    assert VoiceSettings.from_seconds() == SETTINGS
    assert FRAME_SECONDS == 0.02


@pytest.mark.parametrize("pause", [0, 15], ids=["contiguous", "pauses"])
def test_short_turns_hidden_in_a_speaker_move_to_a_new_speaker(pause: int) -> None:
    voices = hidden_turns([B] * 5)
    activity = one_speaker(voices.size)
    for start in np.flatnonzero(np.diff(voices) == B - A) + 1:  # 0.3 s of silence around each B turn:
        activity[start - pause:start] = activity[start + TURN:start + TURN + pause] = False  # own runs
    result, found = extract_enrolled_voices(activity, toy_embed(voices), enrolled(B), SETTINGS)
    assert found == {0: 1} and result.shape == (voices.size, 2)
    speech = activity[:, 0]
    if pause:  # each turn is a run of its own: windows that straddle a voice change do not exist
        assert np.array_equal(result[:, 1], speech & (voices == B))
    assert close(result[:, 1], speech & (voices == B), turns=5)
    assert close(result[:, 0], speech & (voices == A), turns=5)
    assert np.array_equal(result.any(axis=1), speech), "speech appeared or vanished"
    assert not np.any(result[:, 0] & result[:, 1])


def test_a_voice_with_its_own_speaker_is_mapped_and_nothing_moves() -> None:
    voices = np.repeat([A, B], [600, 300])
    activity = np.zeros((900, 2), dtype=bool)
    activity[:600, 0] = activity[600:, 1] = True
    result, found = extract_enrolled_voices(activity, toy_embed(voices), enrolled(B), SETTINGS)
    assert found == {0: 1}
    assert np.array_equal(result, activity)


def test_a_voice_nobody_speaks_is_not_found() -> None:
    voices = hidden_turns([B] * 3)
    activity = one_speaker(voices.size)
    result, found = extract_enrolled_voices(activity, toy_embed(voices), enrolled(C), SETTINGS)
    assert found == {}
    assert np.array_equal(result, activity)


def test_two_voices_hidden_in_one_speaker_get_a_speaker_each() -> None:
    voices = hidden_turns([B, C, B, C, B, C])
    result, found = extract_enrolled_voices(one_speaker(voices.size), toy_embed(voices), enrolled(C, B),
                                            SETTINGS)
    assert result.shape == (voices.size, 3)
    assert found == {0: 1, 1: 2}  # new speakers in enrolled order: C first
    assert close(result[:, 1], voices == C, turns=6)
    assert close(result[:, 2], voices == B, turns=6)
    assert close(result[:, 0], voices == A, turns=12)
    assert np.all(result.sum(axis=1) == 1)


def test_a_frame_goes_to_the_voice_it_sounds_most_like() -> None:
    # Two enrolled people who sound alike (0.6): only the one who speaks may take the frames, even
    # though B's windows sound enough like the other one (0.6) to pass `window_similarity`.
    voices = hidden_turns([B] * 4)
    look_alike = 0.6 * VOICES[B] + 0.8 * VOICES[4]
    result, found = extract_enrolled_voices(one_speaker(voices.size), toy_embed(voices),
                                            np.stack([look_alike, enrolled(B)[0]]), SETTINGS)
    assert found == {1: 1} and result.shape == (voices.size, 2)
    assert close(result[:, 1], voices == B, turns=4)


def test_a_voice_with_its_own_speaker_takes_back_its_turns_hidden_in_another() -> None:
    voices = np.concatenate([hidden_turns([B] * 3), np.full(400, B)])
    activity = np.zeros((voices.size, 2), dtype=bool)
    activity[:-400, 0] = activity[-400:, 1] = True  # speaker 1 is B; speaker 0 holds A and 3 B turns
    result, found = extract_enrolled_voices(activity, toy_embed(voices), enrolled(B), SETTINGS)
    assert found == {0: 1} and result.shape == activity.shape, "no new speaker: B has one"
    assert close(result[:, 1], voices == B, turns=3)
    assert result[-400:, 1].all(), "B's own speech moved"


def test_overlapped_frames_never_move() -> None:
    voices = hidden_turns([B] * 4)
    activity = np.zeros((voices.size, 2), dtype=bool)
    activity[:, 0] = True
    first = np.flatnonzero(voices == B)[0]
    overlap = np.arange(first - 20, first + 40)  # someone talks over the end of A and most of B's turn
    activity[overlap, 1] = True
    result, found = extract_enrolled_voices(activity, toy_embed(voices), enrolled(B), SETTINGS)
    assert found == {0: 2} and result.shape == (voices.size, 3)
    assert np.array_equal(result[overlap], np.pad(activity, ((0, 0), (0, 1)))[overlap]), \
        "overlapped frames changed"
    solo = activity.sum(axis=1) == 1
    assert close(result[:, 2], solo & (voices == B), turns=4)


@pytest.mark.parametrize("settings", [SETTINGS, replace(SETTINGS, min_window_frames=10)],
                         ids=["defaults", "short-windows"])
def test_too_little_speech_is_not_a_voice(settings: VoiceSettings) -> None:
    # 0.3 s of B, alone between pauses. With short windows it is examined and sounds like B; only
    # `min_frames` (0.5 s) keeps it where it is, as the 0.6 s case shows.
    for frames, expect_found in ((15, False), (30, True)):
        voices = np.concatenate([np.full(300, A), np.full(20, A), np.full(frames, B), np.full(20, A),
                                 np.full(300, A)])
        activity = one_speaker(voices.size)
        activity[300:320] = activity[320 + frames:340 + frames] = False
        result, found = extract_enrolled_voices(activity, toy_embed(voices), enrolled(B), settings)
        if expect_found and settings.min_window_frames <= frames:
            assert found == {0: 1} and result[voices == B, 1].all()
        else:
            assert found == {} and np.array_equal(result, activity)


def test_speech_that_sounds_more_like_its_own_speaker_stays() -> None:
    # For 3 s the main speaker sounds a bit like the enrolled B (0.53: shouting, a bad line), but far
    # more like himself (0.78 to his own speech): that is `margin` at work, B never speaks.
    shouting = np.array([0.75, 0.66, 0, 0, 0, 0])
    voices = np.concatenate([np.full(600, A), np.full(150, 4), np.full(600, A)])
    toy_voices = VOICES.copy()
    toy_voices[4] = shouting / np.linalg.norm(shouting)
    result, found = extract_enrolled_voices(one_speaker(voices.size), toy_embed(voices, toy_voices),
                                            enrolled(B), SETTINGS)
    assert found == {} and result.shape == (voices.size, 1)


def test_a_voice_that_only_resembles_the_enrolled_one_is_not_taken() -> None:
    # D's windows sound like the enrolled B (0.45) and nothing like the main speaker: they pass the
    # window test, but all of D's speech together is still below `match_similarity`.
    voices = hidden_turns([3] * 5)
    blend = np.stack([0.45 * VOICES[3] + np.sqrt(1 - 0.45 ** 2) * VOICES[B]])
    result, found = extract_enrolled_voices(one_speaker(voices.size), toy_embed(voices), blend, SETTINGS)
    assert found == {} and result.shape == (voices.size, 1)


def test_nothing_to_search() -> None:
    voices = np.zeros(200, dtype=int)
    embed = toy_embed(voices)
    for activity, voice in ((np.zeros((200, 0), dtype=bool), enrolled(B)),
                            (np.zeros((200, 2), dtype=bool), enrolled(B)),
                            (one_speaker(200), np.zeros((0, 6)))):
        result, found = extract_enrolled_voices(activity, embed, voice, SETTINGS)
        assert found == {} and np.array_equal(result, activity)


def test_clip_embed_cuts_each_sets_own_audio() -> None:
    import torch

    from podium.diarize import voices

    class MeanOfAudio(torch.nn.Module):
        """A stand-in for CAM++: the embedding of a clip is (mean sample, 1)."""
        dimension = 2

        def __init__(self) -> None:
            super().__init__()
            self.unused = torch.nn.Parameter(torch.zeros(1))

        def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
            means = waveforms[:, 0].double().mean(dim=1)
            return torch.stack([means, torch.ones_like(means)], dim=1)

    frames = 2 * voices.CLIP_PIECE_FRAMES + 500
    samples = np.repeat(np.arange(frames, dtype=np.float32) / frames, 320)  # frame i holds i / frames
    embed = voices.clip_embed(MeanOfAudio(), samples)  # type: ignore[arg-type]
    sets = [np.r_[40:45, 10:15], np.arange(100, 150), np.arange(frames), np.array([7])]
    vectors = embed(sets)
    expected = [27 / frames, 124.5 / frames]  # mean frame indices; any order, gaps spliced out
    for vector, mean in zip(vectors[:2], expected, strict=True):
        assert np.allclose(vector, np.array([mean, 1.0]) / np.hypot(mean, 1.0), atol=1e-6)
    assert np.isclose(np.linalg.norm(vectors[2]), 1.0)  # three pieces of 60 s, averaged
    assert 0.45 < vectors[2][0] / vectors[2][1] < 0.55
    assert np.all(vectors[3] == 0), "a 20 ms set is too short to embed"


# --- real voices, real CAM++ --------------------------------------------------------------------

DATA = SHARED_DATA / "asr"
MAIN_CLIPS = [f"ljspeech_LJ001-000{i}.wav" for i in range(1, 9)]  # one female reader, 50 s
# The moderator: one male IEEE reader. Three clips cut in two (1.0-2.1 s each) are the hidden turns;
# a fourth clip of his is the enrollment sample.
MODERATOR_CUTS = [("ieee_S_01_04.wav", 2.1), ("ieee_S_02_01.wav", 1.2), ("ieee_S_03_07.wav", 1.1)]
ENROLLMENT_CLIP = "ieee_S_02_09.wav"


@pytest.fixture(scope="module")
def real_voices():
    """Samples, per-frame truth (True = moderator) on the CAM++ grid, the enrolled moderator, the
    diarizer, and the file's shared CAM++ frames."""
    needed = [*MAIN_CLIPS, ENROLLMENT_CLIP, *(name for name, _ in MODERATOR_CUTS)]
    missing = [name for name in needed if not (DATA / name).is_file()]
    if missing:
        pytest.skip(f"shared speech missing under {DATA}: {', '.join(missing)}")
    import torch

    from podium.diarize.embedding import FRAME_SECONDS as CAMPLUS_FRAME_SECONDS
    from podium.diarize.embedding import file_frames
    from podium.diarize.pipeline import DiarizeOptions, Diarizer
    from podium.media import load_audio

    assert CAMPLUS_FRAME_SECONDS == FRAME_SECONDS
    diarizer = Diarizer(DiarizeOptions(device="cpu"))
    model = diarizer.pipeline._embedding.model_
    cuts = []
    for name, seconds in MODERATOR_CUTS:
        clip = load_audio(DATA / name).samples
        cuts += [clip[:round(seconds * 16000)], clip[round(seconds * 16000):]]
    pieces, truth = [], []
    for index, name in enumerate(MAIN_CLIPS):
        pieces.append(load_audio(DATA / name).samples)
        truth.append(np.zeros(pieces[-1].size, dtype=bool))
        if index < len(cuts):
            pieces.append(cuts[index])
            truth.append(np.ones(cuts[index].size, dtype=bool))
    samples, truth_samples = np.concatenate(pieces), np.concatenate(truth)
    with torch.inference_mode():
        frames = file_frames(model, torch.from_numpy(samples), 16)
    num_frames = frames.shape[-1]
    truth_frames = np.array([truth_samples[i * 320:(i + 1) * 320].mean() > 0.5 for i in range(num_frames)])
    moderator = diarizer.embed(load_audio(DATA / ENROLLMENT_CLIP).samples)
    return samples, truth_frames, moderator, diarizer, frames


@pytest.mark.slow
def test_real_moderator_turns_are_pulled_out_of_the_main_speaker(real_voices) -> None:
    from podium.diarize.voices import clip_embed

    samples, moderator_frames, moderator, diarizer, _ = real_voices
    model = diarizer.pipeline._embedding.model_
    calls = []
    embed = clip_embed(model, samples)

    def recorded(index_sets: list[np.ndarray]) -> np.ndarray:
        calls.append(embed(index_sets))
        return calls[-1]

    # Everything in one speaker, pauses included, as a cluster that merged both people would be.
    activity = one_speaker(moderator_frames.size)
    started = time.perf_counter()
    result, found = extract_enrolled_voices(activity, recorded, moderator[None], SETTINGS)
    elapsed = time.perf_counter() - started
    moved = result[:, found[0]] if found else np.zeros(moderator_frames.size, dtype=bool)
    recall, false_moves = moved[moderator_frames].mean(), moved[~moderator_frames].mean()
    print(f"\nmoderator: {moderator_frames.sum()} frames, {recall:.0%} moved; main speaker: "
          f"{false_moves:.1%} of {(~moderator_frames).sum()} frames moved; {elapsed:.1f} s")
    assert found == {0: 1}, "the enrolled moderator was not found"
    assert recall > 0.6, f"only {recall:.0%} of the moderator's frames moved"
    assert false_moves < 0.02, f"{false_moves:.1%} of the main speaker's frames moved"
    assert float(calls[-1][0] @ moderator) > 0.6, "the moved speech does not sound like the moderator"


@pytest.mark.slow
def test_real_shared_frames_blur_short_turns_so_voices_embed_clips(real_voices) -> None:
    """Why `clip_embed`: pooled from the file's shared CAM++ frames, a short moderator turn sounds
    like the speech around it (CAM++'s context masking sees the whole 10 s block)."""
    import torch

    from podium.diarize.embedding import frame_set_embeddings
    from podium.diarize.voices import clip_embed

    samples, moderator_frames, moderator, diarizer, frames = real_voices
    model = diarizer.pipeline._embedding.model_
    whole = moderator_frames.astype(np.int8)
    starts = np.flatnonzero(np.diff(whole) == 1) + 1
    turns = [np.arange(s, s + 45) for s in starts]  # the first 0.9 s of each moderator turn
    with torch.inference_mode():
        shared = frame_set_embeddings(model, frames, turns) @ moderator
    alone = clip_embed(model, samples)(turns) @ moderator
    print(f"\nmoderator turns vs enrolled moderator: shared frames {np.round(shared, 2)}, "
          f"own audio {np.round(alone, 2)}")
    assert np.median(alone) > 0.45
    assert np.median(shared) < np.median(alone) - 0.2
    # And `clip_embed` of a stretch of the file is the enrollment embedding of that stretch.
    first, last = 100, 1100
    stretch = clip_embed(model, samples)([np.arange(first, last)])[0]
    assert float(stretch @ diarizer.embed(samples[first * 320:last * 320])) > 0.999
