"""Media front end: probe a file with ffprobe and decode one audio stream to 16 kHz mono float32.

Decoding goes through an ffmpeg pipe (`-f f32le -ac 1 -ar 16000 pipe:`) straight into a numpy buffer
sized from the probed duration, so a 3-hour broadcast costs about its decoded size in memory (~0.7 GB)
rather than the two or three copies a list-of-chunks-then-join would need. No temporary WAV is written.
"""

from __future__ import annotations

import collections
import io
import math
import mmap
import os
import re
import shutil
import subprocess
import tempfile
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

import numpy as np

from podium import heap
from podium.errors import MediaError, PodiumWarning
from podium.options import option

# Every stage works on 16 kHz mono (Whisper, pyannote and CAM++ all expect it); this is the one place
# that says so. ffmpeg-python is imported where it is used, not here, so that podium.diarize can read
# this constant on machines without it (the GPU check, scripts/gpu_check.py).
SAMPLE_RATE = 16000
_BYTES_PER_SAMPLE = 4  # float32
PCM_SCALE = 32768.0  # int16 full scale: ffmpeg's float sample for 16-bit PCM x is x / PCM_SCALE
_READ_CHUNK = 1 << 20  # bytes asked of the pipe per read; the kernel hands back at most a pipe's worth
_CHECK_CHUNK = 1 << 20  # samples checked for NaN at a time, so the check needs no file-sized mask
_FFMPEG_MISSING = ("{tool} not found: install it with `sudo apt-get install ffmpeg` (Debian/Ubuntu) "
                   "or `brew install ffmpeg` (macOS)")
# ffmpeg lines that only repeat that *something* failed; the line before them says what.
_GENERIC_ERRORS = ("Invalid data found when processing input", "Error while decoding stream",
                   "Conversion failed!", "Error opening input file", "Error opening input files")
_LOG_PREFIX = re.compile(r"^\[[^\]]+ @ 0x[0-9a-f]+\]\s*")


@dataclass(frozen=True)
class MediaOptions:
    audio_stream: int | None = option(
        None, "index among the file's audio streams to transcribe (default: the first)", metavar="N")


@dataclass(frozen=True)
class AudioStreamInfo:
    index: int  # position among the file's audio streams: what --audio-stream takes
    codec: str
    channels: int
    sample_rate: int
    duration: float | None  # seconds; None where the container does not say per stream (mkv)
    language: str | None = None


@dataclass(frozen=True)
class MediaInfo:
    path: str
    duration: float | None
    audio_streams: tuple[AudioStreamInfo, ...]
    other_streams: tuple[str, ...]  # "video: h264", "subtitle: mov_text", ...
    format_name: str


@dataclass(frozen=True, eq=False)  # eq=False: comparing numpy arrays with == is not a bool
class Audio:
    samples: np.ndarray  # mono; float32 in [-1, 1] as decoded, or int16 PCM (`compact`); maybe `on_disk`
    sample_rate: int = SAMPLE_RATE
    source: str | None = None

    def __post_init__(self) -> None:
        if self.samples.ndim != 1:
            raise ValueError(f"Audio.samples must be mono (1-D), got shape {self.samples.shape}")

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate

    def compact(self) -> Audio:
        """The same samples in half the memory where that loses nothing: as 16-bit PCM when every
        sample is one exactly (a 16-bit source at 16 kHz: ffmpeg's float for PCM x is x / 32768),
        else this Audio unchanged. `float32_samples` gives the floats back bit for bit.

        Rounding other sources to 16 bits is not done: noise near -96 dBFS alone moved the pooled
        DER of the 21 shared recordings from 18.8% to 19.6% (benchmarks/README.md). Samples on disk
        (`on_disk`) stay as they are: they cost no memory, and PCM would."""
        if self.samples.dtype != np.float32 or heap.file_mapping(self.samples) is not None:
            return self
        pcm = np.empty(len(self.samples), dtype=np.int16)
        for first in range(0, len(self.samples), _CHECK_CHUNK):  # no file-sized float temporaries
            block = self.samples[first:first + _CHECK_CHUNK] * np.float32(PCM_SCALE)
            if not (np.array_equal(np.rint(block), block) and block.min() >= -PCM_SCALE
                    and block.max() < PCM_SCALE):
                return self
            pcm[first:first + len(block)] = block
        return Audio(pcm, self.sample_rate, self.source)

    def on_disk(self) -> Audio:
        """The same samples, read from a temporary file (unnamed: it goes when they do) mapped into
        memory and kept out of resident memory (`podium.heap.page_out`): a long recording then
        costs the process only what a step is reading, however long it is. This Audio unchanged
        where that cannot help: samples on disk already or empty, a temporary folder that is memory
        itself (tmpfs: set TMPDIR to a folder on disk), or a file that cannot be written."""
        if self.samples.size == 0 or heap.file_mapping(self.samples) is not None \
                or _memory_filesystem(tempfile.gettempdir()):
            return self
        try:
            with tempfile.TemporaryFile() as file:
                self.samples.tofile(file)
                file.flush()
                mapping = mmap.mmap(file.fileno(), self.samples.nbytes)
        except OSError:  # a full disk, say: the samples stay in memory
            return self
        heap.page_out(mapping)
        samples = np.frombuffer(mapping, dtype=self.samples.dtype, count=self.samples.size)
        return Audio(samples, self.sample_rate, self.source)


def float32_samples(samples: np.ndarray) -> np.ndarray:
    """`samples` as float32 in [-1, 1]: int16 PCM (`Audio.compact`) scaled, float32 as it is (no copy)."""
    if samples.dtype == np.int16:
        return np.multiply(samples, np.float32(1.0 / PCM_SCALE), dtype=np.float32)
    return samples


def probe(path: str | Path) -> MediaInfo:
    """What ffprobe sees in `path`; raises MediaError if it is missing or not media at all."""
    path = _existing_file(path)
    _require_tool("ffprobe")
    import ffmpeg  # here: see SAMPLE_RATE

    try:
        data = ffmpeg.probe(_ffmpeg_url(path), v="error")
    except ffmpeg.Error as exc:
        raise _unreadable(path, exc.stderr) from None
    fmt = data.get("format", {})
    streams = data.get("streams", [])
    if not streams or fmt.get("format_name") == "tty":  # tty: ffmpeg's "render this text file" demuxer
        raise MediaError(f"{path.name} is not a media file (ffprobe found no audio or video in it)")
    audio = [s for s in streams if s.get("codec_type") == "audio"]
    return MediaInfo(
        path=str(path),
        duration=_seconds(fmt.get("duration")),
        audio_streams=tuple(_audio_stream_info(i, s) for i, s in enumerate(audio)),
        other_streams=tuple(f"{s.get('codec_type', 'unknown')}: {s.get('codec_name', 'unknown')}"
                            for s in streams if s.get("codec_type") != "audio"),
        format_name=fmt.get("format_name", "unknown"),
    )


def load_audio(path: str | Path, options: MediaOptions = MediaOptions()) -> Audio:
    """Decode one audio stream of `path` to 16 kHz mono float32 (all channels mixed down)."""
    _existing_file(path)  # before the tool check: a missing input is the more useful thing to report
    _require_tool("ffmpeg")
    info = probe(path)
    stream = _choose_stream(info, options.audio_stream)
    expected = stream.duration or info.duration
    samples, stderr_tail, returncode = _decode(Path(info.path), stream.index, expected)
    name = Path(info.path).name
    if returncode != 0:
        raise MediaError(f"ffmpeg could not decode {name}: {_last_meaningful(stderr_tail)}")
    decoded = len(samples) / SAMPLE_RATE
    if stderr_tail and expected and decoded < expected - max(1.0, 0.02 * expected):
        raise MediaError(f"{name} looks truncated or corrupt: decoded {decoded:.1f} s of the "
                         f"{expected:.1f} s it announces (ffmpeg: {_last_meaningful(stderr_tail)})")
    if len(samples) == 0:
        raise MediaError(f"{name} has an audio stream but it holds no samples (zero-length audio)")
    return Audio(samples=finite_samples(samples, name), sample_rate=SAMPLE_RATE, source=info.path)


def audio_from_array(samples: Any, sample_rate: int, source: str | None = None) -> Audio:
    """An Audio from samples already in memory: 1-D, or 2-D as (frames, channels); ints are scaled."""
    array = np.asarray(samples)
    if array.ndim not in (1, 2):
        raise ValueError(f"expected 1-D or (frames, channels) samples, got shape {array.shape}")
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    if np.issubdtype(array.dtype, np.integer):
        array = array.astype(np.float32) / float(np.iinfo(array.dtype).max + 1)
    array = array.astype(np.float32, copy=False)
    if array.ndim == 2:
        array = array.mean(axis=1, dtype=np.float32)
    if sample_rate != SAMPLE_RATE:
        array = _resample(array, sample_rate)
    array = np.ascontiguousarray(array, dtype=np.float32)
    if not np.isfinite(array).all():  # fixed on a copy: the caller's array stays as it was
        array = finite_samples(array.copy(), source or "the audio")
    return Audio(samples=array, sample_rate=SAMPLE_RATE, source=source)


def finite_samples(samples: np.ndarray, name: str) -> np.ndarray:
    """`samples` with NaN and infinite values set to 0 (silence), in place, with a warning naming `name`.

    A float WAV may hold them (a broken encoder, or a file made to do harm). Whisper then spent ~200x
    real time on 11 NaN samples and returned nothing, and resampling smears each one over its
    neighbours; silence in their place costs a few milliseconds of audio.
    """
    replaced = 0
    for first in range(0, len(samples), _CHECK_CHUNK):
        block = samples[first:first + _CHECK_CHUNK]  # a view: fixed in place
        bad = ~np.isfinite(block)
        if bad.any():
            replaced += int(bad.sum())
            block[bad] = 0.0
    if replaced:
        warnings.warn(f"{name}: {replaced} NaN or infinite sample{'s' if replaced != 1 else ''} "
                      "replaced by silence", PodiumWarning, stacklevel=2)
    return samples


def _existing_file(path: str | Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise MediaError(f"no such file: {path}")
    if not path.is_file():
        raise MediaError(f"not a file: {path}")
    return path


def _require_tool(tool: str) -> None:
    if shutil.which(tool) is None:
        name = "ffmpeg" if tool == "ffmpeg" else f"{tool} (part of ffmpeg)"
        raise MediaError(_FFMPEG_MISSING.format(tool=name))


def _ffmpeg_url(path: Path) -> str:
    # "file:" so that a name like "http:clip.mp4" or "-x.mp4" is read as a local file, not a URL or flag.
    return "file:" + str(path.resolve())


def _seconds(value: Any) -> float | None:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _audio_stream_info(index: int, stream: dict[str, Any]) -> AudioStreamInfo:
    return AudioStreamInfo(
        index=index,
        codec=stream.get("codec_name", "unknown"),
        channels=int(stream.get("channels") or 0),
        sample_rate=int(stream.get("sample_rate") or 0),
        duration=_seconds(stream.get("duration")),
        language=_language(stream),
    )


def _language(stream: dict[str, Any]) -> str | None:
    language = stream.get("tags", {}).get("language")
    return None if language in (None, "", "und") else language  # "und": ISO 639-2 for "not specified"


def _choose_stream(info: MediaInfo, wanted: int | None) -> AudioStreamInfo:
    name = Path(info.path).name
    if not info.audio_streams:
        found = ", ".join(info.other_streams) or "no streams"
        raise MediaError(f"no audio stream in {name} (found: {found})")
    index = 0 if wanted is None else wanted
    if not 0 <= index < len(info.audio_streams):
        count = len(info.audio_streams)
        listing = ", ".join(f"{s.index}: {s.codec}" + (f" {s.language}" if s.language else "")
                            for s in info.audio_streams)
        raise MediaError(f"--audio-stream {index} is out of range: {name} has {count} audio "
                         f"stream{'s' if count != 1 else ''} ({listing})")
    return info.audio_streams[index]


def _decode(path: Path, stream_index: int,
            expected_seconds: float | None) -> tuple[np.ndarray, list[str], int]:
    """Run ffmpeg and read its stdout into a float32 buffer; return samples, stderr tail, exit code."""
    import ffmpeg  # here: see SAMPLE_RATE

    args = (ffmpeg.input(_ffmpeg_url(path))
            .output("pipe:", map=f"0:a:{stream_index}", format="f32le", ac=1, ar=SAMPLE_RATE)
            .global_args("-nostdin", "-hide_banner", "-nostats", "-loglevel", "error")
            .compile())
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, bufsize=0)
    assert proc.stdout is not None and proc.stderr is not None
    tail: collections.deque[str] = collections.deque(maxlen=50)
    # stderr is drained on a thread: a chatty corrupt file could otherwise fill its pipe and stall ffmpeg
    # while we block reading stdout.
    drainer = threading.Thread(target=_drain_lines, args=(proc.stderr, tail), daemon=True)
    drainer.start()
    try:
        samples = _read_floats(proc.stdout, _initial_capacity(expected_seconds))
    finally:
        proc.stdout.close()
        returncode = proc.wait()
        drainer.join()
        proc.stderr.close()
    return samples, list(tail), returncode


def _memory_filesystem(folder: str) -> bool:
    """Whether `folder` lies on a filesystem held in memory (tmpfs, ramfs), by /proc/mounts."""
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return False
    real, longest, kind = os.path.realpath(folder), "", ""
    for line in mounts:
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        inside = real == point or real.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(longest):  # a later mount on the same point hides the earlier
            longest, kind = point, fields[2]
    return kind in ("tmpfs", "ramfs")


def _drain_lines(stream: IO[bytes], tail: collections.deque[str]) -> None:
    for raw in stream:
        line = raw.decode("utf-8", errors="replace").strip()
        if line:
            tail.append(line)


def _initial_capacity(expected_seconds: float | None) -> int:
    if not expected_seconds:
        return 60 * SAMPLE_RATE
    # A little headroom: resampling and codec padding can add a few ms beyond the container's figure.
    return int(expected_seconds * SAMPLE_RATE * 1.002) + SAMPLE_RATE


def _read_floats(stream: IO[bytes], capacity: int) -> np.ndarray:
    # A pipe's stdout is a BufferedReader, whose readinto fills the array without a copy; `IO[bytes]`
    # does not declare readinto.
    reader = cast(io.BufferedReader, stream)
    buffer = np.empty(capacity, dtype=np.float32)
    filled = 0  # bytes
    while True:
        if filled == buffer.nbytes:  # the probed duration was short (or unknown): grow by half
            buffer = _grown(buffer, filled)
        with buffer.data.cast("B") as raw:
            count = reader.readinto(raw[filled:filled + _READ_CHUNK])
        if not count:
            break
        filled += count
    samples = filled // _BYTES_PER_SAMPLE
    # In-place shrink: realloc hands the unused tail back without copying the samples.
    buffer.resize(samples, refcheck=False)
    return buffer


def _grown(buffer: np.ndarray, filled: int) -> np.ndarray:
    bigger = np.empty(max(SAMPLE_RATE, len(buffer) * 3 // 2), dtype=np.float32)
    bigger.view(np.uint8)[:filled] = buffer.view(np.uint8)[:filled]
    return bigger


def _resample(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    from scipy.signal import resample_poly  # imported here: only in-memory arrays at other rates need it

    common = math.gcd(SAMPLE_RATE, sample_rate)
    return resample_poly(samples, SAMPLE_RATE // common, sample_rate // common).astype(np.float32)


def _last_meaningful(lines: list[str]) -> str:
    cleaned = [_LOG_PREFIX.sub("", line) for line in lines]
    specific = [line for line in cleaned if not any(g in line for g in _GENERIC_ERRORS)]
    return (specific or cleaned or ["no error message"])[-1]


def _unreadable(path: Path, stderr: bytes | None) -> MediaError:
    if path.stat().st_size == 0:
        return MediaError(f"{path.name} is empty (0 bytes)")
    if _looks_like_text(path):
        return MediaError(f"{path.name} is not a media file (it looks like text)")
    lines = (stderr or b"").decode("utf-8", errors="replace").splitlines()
    reason = _last_meaningful([line.strip() for line in lines if line.strip()])
    return MediaError(f"{path.name} is not a media file ffmpeg can read, or it is truncated or "
                      f"corrupt (ffprobe: {reason})")


def _looks_like_text(path: Path) -> bool:
    with open(path, "rb") as handle:
        head = handle.read(4096)
    if not head or b"\0" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
