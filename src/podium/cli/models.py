"""`podium models`: every model podium can use, where it comes from, and whether it is verified."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(sub: Any) -> None:
    parser = sub.add_parser("models", help="list the models, where each comes from, and whether it is "
                            "installed and verified")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from podium.weights import default_model_name, model_statuses

    table = Table(title=f"Models (default Whisper model: {default_model_name()})")
    for column in ("model", "stage", "source", "installed", "verified", "location / problem", "licence"):
        # Narrow terminals wrap the long cells (names; paths fold rather than lose their end), never
        # a status such as "sha256 ok".
        table.add_column(column, no_wrap=column in ("stage", "installed", "verified"),
                         overflow="fold" if column == "location / problem" else "ellipsis")
    for row in model_statuses():
        verified = {True: "sha256 ok", False: "FAILED", None: "-"}[row.verified]
        table.add_row(row.name, row.stage, row.source, "yes" if row.installed else "no", verified,
                      row.location, row.licence)
    # Piped to a file, rich would cut the table to 80 columns and fold every path.
    Console(width=None if sys.stdout.isatty() else 200).print(table)
    return 0
