"""`podium bench` end to end on two shared recordings, and its config parsing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from podium.errors import PodiumError
from podium.evaluate.api import reference_from_manifest_item
from podium.evaluate.bench import parse_config
from podium.pipeline import TranscribeOptions


@pytest.mark.slow
def test_bench_two_shared_recordings(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "-m", "podium.cli", "bench", shared_data / "manifest.jsonl",
         "--id", "jfk_inaugural_1961", "--id", "pyannote_sample",
         "--config", "model=tiny.en", "--config", "model=tiny.en,diarize=false", "--json", out],
        capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    assert "model=tiny.en,diarize=false" in result.stdout and "WDER" in result.stdout
    payload = json.loads(out.read_text())
    assert "cores" in payload["machine"]
    with_diarization, without = payload["rows"]
    assert with_diarization["files"] == 2 and with_diarization["audio_seconds"] == pytest.approx(41, abs=1)
    # WER pooled over the JFK sentence only: the diarization item has no reference text.
    assert with_diarization["metrics"]["wer"]["value"] <= 0.10
    assert with_diarization["metrics"]["der"]["value"] <= 0.20  # pyannote's sample, measured ~0.08
    assert "skipped" in without["metrics"]["der"]  # no speakers, nothing to score DER on
    assert with_diarization["peak_rss_mb"] > 100 and with_diarization["realtime"] > 0


def test_config_names_any_stage_option() -> None:
    options = parse_config("model=base,batch_size=8,diarize=false,num_speakers=2", TranscribeOptions())
    assert (options.asr.model, options.asr.batch_size) == ("base", 8)
    assert options.diarize.diarize is False and options.diarize.num_speakers == 2


@pytest.mark.parametrize("text", ["colour=blue", "model", "batch_size=eight", "diarize=maybe"])
def test_bad_config_is_a_one_line_error(text: str) -> None:
    with pytest.raises(PodiumError):
        parse_config(text, TranscribeOptions())


def test_manifest_items_are_read_by_their_fields_not_their_kind(tmp_path: Path) -> None:
    text, uem = reference_from_manifest_item({"audio": "a.wav", "transcript": "Good morning."}, tmp_path)
    assert text.text == "Good morning." and text.turns == () and uem is None
    (tmp_path / "a.rttm").write_text("SPEAKER a 1 0.0 1.0 <NA> <NA> A <NA> <NA>\n")
    item = {"audio": "a.wav", "kind": "asr+diar", "transcript": "Hi.", "rttm": "a.rttm"}
    both, _ = reference_from_manifest_item(item, tmp_path)
    assert both.text == "Hi." and len(both.turns) == 1
    with pytest.raises(PodiumError, match="has no reference"):
        reference_from_manifest_item({"audio": "a.wav", "kind": "asr"}, tmp_path)


@pytest.mark.slow
def test_bench_on_the_manifest_its_help_describes(tmp_path: Path) -> None:
    """Issue 11: audio plus transcript, without "kind": "asr", crashed with KeyError: 'rttm'."""
    clip = Path(__file__).resolve().parents[1] / "examples" / "enroll" / "secretary-general.wav"
    spoken = ("Allies met in Brussels this week. We discussed defence spending, industrial capacity and our "
              "partnership with the countries of the Indo-Pacific.")
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text(json.dumps({"audio": str(clip), "transcript": spoken}) + "\n")
    result = subprocess.run([sys.executable, "-m", "podium.cli", "bench", manifest, "--config",
                             "model=tiny.en,diarize=false", "--json", tmp_path / "bench.json"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    row = json.loads((tmp_path / "bench.json").read_text())["rows"][0]
    assert row["files"] == 1 and row["metrics"]["wer"]["value"] <= 0.4  # tiny.en on an espeak voice: 27%
