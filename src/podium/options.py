"""Options dataclasses double as the CLI's flags, so the Python API and the CLI cannot drift apart.

A stage declares its options with `option(...)`; `add_arguments` turns them into argparse flags and
`from_args` builds the dataclass back from the parsed namespace. Each flag's `dest` is qualified by its
stage (`asr.device`, `diarize.device`), so two stages can never write the same attribute: they once
did, and `--device cpu --diarize-device cuda` put Whisper on CUDA as well.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from typing import Any, TypeVar

T = TypeVar("T")


def option(default: Any, help: str, *, flag: str | None = None, metavar: str | None = None,
           choices: tuple[str, ...] | None = None, repeat: bool = False, cli: bool = True,
           optional_value: str | None = None) -> Any:
    """A dataclass field that is also a CLI flag (`--field-name` unless `flag` says otherwise).

    `optional_value`: the flag may be given alone, and then means this value (`--ray` alone is
    `--ray local`), for options that are off by default, on with a default, or on with a value.
    """
    meta = {"help": help, "flag": flag, "metavar": metavar, "choices": choices, "repeat": repeat,
            "cli": cli, "optional_value": optional_value}
    if isinstance(default, (list, dict, set)):
        raise TypeError("use a tuple for sequence defaults so options stay immutable")
    return dataclasses.field(default=default, metadata=meta)


def base_type(annotation: Any) -> Any:
    """`int | None` -> int, `tuple[str, ...]` -> tuple; everything else as is."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return base_type(args[0])
    return origin or annotation


def flag_of(f: dataclasses.Field) -> str:
    return f.metadata["flag"] or "--" + f.name.replace("_", "-")


def cli_fields(cls: type) -> list[dataclasses.Field]:
    """The fields of an options dataclass that are also flags."""
    return [f for f in dataclasses.fields(cls) if f.metadata.get("cli", False)]


def add_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup, cls: type, stage: str,
                  skip: tuple[str, ...] = ()) -> None:
    """One flag per field of `cls` (but those in `skip`), each stored under `<stage>.<field>`."""
    hints = typing.get_type_hints(cls)
    for f in cli_fields(cls):
        if f.name in skip:
            continue
        meta = f.metadata
        flag, dest = flag_of(f), f"{stage}.{f.name}"
        kind = base_type(hints[f.name])
        help_text = meta["help"]
        if kind is bool:
            parser.add_argument(flag, dest=dest, action=argparse.BooleanOptionalAction,
                                default=argparse.SUPPRESS, help=f"{help_text} (default: {f.default})")
            continue
        if f.default not in (None, ()):
            shown = ",".join(map(str, f.default)) if isinstance(f.default, tuple) else f.default
            help_text += f" (default: {shown})"
        metavar = meta["metavar"] or (None if meta["choices"] else f.name.upper())
        kwargs: dict[str, Any] = {"dest": dest, "default": argparse.SUPPRESS, "help": help_text,
                                  "metavar": metavar}
        if meta["choices"]:
            kwargs["choices"] = meta["choices"]
        if meta.get("optional_value") is not None:
            kwargs.update(nargs="?", const=meta["optional_value"])
        if kind is tuple and meta["repeat"]:
            kwargs["action"] = "append"
        elif kind is tuple:
            kwargs["type"] = _comma_list
        elif kind in (int, float):
            kwargs["type"] = kind
        parser.add_argument(flag, **kwargs)


def _comma_list(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def from_args(cls: type[T], args: argparse.Namespace, stage: str) -> T:
    """The options of one stage from the flags `add_arguments(..., stage)` added; defaults elsewhere."""
    given = vars(args)
    values = {}
    for f in cli_fields(cls):
        if (dest := f"{stage}.{f.name}") in given:
            value = given[dest]
            values[f.name] = tuple(value) if isinstance(value, list) else value
    return cls(**values)


def as_dict(options: Any) -> dict[str, Any]:
    """Options as plain JSON-able data (for transcripts and ledgers)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(options).items()}
