"""Simulated press briefings stitched from the real single-speaker speech in ../shared/data."""

from __future__ import annotations

from dataclasses import replace
from itertools import combinations

import numpy as np
import pytest
from scipy.signal import correlate

from conftest import SHARED_DATA, every_shared_file, skip_without_shared
from podium.evaluate.readers import read_reference
from podium.evaluate.simulate import (
    SAMPLE_RATE,
    Conversation,
    ConversationPlan,
    load_voices,
    press_briefing,
    solo_seconds,
    solo_spans,
    stitch,
    to_rttm,
)

DATA = SHARED_DATA
# Slow: the voices are cut from every shared recording (so each test needs all of them).
pytestmark = [pytest.mark.slow, skip_without_shared(*every_shared_file("asr"), *every_shared_file("diar"))]
EPS = 1e-9
PLAN = ConversationPlan(main="gecko:Roger", others=("hvb:agent_9", "asr:ljspeech:LJ", "gecko:Virgil"),
                        seed=7, target_duration=70.0, cut_in_probability=0.5)


@pytest.fixture(scope="module")
def voices() -> dict[str, tuple[np.ndarray, ...]]:
    return load_voices(DATA)


@pytest.fixture(scope="module")
def telephone_voices() -> dict[str, tuple[np.ndarray, ...]]:
    return load_voices(DATA, telephone=True)


@pytest.fixture(scope="module")
def conversation(voices) -> Conversation:
    return stitch(voices, PLAN)


def _overlaps(turns) -> list[tuple[float, float]]:
    spans = [(max(a.start, b.start), min(a.end, b.end)) for a, b in combinations(turns, 2)]
    return [(start, end) for start, end in spans if end > start]


def _rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) if samples.size else 0.0


def _share_above(samples: np.ndarray, hz: float) -> float:
    power = np.abs(np.fft.rfft(samples.astype(np.float64))) ** 2
    return float(power[np.fft.rfftfreq(len(samples), 1 / SAMPLE_RATE) > hz].sum() / power.sum())


def test_solo_spans_remove_other_speakers_trim_and_drop_short_pieces():
    turns = [(0.0, 3.0, "a"), (1.0, 1.5, "b"), (2.8, 3.1, "b"), (5.0, 5.4, "a")]
    assert solo_spans(turns) == {"a": [(0.05, 0.95), (1.55, 2.75)]}  # b: both pieces under 0.4 s


def test_voices_cover_every_source_person(voices):
    hvb = [p for p in voices if p.startswith("hvb:")]
    assert len(hvb) >= 18 and "hvb:agent_9" in hvb
    expected = {"gecko:Roger", "gecko:Virgil", "asr:ljspeech:LJ", "asr:jfk", "asr:ieee_loizou:male1"}
    assert expected <= set(voices)
    assert not any("unknown" in p for p in voices)
    assert "hvb:caller_17" not in voices  # the same participant as agent_17
    for utterances in voices.values():
        assert all(u.dtype == np.float32 and u.ndim == 1 and len(u) >= 0.4 * SAMPLE_RATE for u in utterances)
    assert solo_seconds(voices["gecko:Roger"]) > 250 > solo_seconds(voices["gecko:Virgil"]) > 80


def test_turns_are_sorted_and_inside_the_audio(conversation):
    starts = [t.start for t in conversation.turns]
    assert starts == sorted(starts)
    assert conversation.duration == pytest.approx(len(conversation.samples) / SAMPLE_RATE)
    assert all(0 <= t.start < t.end <= conversation.duration + EPS for t in conversation.turns)
    assert conversation.turns[-1].end == pytest.approx(conversation.duration)
    assert conversation.duration >= PLAN.target_duration
    assert np.abs(conversation.samples).max() <= 1.0


def test_short_speakers_speak_only_in_short_turns(conversation):
    low, high = PLAN.short_turn
    for other in PLAN.others:
        turns = [t for t in conversation.turns if t.speaker == other]
        assert len(turns) >= PLAN.min_short_turns
        assert all(low - EPS <= t.duration <= high + EPS for t in turns), [t.duration for t in turns]
    main = [t.duration for t in conversation.turns if t.speaker == PLAN.main]
    assert sum(main) > 0.6 * conversation.duration
    assert max(main) > PLAN.short_turn[1]


def test_same_seed_same_conversation_other_seed_different(voices, conversation):
    again = stitch(voices, PLAN)
    assert again.turns == conversation.turns
    assert np.array_equal(again.samples, conversation.samples)
    other = stitch(voices, replace(PLAN, seed=PLAN.seed + 1))
    assert other.turns != conversation.turns


def test_overlap_only_where_a_cut_in_was_planned(voices, conversation):
    overlaps = _overlaps(conversation.turns)
    assert overlaps and conversation.cut_ins
    for start, end in overlaps:
        assert end - start <= PLAN.max_cut_in + EPS
        assert any(s - EPS <= start and end <= e + EPS for s, e in conversation.cut_ins), (start, end)
    quiet = stitch(voices, replace(PLAN, cut_in_probability=0.0))
    assert not _overlaps(quiet.turns) and not quiet.cut_ins


def test_turns_hold_speech_and_gaps_hold_none(conversation):
    samples, rate = conversation.samples, SAMPLE_RATE
    inside = np.zeros(len(samples), dtype=bool)
    for turn in conversation.turns:
        inside[round(turn.start * rate):round(turn.end * rate)] = True
        assert _rms(samples[round(turn.start * rate):round(turn.end * rate)]) > 0.01
    assert (~inside).sum() > 5 * rate  # there are gaps at all
    assert _rms(samples[inside]) > 100 * _rms(samples[~inside])


def test_each_short_turn_is_a_piece_of_that_speakers_own_speech(voices, conversation):
    """The audio of a turn (outside cut-ins) correlates (~1) with an utterance of the labelled speaker
    and not with anyone else's: the reference names the right person at the right place."""
    checked = 0
    for turn in conversation.turns:
        start, end = _outside_cut_ins(turn, conversation.cut_ins)
        if turn.speaker == PLAN.main or end - start < 0.25:
            continue
        piece = conversation.samples[round(start * SAMPLE_RATE):round(end * SAMPLE_RATE)]
        assert _best_match(piece, voices[turn.speaker]) > 0.98, turn
        for other in (PLAN.main, *PLAN.others):
            if other != turn.speaker:
                assert _best_match(piece, voices[other][:20]) < 0.7, (turn, other)
        checked += 1
    assert checked >= 3 * len(PLAN.others)


def _outside_cut_ins(turn, cut_ins) -> tuple[float, float]:
    start, end = turn.start, turn.end
    for s, e in cut_ins:
        if s - EPS <= start < e:
            start = e
        if s < end <= e + EPS:
            end = s
    return start, end


def _best_match(piece: np.ndarray, utterances) -> float:
    """Highest normalised cross-correlation of `piece` with any stretch of any utterance."""
    piece = piece.astype(np.float64)
    best = 0.0
    for utterance in utterances:
        if len(utterance) < len(piece):
            continue
        u = utterance.astype(np.float64)
        power = np.concatenate([[0.0], np.cumsum(u**2)])
        norms = np.sqrt(power[len(piece):] - power[:-len(piece)]) * np.linalg.norm(piece)
        score = correlate(u, piece, mode="valid", method="fft") / np.maximum(norms, 1e-9)
        best = max(best, float(score.max()))
    return best


def test_telephone_voices_have_nothing_above_4_khz(voices, telephone_voices):
    plan = ConversationPlan(main="gecko:Roger", others=("asr:ljspeech:LJ", "asr:jfk"), seed=3,
                            target_duration=30.0)
    assert _share_above(stitch(voices, plan).samples, 4000) > 1e-3  # wideband voices do
    narrow = stitch(telephone_voices, plan)
    assert _share_above(narrow.samples, 4000) < 1e-6
    assert set(telephone_voices) == set(voices)


def test_press_briefing(voices):
    conversation = press_briefing(voices, seed=11)
    assert 60 <= conversation.duration <= 120
    plan = conversation.plan
    assert 2 <= len(plan.others) <= 4 and solo_seconds(voices[plan.main]) >= 60
    for other in plan.others:
        durations = [t.duration for t in conversation.turns if t.speaker == other]
        assert len(durations) >= 3 and all(0.5 - EPS <= d <= 2.0 + EPS for d in durations)
    assert set(conversation.speakers) == {plan.main, *plan.others}
    assert press_briefing(voices, seed=11).turns == conversation.turns
    assert press_briefing(voices, seed=12).turns != conversation.turns


def test_rttm_round_trip(conversation, tmp_path):
    path = tmp_path / "sim.rttm"
    path.write_text(to_rttm(conversation.turns, "sim"))
    assert path.read_text().splitlines()[0].split()[:3] == ["SPEAKER", "sim", "1"]
    back = sorted((turn.start, turn.end, turn.speaker) for turn in read_reference(path, "rttm").turns)
    assert len(back) == len(conversation.turns)
    for (start, end, label), turn in zip(back, conversation.turns, strict=True):
        assert label == turn.speaker
        assert (start, end) == pytest.approx((turn.start, turn.end), abs=1e-3)


def test_plan_rejects_bad_speakers():
    with pytest.raises(ValueError):
        ConversationPlan(main="a", others=("a", "b"))
    with pytest.raises(ValueError):
        ConversationPlan(main="a", others=())
    with pytest.raises(KeyError):
        stitch({"a": (np.zeros(16000, np.float32),)}, ConversationPlan(main="a", others=("nobody",)))
