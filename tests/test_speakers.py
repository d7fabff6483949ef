"""Speaker relabelling and naming: order of appearance, precedence, and one-line errors for bad input."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from podium.asr import AsrResult
from podium.diarize import DiarizationResult
from podium.errors import PodiumError
from podium.formats.json_format import JsonWriter
from podium.formats.png import PngWriter
from podium.formats.rttm import RttmWriter
from podium.media import Audio
from podium.options import add_arguments, from_args
from podium.pipeline import Podium, TranscribeOptions
from podium.speakers import (
    SpeakerOptions,
    load_speaker_map,
    name_speakers,
    parse_enrollments,
    relabel_by_first_appearance,
)
from podium.transcript import Segment, Speaker, SpeakerTurn, Word


def test_relabel_follows_first_spoken_word_then_first_turn():
    turns = (SpeakerTurn(0.0, 1.0, "SPEAKER_02"), SpeakerTurn(1.0, 2.0, "SPEAKER_00"),
             SpeakerTurn(2.0, 3.0, "SPEAKER_01"), SpeakerTurn(5.0, 6.0, "SPEAKER_03"))
    # SPEAKER_02 holds the first turn but its words were lost; SPEAKER_03 never has a word either.
    words = (Word(1.2, 1.5, " Good", speaker="SPEAKER_00"), Word(2.1, 2.4, " evening", speaker="SPEAKER_01"),
             Word(2.5, 2.7, " all", speaker="SPEAKER_00"), Word(2.8, 2.9, " um"))
    new_words, new_turns, mapping = relabel_by_first_appearance(words, turns)
    assert mapping == {"SPEAKER_00": "SPEAKER_1", "SPEAKER_01": "SPEAKER_2", "SPEAKER_02": "SPEAKER_3",
                       "SPEAKER_03": "SPEAKER_4"}
    assert [w.speaker for w in new_words] == ["SPEAKER_1", "SPEAKER_2", "SPEAKER_1", None]
    assert [t.speaker for t in new_turns] == ["SPEAKER_3", "SPEAKER_1", "SPEAKER_2", "SPEAKER_4"]
    assert [(t.start, t.end) for t in new_turns] == [(t.start, t.end) for t in turns]
    assert [w.text for w in new_words] == [w.text for w in words]


def test_relabel_turns_given_out_of_order():
    turns = (SpeakerTurn(4.0, 5.0, "b"), SpeakerTurn(0.0, 1.0, "a"))
    _, new_turns, mapping = relabel_by_first_appearance((), turns)
    assert mapping == {"a": "SPEAKER_1", "b": "SPEAKER_2"}
    assert [t.speaker for t in new_turns] == ["SPEAKER_2", "SPEAKER_1"]


def test_relabel_nothing():
    assert relabel_by_first_appearance((), ()) == ((), (), {})


def write_map(tmp_path, content: str):
    path = tmp_path / "names.json"
    path.write_text(content, encoding="utf-8")
    return str(path)


def test_name_precedence_map_then_enrollment_then_list_then_label(tmp_path):
    options = SpeakerOptions(speaker_names=("Anchor", "Guest", "Caller"),
                             speaker_map=write_map(tmp_path, json.dumps({"SPEAKER_2": "Dr. Ada Lovelace"})))
    labels = ("SPEAKER_1", "SPEAKER_2", "SPEAKER_3", "SPEAKER_4")
    enrolled = {"SPEAKER_2": "enrolled-but-mapped", "SPEAKER_3": "Jane Doe"}
    assert name_speakers(labels, options, enrolled) == (
        Speaker("SPEAKER_1", "Anchor"),
        Speaker("SPEAKER_2", "Dr. Ada Lovelace"),
        Speaker("SPEAKER_3", "Jane Doe"),
        Speaker("SPEAKER_4", "SPEAKER_4"),
    )


def test_default_names_are_the_labels():
    assert name_speakers(["SPEAKER_1"], SpeakerOptions()) == (Speaker("SPEAKER_1", "SPEAKER_1"),)
    assert name_speakers([], SpeakerOptions(speaker_names=("x",))) == ()


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", "not valid JSON"),
    ("[\"Anna\"]", "must be a JSON object"),
    ('{"SPEAKER_1": 3}', "must be a non-empty string"),
    ('{"SPEAKER_1": "  "}', "must be a non-empty string"),
])
def test_bad_speaker_maps_are_one_line_errors(tmp_path, content, message):
    with pytest.raises(PodiumError, match=message) as caught:
        load_speaker_map(write_map(tmp_path, content))
    assert "\n" not in str(caught.value)


def test_missing_speaker_map(tmp_path):
    with pytest.raises(PodiumError, match="speaker map not found"):
        name_speakers(["SPEAKER_1"], SpeakerOptions(speaker_map=str(tmp_path / "nope.json")))


def test_speaker_map_accepts_unicode_names(tmp_path):
    path = write_map(tmp_path, json.dumps({"SPEAKER_1": "Zoë Ünal"}, ensure_ascii=False))
    assert load_speaker_map(path) == {"SPEAKER_1": "Zoë Ünal"}


def test_enrollments_parse_into_name_path_pairs(tmp_path):
    clip = tmp_path / "jane.wav"
    clip.write_bytes(b"RIFF")
    pairs = parse_enrollments([f"Jane Doe={clip}", f" Jane Doe = {clip} ", f"Bo={clip}"])
    assert pairs == (("Jane Doe", clip), ("Jane Doe", clip), ("Bo", clip))


@pytest.mark.parametrize("value", ["Jane", "=clip.wav", "Jane=", "  =  "])
def test_malformed_enrollments(value):
    with pytest.raises(PodiumError, match="NAME=CLIP"):
        parse_enrollments([value])


def test_enrollment_clip_must_exist(tmp_path):
    with pytest.raises(PodiumError, match="no such audio file"):
        SpeakerOptions(enroll=(f"Jane={tmp_path / 'missing.wav'}",)).enrollments()


def test_options_are_cli_flags(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the options check their files as soon as they are made
    for name, content in (("m.json", "{}"), ("a.wav", "RIFF"), ("b.wav", "RIFF")):
        (tmp_path / name).write_text(content)
    parser = argparse.ArgumentParser()
    add_arguments(parser, SpeakerOptions, "speakers")
    args = parser.parse_args(["--speaker-names", "Anna, Bob,", "--speaker-map", "m.json",
                              "--enroll", "Anna=a.wav", "--enroll", "Bob=b.wav"])
    assert from_args(SpeakerOptions, args, "speakers") == SpeakerOptions(
        speaker_names=("Anna", "Bob"), speaker_map="m.json", enroll=("Anna=a.wav", "Bob=b.wav"))
    assert from_args(SpeakerOptions, parser.parse_args([]), "speakers") == SpeakerOptions()


def test_a_speaker_heard_only_under_another_gets_a_label_like_everyone():
    """Issue 11: a diarizer speaker with overlapping turns but no exclusive turn kept its raw label
    (SPEAKER_01) in the JSON turns, the RTTM and the PNG, next to SPEAKER_1 and outside the speakers."""
    words = (Word(0.5, 0.9, " Hello"), Word(1.0, 1.4, " there."), Word(3.0, 3.4, " Yes."))
    asr = AsrResult((Segment(0.5, 3.4, "Hello there. Yes.", words),), "en", 1.0, "tiny.en")
    exclusive = (SpeakerTurn(0.0, 2.0, "SPEAKER_00"), SpeakerTurn(2.5, 4.0, "SPEAKER_02"))
    under = SpeakerTurn(1.0, 1.8, "SPEAKER_01")  # only ever heard under SPEAKER_00
    diarization = DiarizationResult(turns=exclusive, overlapping_turns=(*exclusive, under), centroids={})
    options = TranscribeOptions(speakers=SpeakerOptions(speaker_names=("Host", "Guest", "Caller")))
    transcript = Podium(options).align(Audio(np.zeros(4 * 16000, np.float32)), asr, diarization)
    labels = [s.label for s in transcript.speakers]
    assert labels == ["SPEAKER_1", "SPEAKER_2", "SPEAKER_3"]
    assert {t.speaker for t in transcript.turns} == set(labels)
    written = JsonWriter().render(transcript) + RttmWriter().render(transcript)
    assert "SPEAKER_0" not in written
    assert [name for name, _ in PngWriter().lanes(transcript)] == ["Host", "Guest", "Caller"]
