"""The diarizer's progress hook and its pyannote hyper-parameters, with the real offline models."""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from pyannote.audio.pipelines import SpeakerDiarization
from pyannote.core import SlidingWindowFeature

from podium import heap
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


@pytest.mark.usefixtures("temp_files_mapped")
def test_16_bit_pcm_and_audio_on_disk_diarize_exactly_as_floats_in_memory(diarizer: Diarizer,
                                                                          shared_data: Path) -> None:
    """`Audio.compact` hands the diarizer int16, each step converting its own piece, to the same
    floats; `Audio.on_disk` hands it a file mapping whose pages come and go while it reads."""
    audio = load_audio(shared_data / "diarization" / "pyannote_sample.wav")
    pcm = audio.compact().samples
    on_disk = audio.on_disk().samples
    assert pcm.dtype == np.int16 and heap.file_mapping(on_disk) is not None
    voices = np.stack([diarizer.embed(audio.samples[:80000])])  # enrollment reads the audio too
    floats, *others = (diarizer.diarize(samples, voices=voices) for samples in (audio.samples, pcm, on_disk))
    for other in others:
        assert other.turns == floats.turns and other.overlapping_turns == floats.overlapping_turns
        assert other.centroids.keys() == floats.centroids.keys()
        for label, vector in floats.centroids.items():
            np.testing.assert_array_equal(other.centroids[label], vector)
    np.testing.assert_array_equal(diarizer.embed(pcm[:80000]), voices[0])


@pytest.mark.parametrize("soft", [False, True])
def test_reconstruction_matches_pyannotes_float64_one(diarizer: Diarizer, shared_data: Path,
                                                      soft: bool) -> None:
    """The lean reconstruction (`discrete_diarization`) gives pyannote's own, exactly."""
    samples = load_audio(shared_data / "diarization" / "pyannote_sample.wav").samples
    pipeline = diarizer.pipeline
    file = {"waveform": torch.from_numpy(samples)[None], "sample_rate": 16000, "uri": "sample"}
    segmentations = pipeline.get_segmentations(file)
    if soft:  # scores that are not 0/1 (a non-powerset segmentation model)
        noise = np.random.default_rng(0).random(segmentations.data.shape, dtype=np.float32)
        segmentations = SlidingWindowFeature(segmentations.data * noise, segmentations.sliding_window)
    count = pipeline.speaker_count(segmentations, pipeline._segmentation.model.receptive_field,
                                   warm_up=(0.0, 0.0))  # as pyannote's `apply`
    rng = np.random.default_rng(1)
    chunks, _, speakers = segmentations.data.shape
    hard_clusters = rng.integers(0, 4, size=(chunks, speakers))
    hard_clusters[rng.random((chunks, speakers)) < 0.2] = -2  # inactive local speakers
    ours = pipeline.reconstruct(segmentations, hard_clusters, count)
    theirs = SpeakerDiarization.reconstruct(pipeline, segmentations, hard_clusters, count)
    assert ours.data.any()
    assert [(w.start, w.duration, w.step) for w in (ours.sliding_window, theirs.sliding_window)] == \
        [(theirs.sliding_window.start, theirs.sliding_window.duration, theirs.sliding_window.step)] * 2
    np.testing.assert_array_equal(ours.data, theirs.data)


def test_the_tuned_values_are_the_pipelines_hyper_parameters(diarizer: Diarizer) -> None:
    pipeline = diarizer.pipeline
    assert pipeline.instantiated
    parameters = pipeline.parameters(instantiated=True)
    assert parameters == hyper_parameters(DiarizeOptions()) == pipeline.default_parameters()
    assert parameters["clustering"]["threshold"] == tuned.CLUSTERING_THRESHOLD
    assert parameters["short_turns"]["max_share"] == tuned.SHORT_MAX_SHARE
    assert parameters["speaker_split"]["max_similarity"] == tuned.SPLIT_MAX_SIMILARITY
    assert parameters["speaker_split"]["min_margin"] == tuned.SPLIT_MIN_MARGIN
    assert parameters["segmentation"]["min_duration_off"] == tuned.MIN_DURATION_OFF
    assert parameters["min_speaker_seconds"] == tuned.MIN_SPEAKER_SECONDS
    assert parameters["resegmentation"] == {"enabled": True, "window": tuned.RESEGMENT_WINDOW,
                                            "min_gain": tuned.RESEGMENT_MIN_GAIN}
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
    assert np.isclose(pipeline.parameters(instantiated=True)["speaker_split"]["min_run"],
                      split_settings().min_run_frames * 0.02)
    pipeline.split = replace(split_settings(), min_margin=0.2)
    assert pipeline.parameters(instantiated=True)["speaker_split"]["min_margin"] == 0.2
