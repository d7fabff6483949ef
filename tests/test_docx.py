"""--format docx (issue 13): a Word document read back with python-docx."""

from __future__ import annotations

import io
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import docx
import pytest

from podium.formats import WRITERS, write_outputs
from podium.formats.docx import FIXED_DATE, DocxWriter
from podium.transcript import Segment, Speaker, Transcript

CREATED = "2026-05-01T09:30:00Z"
SPECIAL = 'Ann & <Lee> "Jr" \'Q\''  # every character XML escapes
UNICODE = "Émile Zoła — 李明 (Ελλάδα)"


def transcript(speakers: bool = True, provenance: bool = True, offset: float = 0.0) -> Transcript:
    who = ("SPEAKER_0", "SPEAKER_0", "SPEAKER_1", "SPEAKER_2") if speakers else (None,) * 4
    texts = ("Good morning.", "Thank you all for coming.", "A question, please?", "Yes.")
    starts = (0.0, 4.2, 71.9, 80.0)
    segments = tuple(Segment(offset + start, offset + start + 3.0, text, speaker=speaker)
                     for start, text, speaker in zip(starts, texts, who, strict=True))
    names = (Speaker("SPEAKER_0", SPECIAL), Speaker("SPEAKER_1", UNICODE)) if speakers else ()
    return Transcript(segments=segments, language="en", duration=offset + 90.0,
                      source="/media/news/briefing.mp4", model="tiny.en", speakers=names,
                      provenance={"created": CREATED} if provenance else {})


def read(transcript: Transcript) -> docx.document.Document:
    return docx.Document(io.BytesIO(DocxWriter().render(transcript)))


def body(document: docx.document.Document) -> list[list[tuple[str, bool]]]:
    """Each paragraph after the heading and the model line, as (text, bold) runs."""
    return [[(run.text, bool(run.bold)) for run in paragraph.runs] for paragraph in document.paragraphs[2:]]


def test_heading_model_line_and_one_paragraph_per_turn() -> None:
    document = read(transcript())
    heading, model = document.paragraphs[:2]
    assert heading.style.name == "Heading 1" and heading.text == "briefing.mp4 — 2026-05-01"
    assert model.text == "Model: tiny.en"
    assert body(document) == [
        [(SPECIAL, True), (" ", False), ("[00:00]", False),
         (" Good morning. Thank you all for coming.", False)],
        [(UNICODE, True), (" ", False), ("[01:11]", False), (" A question, please?", False)],
        [("SPEAKER_2", True), (" ", False), ("[01:20]", False), (" Yes.", False)],
    ]


def test_without_speakers_one_paragraph_per_segment_with_its_stamp() -> None:
    document = read(transcript(speakers=False))
    assert [paragraph.text for paragraph in document.paragraphs[2:]] == [
        "[00:00] Good morning.", "[00:04] Thank you all for coming.", "[01:11] A question, please?",
        "[01:20] Yes."]
    assert not any(bold for runs in body(document) for _, bold in runs)


def test_hours_when_the_file_lasts_an_hour_or_more() -> None:
    stamps = [runs[2][0] for runs in body(read(transcript(offset=3540.0)))]
    assert stamps == ["[0:59:00]", "[1:00:11]", "[1:00:20]"]


def test_names_and_text_with_control_characters_still_make_a_valid_file() -> None:
    t = transcript()
    t = Transcript(segments=(Segment(0.0, 1.0, "bell\x07 and\x0bform feed\x0c here", speaker="SPEAKER_0"),),
                   model="tiny.en", speakers=(Speaker("SPEAKER_0", "Ann\x00 Lee\nJr"),),
                   provenance=t.provenance)
    assert body(read(t)) == [[("Ann Lee Jr", True), (" ", False), ("[00:00]", False),
                              (" bell andform feed here", False)]]


def test_empty_transcript_has_only_the_heading() -> None:
    document = read(Transcript(segments=()))
    assert [paragraph.text for paragraph in document.paragraphs] == ["Transcript"]


def test_core_properties_come_from_the_transcript() -> None:
    properties = read(transcript()).core_properties
    assert properties.title == "briefing.mp4" and properties.author == "podium"
    assert properties.created == properties.modified == datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
    undated = read(transcript(provenance=False))
    assert undated.core_properties.created == FIXED_DATE
    assert undated.paragraphs[0].text == "briefing.mp4"  # no date to give


def test_same_transcript_same_bytes_whenever_it_is_written(monkeypatch: pytest.MonkeyPatch) -> None:
    first = DocxWriter().render(transcript())
    later = time.time() + 3 * 86400  # zipfile dates entries with time.time(): three days on
    monkeypatch.setattr(time, "time", lambda: later)
    assert DocxWriter().render(transcript()) == first
    dates = {entry.date_time for entry in zipfile.ZipFile(io.BytesIO(first)).infolist()}
    assert dates == {(1980, 1, 1, 0, 0, 0)}


def test_registered_as_a_binary_format(tmp_path: Path) -> None:
    assert WRITERS["docx"] is DocxWriter and DocxWriter.binary
    paths = write_outputs(transcript(), tmp_path, "briefing", ["docx"])
    assert [p.name for p in paths] == ["briefing.docx", "briefing.provenance.json"]
    assert docx.Document(str(paths[0])).paragraphs[0].text == "briefing.mp4 — 2026-05-01"
