"""Which files a batch covers, and the output name (its *key*) each one gets under --output-dir.

An INPUT is a media file, a folder (searched recursively) or a manifest (`.jsonl` with an "audio" or
"path" per line, or `.txt` with one path per line; relative paths resolve against the manifest's folder).

Keys keep the folder structure, without the extension: `talks/2024/x.mp4` found under the folder `talks`
gets the key `2024/x`, so its outputs are `DIR/2024/x.txt`, `DIR/2024/x.json`, ... A file named on the
command line gets its bare name; a manifest entry its path relative to the manifest's folder (its bare
name when it lies outside). Two inputs with the same key would overwrite each other's outputs, so that
is refused before any work starts.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from podium.errors import MediaError, PodiumError
from podium.manifest import ManifestItem, read_items
from podium.media import probe

# Taken without probing: ffmpeg reads all of these, and probing 10,000 files costs minutes.
MEDIA_EXTENSIONS = frozenset((
    "3gp", "aac", "ac3", "aif", "aiff", "amr", "ape", "asf", "au", "avi", "caf", "dv", "eac3", "f4v", "flac",
    "flv", "m2ts", "m4a", "m4b", "m4v", "mka", "mkv", "mov", "mp2", "mp3", "mp4", "mpeg", "mpg", "mts",
    "mxf", "oga", "ogg", "ogv", "opus", "ra", "rm", "rmvb", "spx", "ts", "vob", "wav", "weba", "webm",
    "wma", "wmv", "wv"))
# Never media (transcripts, subtitles, pictures, documents): skipped without probing. Any other
# extension is probed, and the file is taken when ffprobe finds an audio stream in it.
NOT_MEDIA_EXTENSIONS = frozenset((
    "bmp", "csv", "doc", "docx", "gif", "gz", "htm", "html", "ico", "jpeg", "jpg", "json", "jsonl", "log",
    "md", "nfo", "pdf", "png", "py", "rttm", "sh", "srt", "svg", "tar", "tif", "tiff", "tsv", "txt", "uem",
    "vtt", "webp", "xml", "yaml", "yml", "zip"))
MANIFEST_EXTENSIONS = (".jsonl", ".txt")


@dataclass(frozen=True)
class BatchInput:
    path: Path  # absolute
    key: str  # output path under --output-dir without extension, '/'-separated


def discover(arguments: Sequence[str | Path], exclude: Path | None = None) -> list[BatchInput]:
    """Every input the command line names, in order, each once; `exclude` (the output folder) is skipped.

    Raises PodiumError for a missing command-line path, a malformed manifest, or two inputs whose
    outputs would share a name.
    """
    found: list[BatchInput] = []
    for argument in arguments:
        found.extend(_expand(Path(argument), exclude))
    unique = _without_repeats(found)
    _refuse_clashes(unique)
    return unique


def _expand(argument: Path, exclude: Path | None) -> Iterable[BatchInput]:
    if argument.is_dir():
        return _walk(argument, exclude)
    if not argument.exists():
        raise PodiumError(f"no such file or folder: {argument}")
    if argument.suffix.lower() in MANIFEST_EXTENSIONS:
        return read_manifest(argument)
    return [BatchInput(argument.absolute(), argument.stem)]


def _walk(folder: Path, exclude: Path | None) -> Iterator[BatchInput]:
    excluded = exclude.resolve() if exclude is not None else None
    for root, dirs, files in os.walk(folder):
        here = Path(root)
        # Hidden folders (.git, caches) and the output folder hold no inputs; sorted for a stable order.
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and (here / d).resolve() != excluded)
        for name in sorted(files):
            path = here / name
            if not name.startswith(".") and is_media(path):
                yield BatchInput(path.absolute(), _key(path.relative_to(folder)))


def is_media(path: Path) -> bool:
    """By extension when it is a known one; otherwise ask ffprobe whether there is audio inside."""
    extension = path.suffix.lower().lstrip(".")
    if extension in MEDIA_EXTENSIONS:
        return True
    if extension in NOT_MEDIA_EXTENSIONS:
        return False
    try:
        return bool(probe(path).audio_streams)
    except (MediaError, OSError):
        return False


def read_manifest(manifest: Path) -> list[BatchInput]:
    """Entries of a `.jsonl` or `.txt` manifest; entries that do not exist are kept (they fail later)."""
    if manifest.suffix.lower() == ".jsonl":
        paths = [item.resolve(_audio(item)) for item in read_items(manifest, comments=True)]
    else:
        paths = [manifest.parent / Path(text).expanduser() for text in _list_lines(manifest)]
    base = manifest.parent.absolute()
    return [BatchInput(path.absolute(), _manifest_key(path.absolute(), base)) for path in paths]


def _list_lines(manifest: Path) -> list[str]:
    """The paths of a `.txt` list: one per line, blank lines and `#` comments skipped."""
    with open(manifest, encoding="utf-8") as handle:
        lines = [line.strip() for line in handle]
    return [text for text in lines if text and not text.startswith("#")]


def _audio(item: ManifestItem) -> str:
    value = item.fields.get("audio", item.fields.get("path"))
    if not isinstance(value, str) or not value:
        raise item.error('each line needs an "audio" or "path" string')
    return value


def _manifest_key(path: Path, base: Path) -> str:
    normal = Path(os.path.normpath(path))
    return _key(normal.relative_to(base)) if normal.is_relative_to(base) else normal.stem


def _key(relative: Path) -> str:
    return relative.with_suffix("").as_posix()


def _without_repeats(inputs: list[BatchInput]) -> list[BatchInput]:
    """The same file reached twice (a folder and a name inside it) is one input: the first wins."""
    seen: set[Path] = set()
    unique = []
    for item in inputs:
        identity = Path(os.path.realpath(item.path))
        if identity not in seen:
            seen.add(identity)
            unique.append(item)
    return unique


def _refuse_clashes(inputs: list[BatchInput]) -> None:
    owner: dict[str, Path] = {}
    for item in inputs:
        first = owner.setdefault(item.key, item.path)
        if first != item.path:
            raise PodiumError(f"{first} and {item.path} would both write <output-dir>/{item.key}.*; "
                              "rename one, or give their common parent folder as the INPUT")
