"""The diarizer's progress hook and its pyannote hyper-parameters, with the real offline models."""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from podium.diarize import DiarizeOptions, Diarizer, tuned
from podium.diarize.pipeline import hyper_parameters, split_settings
from podium.media import load_audio

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def diarizer() -> Diarizer:
    return Diarizer(DiarizeOptions(device="cpu"))


def test_progress_is_monotone_in_seconds_of_audio_and_ends_at_the_total(diarizer: Diarizer,
                                                                         shared_data: Path) -> None:
    samples = load_audio(shared_data / "diarization" / "pyannote_sample.wav").samples
    calls: list[tuple[str, float, float]] = []
    result = diarizer.diarize(samples, hook=lambda stage, done, total: calls.append((stage, done, total)))
    seconds = len(samples) / 16000
    assert {stage for stage, _, _ in calls} == {"diarize"}
    assert {total for _, _, total in calls} == {seconds}
    done = [d for _, d, _ in calls]
    assert done[0] == 0.0 and done[-1] == seconds
    assert all(b > a for a, b in itertools.pairwise(done))
    assert len(done) >= 4  # segmentation and the embedding step report while they run
    assert all(isinstance(d, float) for d in done)
    again = diarizer.diarize(samples)  # listening changes nothing
    assert again.overlapping_turns == result.overlapping_turns and again.turns == result.turns


def test_segmentation_keeps_its_own_copy_of_each_batch_output(diarizer: Diarizer,
                                                              shared_data: Path) -> None:
    """pyannote keeps every batch's output to the end: a view of torch's result made the heap grow
    by megabytes per batch (0.7 GB over 3 hours), so each is copied into an array of its own."""
    samples = load_audio(shared_data / "diarization" / "pyannote_sample.wav").samples
    chunks = torch.from_numpy(np.stack([samples[:160000], samples[80000:240000]]))[:, None]
    inference = diarizer.pipeline._segmentation
    outputs = inference.infer(chunks)
    assert isinstance(outputs, np.ndarray) and outputs.flags.owndata
    with torch.inference_mode():
        expected = inference.conversion(inference.model(chunks)).numpy()
    assert outputs.shape == (2, 589, 3) and outputs.any()
    np.testing.assert_array_equal(outputs, expected)


def test_the_tuned_values_are_the_pipelines_hyper_parameters(diarizer: Diarizer) -> None:
    pipeline = diarizer.pipeline
    assert pipeline.instantiated
    parameters = pipeline.parameters(instantiated=True)
    assert parameters == hyper_parameters(DiarizeOptions()) == pipeline.default_parameters()
    assert parameters["clustering"]["threshold"] == tuned.CLUSTERING_THRESHOLD
    assert parameters["short_turns"]["max_share"] == tuned.SHORT_MAX_SHARE
    assert parameters["speaker_split"]["max_similarity"] == tuned.SPLIT_MAX_SIMILARITY
    assert parameters["segmentation"]["min_duration_off"] == tuned.MIN_DURATION_OFF
    assert parameters["min_speaker_seconds"] == tuned.MIN_SPEAKER_SECONDS
    assert pipeline.split == split_settings()


def test_tuning_goes_through_instantiate() -> None:
    pipeline = Diarizer(DiarizeOptions(device="cpu", clustering_threshold=0.5, split_speakers=False)).pipeline
    assert pipeline.clustering.settings.threshold == 0.5 and pipeline.split is None
    pipeline.instantiate({"clustering": {"threshold": 0.6, "keep_distance": None},
                          "short_turns": {"max_share": 0.0},
                          "speaker_split": {"enabled": True, "max_similarity": 0.4}})
    settings = pipeline.clustering.settings
    assert settings.threshold == 0.6 and settings.keep_distance is None
    assert pipeline.short_share == 0.0
    assert pipeline.split == replace(split_settings(), max_similarity=0.4)
    # The settings objects benchmarks assign are views of the same hyper-parameters.
    pipeline.split = replace(split_settings(), max_similarity=0.45)
    assert pipeline.parameters(instantiated=True)["speaker_split"]["max_similarity"] == 0.45
    pipeline.short_share = 0.2
    assert pipeline.parameters(instantiated=True)["short_turns"]["max_share"] == 0.2
    assert np.isclose(pipeline.parameters(instantiated=True)["speaker_split"]["hop"],
                      split_settings().hop_frames * 0.02)
