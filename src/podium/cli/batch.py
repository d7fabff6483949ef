"""`podium batch`: every `podium transcribe` option, plus inputs by folder or manifest, a ledger to
resume from, and clean stops on SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from podium.batch.inputs import discover
from podium.batch.report import BatchReporter
from podium.batch.runner import BatchOptions, BatchRun, StopSignal
from podium.cli.common import (
    DisplayOptions,
    add_transcribe_arguments,
    options_from,
    transcribe_options_from,
)
from podium.errors import PodiumError
from podium.files import check_writable_dir
from podium.options import add_arguments

EXIT_OK, EXIT_FAILED_INPUTS = 0, 2
EXIT_ON_SIGNAL = {"SIGINT": 130, "SIGTERM": 143}  # 128 + signal number, as shells report them

DESCRIPTION = """\
Transcribe many media files with the models loaded once, decoding, transcribing and diarizing
different files at the same time. INPUT is a media file, a folder (searched recursively: media by
extension, files with other extensions when ffprobe finds audio in them) or a manifest: .jsonl with
{"audio": PATH} or {"path": PATH} per line, or .txt with one path per line (relative paths are read
from the manifest's folder).

Outputs go to DIR/<path under the input folder, without extension>.<format>, so same-named files in
different subfolders do not clash. DIR/podium-ledger.jsonl records every input; running the same
command again skips the inputs already done with the same content and options, and continues an
interrupted run.

With --ray [ADDRESS] the same stages run on a Ray cluster (decoding as tasks, Whisper and the
diarizer in actors that load their models once); this process keeps the ledger, so a run started with
--ray resumes without it and the reverse."""

EPILOG = """\
exit codes (they describe the whole set, this run and earlier ones): 0 every input done; 2 some input
is failed, in this run or an earlier one (the others are still done; the list is printed at the end
and the ledger has the errors), or bad arguments; 1 the run itself stopped on a problem of the machine
(a full disk, an unwritable output folder or ledger): fix it and run again, nothing is lost;
130 stopped by SIGINT (Ctrl-C); 143 stopped by SIGTERM. The first signal finishes the files already
in Whisper and takes no new ones; a second abandons them."""


def add_parser(sub: Any) -> None:
    """Add `podium batch` to the `podium` subcommands (`sub` is build_parser's subparsers object)."""
    parser = sub.add_parser("batch", help="transcribe folders or manifests of media files, resumably",
                            description=DESCRIPTION, epilog=EPILOG,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="media files, folders (recursive) or manifests (.jsonl, .txt)")
    add_transcribe_arguments(parser)
    add_arguments(parser.add_argument_group("batch"), BatchOptions, "batch")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if "output.output_dir" not in vars(args):  # a default of "." would scatter outputs and a ledger anywhere
        raise PodiumError("podium batch needs --output-dir DIR: the outputs and the ledger go there")
    options = transcribe_options_from(args)
    check_writable_dir(options.output.output_dir)  # before any input is read or model loaded
    inputs = discover(args.inputs, exclude=Path(options.output.output_dir))
    if not inputs:
        raise PodiumError(f"no media files found in {', '.join(map(str, args.inputs))}")
    settings = options_from(BatchOptions, args, "batch")
    quiet = options_from(DisplayOptions, args, "display").quiet
    stop = StopSignal()
    with BatchReporter(len(inputs), quiet=quiet, log_file=settings.log_file) as reporter, \
            _signals_request(stop):
        summary = _run_class(settings)(inputs, options, settings, reporter.emit, stop).execute()
        if summary.abandoned:  # workers are still inside Whisper or the diarizer: do not wait for them
            reporter.close()
            _exit_now(EXIT_ON_SIGNAL.get(stop.reason or "", 130))
    if not quiet:
        reporter.print_summary(summary)
    reporter.print_failed(summary)  # even with --quiet: this is what someone has to act on
    if summary.interrupted:
        return EXIT_ON_SIGNAL.get(summary.interrupted, 130)
    # The state of the set, not of this run alone: an input that failed before and was skipped now is
    # still not done, and an orchestrator reading 0 would believe the job complete.
    return EXIT_FAILED_INPUTS if summary.failed else EXIT_OK


def _run_class(settings: BatchOptions) -> type[BatchRun]:
    """The thread pipeline, or with --ray the Ray one (imported only then: plain podium never loads ray)."""
    if settings.ray is None:
        return BatchRun
    try:
        from podium.batch.ray import RayBatchRun
    except ModuleNotFoundError as err:
        if err.name != "ray":
            raise
        raise PodiumError("--ray needs Ray: pip install 'podium[ray]'") from None
    return RayBatchRun


@contextlib.contextmanager
def _signals_request(stop: Any) -> Iterator[None]:
    """SIGINT/SIGTERM ask the run to stop (twice: to abandon) instead of raising in the main thread."""
    def handler(number: int, frame: object) -> None:
        stop.request(signal.Signals(number).name)

    previous = {number: signal.signal(number, handler) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


def _exit_now(code: int) -> None:
    """Leave without joining the worker threads (each may be deep inside a model for minutes)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
