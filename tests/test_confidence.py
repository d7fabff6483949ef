"""`--mark-uncertain` in the txt output: which turns get `[?]`, and that `podium evaluate` still reads
the speaker of a marked paragraph. Hand-made transcripts with hand-set confidences, no models."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from podium.evaluate.readers import read_reference
from podium.formats import OutputOptions, write_outputs
from podium.formats.txt import TxtWriter, read_podium_txt, uncertain_turn
from podium.transcript import Segment, Speaker, SpeakerTurn, Transcript, Word, segment_text

X = Path("written")
NAMES = (Speaker("SPEAKER_1", "Secretary-General"), Speaker("SPEAKER_2", "Ann Lee"))


def words(text: str, confidences: list[float | None], start: float = 0.0,
          speaker: str | None = "SPEAKER_1") -> tuple[Word, ...]:
    parts = text.split()
    assert len(parts) == len(confidences)
    return tuple(Word(start + 0.4 * i, start + 0.4 * i + 0.3, " " + part, 0.9, speaker, confidence)
                 for i, (part, confidence) in enumerate(zip(parts, confidences, strict=True)))


def transcript(*turns: tuple[str, str, list[float | None]]) -> Transcript:
    """One segment per (speaker, text, confidences), 101 s in, 5 s apart."""
    segments = []
    for i, (speaker, text, confidences) in enumerate(turns):
        mine = words(text, confidences, start=101.0 + 5.0 * i, speaker=speaker)
        segments.append(Segment(mine[0].start, mine[-1].end, segment_text(mine), mine, speaker))
    return Transcript(segments=tuple(segments), duration=200.0, speakers=NAMES)


MIXED = transcript(
    ("SPEAKER_1", "The council met today.", [0.97, 0.98, 0.95, 0.4]),  # 1 of 4 doubtful: sure
    ("SPEAKER_2", "Is that final?", [0.3, 0.45, 0.9]),  # 2 of 3: uncertain
    ("SPEAKER_1", "It is.", [0.3, 0.9]),  # 1 of 2 (more than a third): uncertain
)


def render(t: Transcript, mark: bool) -> str:
    return TxtWriter(OutputOptions(mark_uncertain=mark)).render(t)


def test_uncertain_turns_get_a_marker_after_the_name():
    assert render(MIXED, mark=True) == (
        "[01:41] Secretary-General: The council met today.\n\n"
        "[01:46] Ann Lee [?]: Is that final?\n\n"
        "[01:51] Secretary-General [?]: It is.\n")


def test_no_marker_unless_asked():
    assert "[?]" not in render(MIXED, mark=False)
    assert "[?]" not in TxtWriter().render(MIXED)


@pytest.mark.parametrize(("confidences", "uncertain"), [
    ([0.9, 0.9, 0.4], False),  # exactly a third is not more than a third
    ([0.9, 0.4, 0.4], True),
    ([0.9, 0.9, 0.9, 0.4, 0.4], True),  # 2 of 5
    ([0.5, 0.5], False),  # 0.5 is not below 0.5
    ([0.49], True),
    ([None, None, 0.4, 0.9, 0.9], False),  # words without a confidence are left out: 1 of 3
    ([None, None], False),  # no diarization: never uncertain
    ([], False),
])
def test_uncertain_turn_rule(confidences: list[float | None], uncertain: bool):
    text = " ".join(f"w{i}" for i in range(len(confidences)))
    assert uncertain_turn(words(text, confidences) if confidences else ()) is uncertain


def test_a_turn_is_judged_on_all_its_segments():
    # Two segments of one speaker are one paragraph: 2 doubtful words of 6 is a third, not more.
    t = transcript(("SPEAKER_1", "One two three.", [0.4, 0.9, 0.9]),
                   ("SPEAKER_1", "Four five six.", [0.4, 0.9, 0.9]))
    assert render(t, mark=True) == "[01:41] Secretary-General: One two three. Four five six.\n"


def test_without_speakers_nothing_is_marked():
    segment_words = words("Plain text here.", [0.1, 0.1, 0.1], start=1.0, speaker=None)
    t = Transcript(segments=(Segment(1.0, 2.0, segment_text(segment_words), segment_words),))
    assert render(t, mark=True) == "[00:01] Plain text here.\n"


def test_marked_txt_round_trips_with_the_right_speakers():
    """What `--mark-uncertain` writes reads back as the unmarked file does: same speakers, text, times."""
    marked = read_podium_txt(X, render(MIXED, mark=True))
    plain = read_podium_txt(X, render(MIXED, mark=False))
    assert marked == plain
    assert [(u.speaker, u.start, u.text) for u in marked.utterances] == [
        ("Secretary-General", 101.0, "The council met today."),
        ("Ann Lee", 106.0, "Is that final?"),
        ("Secretary-General", 111.0, "It is.")]


def test_marked_file_is_detected_and_read_by_evaluate(tmp_path: Path):
    path, _provenance = write_outputs(MIXED, tmp_path, "news", ["txt"], OutputOptions(mark_uncertain=True))
    assert "[?]" in path.read_text()
    reference = read_reference(path)
    assert reference.format == "podium-txt"
    assert reference.speakers == ("Secretary-General", "Ann Lee")
    assert "[?]" not in reference.text


def test_a_bracketed_question_mark_in_the_text_is_kept():
    ref = read_podium_txt(X, "[00:05] and then he said [?]: nothing more\n")
    assert [(u.speaker, u.text) for u in ref.utterances] == [(None, "and then he said [?]: nothing more")]
    ref = read_podium_txt(X, "[00:05] Ann Lee [?]: Is that final [?]: yes\n")
    assert [(u.speaker, u.text) for u in ref.utterances] == [("Ann Lee", "Is that final [?]: yes")]


def test_numpy_turn_times_still_give_plain_json_values() -> None:
    """Diarization hands back numpy floats; an overlapped word's flag once came out as numpy's bool,
    and writing the JSON of a 10-minute meeting failed on it."""
    from podium.align import attribute
    from podium.diarize import DiarizationResult
    from podium.speakers import SpeakerOptions

    words = tuple(Word(start=0.2 * i, end=0.2 * i + 0.15, text=" word") for i in range(10))
    transcript = Transcript(segments=(Segment(0.0, 2.0, "word " * 10, words),), duration=2.0)
    a, b = np.float64(0.0), np.float64(1.0)
    turns = (SpeakerTurn(a, b, "A"), SpeakerTurn(b, np.float64(2.0), "B"))
    overlapping = (*turns, SpeakerTurn(np.float64(0.5), np.float64(1.5), "C"))
    result = attribute(transcript, DiarizationResult(turns, overlapping, centroids={}), SpeakerOptions())
    assert any(w.overlap for w in result.words)
    assert all(type(w.overlap) is bool and type(w.speaker_confidence) is float for w in result.words)
    json.loads(result.to_json())
