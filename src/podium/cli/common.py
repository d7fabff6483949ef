"""What every `podium` subcommand shares: the one-line usage error, messages on stderr, and the
`podium transcribe` flags (which `batch` and `bench` take too), built from the stages' options."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import NoReturn, TextIO, TypeVar

from podium.asr import AsrOptions
from podium.diarize import DiarizeOptions
from podium.errors import OptionError, PodiumError, PodiumWarning
from podium.formats import OutputOptions
from podium.media import MediaOptions
from podium.options import add_arguments, from_args, option
from podium.pipeline import TranscribeOptions
from podium.speakers import SpeakerOptions

T = TypeVar("T")
EXIT_INPUT_ERROR = 2

# (argument group title, stage name = the TranscribeOptions field and the flags' dest prefix, options)
TRANSCRIBE_STAGES: tuple[tuple[str, str, type], ...] = (
    ("input", "media", MediaOptions),
    ("speech recognition", "asr", AsrOptions),
    ("diarization", "diarize", DiarizeOptions),
    ("speaker names", "speakers", SpeakerOptions),
    ("output", "output", OutputOptions),
)


@dataclass(frozen=True)
class DisplayOptions:
    quiet: bool = option(False, "no progress display")


class OneLineErrorParser(argparse.ArgumentParser):
    """A usage error in one line, as every other podium error: the full usage of `transcribe` is 25
    lines, which bury the one that says what is wrong. Subcommand parsers inherit this class."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_INPUT_ERROR, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def error(message: str, prefix: str = "podium") -> None:
    print(f"{prefix}: error: {message}", file=sys.stderr)


def note(message: str) -> None:
    print(f"podium: {message}", file=sys.stderr)


def options_from(cls: type[T], args: argparse.Namespace, stage: str) -> T:
    """`from_args`, with a bad value as a one-line error (the API raises ValueError for it)."""
    try:
        return from_args(cls, args, stage)
    except ValueError as err:
        raise err if isinstance(err, OptionError) else OptionError(str(err)) from None


def add_transcribe_arguments(parser: argparse.ArgumentParser, with_output: bool = True) -> None:
    """Every `podium transcribe` option, grouped by stage; `batch` and `bench` reuse this."""
    for title, stage, cls in TRANSCRIBE_STAGES:
        if with_output or stage != "output":
            add_arguments(parser.add_argument_group(title), cls, stage)
    if with_output:
        add_arguments(parser.add_argument_group("display"), DisplayOptions, "display")


def transcribe_options_from(args: argparse.Namespace) -> TranscribeOptions:
    return TranscribeOptions(**{stage: options_from(cls, args, stage) for _, stage, cls in TRANSCRIBE_STAGES})


def run_handler(handler: Callable[..., int], args: object, prefix: str = "podium") -> int:
    """The one place a subcommand's failure becomes a line on stderr and an exit code."""
    try:
        with _warnings_on_one_line():
            return handler(args)
    except PodiumError as err:
        error(str(err), prefix)
        return err.exit_code
    except KeyboardInterrupt:
        error("interrupted", prefix)
        return 130
    except Exception as err:  # one line for users; PODIUM_DEBUG=1 shows the traceback
        if os.environ.get("PODIUM_DEBUG"):
            raise
        error(f"unexpected {type(err).__name__}: {err} (set PODIUM_DEBUG=1 for the traceback)", prefix)
        return 1


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
