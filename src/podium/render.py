"""Output writers: txt, srt, vtt, json, tsv, rttm and a png speaker timeline, all from a `Transcript`.

Speakers are optional everywhere: a transcript without diarization renders as plain timed text.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from podium.align import merge_turns, segment_text
from podium.errors import PodiumError
from podium.files import atomic_write_set
from podium.transcript import Segment, Transcript, Word

# Subtitle conventions (EBU / Netflix style): at most two lines of 42 characters, at most ~7 s on screen.
CUE_MAX_SECONDS = 7.0
CUE_LINE_CHARS = 42
CUE_MAX_CHARS = 2 * CUE_LINE_CHARS
CUE_MAX_GAP = 1.0  # a silence this long ends a cue, so text does not linger over a pause
CUE_MIN_MS = 700  # short cues are held this long when the next cue leaves room: readable, never overlapping
_BREAK_AFTER = (".", ",", "?", "!", ";", ":", "…")


def has_speakers(transcript: Transcript) -> bool:
    return any(s.speaker is not None for s in transcript.segments)


def uses_hours(transcript: Transcript) -> bool:
    """Whole-file choice, so every timestamp in one file has the same shape."""
    last = max((s.end for s in transcript.segments), default=0.0)
    return max(last, transcript.duration) >= 3600


def clock(seconds: float, hours: bool = False) -> str:
    """`mm:ss`, or `h:mm:ss` when `hours`; rounded down, as a stamp marks where a line starts."""
    total = max(0, int(seconds))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if hours else f"{h * 60 + m:02d}:{s:02d}"


def timestamp(ms: int, decimal: str) -> str:
    """`HH:MM:SS,mmm` (SubRip) or `HH:MM:SS.mmm` (WebVTT) from integer milliseconds."""
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{decimal}{ms:03d}"


def one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _one_line_name(transcript: Transcript, label: str | None) -> str | None:
    """A speaker's display name on one line. Options refuse names with line breaks; a Transcript made
    in Python may still hold one, and in txt, SRT or VTT it would start a paragraph or a fake cue."""
    name = transcript.speaker_name(label)
    return None if name is None else one_line(name)


# --- cues -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cue:
    start_ms: int
    end_ms: int
    text: str
    speaker: str | None  # display name


def _words_of(segment: Segment) -> list[Word]:
    """The segment's words; without word timings, its text split at spaces with times by character."""
    if segment.words:
        return [w if w.speaker is not None else Word(w.start, w.end, w.text, w.probability, segment.speaker)
                for w in segment.words]
    parts = segment.text.split()
    total = sum(len(p) + 1 for p in parts) or 1
    words, t = [], segment.start
    for part in parts:
        length = (segment.end - segment.start) * (len(part) + 1) / total
        words.append(Word(t, t + length, " " + part, speaker=segment.speaker))
        t += length
    return words


def _best_cut(pending: list[Word]) -> int:
    """Where to end a full cue: after the last punctuation in its second half, else after every word."""
    for i in range(len(pending) - 2, len(pending) // 2 - 1, -1):
        if pending[i].text.strip().endswith(_BREAK_AFTER):
            return i + 1
    return len(pending)


def cue_display_text(text: str, speaker: str | None) -> str:
    """What a subtitle shows: the speaker's name as a prefix when there is one."""
    return f"{speaker}: {text}" if speaker else text


def _cue_chunks(words: list[Word], transcript: Transcript, max_seconds: float,
                line_chars: int) -> Iterable[list[Word]]:
    def fits(chunk: list[Word]) -> bool:
        shown = cue_display_text(segment_text(chunk), _one_line_name(transcript, chunk[0].speaker))
        lines = wrap_two_lines(shown, line_chars)
        return (chunk[-1].end - chunk[0].start <= max_seconds and len(lines) <= 2
                and all(len(line) <= line_chars for line in lines))

    pending: list[Word] = []
    for word in words:
        if pending and (word.speaker != pending[-1].speaker or word.start - pending[-1].end >= CUE_MAX_GAP):
            yield pending
            pending = []
        while pending and not fits([*pending, word]):
            cut = _best_cut(pending)
            yield pending[:cut]
            pending = pending[cut:]
        pending.append(word)
    if pending:
        yield pending


def build_cues(transcript: Transcript, max_seconds: float = CUE_MAX_SECONDS,
               line_chars: int = CUE_LINE_CHARS) -> list[Cue]:
    """Subtitle cues split at word boundaries, one speaker each, in order and never overlapping.

    A cue, with its "Name: " prefix, fits two lines of `line_chars` (only a single over-long word
    may exceed them) and lasts at most `max_seconds`.
    """
    chunks = [chunk for segment in transcript.segments
              for chunk in _cue_chunks(_words_of(segment), transcript, max_seconds, line_chars)
              if segment_text(chunk)]
    cues: list[Cue] = []
    for i, chunk in enumerate(chunks):
        start = max(round(chunk[0].start * 1000), cues[-1].end_ms if cues else 0)
        end = max(round(max(w.end for w in chunk) * 1000), start + CUE_MIN_MS)
        if i + 1 < len(chunks):
            end = min(end, max(round(chunks[i + 1][0].start * 1000), start + 1))
        text = one_line(segment_text(chunk))
        cues.append(Cue(start, end, text, _one_line_name(transcript, chunk[0].speaker)))
    return cues


def wrap_two_lines(text: str, width: int = CUE_LINE_CHARS) -> list[str]:
    """One line if it fits, else two, split at the space that best balances them."""
    if len(text) <= width or " " not in text:
        return [text]
    spaces = [i for i, c in enumerate(text) if c == " "]
    split = min(spaces, key=lambda i: (max(i, len(text) - i - 1) > width, abs(len(text) / 2 - i)))
    return [text[:split], text[split + 1:]]


# --- writers --------------------------------------------------------------------------------------


class Writer:
    extension: ClassVar[str]
    binary: ClassVar[bool] = False

    def render(self, transcript: Transcript) -> str | bytes:
        raise NotImplementedError


class TxtWriter(Writer):
    """Timed lines; with speakers, one paragraph per speaker turn, like a press transcript."""

    extension = "txt"

    def render(self, transcript: Transcript) -> str:
        hours = uses_hours(transcript)
        if not has_speakers(transcript):
            lines = [f"[{clock(s.start, hours)}] {one_line(s.text)}" for s in transcript.segments
                     if s.text.strip()]
            return "".join(line + "\n" for line in lines)
        paragraphs = []
        for turn in merge_turns([s for s in transcript.segments if s.text.strip()]):
            name = _one_line_name(transcript, turn.speaker)
            who = f"{name}: " if name else ""
            paragraphs.append(f"[{clock(turn.start, hours)}] {who}{one_line(turn.text)}")
        return "\n\n".join(paragraphs) + ("\n" if paragraphs else "")


class SrtWriter(Writer):
    extension = "srt"

    def render(self, transcript: Transcript) -> str:
        blocks = []
        for number, cue in enumerate(build_cues(transcript), start=1):
            text = cue_display_text(cue.text, cue.speaker)
            times = f"{timestamp(cue.start_ms, ',')} --> {timestamp(cue.end_ms, ',')}"
            blocks.append("\n".join([str(number), times, *wrap_two_lines(text)]) + "\n")
        return "\n".join(blocks)


def vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class VttWriter(Writer):
    extension = "vtt"

    def render(self, transcript: Transcript) -> str:
        blocks = ["WEBVTT\n"]
        for cue in build_cues(transcript):
            lines = [vtt_escape(line) for line in wrap_two_lines(cue.text)]
            body = "\n".join(lines)
            if cue.speaker:
                body = f"<v {vtt_escape(cue.speaker)}>{body}</v>"
            blocks.append(f"{timestamp(cue.start_ms, '.')} --> {timestamp(cue.end_ms, '.')}\n{body}\n")
        return "\n".join(blocks)


class JsonWriter(Writer):
    extension = "json"

    def render(self, transcript: Transcript) -> str:
        return transcript.to_json() + "\n"


class TsvWriter(Writer):
    """start and end in integer milliseconds (as openai-whisper's tsv), then speaker name and text."""

    extension = "tsv"

    def render(self, transcript: Transcript) -> str:
        rows = ["start\tend\tspeaker\ttext"]
        for s in transcript.segments:
            name = transcript.speaker_name(s.speaker) or ""
            times = f"{round(s.start * 1000)}\t{round(s.end * 1000)}"
            rows.append(f"{times}\t{one_line(name)}\t{one_line(s.text)}")
        return "\n".join(rows) + "\n"


def _no_spaces(text: str) -> str:
    return re.sub(r"\s+", "_", text.strip()) or "_"


def speaker_spans(transcript: Transcript) -> list[tuple[float, float, str]]:
    """(start, end, label): the diarizer's turns when kept, else the labelled segments merged into turns."""
    if transcript.turns:
        spans = [(t.start, t.end, t.speaker) for t in transcript.turns]
    else:
        spans = [(s.start, s.end, s.speaker) for s in merge_turns(transcript.segments)
                 if s.speaker is not None]
    return sorted(spans)


class RttmWriter(Writer):
    """Labels, not display names: RTTM is for scoring, and labels never contain spaces."""

    extension = "rttm"

    def render(self, transcript: Transcript) -> str:
        uri = _no_spaces(Path(transcript.source).stem if transcript.source else "podium")
        rows = [f"SPEAKER {uri} 1 {start:.3f} {end - start:.3f} <NA> <NA> {_no_spaces(label)} <NA> <NA>"
                for start, end, label in speaker_spans(transcript) if end > start]
        return "".join(row + "\n" for row in rows)


class PngWriter(Writer):
    """A speaker timeline: one lane per speaker, a bar per turn, time in mm:ss."""

    extension = "png"
    binary = True
    dpi: ClassVar[int] = 100
    width_inches: ClassVar[float] = 12.0

    @classmethod
    def height_inches(cls, lanes: int) -> float:
        return 1.4 + 0.45 * max(lanes, 1)

    def lanes(self, transcript: Transcript) -> list[tuple[str, list[tuple[float, float]]]]:
        spans = speaker_spans(transcript)
        if not spans:  # no diarization: one lane showing where there is speech
            spans = [(s.start, s.end, "") for s in transcript.segments]
            return [("Speech", [(a, b - a) for a, b, _ in spans])] if spans else []
        labels = list(dict.fromkeys(label for _, _, label in spans))
        named = [s.label for s in transcript.speakers if s.label in labels]
        order = named + [label for label in labels if label not in named]
        return [(transcript.speaker_name(label) or label, [(a, b - a) for a, b, x in spans if x == label])
                for label in order]

    def render(self, transcript: Transcript) -> bytes:
        # Imported here: matplotlib costs half a second to import and only this writer needs it.
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import FuncFormatter

        lanes = self.lanes(transcript)
        hours = uses_hours(transcript)
        end = max([transcript.duration, 1.0] + [a + d for _, bars in lanes for a, d in bars])
        figure = Figure(figsize=(self.width_inches, self.height_inches(len(lanes))), dpi=self.dpi)
        FigureCanvasAgg(figure)
        axes = figure.add_axes((0.16, 0.9 / self.height_inches(len(lanes)), 0.8,
                                1 - 1.4 / self.height_inches(len(lanes))))
        for row, (_, bars) in enumerate(lanes):
            axes.broken_barh(bars, (row - 0.35, 0.7), facecolors=f"C{row % 10}")
        axes.set_yticks(range(len(lanes)), [name for name, _ in lanes])
        axes.set_ylim(len(lanes) - 0.5 if lanes else 0.5, -0.5)  # first speaker on top
        axes.set_xlim(0, end)
        axes.xaxis.set_major_formatter(FuncFormatter(lambda x, _: clock(x, hours)))
        axes.set_xlabel("time")
        axes.grid(axis="x", alpha=0.3)
        if not lanes:
            axes.text(0.5, 0.5, "no speech", transform=axes.transAxes, ha="center", va="center")
        if transcript.source:
            axes.set_title(Path(transcript.source).name, fontsize=10)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=self.dpi)
        return buffer.getvalue()


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
