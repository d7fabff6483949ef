"""Every metric on small cases worked out by hand (the working is in each test's comments)."""

from __future__ import annotations

from pathlib import Path

import pytest

from podium.evaluate.api import EvaluateOptions, PairResult, pool, score, score_pair
from podium.evaluate.normalize import get_normalizer, tokenize
from podium.evaluate.readers import read_reference, read_uem
from podium.evaluate.reference import Reference, RefWord, Utterance, speaker_turns
from podium.transcript import SpeakerTurn

DATA = Path(__file__).parent / "data" / "eval"
NONE = EvaluateOptions(normalize="none")


def text(*lines: str | tuple[str, str]) -> Reference:
    """A reference from plain lines, or (speaker, line) pairs."""
    utterances = tuple(Utterance(u[1], speaker=u[0]) if isinstance(u, tuple) else Utterance(u) for u in lines)
    return Reference(utterances=utterances, format="test")


def timed_words(*words: tuple[str, float, str | None]) -> Reference:
    refs = tuple(RefWord(w, start, start + 0.3, speaker) for w, start, speaker in words)
    return Reference(utterances=(Utterance(" ".join(w.text for w in refs), words=refs),), format="test")


def test_wer_counts_substitution_deletion_and_insertion() -> None:
    # one TWO three FOUR five six ____ / one TOO three ____ five six SEVEN: the only 3-edit path is
    # two->too (S), four dropped (D), seven added (I); four hits over 6 reference words.
    metrics = score(text("one two three four five six"), text("one too three five six seven"), NONE)
    wer = metrics["wer"]
    assert (wer["substitutions"], wer["deletions"], wer["insertions"], wer["hits"]) == (1, 1, 1, 4)
    assert wer["value"] == pytest.approx(3 / 6)


def test_cer_counts_characters_including_spaces() -> None:
    # "cat sat" (7 characters) -> "cap sat!" with basic normalisation dropping "!": one substitution
    cer = score(text("cat sat"), text("cap sat!"), EvaluateOptions(normalize="basic"))["cer"]
    assert (cer["substitutions"], cer["deletions"], cer["insertions"], cer["reference_chars"]) == (1, 0, 0, 7)
    assert cer["value"] == pytest.approx(1 / 7)


def test_normalisation_decides_what_counts_as_an_error() -> None:
    ref, hyp = text("Mr. Witkoff paid twenty-five dollars."), text("mister witkoff paid $25")
    assert score(ref, hyp, NONE)["wer"]["value"] > 0.5
    # EnglishTextNormalizer spells out titles and turns "twenty-five dollars" into "$25" on both sides
    assert score(ref, hyp, EvaluateOptions(normalize="whisper"))["wer"]["value"] == 0
    # the basic normaliser only lower-cases and drops punctuation: "mr" != "mister", "25" != "twenty five"
    assert score(ref, hyp, EvaluateOptions(normalize="basic"))["wer"]["value"] > 0


def test_empty_hypothesis_is_all_deletions_not_an_error() -> None:
    wer = score(text("one two three"), text(), NONE)["wer"]
    assert (wer["value"], wer["deletions"]) == (1.0, 3)


def test_cpwer_finds_the_best_speaker_permutation() -> None:
    # Hypothesis labels are swapped relative to first appearance: S0 speaks Ben's words, S1 Anna's.
    ref = text(("Anna", "good morning mister witkoff"), ("Ben", "thank you for having me"),
               ("Anna", "we are in bucharest today"))
    hyp = text(("S1", "good morning mister witkoff"), ("S0", "thank you for having me"),
               ("S1", "we are in bucharest"))
    cp = score(ref, hyp, NONE)["cpwer"]
    # Anna<->S1: 9 words vs 8, one deletion ("today"); Ben<->S0: exact. Identity order would pair
    # Anna with S0 and cost far more, so 1/14 proves the permutation search.
    assert sorted(map(tuple, cp["assignment"])) == [("Anna", "S1"), ("Ben", "S0")]
    assert (cp["errors"], cp["length"]) == (1, 14)
    assert cp["value"] == pytest.approx(1 / 14)


def test_cpwer_and_wder_are_skipped_without_speakers() -> None:
    metrics = score(text(("A", "hello there")), text("hello there"), NONE)
    assert metrics["cpwer"] == {"skipped": "hypothesis has no speaker labels"}
    assert metrics["wder"] == {"skipped": "hypothesis has no speaker labels"}
    assert metrics["wer"]["value"] == 0


def test_wder_counts_hits_given_to_the_wrong_speaker() -> None:
    # ref a b c (A) d e f (B); hyp a b (s1) c d x f (s2). Hits a b c d f; e->x is a substitution.
    # Hit counts: (A,s1)=2 (A,s2)=1 (B,s2)=2 -> best mapping s1->A, s2->B; "c" (A said it, s2=B) is
    # the one speaker error among 5 hits.
    ref = text(("A", "a b c"), ("B", "d e f"))
    hyp = text(("s1", "a b"), ("s2", "c d x f"))
    result = score_pair(ref, hyp, NONE)
    wder = result.metrics["wder"]
    assert wder["mapping"] == {"s1": "A", "s2": "B"}
    assert (wder["speaker_errors"], wder["scored_words"]) == (1, 5)
    assert wder["value"] == pytest.approx(0.2)
    flagged = [w.ref.text for w in result.alignment if result.is_speaker_error(w)]
    assert flagged == ["c"]


def turns(*lines: tuple[str, float, float, str]) -> Reference:
    """A reference of timed turns, as STM lines give them: (speaker, start, end, words)."""
    utterances = tuple(Utterance(words, speaker=speaker, start=start, end=end)
                       for speaker, start, end, words in lines)
    return Reference(utterances=utterances, format="test")


# Two long turns of A (3 s each) around two short answers of B (1 s and 1.5 s): 8 words in long
# turns, 3 in short ones.
BANK_CALL = turns(("A", 0.0, 3.0, "one two three four"), ("B", 3.0, 4.0, "yes"),
                  ("A", 4.0, 7.0, "five six seven eight"), ("B", 7.0, 8.5, "no thanks"))


def test_short_turn_wder_when_only_short_turn_words_are_wrong() -> None:
    # hyp: s1 says everything but the last word, s2 says "thank" (a substitution, not a hit).
    # Hits: (A,s1)=8, (B,s1)=2 ("yes", "no") -> s1->A; both B hits are speaker errors: WDER 2/10.
    # Short turns: 3 reference words, 2 of them hits, both wrong -> 2/2; long turns: all 8 right.
    hyp = text(("s1", "one two three four yes five six seven eight no"), ("s2", "thank"))
    metrics = score(BANK_CALL, hyp, NONE)
    assert (metrics["wder"]["speaker_errors"], metrics["wder"]["scored_words"]) == (2, 10)
    short = metrics["wder_short"]
    assert (short["speaker_errors"], short["scored_words"], short["reference_words"]) == (2, 2, 3)
    assert short["value"] == pytest.approx(1.0)
    assert short["short_turn_s"] == 2.0


def test_short_turn_wder_when_only_long_turn_words_are_wrong() -> None:
    # hyp: s1 "one two three", s2 "four yes", s1 "five ... eight", s2 "no thanks".
    # Hits: (A,s1)=7, (A,s2)=1, (B,s2)=3 -> s1->A, s2->B; only "four" (A's long turn) is wrong:
    # WDER 1/11, while the 3 short-turn words are all right -> 0/3 (a value, not None).
    hyp = text(("s1", "one two three"), ("s2", "four yes"), ("s1", "five six seven eight"),
               ("s2", "no thanks"))
    metrics = score(BANK_CALL, hyp, NONE)
    assert metrics["wder"]["value"] == pytest.approx(1 / 11)
    short = metrics["wder_short"]
    assert (short["speaker_errors"], short["scored_words"], short["value"]) == (0, 3, 0.0)
    # Raising the limit past 3 s takes in every turn: the short-turn WDER becomes the WDER, 1/11.
    everything = score(BANK_CALL, hyp, EvaluateOptions(normalize="none", short_turn_s=3.5))["wder_short"]
    assert (everything["speaker_errors"], everything["scored_words"]) == (1, 11)


def test_short_turn_limit_is_strictly_under_and_uses_the_whole_pair_mapping() -> None:
    # Limit 1.5 s: "yes" (1.0 s) is in, "no thanks" (exactly 1.5 s) is out. Hits (A,s2)=4,
    # (B,s2)=3, (A,s1)=4: s1->A, s2->B keeps 7 (the other way 4), so "yes" on s2 is right.
    hyp = text(("s2", "one two three four yes"), ("s1", "five six seven eight"), ("s2", "no thanks"))
    short = score(BANK_CALL, hyp, EvaluateOptions(normalize="none", short_turn_s=1.5))["wder_short"]
    assert (short["speaker_errors"], short["scored_words"], short["reference_words"]) == (0, 1, 1)
    # Now "yes" alone goes to s1, whom the whole pair maps to A (hits (A,s1)=8, (B,s1)=1, (B,s2)=2):
    # a speaker error, although a mapping fitted to the short words only ({s1: B}) would call it right.
    hyp = text(("s1", "one two three four yes five six seven eight"), ("s2", "no thanks"))
    short = score(BANK_CALL, hyp, EvaluateOptions(normalize="none", short_turn_s=1.5))["wder_short"]
    assert (short["speaker_errors"], short["scored_words"], short["value"]) == (1, 1, 1.0)


def test_short_turn_wder_from_stm_lines_and_pooled() -> None:
    # The interview STM has three 4 s lines: no word is in a turn under 2 s (scored, value None);
    # with a 5 s limit every hit counts and the short-turn WDER equals the WDER, 2/12.
    ref, hyp = read_reference(DATA / "interview_ref.stm"), read_reference(DATA / "interview_hyp.json")
    default = score_pair(ref, hyp, EvaluateOptions(), pair_id="default")
    assert default.metrics["wder_short"]["scored_words"] == 0
    assert default.metrics["wder_short"]["value"] is None
    wide = score_pair(ref, hyp, EvaluateOptions(short_turn_s=5.0), pair_id="wide")
    wide_short = wide.metrics["wder_short"]
    assert (wide_short["speaker_errors"], wide_short["scored_words"]) == (2, 12)
    # pooled: errors summed over pairs (0 + 2) over scored words summed (0 + 12), not a mean of rates
    overall = pool([default, wide])["wder_short"]
    assert (overall["speaker_errors"], overall["scored_words"], overall["pairs"]) == (2, 12, 2)
    assert overall["value"] == pytest.approx(2 / 12)


def test_short_turn_wder_is_skipped_without_turn_times() -> None:
    metrics = score(text(("A", "a b"), ("B", "c")), text(("s1", "a b"), ("s2", "c")), NONE)
    assert metrics["wder"]["value"] == 0
    assert metrics["wder_short"] == {"skipped": "reference has no turn times"}
    # no hypothesis speakers: skipped for the same reason as WDER
    no_speakers = score(BANK_CALL, text("one two"), NONE)["wder_short"]
    assert no_speakers == {"skipped": "hypothesis has no speaker labels"}


def test_der_and_jer_on_two_tiny_rttms() -> None:
    # ref A 0-10, B 10-20; hyp spk1 0-12, spk2 12-18 and 19-22; UEM 0-21. With spk1->A, spk2->B:
    # confusion 10-12 (2 s), missed 18-19 (1 s), false alarm 20-21 (1 s) over 20 s of speech.
    ref, hyp = read_reference(DATA / "der_ref.rttm"), read_reference(DATA / "der_hyp.rttm")
    metrics = score(ref, hyp, NONE, uem=read_uem(DATA / "der.uem"))
    der = metrics["der"]
    assert (der["confusion"], der["missed_detection"], der["false_alarm"], der["total"]) == (2, 1, 1, 20)
    assert der["value"] == pytest.approx(4 / 20)
    # JER per ref speaker: A 2/12 (union 0-12, overlap 10); B 4/11 (union 10-21, overlap 7). Mean.
    assert metrics["jer"]["value"] == pytest.approx((2 / 12 + 4 / 11) / 2)
    assert metrics["wer"] == {"skipped": "reference (rttm) has no text"}


def test_der_collar_removes_time_around_reference_boundaries() -> None:
    # A 1 s collar excludes 0.5 s either side of 0, 10 and 20: speech 20 - 0.5 - 1 - 0.5 = 18 s;
    # confusion 10.5-12 (1.5 s), missed 18-19 (1 s), false alarm 20.5-21 (0.5 s) -> 3/18.
    ref, hyp = read_reference(DATA / "der_ref.rttm"), read_reference(DATA / "der_hyp.rttm")
    der = score(ref, hyp, EvaluateOptions(collar=1.0), uem=read_uem(DATA / "der.uem"))["der"]
    assert der["total"] == pytest.approx(18)
    assert der["value"] == pytest.approx(3 / 18)


def test_der_skip_overlap_leaves_overlapped_time_out() -> None:
    # A 0-10 and B 5-15 overlap in 5-10; the hypothesis only has A 0-10 -> B's 5-15 missed.
    ref = Reference(turns=(SpeakerTurn(0, 10, "A"), SpeakerTurn(5, 15, "B")), format="test")
    hyp = Reference(turns=(SpeakerTurn(0, 10, "x"),), format="test")
    uem = ((0.0, 15.0),)
    with_overlap = score(ref, hyp, NONE, uem=uem)["der"]
    assert with_overlap["value"] == pytest.approx(10 / 20)
    without = score(ref, hyp, EvaluateOptions(skip_overlap=True), uem=uem)["der"]
    assert without["value"] == pytest.approx(5 / 10)  # 0-5 correct, 10-15 missed


def test_turns_come_from_timed_words_when_nothing_else_has_them() -> None:
    words = (RefWord("a", 0.0, 0.4, "X"), RefWord("b", 0.6, 1.0, "X"), RefWord("c", 3.0, 3.5, "X"),
             RefWord("d", 3.5, 4.0, "Y"))
    ref = Reference(utterances=(Utterance("a b c d", words=words),), format="test")
    turns, source = speaker_turns(ref)
    # a and b are 0.2 s apart (merged); c follows a 2 s pause (new turn); d changes speaker.
    assert source == "words"
    assert turns == (SpeakerTurn(0.0, 1.0, "X"), SpeakerTurn(3.0, 3.5, "X"), SpeakerTurn(3.5, 4.0, "Y"))


def test_names_recall_per_name(tmp_path: Path) -> None:
    names = tmp_path / "names.txt"
    names.write_text("Witkoff\nRubio\n\n# places\nBucharest\nLandau\n", encoding="utf-8")
    ref = text("Mr. Witkoff met Rubio. Witkoff flew to Bucharest.")
    hyp = text("mister witko met rubio, WITKOFF flew to budapest")
    result = score(ref, hyp, EvaluateOptions(names=str(names)))["names"]
    by_name = {n["name"]: (n["reference"], n["hypothesis"], n["status"]) for n in result["per_name"]}
    assert by_name == {"Witkoff": (2, 1, "partly found"), "Rubio": (1, 1, "found"),
                       "Bucharest": (1, 0, "missed"), "Landau": (0, 0, "not in reference")}
    assert (result["found"], result["total"]) == (2, 4)
    assert result["value"] == pytest.approx(0.5)


def test_multi_word_names_match_as_a_sequence(tmp_path: Path) -> None:
    names = tmp_path / "names.txt"
    names.write_text("Marco Rubio\n", encoding="utf-8")
    result = score(text("Marco Rubio spoke"), text("marco rubio spoke and rubio left"),
                   EvaluateOptions(names=str(names)))["names"]
    assert (result["found"], result["total"]) == (1, 1)


def test_word_timing_is_the_median_over_hits_only() -> None:
    ref = timed_words(("one", 0.0, None), ("two", 1.0, None), ("three", 2.0, None), ("four", 3.0, None))
    # hits one/two/three off by 0.1, 0.3, 0.0; "four"->"for" is a substitution and must not count
    hyp = timed_words(("one", 0.1, None), ("two", 1.3, None), ("three", 2.0, None), ("for", 3.9, None))
    timing = score(ref, hyp, NONE)["word_timing"]
    assert timing["words"] == 3
    assert timing["value"] == pytest.approx(0.1)
    assert score(text("one two"), hyp, NONE)["word_timing"] == {"skipped": "reference has no word times"}


def test_normalised_tokens_keep_the_times_of_the_words_they_came_from() -> None:
    ref = read_reference(DATA / "whisperx.json")
    tokens = tokenize(ref, get_normalizer("whisper"))
    # "twenty five people" becomes "25 people"; "25" takes the time of the word "twenty"
    assert [t.text for t in tokens] == ["it", "cost", "25", "people", "in", "2008", "yes"]
    assert (tokens[2].start, tokens[2].speaker) == (0.8, "SPEAKER_00")
    # WhisperX leaves "2008," without times: the token keeps its speaker, and no time
    assert (tokens[5].start, tokens[5].speaker) == (None, "SPEAKER_01")


def test_pooled_rates_sum_errors_over_the_reference() -> None:
    # pair 1: 1 error in 2 words (50%); pair 2: 0 errors in 8 words. Pooled 1/10, not mean 25%.
    first = score_pair(text("a b"), text("a c"), NONE, pair_id="1")
    second = score_pair(text("a b c d e f g h"), text("a b c d e f g h"), NONE, pair_id="2")
    overall = pool([first, second])
    assert overall["wer"]["value"] == pytest.approx(1 / 10)
    assert overall["wer"]["reference_words"] == 10
    assert overall["wer"]["pairs"] == 2


def test_pooled_der_and_timing_use_every_pair() -> None:
    ref, hyp = read_reference(DATA / "der_ref.rttm"), read_reference(DATA / "der_hyp.rttm")
    uem = read_uem(DATA / "der.uem")
    der_pair = score_pair(ref, hyp, NONE, uem=uem, pair_id="der")
    same = score_pair(ref, ref, NONE, uem=uem, pair_id="same")
    overall = pool([der_pair, same])
    assert overall["der"]["value"] == pytest.approx(4 / 40)  # 4 s of errors over 2 x 20 s of speech
    assert overall["wer"] == {"skipped": "no pair could be scored for it"}
    timed = PairResult(id="t", metrics={"word_timing": {"value": 0.2, "words": 2}}, timing_errors=(0.1, 0.3))
    more = PairResult(id="u", metrics={"word_timing": {"value": 0.5, "words": 1}}, timing_errors=(0.5,))
    assert pool([timed, more])["word_timing"] == {"value": 0.3, "words": 3, "pairs": 2}


def test_options_reject_bad_values() -> None:
    with pytest.raises(ValueError, match="normalize"):
        EvaluateOptions(normalize="fancy")
    with pytest.raises(ValueError, match="collar"):
        EvaluateOptions(collar=-1)
    with pytest.raises(ValueError, match="short_turn_s"):
        EvaluateOptions(short_turn_s=0)
