"""Every file format podium writes or reads, one module each (writer and reader side by side), and
the output registry: `WRITERS` by format name and `write_outputs`, which writes a set of them.

Writers take a `podium.transcript.Transcript`; speakers are optional everywhere, so a transcript
without diarization renders as plain timed text. Readers (used by `podium evaluate`) take a path and
its decoded text and return a `podium.evaluate.reference.Reference`; `podium.evaluate.readers`
decodes files, detects their format and dispatches to them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from podium.errors import PodiumError
from podium.files import atomic_write_set
from podium.formats.base import Writer
from podium.formats.json_format import JsonWriter
from podium.formats.png import PngWriter
from podium.formats.rttm import RttmWriter
from podium.formats.srt import SrtWriter
from podium.formats.tsv import TsvWriter
from podium.formats.txt import TxtWriter
from podium.formats.vtt import VttWriter
from podium.transcript import Transcript

WRITERS: dict[str, type[Writer]] = {
    "txt": TxtWriter, "srt": SrtWriter, "vtt": VttWriter, "json": JsonWriter, "tsv": TsvWriter,
    "rttm": RttmWriter, "png": PngWriter,
}


def write_outputs(transcript: Transcript, output_dir: str | Path, stem: str,
                  formats: Sequence[str]) -> list[Path]:
    """Render every format first, then write them as one set: all are replaced, or none (RunError)."""
    unknown = [f for f in formats if f not in WRITERS]
    if unknown:
        raise PodiumError(f"unknown output format {unknown[0]!r} (choose from {', '.join(WRITERS)})")
    rendered = [(WRITERS[f], WRITERS[f]().render(transcript)) for f in dict.fromkeys(formats)]
    return atomic_write_set([(Path(output_dir) / f"{stem}.{writer.extension}", content)
                             for writer, content in rendered])
