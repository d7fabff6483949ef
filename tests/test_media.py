"""podium.media on real speech: every container we promise, stream choice, and every bad input."""

from __future__ import annotations

import argparse
import itertools
import re
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, SPEECH, ffmpeg
from podium import heap, media
from podium.errors import MediaError, PodiumWarning
from podium.formats.rttm import read_turns
from podium.media import (
    SAMPLE_RATE,
    Audio,
    MediaOptions,
    audio_from_array,
    float32_samples,
    load_audio,
    probe,
)
from podium.options import add_arguments, from_args

CLIP_SECONDS = 4.0
VIDEO = ["-f", "lavfi", "-i", "color=c=black:s=160x90:r=5"]
# extension -> (needs a picture, encoder flags). Video containers carry the codecs news video uses.
FORMATS: dict[str, tuple[bool, list[str]]] = {
    "mp4": (True, ["-c:v", "libx264", "-c:a", "aac"]),
    "mkv": (True, ["-c:v", "libx264", "-c:a", "libopus"]),
    "webm": (True, ["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-c:a", "libopus"]),
    "mov": (True, ["-c:v", "libx264", "-c:a", "aac"]),
    "ts": (True, ["-c:v", "libx264", "-c:a", "aac"]),
    "mp3": (False, ["-c:a", "libmp3lame"]),
    "m4a": (False, ["-c:a", "aac"]),
    "aac": (False, ["-c:a", "aac"]),
    "wav": (False, ["-c:a", "pcm_s16le"]),
    "flac": (False, ["-c:a", "flac"]),
    "ogg": (False, ["-c:a", "libvorbis"]),
    "opus": (False, ["-c:a", "libopus"]),
}


@pytest.fixture(scope="module")
def reference(shared_data: Path):
    """The speech clip every format is made from, decoded straight from the lossless source."""
    full = load_audio(shared_data / SPEECH)
    return audio_from_array(full.samples[: int(CLIP_SECONDS * SAMPLE_RATE)], SAMPLE_RATE)


def envelope(samples: np.ndarray, frame: int = 320) -> np.ndarray:
    """RMS per 20 ms frame: codec-proof (phase, filtering) but still follows the words."""
    usable = len(samples) // frame * frame
    return np.sqrt((samples[:usable].reshape(-1, frame) ** 2).mean(axis=1))


def similarity(a: np.ndarray, b: np.ndarray, max_lag: int = 5) -> float:
    """Best Pearson correlation of two envelopes within +-max_lag frames (codec delay)."""
    ea, eb = envelope(a), envelope(b)
    best = -1.0
    for lag in range(-max_lag, max_lag + 1):
        x, y = (ea[lag:], eb) if lag >= 0 else (ea, eb[-lag:])
        n = min(len(x), len(y))
        best = max(best, float(np.corrcoef(x[:n], y[:n])[0, 1]))
    return best


def dominant_hz(samples: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(samples))
    return float(np.fft.rfftfreq(len(samples), 1 / SAMPLE_RATE)[spectrum.argmax()])


@pytest.mark.parametrize("ext", list(FORMATS))
def test_each_format_decodes_to_16k_mono_float32(ext: str, tmp_path: Path, shared_data: Path,
                                                 reference) -> None:
    needs_video, codec = FORMATS[ext]
    path = tmp_path / f"clip.{ext}"
    video = VIDEO if needs_video else []
    ffmpeg(*video, "-i", shared_data / SPEECH, "-t", str(CLIP_SECONDS), *codec, path)

    audio = load_audio(path)

    assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1
    assert audio.sample_rate == SAMPLE_RATE and audio.source == str(path)
    assert abs(audio.duration - CLIP_SECONDS) < 0.1, audio.duration
    assert similarity(audio.samples, reference.samples) > 0.9


def test_duration_matches_probe_and_sample_count(shared_data: Path) -> None:
    path = shared_data / SPEECH
    info = probe(path)
    audio = load_audio(path)
    assert info.duration == pytest.approx(11.0, abs=0.01)
    assert len(audio.samples) == pytest.approx(11.0 * SAMPLE_RATE, abs=2)
    assert info.audio_streams[0].channels == 2 and info.audio_streams[0].sample_rate == 44100


def test_buffer_grows_past_a_short_or_unknown_duration(shared_data: Path) -> None:
    """The probed duration only sizes the first buffer; a container that under-reports must not clip."""
    from podium.media import _read_floats

    cmd = ["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(shared_data / SPEECH),
           "-f", "f32le", "-ac", "1", "-ar", str(SAMPLE_RATE), "pipe:"]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, bufsize=0) as proc:
        grown = _read_floats(proc.stdout, capacity=1000)  # 1000 samples for 11 s: grows many times
    assert np.array_equal(grown, load_audio(shared_data / SPEECH).samples)


def test_probe_lists_streams(tmp_media: Path) -> None:
    info = probe(tmp_media / "two_audio.mkv")
    assert [s.index for s in info.audio_streams] == [0, 1]
    assert [s.codec for s in info.audio_streams] == ["aac", "aac"]
    assert info.other_streams == ("video: h264",)
    assert "matroska" in info.format_name
    assert info.duration == pytest.approx(4.0, abs=0.1)


def test_stream_selection_picks_the_requested_track(tmp_media: Path, reference) -> None:
    path = tmp_media / "two_audio.mkv"
    first = load_audio(path)
    sine = load_audio(path, MediaOptions(audio_stream=0))
    speech = load_audio(path, MediaOptions(audio_stream=1))

    assert np.array_equal(first.samples, sine.samples)  # default: the first audio stream
    assert dominant_hz(sine.samples) == pytest.approx(440, abs=2)
    assert similarity(sine.samples, reference.samples) < 0.5
    assert similarity(speech.samples, reference.samples) > 0.9


def test_audio_stream_is_a_cli_flag() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser, MediaOptions, "media")
    assert from_args(MediaOptions, parser.parse_args(["--audio-stream", "1"]), "media") == MediaOptions(1)
    assert from_args(MediaOptions, parser.parse_args([]), "media") == MediaOptions()


@pytest.mark.parametrize("wanted", [2, -1])
def test_audio_stream_out_of_range(tmp_media: Path, wanted: int) -> None:
    expected = rf"--audio-stream {wanted} .*has 2 audio streams \(0: aac, 1: aac\)"
    with pytest.raises(MediaError, match=expected):
        load_audio(tmp_media / "two_audio.mkv", MediaOptions(audio_stream=wanted))


@pytest.mark.parametrize(("name", "message"), [
    ("missing.mp4", r"^no such file: .*missing\.mp4$"),
    ("text.mp4", r"^text\.mp4 is not a media file \(it looks like text\)$"),
    ("empty.mp4", r"^empty\.mp4 is empty"),
    ("video_only.mp4", r"^no audio stream in video_only\.mp4 \(found: video: h264\)$"),
    ("truncated.mp4", r"^truncated\.mp4 looks truncated or corrupt: decoded \d+\.\d s of the 8\.0 s it "
                      r"announces \(ffmpeg: .*partial file\)$"),
    ("no_moov.mp4", r"^no_moov\.mp4 is not a media file ffmpeg can read, or it is truncated or corrupt "
                    r"\(ffprobe: moov atom not found\)$"),
    ("zero.wav", r"^zero\.wav has an audio stream but it holds no samples \(zero-length audio\)$"),
])
def test_bad_input_gives_one_line_error(tmp_media: Path, name: str, message: str) -> None:
    with pytest.raises(MediaError, match=message) as caught:
        load_audio(tmp_media / name)
    assert "\n" not in str(caught.value)


def test_missing_ffmpeg_says_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            shared_data: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: neither ffmpeg nor ffprobe on PATH
    with pytest.raises(MediaError, match=r"^ffmpeg not found: install it with `sudo apt-get install "
                                         r"ffmpeg` \(Debian/Ubuntu\) or `brew install ffmpeg` \(macOS\)$"):
        load_audio(shared_data / SPEECH)
    with pytest.raises(MediaError, match=r"^ffprobe \(part of ffmpeg\) not found: install it"):
        probe(shared_data / SPEECH)


def test_silence_is_audio_not_an_error(tmp_media: Path) -> None:
    silence = load_audio(tmp_media / "silence.wav")
    assert silence.duration == pytest.approx(3.0, abs=0.01)


def test_audio_from_array_resamples_and_downmixes(shared_data: Path) -> None:
    import wave

    path = shared_data / "asr/ljspeech_LJ001-0002.wav"  # 22.05 kHz int16
    with wave.open(str(path)) as handle:
        rate = handle.getframerate()
        pcm = np.frombuffer(handle.readframes(handle.getnframes()), dtype=np.int16)
    stereo = np.stack([pcm, pcm], axis=1)  # (frames, channels)

    audio = audio_from_array(stereo, rate, source="memory")

    decoded = load_audio(path)
    assert rate == 22050 and audio.sample_rate == SAMPLE_RATE and audio.samples.dtype == np.float32
    assert len(audio.samples) == pytest.approx(len(decoded.samples), abs=2)
    assert similarity(audio.samples, decoded.samples, max_lag=0) > 0.99
    assert np.abs(audio.samples).max() <= 1.0


EXAMPLE = REPO / "examples"


def read_rttm(path: Path) -> list[tuple[float, float, str]]:
    return [(turn.start, turn.end, turn.speaker) for turn in read_turns(path)]


def test_example_briefing_matches_its_ground_truth() -> None:
    audio = load_audio(EXAMPLE / "briefing.mp4")
    info = probe(EXAMPLE / "briefing.mp4")
    turns = read_rttm(EXAMPLE / "briefing.rttm")
    references = (EXAMPLE / "briefing.ref.txt").read_text().splitlines()

    assert (EXAMPLE / "briefing.mp4").stat().st_size <= 2_000_000
    assert info.other_streams == ("video: h264",) and info.audio_streams[0].codec == "aac"
    assert 30 <= audio.duration <= 50
    assert {speaker for _, _, speaker in turns} == {"Moderator", "Secretary-General", "Journalist"}
    assert len(references) == len(turns)
    for (start, _, speaker), line in zip(turns, references, strict=True):
        assert line.startswith(f"[{int(start) // 60:02d}:{int(start) % 60:02d}] {speaker}: ")

    # The RTTM must describe the audio as decoded: loud inside every turn, silent in every gap.
    def loudest_db(start: float, end: float) -> float:
        chunk = audio.samples[int(start * SAMPLE_RATE):int(end * SAMPLE_RATE)]
        return 20 * np.log10(envelope(chunk).max() + 1e-12)

    for start, end, _ in turns:
        assert loudest_db(start, end) > -30
    for (_, end, _), (start, _, _) in itertools.pairwise(turns):
        assert 0.4 - 1e-3 <= start - end <= 0.8 + 1e-3  # RTTM times are rounded to ms
        assert loudest_db(end + 0.05, start - 0.05) < -50


@pytest.mark.slow  # regenerates the example with espeak-ng and ffmpeg
def test_make_example_is_reproducible(tmp_path: Path) -> None:
    """The committed example is exactly what scripts/make_example builds from briefing.txt."""
    result = subprocess.run([str(REPO / "scripts/make_example"), str(tmp_path)], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    for name in ("briefing.mp4", "briefing.rttm", "briefing.ref.txt"):
        assert (tmp_path / name).read_bytes() == (EXAMPLE / name).read_bytes(), name


def _float_wav_with(values: dict[int, float], path: Path, rate: int = 44100) -> Path:
    """The example's enrollment clip (9 s of speech) as a float WAV, with some samples overwritten."""
    import scipy.io.wavfile

    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(REPO / "examples/enroll/secretary-general.wav"),
                          "-f", "f32le", "-ac", "1", "-ar", str(rate), "pipe:"], capture_output=True).stdout
    samples = np.frombuffer(raw, dtype=np.float32).copy()
    for index, value in values.items():
        samples[index] = value
    scipy.io.wavfile.write(path, rate, samples)
    return path


def test_nan_and_infinite_samples_become_silence_with_a_warning(tmp_path: Path) -> None:
    """Issue 11: 11 NaN samples made Whisper spend ~200x real time and return nothing. At 44.1 kHz,
    resampling smears each over its neighbours (383 non-finite samples from 11): all must go."""
    bad = {i: float("nan") for i in range(1000, 380_000, 34_000)} | {5000: float("inf"), 6000: -float("inf")}
    path = _float_wav_with(bad, tmp_path / "broken.wav")
    with pytest.warns(PodiumWarning, match=r"broken\.wav: \d+ NaN or infinite samples replaced by silence"):
        audio = load_audio(path)
    assert np.isfinite(audio.samples).all() and 8.9 < audio.duration < 9.2
    assert np.abs(audio.samples).max() > 0.1  # the speech is still there


def test_in_memory_nan_samples_are_fixed_on_a_copy() -> None:
    samples = np.zeros(SAMPLE_RATE, dtype=np.float32)
    samples[10] = np.nan
    with pytest.warns(PodiumWarning, match="clip: 1 NaN or infinite sample replaced"):
        audio = audio_from_array(samples, SAMPLE_RATE, source="clip")
    assert np.isfinite(audio.samples).all() and np.isnan(samples[10])


def test_compact_holds_16_bit_audio_as_pcm_and_gives_the_same_floats_back() -> None:
    every_value = np.arange(-32768, 32768, dtype=np.int16)
    floats = np.tile(every_value.astype(np.float32) / 32768, 20)  # > one conversion block
    compact = Audio(floats, source="x.wav").compact()
    assert compact.samples.dtype == np.int16 and compact.source == "x.wav"
    assert compact.duration == Audio(floats).duration
    np.testing.assert_array_equal(compact.samples, np.tile(every_value, 20))
    back = float32_samples(compact.samples)
    assert back.dtype == np.float32 and np.array_equal(back, floats)
    assert compact.compact() is compact and float32_samples(floats) is floats


@pytest.mark.usefixtures("temp_files_mapped")
def test_audio_on_disk_reads_the_same_samples_and_leaves_resident_memory(monkeypatch: pytest.MonkeyPatch
                                                                         ) -> None:
    samples = np.random.default_rng(0).uniform(-1, 1, 64 * SAMPLE_RATE).astype(np.float32)  # 4 MiB
    audio = Audio(samples, source="x.aac")
    on_disk = audio.on_disk()
    assert heap.file_mapping(on_disk.samples) is not None and heap.file_mapping(samples) is None
    assert on_disk.source == "x.aac" and on_disk.samples.dtype == np.float32
    np.testing.assert_array_equal(on_disk.samples, samples)
    assert on_disk.on_disk() is on_disk and on_disk.compact() is on_disk  # PCM would cost memory
    monkeypatch.setattr(heap, "PAGE_OUT_SECONDS", 0.05)
    deadline = time.monotonic() + 5
    while _resident_pages(on_disk.samples) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _resident_pages(on_disk.samples) == 0
    np.testing.assert_array_equal(on_disk.samples[-100:], samples[-100:])  # read back from the file


def _resident_pages(samples: np.ndarray) -> int:
    """Pages of the mapping under `samples` that this process holds (its Rss in /proc/self/smaps)."""
    address = samples.__array_interface__["data"][0]
    inside = False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        header = re.match(r"([0-9a-f]+)-([0-9a-f]+) ", line)
        if header:
            inside = int(header[1], 16) <= address < int(header[2], 16)
        elif inside and line.startswith("Rss:"):
            return int(line.split()[1]) // 4  # kB
    raise AssertionError("no mapping holds the samples")


def test_audio_stays_in_memory_where_a_file_cannot_help(monkeypatch: pytest.MonkeyPatch) -> None:
    audio = Audio(np.ones(SAMPLE_RATE, dtype=np.float32))
    empty = Audio(np.zeros(0, dtype=np.float32))
    assert empty.on_disk() is empty  # nothing to map: an empty file cannot be mapped at all
    monkeypatch.setattr(media, "_memory_filesystem", lambda folder: True)  # TMPDIR on tmpfs
    assert audio.on_disk() is audio
    monkeypatch.undo()

    def full_disk() -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(media.tempfile, "TemporaryFile", full_disk)
    assert audio.on_disk() is audio


def test_memory_filesystems_are_told_from_disks() -> None:
    kinds = {fields[1]: fields[2] for fields in (line.split() for line in
                                                 Path("/proc/mounts").read_text().splitlines())}
    assert media._memory_filesystem("/") is (kinds["/"] in ("tmpfs", "ramfs"))
    if kinds.get("/dev/shm") == "tmpfs":
        assert media._memory_filesystem("/dev/shm") and media._memory_filesystem("/dev/shm/x/y")


@pytest.mark.parametrize("value", [0.5 / 32768, 1.0, 1e-6])
def test_compact_keeps_floats_that_are_not_16_bit_pcm(value: float) -> None:
    """Rounding would change them (1.0 is one step past int16's largest value): nothing is compacted."""
    samples = np.zeros(3_000_000, dtype=np.float32)
    samples[-1] = value  # in the last conversion block
    audio = Audio(samples)
    assert audio.compact() is audio


def test_decoded_16_bit_wav_compacts_exactly(shared_data: Path) -> None:
    audio = load_audio(shared_data / "diarization" / "pyannote_sample.wav")
    compact = audio.compact()
    assert compact.samples.dtype == np.int16
    np.testing.assert_array_equal(float32_samples(compact.samples), audio.samples)
