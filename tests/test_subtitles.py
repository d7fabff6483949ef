"""Broadcast subtitle rules for SRT and WebVTT (`podium.formats.cues`): property tests over a few
hundred random transcripts (no rule broken unless the QA summary reports it, and only where the
speech forces it), and hand-made cases (rapid exchanges, long numbers, a monologue, interjections,
over-long words, speaker names). No models."""

from __future__ import annotations

import html
import json
import random
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest

from podium.formats import OutputOptions, subtitle_note, write_outputs
from podium.formats.cues import build_cues, qa_line, qa_summary
from podium.formats.srt import SrtWriter, read_srt
from podium.formats.vtt import VttWriter, read_vtt
from podium.transcript import Segment, Speaker, Transcript, Word
from subtitle_files import VTT_TIME, ms, srt_cues

MIN_MS, MAX_MS, GAP_MS = 800, 7000, 80

# --- the rules, checked on the files as written ----------------------------------------------------

VOICE = re.compile(r"<v ([^<>]*)>(.*?)</v>", re.DOTALL)


def vtt_cues(text: str) -> list[tuple[int, int, list[tuple[str | None, str]]]]:
    """(start, end, [(voice, line)]) with voices and text unescaped; fails on raw '<' or '&' in text."""
    header, *blocks = text.split("\n\n")
    assert header == "WEBVTT"
    cues = []
    for block in (b for b in blocks if b.strip()):
        timing, *body = block.strip("\n").split("\n")
        times = re.fullmatch(f"{VTT_TIME} --> {VTT_TIME}", timing)
        assert times, timing
        payload = "\n".join(body)
        spans = VOICE.findall(payload)
        if len(spans) == 1 and VOICE.fullmatch(payload):  # one voice around the whole cue
            lines = [(spans[0][0], line) for line in spans[0][1].split("\n")]
        else:  # a voice per line (dialogue), or none
            lines = [(m.group(1), m.group(2)) if (m := VOICE.fullmatch(line)) else (None, line)
                     for line in body]
        for voice, line in lines:
            assert "<" not in line and ">" not in line and not re.search(r"&(?!amp;|lt;|gt;)", line)
            assert voice is None or not re.search(r"&(?!amp;|lt;|gt;)", voice)
        cues.append((ms(times.groups()[:4]), ms(times.groups()[4:]),
                     [(html.unescape(v) if v else None, html.unescape(line)) for v, line in lines]))
    return cues


def broken_rules(srt: list[tuple[int, int, list[str]]], vtt_lines: list[list[str]], options: OutputOptions,
                 names: set[str]) -> dict[str, list[int]]:
    """Cue numbers breaking each rule, measured on the written files, each checked to be forced."""
    broken: dict[str, list[int]] = {}
    for k, (start, end, lines) in enumerate(srt):
        number, duration = k + 1, end - start
        next_start = srt[k + 1][0] if k + 1 < len(srt) else None
        latest = start + MAX_MS if next_start is None else min(start + MAX_MS, next_start - GAP_MS)
        cramped = next_start is not None and next_start - start <= GAP_MS
        assert duration > 0 and (k == 0 or start >= srt[k - 1][1]), "cue times must be monotone"
        assert duration <= MAX_MS
        assert max(len(lines), len(vtt_lines[k])) <= options.max_lines
        if next_start is not None and next_start - end < GAP_MS:
            assert cramped, f"cue {number}: too close to the next one with room for the gap"
            broken.setdefault("too_close", []).append(number)
        if duration < MIN_MS:
            assert end == latest or cramped, f"cue {number}: too short but could be held longer"
            broken.setdefault("too_short", []).append(number)
        chars = sum(len(line) for line in lines)
        if chars * 1000 > options.max_cps * duration + 1e-6:
            assert end == latest or cramped, f"cue {number}: too fast but could be held longer"
            broken.setdefault("too_fast", []).append(number)
        long_lines = [line for line in (*lines, *vtt_lines[k]) if len(line) > options.max_line_chars]
        if long_lines:
            for line in long_lines:
                rest = line.removeprefix("- ")
                for name in names:
                    rest = rest.removeprefix(f"{name}: ")
                alone = " " not in rest or rest in {f"{name}:" for name in names}  # a word or a name
                assert alone, f"cue {number}: a line too long with more than one word: {line!r}"
            broken.setdefault("line_too_long", []).append(number)
    return broken


def check_transcript(t: Transcript, options: OutputOptions) -> dict[str, list[int]]:
    """Every rule on the SRT and WebVTT of `t`; returns the broken ones, as the QA summary must."""
    cues = build_cues(t, options)
    srt_text, vtt_text = SrtWriter(options).render(t), VttWriter(options).render(t)
    srt, vtt = srt_cues(srt_text), vtt_cues(vtt_text)
    assert [c[:2] for c in srt] == [c[:2] for c in vtt] == [(c.start_ms, c.end_ms) for c in cues]
    names = {n for n in (t.speaker_name(w.speaker) for w in t.words) if n}
    named = options.srt_speakers == "prefix"
    for cue, (_, _, lines), (_, _, voiced) in zip(cues, srt, vtt, strict=True):
        assert tuple(lines) == cue.lines and tuple(line for _, line in voiced) == cue.plain_lines
        if cue.dialogue:
            # Dialogue style: two speakers, one line each, each starting with "- ".
            assert len(cue.turns) == 2 and len(lines) == 2
            assert all(line.startswith("- ") for line in (*lines, *cue.plain_lines))
            assert [v for v, _ in voiced] == [turn.speaker for turn in cue.turns]
            shown = [line.removeprefix("- ") for line in lines]
            plain = [line.removeprefix("- ") for line in cue.plain_lines]
        else:
            assert len(cue.turns) == 1 and not any(line.startswith("- ") for line in lines[1:])
            assert {v for v, _ in voiced} == {cue.speaker}
            shown, plain = [" ".join(lines)], [" ".join(cue.plain_lines)]
        for turn, text, bare in zip(cue.turns, shown, plain, strict=True):
            # A name only in SRT, only on the first cue of a turn, only with --srt-speakers prefix;
            # lines break at spaces only, never inside a word or a number.
            prefix = f"{turn.speaker}: " if turn.named else ""
            assert turn.named == (named and turn.named and turn.speaker is not None)
            assert text == prefix + turn.text and bare == turn.text
    # Every word once, in order, each turn one speaker's, named exactly when it starts a turn.
    words = list(t.words) if all(s.words for s in t.segments) else None
    if words is not None:
        at, previous_label, spans = 0, object(), []
        for cue in cues:
            cue_first = at
            for turn in cue.turns:
                taken, first = "", at
                while re.sub(r"\s+", " ", taken).strip() != turn.text:
                    assert at < len(words) and len(taken) <= len(turn.text) + 10, (turn.text, taken)
                    taken += words[at].text
                    at += 1
                labels = {w.speaker for w in words[first:at]}
                assert len(labels) == 1 and t.speaker_name(labels.pop()) == turn.speaker
                starts_turn = words[first].speaker != previous_label
                assert turn.named == (starts_turn and named and turn.speaker is not None)
                previous_label = words[at - 1].speaker
            spans.append((cue_first, at))
        assert all(not w.text.strip() for w in words[at:])
        # A cue starts on its first word (later only when word times overlap) and shows as long as
        # its speech lasts unless the next cue or the 7 s limit comes first.
        floor = 0
        for index, (cue, (first, stop)) in enumerate(zip(cues, spans, strict=True)):
            mine = [w for w in words[first:stop] if w.text.strip()]
            floor = max(floor, round(mine[0].start * 1000))
            assert cue.start_ms >= floor
            assert cue.start_ms == floor or cues[index - 1].start_ms >= floor - 2
            floor = max(floor, *(round(w.start * 1000) for w in mine))
            speech_end = max(round(w.end * 1000) for w in mine)
            next_start = cues[index + 1].start_ms if index + 1 < len(cues) else None
            limit = cue.start_ms + MAX_MS if next_start is None else min(cue.start_ms + MAX_MS,
                                                                          next_start - GAP_MS)
            assert cue.end_ms >= min(speech_end, limit) or (next_start is not None
                                                           and next_start - cue.start_ms <= GAP_MS)
    broken = broken_rules(srt, [list(c.plain_lines) for c in cues], options, names)
    summary = qa_summary(t, options)
    assert summary["cues"] == len(cues)
    assert {kind: entry["count"] for kind, entry in summary["issues"].items()} == \
        {kind: len(numbers) for kind, numbers in broken.items()}
    assert all("unforced" not in entry for entry in summary["issues"].values()), summary
    return broken


# --- random transcripts ----------------------------------------------------------------------------

VOCAB = tuple(" ".join((
    "the council voted today to approve budget for schools and roads, a plan that took three years",
    "draft. it passes goes mayor tonight. but which of with Secretary-General U.S. officials Mr.",
    "Smith said: yes! no? really; well, «quoted» it's 2026 3.5 1,000,000 $5 billion 25 per cent",
    "& <tag> — because")).split(" "))
LONG_WORD = "Telecommunications-regulation-authority-chairperson"
NAMES = ("Ann", "Bob <Jr> & Co", "Secretary-General", "SPEAKER_03")


def random_transcript(rng: random.Random) -> Transcript:
    speakers = rng.choice((0, 1, 2, 2, 3))
    labels = [f"S{k}" for k in range(speakers)] or [None]
    fast = rng.random() < 0.3
    words: list[Word] = []
    t = rng.uniform(0, 5)
    label = rng.choice(labels)
    for _ in range(rng.randint(1, 160)):
        if rng.random() < 0.15:
            label = rng.choice(labels)
        pieces = [" " + rng.choice(VOCAB)]
        roll = rng.random()
        if roll < 0.03:
            pieces = [" " + LONG_WORD]
        elif roll < 0.08:
            pieces = [" 1", ",000", ",000"]  # Whisper can cut a number into tokens without spaces
        elif roll < 0.1:
            pieces = [" don", "'t"]
        for piece in pieces:
            length = rng.uniform(0.03, 0.12) if fast else rng.uniform(0.12, 0.5)
            if rng.random() < 0.03:
                length = 0.0
            words.append(Word(round(t, 3), round(t + length, 3), piece, 0.9, label))
            t += length
        t += rng.choice((0.0, 0.0, 0.01, 0.05, 0.05, 0.1, 0.3, 0.7, 1.2, 3.0))
        if rng.random() < 0.03:
            t = max(0.0, t - 0.2)  # overlapping word times
    segments = []
    at = 0
    while at < len(words):
        size = rng.randint(1, 25)
        chunk = words[at:at + size]
        at += size
        cut = next((i for i in range(1, len(chunk)) if chunk[i].speaker != chunk[0].speaker), len(chunk))
        at -= len(chunk) - cut
        chunk = chunk[:cut]
        text = "".join(w.text for w in chunk).strip()
        end = max(w.end for w in chunk)
        segments.append(Segment(chunk[0].start, end, text, tuple(chunk), chunk[0].speaker))
    named = tuple(Speaker(f"S{k}", NAMES[k]) for k in range(speakers) if rng.random() < 0.8)
    return Transcript(segments=tuple(segments), duration=t + 1, speakers=named)


def random_options(rng: random.Random) -> OutputOptions:
    return OutputOptions(max_line_chars=rng.choice((20, 32, 42, 42, 50)),
                         max_lines=rng.choice((1, 2, 2, 2, 3)),
                         max_cps=rng.choice((12.0, 17.0, 17.0, 20.0, 25.0)),
                         srt_speakers=rng.choice(("prefix", "prefix", "none")))


@pytest.mark.parametrize("block", range(6))
def test_random_transcripts_break_no_rule_unless_reported(block: int) -> None:
    """300 random transcripts (numbers, punctuation, 0-3 speakers, gaps, fast speech, overlapping and
    zero-length words): every rule holds on the written SRT and WebVTT, or the QA summary reports
    the cue, and only where the speech forced it."""
    seen: Counter[str] = Counter()
    for seed in range(block * 50, block * 50 + 50):
        rng = random.Random(seed)
        t, options = random_transcript(rng), random_options(rng)
        seen.update({kind: len(cues) for kind, cues in check_transcript(t, options).items()})
    assert seen  # the generator does reach the forced cases


def test_extreme_limits_still_report_every_broken_rule() -> None:
    """The narrowest lines the options allow, one line or four, 1 to 40 characters per second:
    names and words longer than a line, nothing readable in time, and every broken rule reported."""
    seen: Counter[str] = Counter()
    for seed in range(60):
        rng = random.Random(1000 + seed)
        t = random_transcript(rng)
        options = OutputOptions(max_line_chars=rng.choice((10, 11, 15)), max_lines=rng.choice((1, 2, 4)),
                                max_cps=rng.choice((1.0, 5.0, 40.0)),
                                srt_speakers=rng.choice(("prefix", "none")))
        seen.update({kind: len(cues) for kind, cues in check_transcript(t, options).items()})
    assert set(seen) == {"too_fast", "too_short", "line_too_long", "too_close"}


def test_defaults_on_ordinary_speech_meet_every_rule() -> None:
    """Speech at a readable pace with pauses between sentences: no rule broken at all."""
    rng = random.Random(11)
    for _ in range(20):
        t = monologue(rng, seconds=40)
        assert check_transcript(t, OutputOptions()) == {}
        assert qa_line(qa_summary(t, OutputOptions())).endswith("every rule met")


# --- hand-made cases -------------------------------------------------------------------------------

SENTENCES = (
    "The council voted today to approve the budget for schools and roads.",
    "It was a plan that took three years to draft, and it passes with 25 per cent support.",
    "The mayor said the $5 billion package would be signed on 3 March 2026.",
    "Critics, however, argue that 1,000,000 residents will see no benefit at all.",
    "We will be watching closely, said the spokesman, who declined to give details.",
)


def timed(text: str, start: float, label: str | None, cps: float = 12.0, gap: float = 0.05) -> list[Word]:
    """Words spoken at `cps` characters per second (a space counted with each word)."""
    words, t = [], start
    for part in text.split():
        length = max(0.05, (len(part) + 1) / cps - gap)
        words.append(Word(round(t, 3), round(t + length, 3), " " + part, 0.9, label))
        t += length + gap
    return words


def transcript_of(*turns: list[Word], names: Sequence[Speaker] = ()) -> Transcript:
    segments = tuple(Segment(ws[0].start, ws[-1].end, "".join(w.text for w in ws).strip(), tuple(ws),
                             ws[0].speaker) for ws in turns)
    return Transcript(segments=segments, speakers=tuple(names))


def monologue(rng: random.Random, seconds: float, cps: float = 13.0, label: str = "A") -> Transcript:
    words: list[Word] = []
    t = 0.0
    while t < seconds:
        sentence = timed(rng.choice(SENTENCES), t, label, cps=cps)
        words += sentence
        t = sentence[-1].end + rng.choice((0.3, 0.5, 0.8))
    return transcript_of(words, names=[Speaker("A", "Secretary-General")])


ANN, BOB = Speaker("A", "Ann"), Speaker("B", "Bob")


def test_rapid_exchange_uses_dialogue_style() -> None:
    """"Yes." "No." each too short to read alone: one cue, a line per speaker, each with "- "."""
    question = timed("Do you accept the proposal from the council?", 0.0, "A")
    yes = [Word(question[-1].end + 0.3, question[-1].end + 0.55, " Yes.", 0.9, "B")]
    no = [Word(yes[0].end + 0.1, yes[0].end + 0.35, " No.", 0.9, "A")]
    later = timed("Then we must talk again tomorrow.", no[0].end + 1.2, "B")
    t = transcript_of(question, yes, no, later, names=[ANN, BOB])
    assert check_transcript(t, OutputOptions()) == {}
    cues = build_cues(t)
    assert [c.lines for c in cues] == [
        ("Ann: Do you accept the proposal", "from the council?"),
        ("- Bob: Yes.", "- Ann: No."),
        ("Bob: Then we must talk again tomorrow.",)]
    assert cues[1].end_ms - cues[1].start_ms >= 800
    vtt = VttWriter().render(t)
    assert "<v Bob>- Yes.</v>\n<v Ann>- No.</v>" in vtt
    # Read back, the dialogue cue is one utterance per speaker, and SRT's unnamed cues keep theirs.
    for ref in (read_srt(Path("x.srt"), SrtWriter().render(t)), read_vtt(Path("x.vtt"), vtt)):
        assert [(u.speaker, u.text) for u in ref.utterances] == [
            ("Ann", "Do you accept the proposal from the council?"), ("Bob", "Yes."), ("Ann", "No."),
            ("Bob", "Then we must talk again tomorrow.")]


def test_exchange_with_room_keeps_one_speaker_per_cue() -> None:
    """The same words with pauses long enough to read each turn: no dialogue style."""
    question = timed("Do you accept?", 0.0, "A")
    yes = [Word(question[-1].end + 0.5, question[-1].end + 0.8, " Yes.", 0.9, "B")]
    no = [Word(yes[0].end + 1.0, yes[0].end + 1.2, " No.", 0.9, "A")]
    t = transcript_of(question, yes, no, names=[ANN, BOB])
    assert check_transcript(t, OutputOptions()) == {}
    assert [c.lines for c in build_cues(t)] == [("Ann: Do you accept?",), ("Bob: Yes.",), ("Ann: No.",)]
    assert [c.end_ms - c.start_ms for c in build_cues(t)][1:] == [800, 800]  # held to the minimum


def test_one_word_interjection_is_held_or_reported() -> None:
    """An interjection shorter than 0.8 s: held to 0.8 s when the next cue allows; with one line
    per cue (no dialogue style) and the next speaker right after it, reported as forced."""
    before = timed("And the vote was unanimous.", 0.0, "A")
    right = [Word(before[-1].end + 0.4, before[-1].end + 0.6, " Right.", 0.9, "B")]
    after = timed("Which brings us to the weather.", right[0].end + 2.0, "A")
    t = transcript_of(before, right, after, names=[ANN, BOB])
    cue = build_cues(t)[1]
    assert cue.lines == ("Bob: Right.",) and cue.end_ms - cue.start_ms == 800

    after = timed("Which brings us to the weather.", right[0].end + 0.05, "A")
    t = transcript_of(before, right, after, names=[ANN, BOB])
    assert check_transcript(t, OutputOptions()) == {}  # two lines: dialogue style saves it
    one_line = OutputOptions(max_lines=1)
    broken = check_transcript(t, one_line)
    assert broken["too_short"] == [2]
    summary = qa_summary(t, one_line)
    assert summary["issues"]["too_short"]["reason"] == \
        "shorter than 0.8 s with the next cue too close to extend"
    assert summary["issues"]["too_short"]["examples"][0]["text"] == "Bob: Right."
    assert "1 too short (the next cue too close to extend)" in qa_line(summary)


def test_numbers_stay_whole_and_with_their_unit() -> None:
    """"1,000,000,000", "3.5", "2026" never split; "25 per cent" and "$5 billion" kept together on
    narrow lines; a number Whisper cut into tokens without spaces is one word again."""
    text = ("Growth reached 3.5 in 2026 while spending rose 25 per cent to $5 billion over "
            "1,000,000,000 for the year")
    words = timed(text, 0.0, None, cps=8.0)
    words.append(Word(words[-1].end + 0.05, words[-1].end + 0.3, " 7", 0.9, None))
    words.append(Word(words[-1].end, words[-1].end + 0.3, ",000,", 0.9, None))
    words.append(Word(words[-1].end, words[-1].end + 0.3, "000.", 0.9, None))
    t = transcript_of(words)
    for width in (20, 24, 28, 32):
        options = OutputOptions(max_line_chars=width)
        assert check_transcript(t, options) == {}
        lines = [line for cue in build_cues(t, options) for line in cue.lines]
        joined = " | ".join(lines)
        for whole in ("3.5", "2026", "1,000,000,000", "7,000,000.", "25 per cent", "$5 billion"):
            assert any(whole in line for line in lines), (width, whole, joined)


def test_breaks_prefer_sentence_ends_then_clauses() -> None:
    """Cue and line breaks fall after sentences and clauses rather than inside them."""
    words = timed("The council met today. It voted on the budget, which was late, and on the roads.",
                  0.0, None)
    t = transcript_of(words)
    cues = build_cues(t)
    assert [c.lines for c in cues] == [("The council met today.",),
                                       ("It voted on the budget,", "which was late, and on the roads.")]


def test_two_lines_are_balanced() -> None:
    """No punctuation to break at: the two lines are close in length, the top one not the longer by much."""
    words = timed("officials from several neighbouring towns gathered outside city hall tonight",
                  0.0, None)
    (cue,) = build_cues(transcript_of(words))
    top, bottom = cue.lines
    assert abs(len(top) - len(bottom)) <= 12 and len(top) <= len(bottom) + 6


def test_ninety_second_monologue() -> None:
    """A 90 s monologue at a readable pace: every rule met, cues of at most 7 s, most ending at a
    sentence or clause, and the name on the first cue only."""
    t = monologue(random.Random(5), seconds=90)
    assert t.words[-1].end > 90
    assert check_transcript(t, OutputOptions()) == {}
    cues = build_cues(t)
    assert len(cues) >= 90 / 7
    assert [c.turns[0].named for c in cues] == [True] + [False] * (len(cues) - 1)
    ends = [c.text[-1] for c in cues]
    assert sum(e in ".,;:" for e in ends) / len(ends) > 0.9
    assert qa_line(qa_summary(t)) == f"subtitles: {len(cues)} cues, every rule met"


def test_fast_speech_is_reported_as_too_fast() -> None:
    """Speech faster than the reading speed with no pause to extend into: reported, each cue held
    until 2 frames before the next."""
    words = timed(" ".join(SENTENCES), 0.0, None, cps=25.0, gap=0.0)
    t = transcript_of(words)
    broken = check_transcript(t, OutputOptions())
    summary = qa_summary(t)
    assert broken["too_fast"] and summary["issues"]["too_fast"]["count"] == len(broken["too_fast"])
    assert summary["issues"]["too_fast"]["reason"] == \
        "faster than 17 characters per second with no room to extend"
    assert summary["issues"]["too_fast"]["examples"][0]["value"] > 17
    assert qa_line(summary).startswith(
        f"subtitles: {summary['cues']} cues, {len(broken['too_fast'])} too fast (reading speed)")


def test_word_longer_than_the_line_is_reported() -> None:
    words = timed(f"The {LONG_WORD} resigned today.", 0.0, "A")
    t = transcript_of(words, names=[ANN])
    broken = check_transcript(t, OutputOptions())
    assert broken == {"line_too_long": [1]}
    issue = qa_summary(t)["issues"]["line_too_long"]
    assert issue["count"] == 1
    assert issue["reason"] == f"a single word longer than the line: {LONG_WORD!r}"
    assert qa_line(qa_summary(t)) == ("subtitles: 2 cues, 1 line too long (a single word longer than "
                                      "the line)")
    assert [c.lines for c in build_cues(t)] == [("Ann: The", LONG_WORD), ("resigned today.",)]


def test_srt_speakers_none_and_no_diarization() -> None:
    """`--srt-speakers none`: no name in SRT, voice tags still in WebVTT; no diarization: neither."""
    t = transcript_of(timed("Good evening.", 0.0, "A"), timed("Good evening to you.", 2.0, "B"),
                      names=[ANN, BOB])
    none = OutputOptions(srt_speakers="none")
    assert check_transcript(t, none) == {}
    srt = SrtWriter(none).render(t)
    assert "Ann" not in srt and "Bob" not in srt and "\nGood evening.\n" in srt
    assert "<v Ann>Good evening.</v>" in VttWriter(none).render(t)
    assert "Ann: Good evening.\n" in SrtWriter(OutputOptions()).render(t)

    plain = transcript_of(timed("Good evening.", 0.0, None), timed("Good evening to you.", 2.0, None))
    assert check_transcript(plain, OutputOptions()) == {}
    assert [lines for *_, lines in srt_cues(SrtWriter().render(plain))] == \
        [["Good evening. Good evening to you."]]
    assert "<v" not in VttWriter().render(plain)


def test_vtt_voice_tags_escape_the_name_and_text() -> None:
    t = transcript_of(timed("Profits & losses <up> -->", 0.0, "A"), names=[Speaker("A", "Bob <Jr> & Co")])
    vtt = VttWriter().render(t)
    assert "<v Bob &lt;Jr&gt; &amp; Co>Profits &amp; losses &lt;up&gt; --&gt;</v>" in vtt
    assert "Bob <Jr> & Co: Profits & losses <up> -->" in SrtWriter().render(t)
    assert vtt_cues(vtt)[0][2] == [("Bob <Jr> & Co", "Profits & losses <up> -->")]


def test_cue_timing_is_monotone_with_overlapping_speakers() -> None:
    """Three speakers talking over each other within a second: cues stay ordered and the rules
    that had to give are reported."""
    words = [Word(1.0, 1.0, " one.", speaker="A"), Word(0.9, 1.5, " two.", speaker="B"),
             Word(1.2, 1.3, " three.", speaker="C"), Word(1.25, 1.4, " four.", speaker="A")]
    t = Transcript(segments=tuple(Segment(w.start, w.end, w.text.strip(), (w,), w.speaker) for w in words))
    for options in (OutputOptions(), OutputOptions(max_lines=1)):
        broken = check_transcript(t, options)
        assert broken  # three speakers in 0.4 s cannot all be read
        assert qa_line(qa_summary(t, options)).count("(") == len(broken)


def test_qa_summary_is_small_and_json_able() -> None:
    import json

    t = monologue(random.Random(2), seconds=60, cps=25.0)
    summary = qa_summary(t)
    assert json.loads(json.dumps(summary)) == summary
    assert set(summary) == {"cues", "rules", "issues"}
    for entry in summary["issues"].values():
        assert set(entry) == {"count", "reason", "examples"} and len(entry["examples"]) <= 3
    assert qa_summary(Transcript(segments=())) == {**summary, "cues": 0, "issues": {}}
    assert qa_line(qa_summary(Transcript(segments=()))) == "subtitles: 0 cues, every rule met"


# --- the QA summary reaches the JSON, stderr and the batch ledger ----------------------------------


def test_json_written_with_subtitles_carries_their_qa_summary(tmp_path: Path) -> None:
    t = monologue(random.Random(7), 40.0)
    paths = {p.suffix: p for p in write_outputs(t, tmp_path, "news", ["json", "srt"])}
    written = json.loads(paths[".json"].read_text(encoding="utf-8"))
    assert written["subtitles"] == qa_summary(t, OutputOptions())
    assert written["subtitles"]["cues"] == len(srt_cues(paths[".srt"].read_text(encoding="utf-8")))
    assert Transcript.from_json(paths[".json"].read_text(encoding="utf-8")) == t  # still reads back
    alone = write_outputs(t, tmp_path / "alone", "news", ["json"])
    assert "subtitles" not in json.loads(alone[0].read_text(encoding="utf-8"))


def test_subtitle_note_is_the_qa_line_when_subtitles_are_written() -> None:
    t = monologue(random.Random(8), 20.0)
    assert subtitle_note(t, OutputOptions(formats=("txt", "vtt"))) == qa_line(qa_summary(t, OutputOptions()))
    assert subtitle_note(t, OutputOptions(formats=("txt", "json"))) is None


def test_layout_options_count_for_batch_resume_only_when_changed() -> None:
    from podium.batch.runner import options_hash
    from podium.pipeline import TranscribeOptions

    default = options_hash(TranscribeOptions())
    assert options_hash(TranscribeOptions(output=OutputOptions(output_dir="elsewhere"))) == default
    assert options_hash(TranscribeOptions(output=OutputOptions(max_cps=20.0))) != default
