"""Bad inputs and a hostile machine, as one table a reader can scan.

Each row of CASES is: the case, the setup that builds it (in the test's own folder), the exit code podium
must give, and a fragment of the one-line message it must print. Every row also checks what holds for
all of them: no traceback, no temp file left behind, each input's outputs all written or none, and
outputs that get the umask's mode. Exit codes: 0 all done, 1 the run stopped on a problem of the machine
(fix it and rerun), 2 some input failed or the arguments are wrong (README, "Exit codes and failure
handling").
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import signal
import stat
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, ffmpeg
from podium import files
from podium.batch.ledger import LEDGER_NAME, read_lines
from podium.cli import main
from podium.errors import MediaError
from podium.files import Stopped, sha256_file
from podium.media import Audio
from podium.pipeline import Podium, TranscribeOptions
from podium.weights import whisper as models

pytestmark = pytest.mark.slow

FORMATS = {".txt", ".json"}
TINY = ["--model", "tiny.en", "--format", "txt,json", "--quiet"]
NO_DIARIZE = [*TINY, "--no-diarize"]
AS_ROOT = os.geteuid() == 0
ROOT_REASON = "root reads and writes past file permissions"
Check = Callable[[Path, str], None]  # (the test's folder, stdout): what else must hold after the run
Setup = Callable[[Path, dict[str, Path], pytest.MonkeyPatch], tuple[list[str], Check | None]]


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Speech from the bundled example (no shared data needed): 3 s, 50 ms and 10 ms, and a text file."""
    folder = tmp_path_factory.mktemp("clips")
    example = REPO / "examples" / "briefing.mp4"
    made = {"good": ("3", "good.wav"), "short": ("0.05", "short.wav"), "enroll_10ms": ("0.01", "host.wav")}
    for seconds, file_name in made.values():
        ffmpeg("-ss", "8", "-i", example, "-t", seconds, "-ac", "1", "-ar", "16000", folder / file_name)
    (folder / "text.mp4").write_text("This is a transcript, not a video.\n")
    return {name: folder / file_name for name, (_, file_name) in made.items()} | {"text": folder / "text.mp4"}


def _folder(tmp: Path, *sources: Path) -> Path:
    inputs = tmp / "in"
    inputs.mkdir(exist_ok=True)
    for source in sources:
        shutil.copy(source, inputs / source.name)
    return inputs


def _disk_full_on_json(monkeypatch: pytest.MonkeyPatch) -> None:
    """The disk fills up after an input's txt is written and before its json is."""
    real = files._write_temp

    def write(path: Path, content: str | bytes) -> str:
        if path.suffix == ".json":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(path, content)

    monkeypatch.setattr(files, "_write_temp", write)


def _ledger_statuses(out: Path) -> dict[str, str]:
    lines = read_lines(out / LEDGER_NAME)
    return {line["key"]: line["status"] for line in lines if line.get("event") == "file"}


# --- setups: each builds its case and returns podium's arguments (and any extra check) -------------------


def fifo_in_folder(tmp: Path, clips: dict[str, Path], monkeypatch: pytest.MonkeyPatch):
    inputs = _folder(tmp, clips["good"])
    os.mkfifo(inputs / "pipe.wav")  # hashing it used to block forever

    def check(tmp: Path, stdout: str) -> None:
        assert _ledger_statuses(tmp / "out") == {"good": "done", "pipe": "failed"}
    return ["batch", str(inputs), "--output-dir", str(tmp / "out"), *NO_DIARIZE], check


def dev_zero_in_manifest(tmp: Path, clips: dict[str, Path], monkeypatch: pytest.MonkeyPatch):
    manifest = tmp / "list.txt"
    manifest.write_text(f"/dev/zero\n{clips['good']}\n")  # /dev/zero never ends: it was hashed forever

    def check(tmp: Path, stdout: str) -> None:
        assert _ledger_statuses(tmp / "out") == {"good": "done", "zero": "failed"}
    return ["batch", str(manifest), "--output-dir", str(tmp / "out"), *NO_DIARIZE], check


def short_clip_transcribe(tmp: Path, clips: dict[str, Path], monkeypatch: pytest.MonkeyPatch):
    def check(tmp: Path, stdout: str) -> None:  # both written; the short one has no speakers
        assert {Path(line).name for line in stdout.split()} == {"short.txt", "short.json", "good.txt",
                                                                 "good.json"}
        assert json.loads((tmp / "out" / "short.json").read_text())["speakers"] == []
    return ["transcribe", str(clips["short"]), str(clips["good"]), "--output-dir", str(tmp / "out"),
            *TINY], check


def short_clip_batch(tmp: Path, clips: dict[str, Path], monkeypatch: pytest.MonkeyPatch):
    inputs = _folder(tmp, clips["short"], clips["good"])

    def check(tmp: Path, stdout: str) -> None:  # the short clip no longer stops the batch, on any run
        assert _ledger_statuses(tmp / "out") == {"good": "done", "short": "done"}
        record = next(line for line in read_lines(tmp / "out" / LEDGER_NAME) if line.get("key") == "short")
        assert "too short to tell speakers apart" in record["reason"]
    return ["batch", str(inputs), "--output-dir", str(tmp / "out"), *TINY], check


def short_enroll_clip(tmp: Path, clips: dict[str, Path], monkeypatch: pytest.MonkeyPatch):
    return ["transcribe", str(clips["good"]), "--enroll", f"Host={clips['enroll_10ms']}",
            "--output-dir", str(tmp / "out"), *TINY], None


def unreadable_name(tmp: Path, clips: dict[str, Path], monkeypatch: pytest.MonkeyPatch):
    too_long = tmp / ("x" * 300 + ".wav")  # stat fails with ENAMETOOLONG, even for root

    def check(tmp: Path, stdout: str) -> None:  # the next input is still done
        assert (tmp / "out" / "good.txt").is_file()
    return ["transcribe", str(too_long), str(clips["good"]), "--output-dir", str(tmp / "out"),
            *NO_DIARIZE], check


def unreadable_file(tmp: Path, clips: dict[str, Path], monkeypatch: pytest.MonkeyPatch):
    if AS_ROOT:
        pytest.skip(ROOT_REASON)
    locked = _folder(tmp, clips["short"]) / "short.wav"
    locked.chmod(0)

    def check(tmp: Path, stdout: str) -> None:
        assert (tmp / "out" / "good.txt").is_file()
    return ["transcribe", str(locked), str(clips["good"]), "--output-dir", str(tmp / "out"),
            *NO_DIARIZE], check


def output_dir_under_a_file(command: str) -> Setup:
    def setup(tmp: Path, clips: dict[str, Path], monkeypatch: pytest.MonkeyPatch):
        (tmp / "afile").write_text("")
        # A model that does not exist: were it loaded first, that would be the error reported.
        return [command, str(clips["good"]), "--output-dir", str(tmp / "afile" / "out"),
                "--model", str(tmp / "no-such-model"), "--no-diarize"], None
    return setup


def read_only_output_dir(tmp: Path, clips: dict[str, Path], monkeypatch: pytest.MonkeyPatch):
    if AS_ROOT:
        pytest.skip(ROOT_REASON)
    (tmp / "out").mkdir(mode=0o555)
    return ["transcribe", str(clips["good"]), "--output-dir", str(tmp / "out"), *NO_DIARIZE], None


def full_disk_transcribe(tmp: Path, clips: dict[str, Path], monkeypatch: pytest.MonkeyPatch):
    _disk_full_on_json(monkeypatch)

    def check(tmp: Path, stdout: str) -> None:
        assert not (tmp / "out" / "good.txt").exists(), "a txt without its json"
    return ["transcribe", str(clips["good"]), "--output-dir", str(tmp / "out"), *NO_DIARIZE], check


def full_disk_batch(tmp: Path, clips: dict[str, Path], monkeypatch: pytest.MonkeyPatch):
    _disk_full_on_json(monkeypatch)
    argv = ["batch", str(_folder(tmp, clips["good"])), "--output-dir", str(tmp / "out"), *NO_DIARIZE]

    def check(tmp: Path, stdout: str) -> None:
        assert _ledger_statuses(tmp / "out") == {}, "a full disk was recorded against the input"
        monkeypatch.undo()  # space freed: the rerun does the input, it does not skip it as failed
        assert main(argv) == 0
        assert _ledger_statuses(tmp / "out") == {"good": "done"}
    return argv, check


def rerun_after_failure(tmp: Path, clips: dict[str, Path], monkeypatch: pytest.MonkeyPatch):
    argv = ["batch", str(_folder(tmp, clips["text"])), "--output-dir", str(tmp / "out"), *NO_DIARIZE]
    assert main(argv) == 2  # the first run: text.mp4 fails

    def check(tmp: Path, stdout: str) -> None:  # this time it was skipped, and is still failed
        assert _ledger_statuses(tmp / "out") == {"text": "skipped"}
    return argv, check


def model_cache_is_a_file(tmp: Path, clips: dict[str, Path], monkeypatch: pytest.MonkeyPatch):
    (tmp / "cache").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp / "cache"))
    monkeypatch.setattr(models, "_PRIVATE_JOINS", {})

    def check(tmp: Path, stdout: str) -> None:  # the default model is still there, verified
        assert "base" in stdout and "FAILED" not in stdout and "sha256 ok" in stdout
    return ["models"], check


transcribe_out_in_file = output_dir_under_a_file("transcribe")
batch_out_in_file = output_dir_under_a_file("batch")
CASES = [
    # case                                     setup                    exit  message fragment
    ("batch: a FIFO named *.wav in a folder",  fifo_in_folder,          2,    "a FIFO (named pipe)"),
    ("batch: a manifest line /dev/zero",       dev_zero_in_manifest,    2,    "a character device"),
    ("transcribe: a 50 ms clip, a good one",   short_clip_transcribe,   0,    "too short to tell speakers"),
    ("batch: a 50 ms clip, a good one",        short_clip_batch,        0,    ""),
    ("transcribe: a 10 ms --enroll clip",      short_enroll_clip,       2,    "--enroll Host="),
    ("transcribe: a path too long, a good one", unreadable_name,        2,    "File name too long"),
    ("transcribe: a chmod 000 file, a good one", unreadable_file,       2,    "Permission denied"),
    ("transcribe: --output-dir below a file",  transcribe_out_in_file,  1,    "is a file, not a folder"),
    ("batch: --output-dir below a file",       batch_out_in_file,       1,    "is a file, not a folder"),
    ("transcribe: a read-only --output-dir",   read_only_output_dir,    1,    "is not writable"),
    ("transcribe: disk full between txt, json", full_disk_transcribe,   1,    "No space left on device"),
    ("batch: disk full between txt and json",  full_disk_batch,         1,    "No space left on device"),
    ("batch: a rerun after an input failed",   rerun_after_failure,     2,    "1 input(s) failed"),
    ("models: the model cache path is a file", model_cache_is_a_file,   0,    "model cache is not usable"),
]


@contextlib.contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Fail, instead of hanging the suite, if a case blocks (as a FIFO once did, for 11 minutes)."""
    def expire(number: int, frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def assert_outputs_whole(tmp: Path) -> None:
    """No temp file anywhere; in each output folder, every input has all its formats or none."""
    assert not [p for p in tmp.rglob("*") if p.name.endswith(".tmp")], "a temp file was left behind"
    umask = os.umask(0o022)
    os.umask(umask)
    mode = 0o666 & ~umask  # what any Unix tool would give a new file
    for out in (p for p in tmp.rglob("out") if p.is_dir()):
        written = [p for p in out.rglob("*") if p.is_file() and p.name != LEDGER_NAME]
        for stem in {p.with_suffix("") for p in written}:
            assert {p.suffix for p in written if p.with_suffix("") == stem} == FORMATS, f"partial set {stem}"
        assert all(stat.S_IMODE(p.stat().st_mode) == mode for p in written), "mode ignores the umask"


@pytest.mark.parametrize(("setup", "exit_code", "message"), [pytest.param(*r[1:], id=r[0]) for r in CASES])
def test_bad_input(setup: Setup, exit_code: int, message: str, clips: dict[str, Path], tmp_path: Path,
                   monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    argv, check = setup(tmp_path, clips, monkeypatch)
    capsys.readouterr()  # what a setup's own run printed is not this case's output
    with deadline(600):
        code = main(argv)
    stdout, stderr = capsys.readouterr()
    assert code == exit_code, stderr
    assert message in stderr, stderr
    assert "Traceback" not in stderr and "unexpected" not in stderr, stderr
    assert_outputs_whole(tmp_path)
    if check is not None:
        check(tmp_path, stdout)


# --- the same guarantees one level down ----------------------------------------------------------------


def test_hashing_refuses_non_regular_files_at_once_and_stops_when_asked(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.wav")
    for path in (tmp_path / "pipe.wav", Path("/dev/zero")):
        with deadline(10), pytest.raises(OSError, match="not a regular file"):
            sha256_file(path)
    big = tmp_path / "big.bin"
    big.write_bytes(b"\0" * (3 << 20))
    asked = threading.Event()
    asked.set()
    with pytest.raises(Stopped):
        sha256_file(big, should_stop=asked.is_set)


def test_nan_samples_fail_that_input_alone_with_a_media_error() -> None:
    samples = np.zeros(32000, dtype=np.float32)
    samples[100] = np.nan
    engine = Podium(TranscribeOptions())
    with pytest.raises(MediaError, match="NaN"):  # MediaError: batch records it and goes on
        engine.diarize(Audio(samples=samples))
