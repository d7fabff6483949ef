"""Every format podium both writes and reads survives a write -> read round trip: words, speakers and
times come back within the format's precision. Hand-made transcripts, no models."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from podium.evaluate.readers import read_reference
from podium.evaluate.reference import Reference, reference_from_transcript
from podium.formats import WRITERS, write_outputs
from podium.formats.clock import clock, parse_clock
from podium.formats.cues import build_cues
from podium.formats.json_format import JsonWriter, read_podium_json
from podium.formats.rttm import RttmWriter, read_turns
from podium.formats.srt import SrtWriter, read_srt
from podium.formats.txt import TxtWriter, read_podium_txt
from podium.formats.vtt import VttWriter, read_vtt
from podium.transcript import Segment, Speaker, SpeakerTurn, Transcript, Word, merge_turns, segment_text

SPEECH = [
    ("SPEAKER_1", "Good evening. The council voted today to approve the budget for schools and roads, "
                  "a plan that took three years to draft."),
    ("SPEAKER_1", "It goes to the mayor tonight."),  # same speaker again: one txt paragraph with the above
    ("SPEAKER_2", "Is that final?"),
    ("SPEAKER_3", "Oui, c'est définitif. Ça commence lundi à huit heures."),
]
NAMES = (Speaker("SPEAKER_1", "Ann Lee"), Speaker("SPEAKER_2", "Émile Zola"))  # SPEAKER_3 keeps its label


def make(offset: float = 0.0, speakers: bool = True) -> Transcript:
    """Words of 0.3 s with 0.05 s gaps, 0.8 s between segments, times in milliseconds like real ones."""
    segments, turns, t = [], [], offset + 1.0
    for label, text in SPEECH:
        speaker = label if speakers else None
        words = []
        for part in text.split():
            words.append(Word(round(t, 3), round(t + 0.3, 3), " " + part, 0.9, speaker))
            t += 0.35
        segments.append(Segment(words[0].start, words[-1].end, segment_text(words), tuple(words), speaker))
        turns.append(SpeakerTurn(words[0].start, words[-1].end, label))
        t += 0.8
    return Transcript(segments=tuple(segments), language="fr", duration=t + 2.0, source="/news/evening.mp4",
                      speakers=NAMES if speakers else (), turns=tuple(turns) if speakers else ())


TRANSCRIPTS = {
    "speakers": make(),
    "no speakers": make(speakers=False),
    "past an hour": make(offset=3720.0),
    "empty": Transcript(segments=()),
}
cases = pytest.mark.parametrize("t", TRANSCRIPTS.values(), ids=TRANSCRIPTS.keys())
X = Path("written")  # readers name the file in errors and in `source` only


@cases
def test_txt_round_trip(t: Transcript) -> None:
    """One paragraph per speaker turn (one line per segment without speakers), stamped to the second."""
    ref = read_podium_txt(X, TxtWriter().render(t))
    expected = merge_turns(t.segments) if t.speakers else t.segments
    assert [(u.speaker, u.start, u.text) for u in ref.utterances] == \
        [(t.speaker_name(s.speaker), float(int(s.start)), s.text) for s in expected]


@cases
@pytest.mark.parametrize(("writer", "reader"), [(SrtWriter, read_srt), (VttWriter, read_vtt)],
                         ids=["srt", "vtt"])
def test_subtitles_round_trip(t: Transcript, writer: type[SrtWriter | VttWriter],
                              reader: Callable[[Path, str], Reference]) -> None:
    """Cue for cue to the millisecond; every word once, in order, under its speaker's display name."""
    ref = reader(X, writer().render(t))
    cues = build_cues(t)
    assert [(u.speaker, u.text) for u in ref.utterances] == [(c.speaker, c.text) for c in cues]
    for u, cue in zip(ref.utterances, cues, strict=True):
        assert (u.start, u.end) == pytest.approx((cue.start_ms / 1000, cue.end_ms / 1000), abs=1e-6)
    words = iter(t.words)
    for u in ref.utterances:
        mine = [next(words) for _ in u.text.split()]
        assert [w.text.strip() for w in mine] == u.text.split()
        assert {t.speaker_name(w.speaker) for w in mine} == {u.speaker}
        assert u.start == pytest.approx(mine[0].start, abs=0.0005)
        assert u.end >= mine[-1].end - 0.0805  # or ends the 2 frames (80 ms) cues keep apart earlier
    assert next(words, None) is None


@cases
def test_json_round_trip(t: Transcript) -> None:
    written = JsonWriter().render(t)
    assert Transcript.from_json(written) == t
    assert read_podium_json(X, written) == reference_from_transcript(t)


@cases
def test_rttm_round_trip(t: Transcript) -> None:
    """The diarizer's turns, labels kept, times to the millisecond (an end is start + a rounded duration)."""
    turns = read_turns(X, RttmWriter().render(t))
    assert [turn.speaker for turn in turns] == [turn.speaker for turn in t.turns]
    for got, kept in zip(turns, t.turns, strict=True):
        assert got.start == pytest.approx(kept.start, abs=0.0005)
        assert got.end == pytest.approx(kept.end, abs=0.001)


def test_rttm_without_turns_round_trips_the_labelled_segments_as_turns() -> None:
    t = make()
    t = Transcript(segments=t.segments, speakers=t.speakers)
    turns = read_turns(X, RttmWriter().render(t))
    assert [(turn.speaker, turn.start, turn.end) for turn in turns] == \
        [(s.speaker, pytest.approx(s.start, abs=0.0005), pytest.approx(s.end, abs=0.001))
         for s in merge_turns(t.segments)]


def test_written_files_are_detected_and_read_back(tmp_path: Path) -> None:
    """What `podium` writes, `podium evaluate` reads without being told the format."""
    t = make()
    paths = {p.suffix[1:]: p for p in write_outputs(t, tmp_path, "news", list(WRITERS))}
    detected = {ext: read_reference(paths[ext]) for ext in ("txt", "srt", "vtt", "json", "rttm")}
    assert {ext: ref.format for ext, ref in detected.items()} == {
        "txt": "podium-txt", "srt": "srt", "vtt": "vtt", "json": "podium-json", "rttm": "rttm"}
    for ext in ("txt", "srt", "vtt", "json"):
        assert detected[ext].text.split() == t.text.split(), ext
        assert detected[ext].speakers == ("Ann Lee", "Émile Zola", "SPEAKER_3"), ext
    assert [turn.speaker for turn in detected["rttm"].turns] == [turn.speaker for turn in t.turns]


@pytest.mark.xfail(strict=True, reason="the WebVTT reader does not decode &amp; &lt; &gt;, which the writer "
                                       "must escape; left as it was in the formats refactor")
def test_vtt_round_trips_escaped_characters() -> None:
    t = make()
    t = Transcript(segments=t.segments, speakers=(Speaker("SPEAKER_1", "Bob <Jr> & Co"),))
    ref = read_vtt(X, VttWriter().render(t))
    assert ref.utterances[0].speaker == "Bob <Jr> & Co"


@pytest.mark.parametrize(("seconds", "short", "auto", "long"), [
    (0.4, "00:00", "00:00", "0:00:00"), (59.9, "00:59", "00:59", "0:00:59"),
    (3599.99, "59:59", "59:59", "0:59:59"),
    (3600.0, "60:00", "1:00:00", "1:00:00"), (3725.2, "62:05", "1:02:05", "1:02:05"),
    (259207.0, "4320:07", "72:00:07", "72:00:07"), (-1.5, "00:00", "00:00", "0:00:00"),
])
def test_clock_shapes(seconds: float, short: str, auto: str, long: str) -> None:
    """txt and png choose per file, progress per value (hours=None), the batch report always shows hours."""
    assert (clock(seconds), clock(seconds, hours=None), clock(seconds, hours=True)) == (short, auto, long)
    if seconds >= 0:
        assert parse_clock(long) == float(int(seconds))
