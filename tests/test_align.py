"""Word -> speaker assignment, smoothing and segment cutting, on hand-made timelines."""

from __future__ import annotations

import itertools
import random
from dataclasses import replace

from podium.align import (
    assign_speakers,
    attribute,
    build_segments,
    is_sentence_end,
    score_speakers,
    sentences,
    smooth_speakers,
)
from podium.diarize import DiarizationResult
from podium.speakers import SpeakerOptions
from podium.transcript import Segment, SpeakerTurn, Transcript, Word, merge_turns, segment_text


def w(start: float, end: float, text: str, speaker: str | None = None) -> Word:
    return Word(start=start, end=end, text=" " + text, speaker=speaker)


def speakers_of(words: tuple[Word, ...]) -> list[str | None]:
    return [word.speaker for word in words]


def timeline(spec: str, speakers: str, start: float = 0.0, step: float = 0.3,
             pauses: dict[int, float] | None = None) -> tuple[Word, ...]:
    """Words from a sentence and one speaker letter per word; `pauses` adds silence before word i."""
    texts = spec.split()
    assert len(texts) == len(speakers)
    words, t = [], start
    for i, (text, speaker) in enumerate(zip(texts, speakers, strict=True)):
        t += (pauses or {}).get(i, 0.0)
        words.append(w(t, t + step, text, speaker))
        t += step
    return tuple(words)


# --- assign_speakers ------------------------------------------------------------------------------

TWO_TURNS = (SpeakerTurn(0.0, 2.0, "A"), SpeakerTurn(2.0, 4.0, "B"))


def test_word_inside_a_turn_gets_its_speaker():
    assert speakers_of(assign_speakers([w(0.5, 0.8, "hi"), w(2.5, 2.9, "yo")], TWO_TURNS)) == ["A", "B"]


def test_word_straddling_a_turn_change_goes_to_the_larger_overlap():
    words = [w(1.7, 2.1, "mostly-A"), w(1.95, 2.4, "mostly-B")]
    assert speakers_of(assign_speakers(words, TWO_TURNS)) == ["A", "B"]


def test_exact_tie_goes_to_the_turn_holding_the_midpoint_then_the_earlier():
    # Equal overlap (0.2 s each) with the midpoint at 2.0, held by both turns: the earlier wins.
    assert speakers_of(assign_speakers([w(1.8, 2.2, "tie")], TWO_TURNS)) == ["A"]
    # Overlapping turns, equal overlap, midpoint only inside the later turn.
    turns = (SpeakerTurn(0.0, 1.0, "A"), SpeakerTurn(1.1, 1.2, "B"), SpeakerTurn(1.3, 3.0, "C"))
    word = w(0.9, 1.5, "x")  # overlap A 0.1, B 0.1, C 0.2: largest wins regardless of order
    assert speakers_of(assign_speakers([word], turns)) == ["C"]


def test_overlapped_speech_picks_the_largest_overlap_in_any_input_order():
    turns = [SpeakerTurn(0.0, 10.0, "A"), SpeakerTurn(3.0, 3.5, "B"), SpeakerTurn(2.9, 4.0, "C")]
    word = w(3.0, 3.6, "overlap")  # A 0.6, B 0.5, C 0.6 -> tie A/C, both hold the midpoint -> earlier A
    assert speakers_of(assign_speakers([word], turns)) == ["A"]
    assert speakers_of(assign_speakers([word], list(reversed(turns)))) == ["A"]
    word = w(3.4, 4.2, "later")  # A 0.8, B 0.1, C 0.6
    assert speakers_of(assign_speakers([word], turns)) == ["A"]
    # A 0.1, B 0.4, C 0.1: the short overlapping turn wins.
    turns = [SpeakerTurn(0.0, 3.1, "A"), SpeakerTurn(3.0, 3.5, "B"), SpeakerTurn(3.3, 4.0, "C")]
    assert speakers_of(assign_speakers([w(3.0, 3.4, "b")], turns)) == ["B"]


def test_word_in_a_gap_goes_to_the_nearest_turn():
    turns = (SpeakerTurn(0.0, 1.0, "A"), SpeakerTurn(3.0, 4.0, "B"))
    words = [w(1.2, 1.4, "near-A"), w(2.6, 2.9, "near-B"), w(1.9, 2.1, "middle")]
    assert speakers_of(assign_speakers(words, turns)) == ["A", "B", "A"]


def test_gap_uses_the_longest_reaching_earlier_turn():
    # A long turn that ends last, even though a short turn started after it.
    turns = (SpeakerTurn(0.0, 5.0, "A"), SpeakerTurn(1.0, 2.0, "B"), SpeakerTurn(9.0, 10.0, "C"))
    assert speakers_of(assign_speakers([w(5.5, 5.7, "x")], turns)) == ["A"]


def test_words_before_the_first_and_after_the_last_turn_get_a_speaker():
    words = [w(0.0, 0.2, "early"), w(1.0, 1.5, "in"), w(9.0, 9.5, "late")]
    turns = (SpeakerTurn(0.5, 2.0, "A"), SpeakerTurn(2.0, 3.0, "B"))
    assert speakers_of(assign_speakers(words, turns)) == ["A", "A", "B"]


def test_zero_length_word_on_a_boundary():
    assert speakers_of(assign_speakers([w(2.0, 2.0, "pt"), w(3.0, 3.0, "in-B")], TWO_TURNS)) == ["A", "B"]


def test_no_turns_means_no_speaker_and_no_words_means_nothing():
    words = [w(0.0, 1.0, "a", speaker="stale")]
    assert speakers_of(assign_speakers(words, [])) == [None]
    assert assign_speakers([], TWO_TURNS) == ()


def test_one_speaker_gets_every_word():
    words = timeline("one two three four five.", "?????")
    assert set(speakers_of(assign_speakers(words, [SpeakerTurn(0.2, 0.9, "solo")]))) == {"solo"}


def brute_force_speaker(word: Word, turns: list[SpeakerTurn]) -> str:
    """The documented rule, spelled out slowly, to check the bisection index against."""
    mid = word.mid
    ranked = []
    for position, turn in sorted(enumerate(turns), key=lambda p: (p[1].start, p[0])):
        overlap = max(0.0, min(word.end, turn.end) - max(word.start, turn.start))
        touches = turn.start <= word.end and turn.end >= word.start
        distance = max(turn.start - mid, mid - turn.end, 0.0)
        ranked.append((touches, overlap, turn.start <= mid <= turn.end, -distance, -position, turn))
    touching = [r for r in ranked if r[0]]
    if touching:
        best = touching[0]
        for r in touching[1:]:
            if r[1] > best[1] + 1e-9 or (abs(r[1] - best[1]) <= 1e-9 and r[2] and not best[2]):
                best = r
        return best[-1].speaker
    nearest = max(r[3] for r in ranked)
    return next(r[-1].speaker for r in ranked if r[3] >= nearest - 1e-9)


def random_case(rng: random.Random) -> tuple[list[Word], list[SpeakerTurn]]:
    turns = []
    for _ in range(rng.randint(0, 8)):
        start = round(rng.uniform(0, 20), 2)
        turns.append(SpeakerTurn(start, round(start + rng.uniform(0, 4), 2), rng.choice("ABC")))
    words, t = [], rng.uniform(0, 2)
    for i in range(rng.randint(0, 40)):
        length = rng.choice([0.0, 0.1, 0.3, 0.6])
        text = rng.choice(["so", "we", "went", "there", "today.", "why?", "no!", "Mr."])
        words.append(Word(round(t, 2), round(t + length, 2), f" {text}{i}" if i % 7 else f" {text}"))
        t += length + rng.choice([0.0, 0.0, 0.1, 0.7, 2.0])
    return words, turns


def test_assignment_matches_the_rule_and_keeps_order_on_random_timelines():
    rng = random.Random(1234)
    for _ in range(400):
        words, turns = random_case(rng)
        assigned = assign_speakers(words, turns)
        assert [(x.start, x.end, x.text) for x in assigned] == [(x.start, x.end, x.text) for x in words]
        expected = [brute_force_speaker(x, turns) for x in words] if turns else [None] * len(words)
        assert speakers_of(assigned) == expected


# --- smooth_speakers ------------------------------------------------------------------------------


def test_boundary_error_at_the_start_of_a_sentence_is_fixed():
    # B's first word was given to A (the diarizer's turn change came late), no pause.
    words = timeline("I agree. Well the budget is not balanced.", "AAABBBBB")
    assert speakers_of(smooth_speakers(words)) == list("AABBBBBB")


def test_boundary_error_at_the_end_of_a_sentence_is_fixed():
    words = timeline("We will vote on this today. Thank you.", "AAAAABBB")
    assert speakers_of(smooth_speakers(words)) == list("AAAAAABB")


def test_short_flip_inside_a_sentence_without_pause_goes_back():
    words = timeline("the committee will meet again on Monday morning.", "AAABBAAA")
    assert speakers_of(smooth_speakers(words)) == list("AAAAAAAA")


def test_short_interjection_between_sentences_survives():
    words = timeline("That was the plan. Yes. And we kept to it.", "AAAABAAAAA", pauses={4: 0.4, 5: 0.4})
    assert speakers_of(smooth_speakers(words)) == list("AAAABAAAAA")
    # Even with no pause at all: a complete sentence of its own is never reassigned.
    words = timeline("That was the plan. Yes? And we kept to it.", "AAAABAAAAA")
    assert speakers_of(smooth_speakers(words)) == list("AAAABAAAAA")


def test_interruption_after_a_pause_mid_sentence_is_kept():
    words = timeline("we think the plan sorry which plan is good.", "AAAABBBAA", pauses={4: 0.6})
    assert speakers_of(smooth_speakers(words)) == list("AAAABBBAA")
    words = timeline("we think the plan sorry which plan is good.", "AAAABBBAA", pauses={7: 0.6})
    assert speakers_of(smooth_speakers(words)) == list("AAAABBBAA")
    # The same words with no pause around them are a boundary wobble.
    words = timeline("we think the plan sorry which plan is good.", "AAAABBBAA")
    assert speakers_of(smooth_speakers(words)) == list("AAAAAAAAA")


def test_long_flips_stay():
    words = timeline("we think the plan as drafted by the board is good.", "AAABBBBAAAA")
    assert speakers_of(smooth_speakers(words)) == list("AAABBBBAAAA")
    slow = timeline("we think plan drafted is good.", "AAABAA", step=0.3)
    later = (Word(x.start + 1.7, x.end + 1.7, x.text, speaker=x.speaker) for x in slow[4:])
    slow = (*slow[:3], Word(0.9, 2.9, " drafted", speaker="B"), *later)
    assert speakers_of(smooth_speakers(slow)) == list("AAABAA")
    assert speakers_of(smooth_speakers(slow, max_flip_seconds=3.0)) == list("AAAAAA")


def test_split_sentence_goes_to_a_clear_majority_only_when_the_minority_is_short():
    words = timeline("so what we need is a better plan.", "AAAAAABB")
    assert speakers_of(smooth_speakers(words)) == list("AAAAAAAA")
    words = timeline("so what we need is a better plan.", "BBAAAAAA")
    assert speakers_of(smooth_speakers(words)) == list("AAAAAAAA")
    # Minority too long to be a boundary error, or not clearly a minority: left as the diarizer said.
    words = timeline("so what we need is a better plan right now.", "AAAAAABBBB")
    assert speakers_of(smooth_speakers(words)) == list("AAAAAABBBB")
    words = timeline("so what we need is a better plan.", "AAAAABBB")
    assert speakers_of(smooth_speakers(words)) == list("AAAAABBB")
    assert speakers_of(smooth_speakers(timeline("Thank you.", "AB"))) == list("AB")
    # A pause at the split means two people really did share the sentence.
    words = timeline("so what we need is a better plan.", "AAAAAABB", pauses={6: 0.5})
    assert speakers_of(smooth_speakers(words)) == list("AAAAAABB")


def test_flip_between_two_different_speakers_is_left_alone():
    words = timeline("so what we need now is a better plan.", "AAAABCCCC")
    assert speakers_of(smooth_speakers(words)) == list("AAAABCCCC")


def test_unpunctuated_tail_is_one_sentence():
    words = timeline("and then we went home and", "AAAABA")
    assert speakers_of(smooth_speakers(words)) == list("AAAAAA")
    assert [list(r) for r in sentences(words)] == [list(range(6))]


def test_smoothing_without_speakers_or_words_is_a_no_op():
    words = timeline("nobody labelled this. at all.", "?????")
    words = tuple(Word(x.start, x.end, x.text) for x in words)
    assert smooth_speakers(words) == words
    assert smooth_speakers(()) == ()


def test_smoothing_keeps_order_length_and_times_on_random_input():
    rng = random.Random(99)
    for _ in range(300):
        words, turns = random_case(rng)
        assigned = assign_speakers(words, turns)
        smoothed = smooth_speakers(assigned)
        assert len(smoothed) == len(assigned)
        assert [(x.start, x.end, x.text) for x in smoothed] == [(x.start, x.end, x.text) for x in assigned]
        # Smoothing only moves words to speakers that already speak in the same sentence.
        for span in sentences(assigned):
            before = {assigned[i].speaker for i in span}
            assert {smoothed[i].speaker for i in span} <= before
        assert smooth_speakers(smoothed) == smoothed  # idempotent


def test_sentence_ends():
    assert is_sentence_end(w(0, 1, "done."))
    assert is_sentence_end(w(0, 1, 'why?"'))
    assert is_sentence_end(w(0, 1, "no!)"))
    assert not is_sentence_end(w(0, 1, "Mr."))
    assert not is_sentence_end(w(0, 1, "well,"))


# --- build_segments / merge_turns -----------------------------------------------------------------


def test_segments_cut_at_speaker_changes_and_pauses_and_join_text_like_whisper():
    words = timeline("Hello there. Hi. How are you?", "AABBBB", pauses={3: 2.0})
    segments = build_segments(words, max_gap=1.5)
    assert [s.text for s in segments] == ["Hello there.", "Hi.", "How are you?"]
    assert [s.speaker for s in segments] == ["A", "B", "B"]
    assert segments[2].start == words[3].start
    assert segments[0].start == words[0].start and segments[0].end == words[1].end
    assert sum(len(s.words) for s in segments) == len(words)
    assert segment_text([Word(0, 1, " Hello"), Word(1, 2, ","), Word(2, 3, " world")]) == "Hello, world"


def test_long_segments_end_at_a_sentence_end_past_max_duration():
    text = "one two three four. five six seven eight. nine ten eleven twelve."
    words = timeline(text, "A" * 12, step=1.0)
    segments = build_segments(words, max_duration=6.0)
    assert [s.text for s in segments] == ["one two three four. five six seven eight.",
                                          "nine ten eleven twelve."]


def test_unpunctuated_speech_is_cut_at_twice_max_duration():
    words = timeline(" ".join(["word"] * 40), "A" * 40, step=1.0)
    segments = build_segments(words, max_duration=5.0)
    assert all(s.end - s.start <= 10.0 for s in segments)
    assert sum(len(s.words) for s in segments) == 40


def test_build_segments_of_nothing():
    assert build_segments([]) == ()


def test_merge_turns_joins_one_speakers_consecutive_segments_only():
    segments = build_segments(timeline("One. Two. Three. Four.", "AABA"), max_duration=0.1)
    assert [s.speaker for s in segments] == ["A", "A", "B", "A"]
    turns = merge_turns(segments)
    assert [(t.speaker, t.text) for t in turns] == [("A", "One. Two."), ("B", "Three."), ("A", "Four.")]
    assert turns[0].words == segments[0].words + segments[1].words
    unlabelled = (Segment(0, 1, "a"), Segment(1, 2, "b"))
    assert merge_turns(unlabelled) == unlabelled


# --- the whole stage: attribute -------------------------------------------------------------------


def words_only(*words: Word) -> Transcript:
    return Transcript(segments=(Segment(words[0].start, words[-1].end, segment_text(words), words),),
                      language="en", duration=10.0)


def diarization(turns: list[SpeakerTurn], overlapping: list[SpeakerTurn] | None = None) -> DiarizationResult:
    return DiarizationResult(turns=tuple(turns), overlapping_turns=tuple(overlapping or turns), centroids={})


def test_attribute_without_diarization_returns_the_transcript_as_it_is():
    transcript = words_only(w(0.0, 0.5, "Hello."))
    assert attribute(transcript, None, SpeakerOptions()) is transcript


def test_attribute_labels_speakers_by_first_word_and_cuts_segments_at_changes():
    transcript = words_only(w(0.0, 0.4, "Question?"), w(1.0, 1.4, "Answer."), w(1.5, 1.9, "Done."))
    turns = [SpeakerTurn(0.0, 0.8, "raw_B"), SpeakerTurn(0.9, 2.0, "raw_A")]
    result = attribute(transcript, diarization(turns), SpeakerOptions())
    assert [(s.text, s.speaker) for s in result.segments] == [("Question?", "SPEAKER_1"),
                                                              ("Answer. Done.", "SPEAKER_2")]
    assert [(s.label, s.name) for s in result.speakers] == [("SPEAKER_1", "SPEAKER_1"),
                                                            ("SPEAKER_2", "SPEAKER_2")]
    assert [t.speaker for t in result.turns] == ["SPEAKER_1", "SPEAKER_2"]
    assert (result.language, result.duration) == ("en", 10.0)


def test_attribute_labels_a_speaker_heard_only_under_another():
    transcript = words_only(w(0.0, 0.4, "Alone."), w(1.0, 1.4, "Still."))
    exclusive = [SpeakerTurn(0.0, 2.0, "raw_A")]
    overlapping = [*exclusive, SpeakerTurn(0.5, 0.9, "raw_hidden")]
    result = attribute(transcript, diarization(exclusive, overlapping), SpeakerOptions())
    assert [s.label for s in result.speakers] == ["SPEAKER_1", "SPEAKER_2"]
    assert {t.speaker for t in result.turns} == {"SPEAKER_1", "SPEAKER_2"}  # no raw label leaks


def test_attribute_names_enrolled_voices_then_the_names_list_by_position():
    transcript = words_only(w(0.0, 0.4, "Hello."), w(1.0, 1.4, "Hi."), w(2.0, 2.4, "Hey."))
    turns = [SpeakerTurn(0.0, 0.8, "r0"), SpeakerTurn(0.9, 1.8, "r1"), SpeakerTurn(1.9, 3.0, "r2")]
    names = SpeakerOptions(speaker_names=("Host", "Guest", "Caller"))
    result = attribute(transcript, diarization(turns), names, enrolled={"r1": "Enrolled"})
    assert [s.name for s in result.speakers] == ["Host", "Enrolled", "Caller"]


def test_attribute_repairs_a_boundary_flip_inside_a_sentence():
    words = timeline("we will not go there today.", "AABAAA")
    turns = [SpeakerTurn(0.0, 0.6, "A"), SpeakerTurn(0.6, 0.9, "B"), SpeakerTurn(0.9, 3.0, "A")]
    result = attribute(words_only(*words), diarization(turns), SpeakerOptions())
    assert len(result.segments) == 1 and result.segments[0].speaker == "SPEAKER_1"


# --- speaker confidence and overlap (score_speakers) ----------------------------------------------


def scored(words: list[Word], turns: list[SpeakerTurn],
           overlapping: list[SpeakerTurn] | None = None) -> tuple[Word, ...]:
    """Assigned, smoothed and scored, as `attribute` does before relabelling."""
    return score_speakers(smooth_speakers(assign_speakers(words, turns)), turns,
                          turns if overlapping is None else overlapping)


def turn_factor(length: float) -> float:
    return length / (length + 0.1)


def test_a_word_deep_inside_one_speakers_long_turn_is_near_certain():
    [word] = scored([w(4.0, 4.3, "solo.")], [SpeakerTurn(0.0, 10.0, "A")])
    assert word.speaker_confidence == round(turn_factor(10.0), 3) == 0.99
    assert word.overlap is False


def test_confidence_drops_towards_a_speaker_change():
    turns = [SpeakerTurn(0.0, 5.0, "A"), SpeakerTurn(5.0, 10.0, "B")]
    # One sentence each, so smoothing leaves them where assignment put them.
    far, near, straddling = scored([w(3.0, 3.2, "far."), w(4.7, 4.9, "near."), w(4.9, 5.3, "across.")], turns)
    assert far.speaker_confidence == round(turn_factor(5.0), 3)  # 2 s clear of B: edge 1
    # Midpoint 0.2 s before B's turn: edge 0.5 + 0.5 * 0.2 / 0.5 = 0.7.
    assert near.speaker_confidence == round(turn_factor(5.0) * 0.7, 3)
    # Given to B (0.3 s of 0.4), midpoint 0.1 s after A's turn: edge 0.6.
    assert straddling.speaker == "B" and straddling.speaker_confidence == round(turn_factor(5.0) * 0.6, 3)
    assert far.speaker_confidence > near.speaker_confidence > straddling.speaker_confidence > 0.5


def test_a_short_turn_gets_less_confidence_than_a_long_one():
    turns = [SpeakerTurn(0.0, 5.0, "A"), SpeakerTurn(6.0, 6.4, "B"), SpeakerTurn(7.5, 20.0, "A")]
    short, long = scored([w(6.1, 6.3, "brief."), w(12.0, 12.3, "long.")], turns)
    assert (short.speaker, long.speaker) == ("B", "A")
    # B's midpoint 6.2 is 1.2 s from A's turns (edge 1), but its turn lasts only 0.4 s.
    assert short.speaker_confidence == round(turn_factor(0.4), 3) == 0.8
    assert long.speaker_confidence == round(turn_factor(12.5), 3)


def test_a_word_moved_by_smoothing_falls_below_one_half():
    words = timeline("we will not go there today.", "AABAAA")  # 0.3 s words from 0.0
    turns = [SpeakerTurn(0.0, 0.6, "A"), SpeakerTurn(0.6, 0.9, "B"), SpeakerTurn(0.9, 3.0, "A")]
    result = scored(list(words), turns)
    assert speakers_of(result) == list("AAAAAA")
    # "not" (0.6-0.9) sits inside B's turn, 0.15 s deep: edge 0.5 - 0.15 = 0.35; its A turn is the
    # nearest one (0.0-0.6, 0.15 s away on the left; the earlier one on a tie).
    assert result[2].speaker_confidence == round(turn_factor(0.6) * 0.35, 3)
    assert result[2].speaker_confidence < 0.5
    assert all(x.speaker_confidence is not None and x.speaker_confidence >= 0.5
               for i, x in enumerate(result) if i != 2)


def test_edge_factor_never_goes_below_a_quarter():
    # Deep inside another speaker's turn (more than 0.25 s): only smoothing puts a word there.
    word = replace(w(5.0, 5.2, "deep"), speaker="A")
    turns = [SpeakerTurn(0.0, 1.0, "A"), SpeakerTurn(1.0, 10.0, "B")]
    [result] = score_speakers([word], turns, turns)
    assert result.speaker_confidence == round(turn_factor(1.0) * 0.25, 3)


def test_a_word_in_a_gap_is_scored_from_its_nearest_turn():
    turns = [SpeakerTurn(0.0, 1.0, "A"), SpeakerTurn(3.0, 4.0, "B")]
    near_a, middle, near_b = scored([w(1.2, 1.4, "a."), w(1.9, 2.1, "mid."), w(2.7, 2.9, "b.")], turns)
    assert (near_a.speaker, middle.speaker, near_b.speaker) == ("A", "A", "B")
    # In a 2 s gap every midpoint is at least 0.9 s from the other speaker: edge 1, no gap penalty.
    assert near_a.speaker_confidence == middle.speaker_confidence == near_b.speaker_confidence
    assert near_b.speaker_confidence == round(turn_factor(1.0), 3)
    # In a 0.2 s gap the word is as near to B as to A: A (the earlier) keeps it, edge 0.5 + 0.1 = 0.6.
    narrow = [SpeakerTurn(0.0, 1.0, "A"), SpeakerTurn(1.2, 3.0, "B")]
    [between] = scored([w(1.05, 1.15, "between.")], narrow)
    assert between.speaker == "A" and between.speaker_confidence == round(turn_factor(1.0) * 0.6, 3)


def test_overlap_needs_two_speakers_over_a_quarter_of_the_word():
    exclusive = [SpeakerTurn(0.0, 2.0, "A"), SpeakerTurn(2.0, 3.0, "B"), SpeakerTurn(3.0, 5.0, "A")]
    overlapping = [SpeakerTurn(0.0, 5.0, "A"), SpeakerTurn(2.0, 3.0, "B")]
    words = [w(1.0, 1.2, "alone"), w(2.4, 2.6, "both"), w(1.9, 2.2, "most"), w(1.7, 2.02, "brush"),
             w(2.5, 2.5, "instant")]
    alone, both, most, brush, instant = score_speakers(assign_speakers(words, exclusive), exclusive,
                                                       overlapping)
    assert [x.overlap for x in (alone, both, most, brush, instant)] == [False, True, True, False, True]
    # "both": B's 1 s turn, midpoint 0.5 s from A's turns (edge 1), halved for the overlap.
    assert both.speaker == "B" and both.speaker_confidence == round(turn_factor(1.0) * 0.5, 3)
    assert both.speaker_confidence < 0.5


def test_overlap_of_one_speakers_own_turns_is_not_overlap():
    turns = [SpeakerTurn(0.0, 3.0, "A"), SpeakerTurn(1.0, 2.0, "A")]
    [word] = score_speakers(assign_speakers([w(1.2, 1.5, "x")], turns), turns, turns)
    assert word.overlap is False


def test_no_speaker_means_no_confidence_and_unknown_speaker_means_zero():
    turns = [SpeakerTurn(0.0, 1.0, "A")]
    none, stranger = score_speakers([w(0.2, 0.4, "x"), w(0.5, 0.6, "y", "Z")], turns, turns)
    assert none.speaker_confidence is None and stranger.speaker_confidence == 0.0
    assert score_speakers([], turns, turns) == ()
    [lonely] = score_speakers(assign_speakers([w(0.2, 0.4, "x")], []), [], [])
    assert (lonely.speaker, lonely.speaker_confidence, lonely.overlap) == (None, None, False)


def test_attribute_fills_confidence_on_every_word_and_keeps_it_through_relabelling():
    transcript = words_only(w(0.0, 0.4, "Question?"), w(1.0, 1.4, "Answer."), w(1.5, 1.9, "Done."))
    turns = [SpeakerTurn(0.0, 0.8, "raw_B"), SpeakerTurn(0.9, 2.0, "raw_A")]
    result = attribute(transcript, diarization(turns), SpeakerOptions())
    expected = score_speakers(smooth_speakers(assign_speakers(transcript.words, turns)), turns, turns)
    assert [x.speaker_confidence for x in result.words] == [x.speaker_confidence for x in expected]
    assert all(x.speaker_confidence is not None for x in result.words)
    plain = attribute(transcript, None, SpeakerOptions())
    assert all(x.speaker_confidence is None and not x.overlap for x in plain.words)


def brute_force_confidence(word: Word, turns: list[SpeakerTurn], overlapping: list[SpeakerTurn]
                           ) -> tuple[float | None, bool]:
    """`score_speakers`' documented rule, spelled out slowly over every turn."""
    cuts = sorted({word.start, word.end} | {x for t in overlapping for x in (t.start, t.end)
                                             if word.start < x < word.end})
    if word.end > word.start:
        together = sum(b - a for a, b in itertools.pairwise(cuts)
                       if len({t.speaker for t in overlapping if t.start <= (a + b) / 2 <= t.end}) >= 2)
        overlap = together / (word.end - word.start) >= 0.25
    else:
        overlap = len({t.speaker for t in overlapping if t.start <= word.start <= t.end}) >= 2
    if word.speaker is None:
        return None, overlap
    mine = [t for t in turns if t.speaker == word.speaker]
    if not mine:
        return 0.0, overlap
    own = next(t for t in mine if t.speaker == brute_force_speaker(word, mine)
               and _same_turn(t, word, mine))
    margin = min((-(min(word.mid - t.start, t.end - word.mid)) if t.start <= word.mid <= t.end
                  else max(t.start - word.mid, word.mid - t.end)
                  for t in turns if t.speaker != word.speaker), default=float("inf"))
    edge = min(1.0, max(0.25, 0.5 + 0.5 * margin / 0.5))
    factor = own.duration / (own.duration + 0.1) if own.duration > 0 else 0.0
    return round(factor * edge * (0.5 if overlap else 1.0), 3), overlap


def _same_turn(turn: SpeakerTurn, word: Word, mine: list[SpeakerTurn]) -> bool:
    """Whether `turn` is the one of `mine` that `brute_force_speaker`'s rule picks for `word`."""
    relabelled = [replace(t, speaker=str(i)) for i, t in enumerate(mine)]
    return mine[int(brute_force_speaker(word, relabelled))] == turn


def test_confidence_matches_the_rule_and_stays_in_range_on_random_timelines():
    rng = random.Random(99)
    for _ in range(400):
        words, turns = random_case(rng)
        extra = [SpeakerTurn(t.start + 0.5, t.end + 1.0, rng.choice("ABCD")) for t in turns[:2]]
        overlapping = [*turns, *extra]
        assigned = smooth_speakers(assign_speakers(words, turns))
        result = score_speakers(assigned, turns, overlapping)
        assert speakers_of(result) == speakers_of(assigned)
        for got, word in zip(result, assigned, strict=True):
            assert (got.speaker_confidence, got.overlap) == brute_force_confidence(word, turns, overlapping)
            assert got.speaker_confidence is None or 0.0 <= got.speaker_confidence <= 1.0
