"""Writers: every format parses back, cues follow subtitle rules, files are written atomically."""

from __future__ import annotations

import html
import io
import random
import re

import pytest
from PIL import Image
from pyannote.database.util import load_rttm

from podium.align import build_segments
from podium.errors import PodiumError
from podium.formats import WRITERS, write_outputs
from podium.formats.base import Writer
from podium.formats.clock import clock
from podium.formats.cues import CUE_LINE_CHARS, CUE_MAX_CHARS, CUE_MAX_SECONDS, build_cues
from podium.formats.png import PngWriter
from podium.formats.srt import SrtWriter
from podium.formats.txt import TxtWriter
from podium.formats.vtt import VttWriter
from podium.transcript import Segment, Speaker, SpeakerTurn, Transcript, Word
from subtitle_files import VTT_TIME, ms, srt_cues

ANN = ["the", "council", "voted", "today", "to", "approve", "the", "budget", "for", "schools", "and",
       "roads,", "a", "plan", "that", "took", "three", "years", "to", "draft.", "it", "passes", "&",
       "goes", "to", "the", "mayor", "<tonight>."]
BOB = ["is", "that", "final?", "storm", "warnings", "remain", "in", "force", "for", "the", "coast",
       "until", "friday", "morning."]


def speech(offset: float = 0.0) -> tuple[tuple[Word, ...], tuple[SpeakerTurn, ...]]:
    """Ann speaks 2 long sentences, Bob asks and talks, Ann answers: ~3 words/s, real-ish gaps."""
    rng = random.Random(7)
    words, turns, t = [], [], offset + 1.0
    for label, texts in (("SPEAKER_1", ANN), ("SPEAKER_2", BOB), ("SPEAKER_1", ["yes."])):
        start = t
        for text in texts:
            length = rng.uniform(0.2, 0.4)
            words.append(Word(round(t, 3), round(t + length, 3), " " + text, 0.9, label))
            t += length + rng.choice((0.0, 0.05))
        turns.append(SpeakerTurn(round(start, 3), round(t, 3), label))
        t += 0.4
    return tuple(words), tuple(turns)


def transcript(offset: float = 0.0, speakers: bool = True) -> Transcript:
    words, turns = speech(offset)
    if not speakers:
        words = tuple(Word(w.start, w.end, w.text, w.probability) for w in words)
    return Transcript(
        segments=build_segments(words), language="en", duration=words[-1].end + 1.0,
        source="/media/evening news.mp4", model="tiny.en",
        speakers=(Speaker("SPEAKER_1", "Ann Lee"), Speaker("SPEAKER_2", "Bob <Jr> & Co")) if speakers else (),
        turns=turns if speakers else ())


EMPTY = Transcript(segments=())

# --- tiny parsers, strict about the parts the formats require -----------------------------------

VOICE = r"<v ([^<>&]*(?:&\w+;[^<>&]*)*)>(.*)</v>"


def parse_srt(text: str) -> list[tuple[int, int, list[str]]]:
    cues = srt_cues(text, max_lines=2)
    assert not text or text.endswith("\n")
    return cues


def parse_vtt(text: str) -> list[tuple[int, int, str | None, str]]:
    """(start, end, voice, text) with entities decoded; fails on raw '<' or '&' outside tags."""
    header, *blocks = text.split("\n\n")
    assert header.strip() == "WEBVTT"
    cues = []
    for block in (b for b in blocks if b.strip()):
        timing, *body = block.strip("\n").split("\n")
        times = re.fullmatch(f"{VTT_TIME} --> {VTT_TIME}", timing)
        assert times, timing
        payload = "\n".join(body)
        voice = re.fullmatch(VOICE, payload, re.DOTALL)
        if voice is None and len(body) == 2 and any(re.match(VOICE, line) for line in body):
            # A dialogue cue: each line in its own speaker's voice tag, or none; the first one counts.
            tagged = [re.fullmatch(VOICE, line) for line in body]
            voice_name = next(m.group(1) for m in tagged if m)
            inner = "\n".join(m.group(2) if m else line for m, line in zip(tagged, body, strict=True))
        else:
            voice_name, inner = (voice.group(1), voice.group(2)) if voice else (None, payload)
        assert "<" not in inner and "-->" not in inner
        assert not re.search(r"&(?!amp;|lt;|gt;)", inner)
        cues.append((ms(times.groups()[:4]), ms(times.groups()[4:]),
                     html.unescape(voice_name) if voice_name else None, html.unescape(inner)))
    return cues


def assert_timeline(cues) -> None:
    previous_end = 0
    for start, end, *_ in cues:
        assert previous_end <= start < end
        previous_end = end


# --- subtitles ------------------------------------------------------------------------------------


def test_srt_parses_back_with_speaker_prefixes_and_all_words():
    t = transcript()
    cues = parse_srt(SrtWriter().render(t))
    assert_timeline(cues)
    assert len(cues) > 3
    texts = [" ".join(lines) for _, _, lines in cues]
    # The name prefixes the first cue of each turn (Ann, Bob, Ann) and no other.
    assert texts[0].startswith("Ann Lee: ")
    assert [x.split(": ", 1)[0] for x in texts if ": " in x] == ["Ann Lee", "Bob <Jr> & Co", "Ann Lee"]
    spoken = " ".join(x.split(": ", 1)[-1] for x in texts)
    assert spoken.split() == [w.text.strip() for w in t.words]


def test_cues_respect_length_duration_and_never_mix_speakers():
    t = transcript()
    cues = build_cues(t)
    words = list(t.words)
    for cue in cues:
        assert (cue.end_ms - cue.start_ms) / 1000 <= CUE_MAX_SECONDS
        assert sum(len(line) for line in cue.lines) <= CUE_MAX_CHARS and not cue.dialogue
        assert cue.lines[0].startswith(f"{cue.speaker}: ") == cue.turns[0].named
        # Cues cover the words in order: each cue's words, taken off the front, share its speaker.
        mine, words = words[:len(cue.text.split())], words[len(cue.text.split()):]
        assert " ".join(w.text.strip() for w in mine) == cue.text
        assert {t.speaker_name(w.speaker) for w in mine} == {cue.speaker}
    assert words == []
    for _, _, lines in parse_srt(SrtWriter().render(t)):
        assert all(len(line) <= CUE_LINE_CHARS for line in lines)
    # Cue times come from word times: the first cue starts on the first word.
    assert cues[0].start_ms == round(t.words[0].start * 1000)


def test_long_cues_prefer_to_break_after_punctuation():
    texts = [c.text for c in build_cues(transcript())]
    assert any(x.endswith(("roads,", "draft.")) for x in texts)


def test_vtt_has_header_voice_tags_and_escaped_text():
    t = transcript()
    rendered = VttWriter().render(t)
    assert rendered.startswith("WEBVTT\n\n")
    assert "<v Bob &lt;Jr&gt; &amp; Co>" in rendered
    assert "&amp; goes to the mayor &lt;tonight&gt;." in rendered
    cues = parse_vtt(rendered)
    assert_timeline(cues)
    assert {voice for *_, voice, _ in cues} == {"Ann Lee", "Bob <Jr> & Co"}
    assert " ".join(text.replace("\n", " ") for *_, text in cues).split() == [w.text.strip() for w in t.words]
    assert [c[:2] for c in cues] == [c[:2] for c in parse_srt(SrtWriter().render(t))]


def test_subtitles_without_speakers_have_no_prefix_or_voice():
    t = transcript(speakers=False)
    assert all(": " not in " ".join(lines) for _, _, lines in parse_srt(SrtWriter().render(t)))
    assert all(voice is None for _, _, voice, _ in parse_vtt(VttWriter().render(t)))


def test_segments_without_word_timings_still_make_timed_cues():
    text = "This segment came from an ASR run without word timestamps, and it is long enough to split."
    t = Transcript(segments=(Segment(2.0, 12.0, text),))
    cues = parse_srt(SrtWriter().render(t))
    assert len(cues) == 2
    assert_timeline(cues)
    assert cues[0][0] == 2000 and cues[-1][1] == 12000
    assert " ".join(" ".join(lines) for *_, lines in cues) == text


def test_overlapping_and_zero_length_words_still_give_ordered_cues():
    words = (Word(1.0, 1.0, " one."), Word(0.9, 1.5, " two.", speaker="B"),
             Word(1.2, 1.3, " three.", speaker="A"))
    t = Transcript(segments=tuple(Segment(w.start, w.end, w.text.strip(), (w,), w.speaker) for w in words))
    assert_timeline(parse_srt(SrtWriter().render(t)))
    assert_timeline(parse_vtt(VttWriter().render(t)))


def test_hour_formatting():
    assert clock(59.9) == "00:59" and clock(3599.99) == "59:59"
    assert clock(3725.2, hours=True) == "1:02:05" and clock(5.0, hours=True) == "0:00:05"
    late = transcript(offset=3720.0)
    assert TxtWriter().render(late).startswith("[1:02:01] Ann Lee: the council")
    assert parse_srt(SrtWriter().render(late))[0][0] == 3721000
    assert "01:02:01.000 --> " in VttWriter().render(late)
    early_in_long_file = Transcript(segments=(Segment(5.0, 6.0, "Hi."),), duration=4000.0)
    assert TxtWriter().render(early_in_long_file) == "[0:00:05] Hi.\n"


# --- txt / json / tsv / rttm / png ----------------------------------------------------------------


def test_txt_with_speakers_is_one_paragraph_per_turn():
    rendered = TxtWriter().render(transcript())
    paragraphs = rendered.rstrip("\n").split("\n\n")
    assert [p.split("] ", 1)[1].split(": ")[0] for p in paragraphs] == ["Ann Lee", "Bob <Jr> & Co", "Ann Lee"]
    assert paragraphs[0].startswith("[00:01] Ann Lee: the council voted")
    assert paragraphs[2] == paragraphs[2].split("\n")[0] and paragraphs[2].endswith("Ann Lee: yes.")


def test_txt_without_speakers_is_one_line_per_segment():
    t = transcript(speakers=False)
    lines = TxtWriter().render(t).splitlines()
    assert len(lines) == len(t.segments) > 0
    assert all(re.fullmatch(r"\[\d\d:\d\d\] \S.*", line) for line in lines)


def test_json_round_trips_exactly():
    for t in (transcript(), transcript(speakers=False), EMPTY):
        assert Transcript.from_json(WRITERS["json"]().render(t)) == t


def test_tsv_has_millisecond_times_and_speaker_names():
    t = transcript()
    header, *rows = WRITERS["tsv"]().render(t).splitlines()
    assert header == "start\tend\tspeaker\ttext"
    assert len(rows) == len(t.segments)
    start, end, speaker, text = rows[0].split("\t")
    assert (int(start), int(end)) == (round(t.segments[0].start * 1000), round(t.segments[0].end * 1000))
    assert speaker == "Ann Lee" and text == t.segments[0].text


def test_rttm_loads_with_pyannote(tmp_path):
    t = transcript()
    path = tmp_path / "x.rttm"
    path.write_text(WRITERS["rttm"]().render(t))
    annotations = load_rttm(path)
    assert list(annotations) == ["evening_news"]
    annotation = annotations["evening_news"]
    assert sorted(annotation.labels()) == ["SPEAKER_1", "SPEAKER_2"]
    expected = sum(turn.duration for turn in t.turns if turn.speaker == "SPEAKER_2")
    assert annotation.label_duration("SPEAKER_2") == pytest.approx(expected, abs=0.002)


def test_rttm_falls_back_to_labelled_segments(tmp_path):
    t = transcript()
    t = Transcript(segments=t.segments, speakers=t.speakers)  # no turns kept, no source
    path = tmp_path / "x.rttm"
    path.write_text(WRITERS["rttm"]().render(t))
    annotation = load_rttm(path)["podium"]
    assert len(list(annotation.itertracks())) == 3  # Ann, Bob, Ann: segments merged into turns
    assert WRITERS["rttm"]().render(transcript(speakers=False)) == ""


def png_image(t: Transcript) -> Image.Image:
    data = PngWriter().render(t)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_png_is_a_real_image_with_one_lane_per_speaker():
    image = png_image(transcript())
    assert image.size == (1200, round(PngWriter.height_inches(2) * 100))
    assert [name for name, _ in PngWriter().lanes(transcript())] == ["Ann Lee", "Bob <Jr> & Co"]
    # The bars are drawn: plenty of non-white, non-gray pixels (the default C0/C1 colors).
    colored = sum(1 for r, g, b, *_ in image.getdata() if max(r, g, b) - min(r, g, b) > 60)
    assert colored > 2000


def test_png_without_speakers_or_speech():
    assert [name for name, _ in PngWriter().lanes(transcript(speakers=False))] == ["Speech"]
    assert png_image(transcript(speakers=False)).size[0] == 1200
    assert png_image(EMPTY).size == (1200, round(PngWriter.height_inches(0) * 100))


# --- write_outputs ------------------------------------------------------------------------------


def test_empty_transcript_renders_valid_files(tmp_path):
    paths = write_outputs(EMPTY, tmp_path, "empty", list(WRITERS))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"empty.{ext}" for ext in WRITERS)
    by_ext = {p.suffix[1:]: p for p in paths}
    assert parse_srt(by_ext["srt"].read_text()) == []
    assert parse_vtt(by_ext["vtt"].read_text()) == []
    assert Transcript.from_json(by_ext["json"].read_text()) == EMPTY
    assert by_ext["tsv"].read_text() == "start\tend\tspeaker\ttext\n"
    assert load_rttm(by_ext["rttm"]) == {}
    assert by_ext["txt"].read_text() == ""
    assert by_ext["png"].read_bytes()[:4] == b"\x89PNG"


def test_write_outputs_writes_each_format_once_and_no_temp_files(tmp_path):
    paths = write_outputs(transcript(), tmp_path / "out", "news", ["txt", "srt", "txt", "json"])
    assert [p.name for p in paths] == ["news.txt", "news.srt", "news.json"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["news.json", "news.srt", "news.txt"]
    assert paths[0].read_text() == TxtWriter().render(transcript())


class Exploding(Writer):
    extension = "boom"

    def render(self, transcript: Transcript) -> str:
        raise RuntimeError("renderer bug")


def test_a_failing_writer_leaves_no_file_at_all(tmp_path, monkeypatch):
    monkeypatch.setitem(WRITERS, "boom", Exploding)
    (tmp_path / "news.txt").write_text("previous run\n")
    with pytest.raises(RuntimeError, match="renderer bug"):
        write_outputs(transcript(), tmp_path, "news", ["srt", "txt", "boom"])
    # Nothing new, nothing half-written, the previous output untouched.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["news.txt"]
    assert (tmp_path / "news.txt").read_text() == "previous run\n"


def test_unknown_format_is_a_one_line_error(tmp_path):
    with pytest.raises(PodiumError, match="unknown output format 'doc'"):
        write_outputs(transcript(), tmp_path, "news", ["txt", "doc"])
    assert list(tmp_path.iterdir()) == []


def test_a_name_with_line_breaks_cannot_inject_a_cue():
    """Issue 11: options refuse such names; a Transcript made in Python is still written on one line."""
    t = transcript()
    fake = "Ann\n\n99\n00:00:00,000 --> 00:09:00,000\nFAKE CUE\r\n"
    t = Transcript(segments=t.segments, duration=t.duration, speakers=(Speaker("SPEAKER_1", fake),))
    srt = parse_srt(SrtWriter().render(t))  # strict: numbered blocks, a timing line, 1 or 2 text lines
    assert len(srt) == len(build_cues(t)) and all("99" not in lines[0][:3] for _, _, lines in srt)
    assert all(voice is None or "\n" not in voice for _, _, voice, _ in parse_vtt(VttWriter().render(t)))
    paragraphs = TxtWriter().render(t).strip().split("\n\n")
    assert all(re.match(r"\[\d\d:\d\d\] ", p) and "\n" not in p for p in paragraphs)
