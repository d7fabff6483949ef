"""Every file format podium writes or reads, one module each (writer and reader side by side), and
the output registry: `WRITERS` by format name and `write_outputs`, which writes a set of them.

Writers take a `podium.transcript.Transcript`; speakers are optional everywhere, so a transcript
without diarization renders as plain timed text. Readers (used by `podium evaluate`) take a path and
its decoded text and return a `podium.evaluate.reference.Reference`; `podium.evaluate.readers`
decodes files, detects their format and dispatches to them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from podium.errors import OptionError
from podium.files import atomic_write_set
from podium.formats.base import Writer
from podium.formats.cues import qa_line, qa_summary
from podium.formats.docx import DocxWriter
from podium.formats.html import HtmlWriter
from podium.formats.json_format import JsonWriter
from podium.formats.png import PngWriter
from podium.formats.rttm import RttmWriter
from podium.formats.srt import SrtWriter
from podium.formats.tsv import TsvWriter
from podium.formats.txt import TxtWriter
from podium.formats.vtt import VttWriter
from podium.options import option
from podium.provenance import SIDECAR_SUFFIX, sidecar
from podium.transcript import Transcript

WRITERS: dict[str, type[Writer]] = {
    "txt": TxtWriter, "srt": SrtWriter, "vtt": VttWriter, "json": JsonWriter, "tsv": TsvWriter,
    "rttm": RttmWriter, "png": PngWriter,
    "html": HtmlWriter, "docx": DocxWriter,
}


@dataclass(frozen=True)
class OutputOptions:
    """Which files a transcript becomes, where, and how they are laid out (the write stage)."""

    output_dir: str = option(".", "folder for the output files, named <input stem>.<format>",
                             metavar="DIR")
    formats: tuple[str, ...] = option(("txt", "srt", "vtt", "json"),
                                      "output formats, comma-separated: " + ", ".join(WRITERS),
                                      flag="--format", metavar="LIST")
    max_line_chars: int = option(42, "subtitles (srt, vtt): at most this many characters per line",
                                 metavar="N")
    max_lines: int = option(2, "subtitles: at most this many lines per cue", metavar="N")
    max_cps: float = option(17.0, "subtitles: reading speed limit in characters per second (20 is "
                            "common for adults)", metavar="CPS")
    srt_speakers: str = option("prefix", "SRT: a NAME: prefix on the first cue of each turn, or none",
                               choices=("prefix", "none"))
    mark_uncertain: bool = option(False, "txt: mark turns whose speaker attribution is uncertain with "
                                  "[?] after the name")
    html_embed_audio: bool = option(False, "html: embed the audio (Opus, base64) in the page instead "
                                    "of linking to the media file")

    def __post_init__(self) -> None:
        unknown = [f for f in self.formats if f not in WRITERS]
        if unknown:
            raise OptionError(f"unknown output format {unknown[0]!r}; choose from {', '.join(WRITERS)}")
        for flag, value, least in (("--max-line-chars", self.max_line_chars, 10),
                                   ("--max-lines", self.max_lines, 1), ("--max-cps", self.max_cps, 1)):
            if value < least:
                raise OptionError(f"{flag} must be at least {least}, got {value}")


def write_outputs(transcript: Transcript, output_dir: str | Path, stem: str, formats: Sequence[str],
                  options: OutputOptions | None = None) -> list[Path]:
    """Render every format first, then write them as one set: all are replaced, or none (RunError).
    `options` lay the files out (subtitle limits, ...); its own output_dir and formats are not used.

    Provenance travels with the transcript: in the JSON when json is one of the formats, otherwise in
    `<stem>.provenance.json`, written in the same set: the transcript's provenance and the digest of
    each file written with it, so an archive that keeps only the txt or the docx can still tell which
    media, models and options it came from. It comes last in the returned paths."""
    output_dir = Path(output_dir)
    # The writers see the formats actually written (the JSON says how the SRT it came with fared);
    # OutputOptions refuses an unknown one.
    options = replace(options or OutputOptions(), formats=tuple(dict.fromkeys(formats)))
    writers = [WRITERS[f](options, output_dir) for f in options.formats]
    contents: list[tuple[Path, str | bytes]] = [
        (output_dir / f"{stem}.{writer.extension}", writer.render(transcript)) for writer in writers]
    if "json" not in formats:
        record = sidecar(transcript.provenance, [(path.name, content) for path, content in contents])
        contents.append((output_dir / f"{stem}.{SIDECAR_SUFFIX}", record))
    return atomic_write_set(contents)


def subtitle_note(transcript: Transcript, options: OutputOptions) -> str | None:
    """The one-line subtitle QA summary for stderr ("subtitles: 120 cues, every rule met"), when SRT
    or WebVTT is among the formats."""
    if not {"srt", "vtt"} & set(options.formats):
        return None
    return qa_line(qa_summary(transcript, options))
