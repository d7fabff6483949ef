"""`podium` command line: one module per subcommand (transcribe, models, evaluate, bench, batch), and
one error handler here, so every subcommand fails the same way: one line on stderr and an exit code."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence

import podium.command_env  # noqa: F401 - first, for its side effect: see its docstring
from podium import __version__
from podium.cli.common import EXIT_INPUT_ERROR, OneLineErrorParser, run_handler

__all__ = ["build_parser", "main"]

SUBCOMMANDS = ("transcribe", "models", "evaluate", "bench", "batch")


def build_parser() -> OneLineErrorParser:
    parser = OneLineErrorParser(prog="podium", description="Speaker-labelled transcripts from "
                                     "news video, offline.")
    parser.add_argument("--version", action="version", version=f"podium {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    # Imported here, not at the top: `python -m podium.cli.evaluate` runs a module this package would
    # otherwise have imported already (runpy warns about that).
    for name in SUBCOMMANDS:
        importlib.import_module(f"podium.cli.{name}").add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[..., int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_INPUT_ERROR
    return run_handler(handler, args)
