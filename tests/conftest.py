"""Shared fixtures: the real speech in ../shared/data, and bad or unusual media made with ffmpeg."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from podium.manifest import read_items

REPO = Path(__file__).resolve().parents[1]
SPEECH = "asr/jfk_inaugural_1961.flac"  # 11 s, 44.1 kHz stereo: exercises downmix and resampling
# The real speech lives outside the repository (README, "Test data"); PODIUM_SHARED_DATA points elsewhere,
# e.g. at an empty folder to check that the suite still runs, skipping only what needs the data.
SHARED_DATA = Path(os.environ.get("PODIUM_SHARED_DATA") or REPO.parent / "shared" / "data")
SHARED_MANIFEST = SHARED_DATA / "manifest.jsonl"


def shared_missing(*relative: str) -> str | None:
    """Why a test that needs these shared files cannot run (None when they are all there)."""
    wanted = ["manifest.jsonl", *relative]
    missing = [name for name in wanted if not (SHARED_DATA / name).is_file()]
    if not missing:
        return None
    return (f"shared test data missing: {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''} "
            f"under {SHARED_DATA} (README 'Test data': scripts/fetch_data, or set PODIUM_SHARED_DATA)")


def skip_without_shared(*relative: str) -> pytest.MarkDecorator:
    """A skip mark for a module or test that reads these files from the shared data."""
    reason = shared_missing(*relative)
    return pytest.mark.skipif(reason is not None, reason=reason or "")


def every_shared_file(kind: str) -> list[str]:
    """Every file of one kind ("asr", "diar") in the complete shared set, as scripts/fetch_data lists it:
    for tests that pool or sample the whole set, which a partial fetch cannot serve."""
    items = [item.fields for item in read_items(REPO / "tests" / "data" / "shared_data.jsonl")]
    return [f["path"] for item in items if item["manifest"]["kind"] == kind for f in item["files"]]


def ffmpeg(*args: str | Path) -> None:
    """Run ffmpeg quietly; fail the test with its stderr if it fails."""
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *map(str, args)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(cmd)}\n{result.stderr}"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data beside the repository: real speech with references; the test skips without it."""
    if reason := shared_missing():
        pytest.skip(reason)
    return SHARED_DATA


@pytest.fixture
def temp_files_mapped(monkeypatch: pytest.MonkeyPatch) -> None:
    """`Audio.on_disk` maps its temporary file wherever TMPDIR is. On a machine whose TMPDIR is a
    tmpfs it would keep the samples in memory instead, and a test of the on-disk path would test
    nothing; a mapping of a tmpfs file is read and paged out the same way."""
    from podium import media

    monkeypatch.setattr(media, "_memory_filesystem", lambda folder: False)


@pytest.fixture(scope="session")
def tmp_media(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """A folder of awkward inputs, made once per session:

    text.mp4 (a text file renamed), empty.mp4 (0 bytes), video_only.mp4 (h264, no audio),
    truncated.mp4 (faststart mp4 cut in half), no_moov.mp4 (plain mp4 cut in half: index lost),
    zero.wav (a header and no samples), silence.wav (3 s of digital silence),
    two_audio.mkv (video + audio stream 0: 440 Hz sine, audio stream 1: the first 4 s of JFK).
    """
    out = tmp_path_factory.mktemp("media")
    speech = shared_data / SPEECH
    color = ["-f", "lavfi", "-i", "color=c=navy:s=160x90:r=5"]
    (out / "text.mp4").write_text("This is a transcript, not a video.\n")
    (out / "empty.mp4").write_bytes(b"")
    ffmpeg(*color, "-t", "2", "-c:v", "libx264", out / "video_only.mp4")
    for name, flags in (("truncated.mp4", ["-movflags", "+faststart"]), ("no_moov.mp4", [])):
        whole = out / f"whole_{name}"
        ffmpeg(*color, "-i", speech, "-t", "8", "-c:v", "libx264", "-c:a", "aac", *flags, "-shortest",
               whole)
        data = whole.read_bytes()
        (out / name).write_bytes(data[: len(data) // 2])
    ffmpeg("-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-frames:a", "0", out / "zero.wav")
    ffmpeg("-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "3", out / "silence.wav")
    ffmpeg(*color, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-i", speech,
           "-map", "0:v", "-map", "1:a", "-map", "2:a", "-t", "4", "-c:v", "libx264", "-c:a", "aac",
           out / "two_audio.mkv")
    return out
