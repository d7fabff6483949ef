"""Every reader on a good and a malformed hand-made file; malformed ones fail as `file:line: expected`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from podium.errors import PodiumError
from podium.evaluate.readers import (
    TranscriptFormatError,
    detect_format,
    read_reference,
    read_uem,
    split_speaker,
)
from podium.evaluate.reference import reference_from_transcript, speaker_turns
from podium.transcript import Segment, Speaker, SpeakerTurn, Transcript, Word

DATA = Path(__file__).parent / "data" / "eval"


def texts(path: str, fmt: str | None = None) -> list[tuple[str | None, float | None, str]]:
    ref = read_reference(DATA / path, fmt)
    return [(u.speaker, u.start, u.text) for u in ref.utterances]


@pytest.mark.parametrize(("name", "expected"), [
    ("plain.txt", "text"), ("podium.txt", "podium-txt"), ("captions_page.txt", "captions"),
    ("voices.srt", "srt"), ("voices.vtt", "vtt"), ("interview_ref.stm", "stm"), ("words.ctm", "ctm"),
    ("der_ref.rttm", "rttm"), ("interview_hyp.json", "podium-json"), ("whisperx.json", "whisperx-json"),
])
def test_formats_are_detected(name: str, expected: str) -> None:
    assert read_reference(DATA / name).format == expected


def test_content_decides_when_the_extension_does_not(tmp_path: Path) -> None:
    for source, expected in [("voices.srt", "srt"), ("voices.vtt", "vtt"), ("der_ref.rttm", "rttm"),
                             ("whisperx.json", "whisperx-json"), ("podium.txt", "podium-txt")]:
        copy = tmp_path / f"{expected}.txt"
        copy.write_text((DATA / source).read_text(encoding="utf-8"), encoding="utf-8")
        assert detect_format(copy, copy.read_text(encoding="utf-8")) == expected
    music = tmp_path / "music.txt"
    music.write_text("[Music] and then words\n", encoding="utf-8")
    assert read_reference(music).format == "text"


def test_plain_text() -> None:
    assert texts("plain.txt") == [(None, None, "Good morning, Mr. Witkoff."),
                                  (None, None, "Thank you for having me.")]


def test_podium_txt_paragraphs_with_and_without_names() -> None:
    assert texts("podium.txt") == [
        ("Anna", 0.0, "Good morning, Mr. Witkoff. How was the flight?"),
        ("Ben Carter", 4.0, "Thank you for having me."),
        (None, 3723.0, "We are in Bucharest today."),
    ]


def test_captions_page_keeps_only_timestamped_lines() -> None:
    assert texts("captions_page.txt") == [(None, 0.0, "Good morning, Mr. Witkoff."),
                                          (None, 4.0, "thank you for having me"),
                                          (None, 3723.0, "we are in Bucharest today")]


def test_srt_with_voice_tags_and_name_prefixes() -> None:
    ref = read_reference(DATA / "voices.srt")
    assert [(u.speaker, u.start, u.end, u.text) for u in ref.utterances] == [
        ("Anna", 0.0, 4.0, "Good morning, Mr. Witkoff."),
        ("Ben", 4.0, 8.0, "Thank you for having me."),
        (None, 8.0, 12.0, "We are in Bucharest today."),
    ]


def test_vtt_with_voice_tags_notes_and_settings() -> None:
    ref = read_reference(DATA / "voices.vtt")
    assert [(u.speaker, u.start, u.end, u.text) for u in ref.utterances] == [
        ("Anna", 0.0, 4.0, "Good morning, Mr. Witkoff."),
        ("Ben", 4.0, 8.0, "Thank you for having me."),
    ]
    turns, source = speaker_turns(ref)
    assert source == "utterances" and turns[1] == SpeakerTurn(4.0, 8.0, "Ben")


def test_stm_drops_labels_and_comments() -> None:
    assert texts("interview_ref.stm") == [("Anna", 0.0, "Good morning, Mr. Witkoff."),
                                          ("Ben", 4.0, "Thank you for having me."),
                                          ("Anna", 8.0, "We are in Bucharest today.")]


def test_ctm_gives_timed_words_without_speakers() -> None:
    ref = read_reference(DATA / "words.ctm")
    assert [(w.text, w.start, w.end) for w in ref.words][:2] == [("good", 0.0, 0.4), ("morning", 0.4, 0.9)]
    assert ref.text == "good morning mister witkoff"
    assert all(w.speaker is None for w in ref.words)


def test_rttm_gives_turns_only() -> None:
    ref = read_reference(DATA / "der_hyp.rttm")
    assert ref.utterances == () and not ref.has_text
    assert ref.turns == (SpeakerTurn(0.0, 12.0, "spk1"), SpeakerTurn(12.0, 18.0, "spk2"),
                         SpeakerTurn(19.0, 22.0, "spk2"))


def test_podium_json_words_speakers_and_turns() -> None:
    ref = read_reference(DATA / "interview_hyp.json")
    assert [u.speaker for u in ref.utterances] == ["SPEAKER_01", "SPEAKER_00", "SPEAKER_00", "SPEAKER_01"]
    assert ref.words[3].text == "Witko." and ref.words[3].start == 1.5
    assert speaker_turns(ref)[1] == "turns"


def test_whisperx_json_words_may_lack_times() -> None:
    ref = read_reference(DATA / "whisperx.json")
    assert ref.utterances[0].text == "It cost twenty five people."
    untimed = ref.utterances[1].words[1]
    assert (untimed.text, untimed.start, untimed.speaker) == ("2008,", None, "SPEAKER_01")


def test_transcript_in_memory_uses_display_names() -> None:
    words = (Word(0.0, 0.5, "Hello", speaker="SPEAKER_00"), Word(0.5, 1.0, "there", speaker="SPEAKER_00"))
    transcript = Transcript(segments=(Segment(0.0, 1.0, "Hello there", words, "SPEAKER_00"),),
                            speakers=(Speaker("SPEAKER_00", "Mark Rutte"),),
                            turns=(SpeakerTurn(0.0, 1.2, "SPEAKER_00"),))
    ref = reference_from_transcript(transcript)
    assert ref.utterances[0].speaker == "Mark Rutte"
    assert {w.speaker for w in ref.words} == {"Mark Rutte"}
    assert ref.turns == (SpeakerTurn(0.0, 1.2, "Mark Rutte"),)


def test_uem_regions() -> None:
    assert read_uem(DATA / "der.uem") == ((0.0, 21.0),)


@pytest.mark.parametrize(("name", "fmt", "where", "expected"), [
    ("bad_podium.txt", None, "bad_podium.txt:1", "expected a paragraph starting with a [mm:ss] timestamp"),
    ("no_stamps_page.txt", "captions", "no_stamps_page.txt", "expected lines starting with a timestamp"),
    ("bad.srt", None, "bad.srt:6", "expected a cue timing line like '00:00:01,000 --> 00:00:02,500'"),
    ("bad.vtt", None, "bad.vtt:1", "expected the header 'WEBVTT'"),
    ("bad.stm", None, "bad.stm:2", "expected start as a number of seconds, got 'four'"),
    ("bad.ctm", None, "bad.ctm:2", "expected 'file channel start duration word [confidence]'"),
    ("bad.rttm", None, "bad.rttm:2", "expected start as a number of seconds, got 'ten'"),
    ("bad_version.json", None, "bad_version.json", "unsupported podium JSON version 99"),
    ("bad_whisperx.json", None, "bad_whisperx.json", "segments[0].words[0]: expected an object with a"),
    ("bad_syntax.json", None, "bad_syntax.json:3", "expected JSON"),
    ("plain.txt", "rttm", "plain.txt:1", "expected 'SPEAKER file channel start duration"),
])
def test_malformed_files_fail_with_file_line_and_expectation(name: str, fmt: str | None, where: str,
                                                             expected: str) -> None:
    with pytest.raises(TranscriptFormatError) as caught:
        read_reference(DATA / name, fmt)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(DATA / where) + ":")
    assert expected in message


def test_bad_uem_and_missing_files_fail_in_one_line(tmp_path: Path) -> None:
    expected = f"{DATA / 'bad.uem'}:1: expected 'file channel start end'"
    with pytest.raises(PodiumError, match=re.escape(expected)):
        read_uem(DATA / "bad.uem")
    with pytest.raises(PodiumError, match="cannot read file"):
        read_reference(tmp_path / "missing.srt")


def test_text_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    latin = tmp_path / "latin1.txt"
    latin.write_bytes("first line\nna\u00efve caf\u00e9\n".encode("latin-1"))
    with pytest.raises(TranscriptFormatError, match=r"latin1\.txt:2: expected UTF-8 text"):
        read_reference(latin)


@pytest.mark.parametrize(("line", "expected"), [
    ("SPEAKER_00: hello", ("SPEAKER_00", "hello")),
    ("Mark Rutte: we welcome", ("Mark Rutte", "we welcome")),
    ("Speaker 2: yes", ("Speaker 2", "yes")),
    ("and the answer is: no", (None, "and the answer is: no")),
    ("10:30 was the time", (None, "10:30 was the time")),
])
def test_speaker_prefix_needs_a_capitalised_name(line: str, expected: tuple[str | None, str]) -> None:
    assert split_speaker(line) == expected
