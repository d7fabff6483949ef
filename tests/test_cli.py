"""`podium` end to end as a user runs it: real models, real media, exit codes, no partial files."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO
from podium.cli import build_parser

pytestmark = pytest.mark.slow  # loads a real model or runs the whole command

EXAMPLE = REPO / "examples" / "briefing.mp4"


def podium(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "podium.cli", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=600)


def test_version() -> None:
    result = podium("--version")
    assert result.returncode == 0 and re.fullmatch(r"podium \d+\.\d+\.\d+\n", result.stdout)


def test_help_documents_every_flag() -> None:
    parser = build_parser()
    transcribe = parser._subparsers._group_actions[0].choices["transcribe"]  # type: ignore[union-attr]
    for action in transcribe._actions:
        if action.option_strings and action.dest != "help":
            assert action.help and len(action.help) > 10, action.option_strings
    text = podium("transcribe", "--help").stdout
    for flag in ("--model", "--device", "--compute-type", "--threads", "--language", "--initial-prompt",
                 "--hotwords", "--beam-size", "--batch-size", "--no-vad", "--audio-stream", "--format",
                 "--output-dir", "--quiet", "--no-diarize", "--num-speakers", "--speaker-names",
                 "--speaker-map", "--enroll"):
        assert flag in text, flag


@pytest.mark.parametrize(("name", "message"), [
    ("missing.mp4", r"no such file"),
    ("text.mp4", r"not a media file"),
    ("empty.mp4", r"is empty"),
    ("video_only.mp4", r"no audio stream in .*video_only.mp4 \(found: video: h264\)"),
    ("truncated.mp4", r"truncated or corrupt"),
    ("zero.wav", r"zero-length"),
])
def test_bad_input_is_one_line_exit_2_and_no_output(name: str, message: str, tmp_media: Path,
                                                   tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = podium("transcribe", tmp_media / name, "--output-dir", out, "--quiet", "--model", "tiny.en")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("podium: error: "), result.stderr
    assert re.search(message, lines[0]), lines[0]
    assert "Traceback" not in result.stderr
    assert not out.exists() or not any(out.iterdir())


def test_one_bad_input_among_good_ones(tmp_media: Path, shared_data: Path, tmp_path: Path) -> None:
    jfk = shared_data / "asr" / "jfk_inaugural_1961.flac"
    result = podium("transcribe", tmp_media / "text.mp4", jfk, "--output-dir", tmp_path, "--quiet",
                    "--model", "tiny.en", "--no-diarize", "--format", "txt,json")
    assert result.returncode == 2
    assert "text.mp4" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["jfk_inaugural_1961.json", "jfk_inaugural_1961.txt"]
    assert "ask not what your country" in (tmp_path / "jfk_inaugural_1961.txt").read_text().lower()


def test_silence_gives_an_empty_transcript_and_says_so(tmp_media: Path, tmp_path: Path) -> None:
    result = podium("transcribe", tmp_media / "silence.wav", "--output-dir", tmp_path, "--quiet",
                    "--model", "tiny.en", "--format", "txt,json")
    assert result.returncode == 0, result.stderr
    assert "no speech found" in result.stderr
    assert (tmp_path / "silence.txt").read_text() == ""


def test_bad_options_are_refused_before_any_work(tmp_path: Path) -> None:
    result = podium("transcribe", EXAMPLE, "--format", "txt,doc", "--output-dir", tmp_path)
    assert result.returncode == 2 and "doc" in result.stderr and "Traceback" not in result.stderr
    result = podium("transcribe", EXAMPLE, "--model", str(tmp_path / "nope"), "--output-dir", tmp_path)
    assert result.returncode == 2 and "model directory not found" in result.stderr
    assert not any(tmp_path.iterdir())


def test_nan_samples_are_silenced_with_one_warning_line(tmp_path: Path) -> None:
    """Issue 11: an 11 s float WAV with 11 NaN samples took 400 s and came back empty."""
    import numpy as np
    import scipy.io.wavfile

    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(REPO / "examples/enroll/secretary-general.wav"),
                          "-f", "f32le", "-ac", "1", "-ar", "44100", "pipe:"], capture_output=True).stdout
    samples = np.frombuffer(raw, dtype=np.float32).copy()
    samples[np.linspace(1000, len(samples) - 1000, 11).astype(int)] = np.nan
    scipy.io.wavfile.write(tmp_path / "nan.wav", 44100, samples)
    started = time.monotonic()
    result = podium("transcribe", tmp_path / "nan.wav", "--output-dir", tmp_path, "--quiet", "--model",
                    "tiny.en", "--no-diarize", "--format", "txt")
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 120  # tiny.en takes seconds; with the NaNs, over 5 minutes
    warning = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warning) == 1 and re.fullmatch(r"podium: warning: nan\.wav: \d+ NaN or infinite samples "
                                              r"replaced by silence", warning[0]), result.stderr
    assert "defense spending" in (tmp_path / "nan.txt").read_text()
