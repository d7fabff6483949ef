"""`podium transcribe`: media files in, speaker-labelled transcripts out."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from podium.cli.common import (
    EXIT_INPUT_ERROR,
    DisplayOptions,
    add_transcribe_arguments,
    error,
    note,
    options_from,
    transcribe_options_from,
)
from podium.errors import MediaError, PodiumError
from podium.files import check_writable_dir
from podium.formats import subtitle_note
from podium.pipeline import Podium, too_short_note
from podium.progress import StageProgress


def add_parser(sub: Any) -> None:
    parser = sub.add_parser("transcribe", help="transcribe media files into speaker-labelled text",
                            description="Transcribe media files (any format ffmpeg reads) into "
                            "speaker-labelled transcripts.")
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="video or audio files")
    add_transcribe_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    options = transcribe_options_from(args)
    quiet = options_from(DisplayOptions, args, "display").quiet
    inputs = [Path(p) for p in args.inputs]
    stems = [p.stem for p in inputs]
    clashes = sorted({s for s in stems if stems.count(s) > 1})
    if clashes:
        raise PodiumError(f"several inputs share the name {clashes[0]!r}; their outputs would overwrite "
                          "each other: transcribe them into different --output-dir")
    check_writable_dir(options.output.output_dir)  # before any model loads, not after the first input
    engine = Podium(options)
    failed = 0
    for path in inputs:
        try:
            with StageProgress(path.name, quiet=quiet) as progress:
                job = engine.run(path, progress.hook)
        except (MediaError, OSError) as err:  # this input is bad or unreadable; the others still go ahead
            failed += 1
            error(f"{path}: {err if isinstance(err, MediaError) else _unreadable(err)}")
            continue
        job.stem = path.stem
        engine.run_stage("write", job)  # RunError (a full disk, ...) ends the whole run
        transcript = job.transcript
        assert transcript is not None  # set by the align stage
        if message := too_short_note(transcript.duration, options):
            note(f"{path}: {message}")
        if message := subtitle_note(transcript, options.output):
            note(f"{path}: {message}")
        if not transcript.segments:
            note(f"{path}: no speech found; the transcript is empty")
        if not quiet:
            note(f"{path}: {StageProgress.summary(job.seconds, transcript.duration)}")
        for out in job.outputs:
            print(out)
    return EXIT_INPUT_ERROR if failed else 0


def _unreadable(err: OSError) -> str:
    return f"cannot read it: {err.strerror or err}"
