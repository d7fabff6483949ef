"""Options dataclasses double as the CLI's flags, so the Python API and the CLI cannot drift apart.

A stage declares its options with `option(...)`; `add_arguments` turns them into argparse flags and
`from_args` builds the dataclass back from the parsed namespace.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from typing import Any, TypeVar

T = TypeVar("T")


def option(default: Any, help: str, *, flag: str | None = None, metavar: str | None = None,
           choices: tuple[str, ...] | None = None, repeat: bool = False, cli: bool = True) -> Any:
    """A dataclass field that is also a CLI flag (`--field-name` unless `flag` says otherwise)."""
    meta = {"help": help, "flag": flag, "metavar": metavar, "choices": choices, "repeat": repeat,
            "cli": cli}
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


def add_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup, cls: type) -> None:
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        meta = f.metadata
        if not meta.get("cli", False):
            continue
        flag = meta["flag"] or "--" + f.name.replace("_", "-")
        kind = base_type(hints[f.name])
        help_text = meta["help"]
        if kind is bool:
            parser.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction,
                                default=argparse.SUPPRESS, help=f"{help_text} (default: {f.default})")
            continue
        if f.default not in (None, ()):
            shown = ",".join(map(str, f.default)) if isinstance(f.default, tuple) else f.default
            help_text += f" (default: {shown})"
        kwargs: dict[str, Any] = {"dest": f.name, "default": argparse.SUPPRESS, "help": help_text,
                                  "metavar": meta["metavar"]}
        if meta["choices"]:
            kwargs["choices"] = meta["choices"]
        if kind is tuple and meta["repeat"]:
            kwargs["action"] = "append"
        elif kind is tuple:
            kwargs["type"] = _comma_list
        elif kind in (int, float):
            kwargs["type"] = kind
        parser.add_argument(flag, **kwargs)


def _comma_list(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def from_args(cls: type[T], args: argparse.Namespace) -> T:
    values = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name in vars(args):
            value = getattr(args, f.name)
            values[f.name] = tuple(value) if isinstance(value, list) else value
    return cls(**values)


def as_dict(options: Any) -> dict[str, Any]:
    """Options as plain JSON-able data (for transcripts and ledgers)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(options).items()}
