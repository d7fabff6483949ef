"""`podium batch` on real speech with the real tiny.en model: statuses, the ledger, resuming after SIGKILL,
SIGTERM, re-runs that skip, retry or redo."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from conftest import REPO, ffmpeg
from podium.batch.inputs import discover, read_manifest
from podium.batch.ledger import LEDGER_NAME, Ledger, read_lines
from podium.cli import main
from podium.errors import PodiumError
from podium.manifest import read_items
from podium.transcript import Transcript

pytestmark = pytest.mark.slow

FAST = ["--model", "tiny.en", "--no-diarize", "--format", "txt,json"]
# input name -> (shared recording or example, seconds to cut); the references come from the same places
GOOD = {
    "a/clip.flac": ("asr/jfk_inaugural_1961.flac", None),
    "b/clip.wav": ("asr/ljspeech_LJ001-0001.wav", None),
    "ieee.wav": ("asr/ieee_S_01_04.wav", None),
    "briefing.mp4": ("briefing", 8.8),  # the Secretary-General's first answer, from 00:08
}
BAD = {"truncated.mp4": "truncated or corrupt", "video_only.mp4": "no audio stream",
       "text.mp4": "not a media file"}
KEYS = sorted(p.rsplit(".", 1)[0] for p in [*GOOD, *BAD])
GOOD_KEYS = sorted(p.rsplit(".", 1)[0] for p in GOOD)
TIMEOUT = 180


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def file_lines(out: Path) -> list[dict]:
    return [line for line in read_lines(out / LEDGER_NAME) if line.get("event") == "file"]


def latest(out: Path) -> dict[str, dict]:
    return {line["key"]: line for line in file_lines(out)}


def batch(*args: str | Path) -> int:
    return main(["batch", *map(str, args)])


def start_batch(inputs: Path, out: Path, *extra: str, own_group: bool = False) -> subprocess.Popen:
    """`podium batch` in a child process; with `own_group`, in a process group of its own (its pid)."""
    return subprocess.Popen([sys.executable, "-m", "podium.cli", "batch", str(inputs), "--output-dir",
                             str(out), *FAST, "--quiet", *extra], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=own_group)


def wait_for_first_done(proc: subprocess.Popen, out: Path) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not any(line["status"] == "done" for line in file_lines(out)):
        assert proc.poll() is None, f"batch ended before finishing a file: {proc.communicate()}"
        assert time.monotonic() < deadline, "no file done in time"
        time.sleep(0.02)


def same_outputs(left: Path, right: Path) -> None:
    """The same transcripts; the provenance (when each run wrote them, how long it took) differs."""
    for key in GOOD_KEYS:
        for extension in ("txt", "json"):
            name = f"{key}.{extension}"
            left_bytes, right_bytes = (left / name).read_bytes(), (right / name).read_bytes()
            if extension == "json":
                left_bytes, right_bytes = (json.dumps({**json.loads(side), "provenance": None}).encode()
                                           for side in (left_bytes, right_bytes))
            assert left_bytes == right_bytes, name


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """Good speech in subfolders (two named clip.*), and three bad inputs beside them."""
    folder = tmp_path_factory.mktemp("inputs")
    for name, (source, seconds) in GOOD.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source == "briefing":
            ffmpeg("-ss", "8.0", "-i", REPO / "examples" / "briefing.mp4", "-t", seconds, "-c:v", "libx264",
                   "-c:a", "aac", target)
        else:
            shutil.copy(shared_data / source, target)
    color = ["-f", "lavfi", "-i", "color=c=navy:s=160x90:r=5"]
    ffmpeg(*color, "-t", "2", "-c:v", "libx264", folder / "video_only.mp4")
    whole = folder.parent / "whole.mp4"
    ffmpeg(*color, "-i", shared_data / GOOD["a/clip.flac"][0], "-t", "8", "-c:v", "libx264", "-c:a", "aac",
           "-movflags", "+faststart", "-shortest", whole)
    data = whole.read_bytes()
    (folder / "truncated.mp4").write_bytes(data[: len(data) // 2])
    (folder / "text.mp4").write_text("This is a transcript, not a video.\n")
    return folder


def references(shared_data: Path) -> dict[str, str]:
    manifest = [item.fields for item in read_items(shared_data / "manifest.jsonl")]
    by_audio = {entry["audio"]: entry.get("transcript", "") for entry in manifest}
    briefing = (REPO / "examples" / "briefing.ref.txt").read_text().splitlines()[1].split(": ", 1)[1]
    return {name.rsplit(".", 1)[0]: briefing if source == "briefing" else by_audio[source]
            for name, (source, _) in GOOD.items()}


@pytest.fixture(scope="module")
def first_run(inputs: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path]:
    out = tmp_path_factory.mktemp("first") / "out"
    return batch(inputs, "--output-dir", out, *FAST), out


def copy_of(out: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(out, tmp_path / "out"))


# --- inputs and ledger, no model --------------------------------------------------------------------


def test_discover_walks_folders_probes_unknown_extensions_and_reads_manifests(tmp_path: Path,
                                                                              shared_data: Path) -> None:
    speech = shared_data / "asr" / "ieee_S_02_01.wav"
    for name in ("x/a.wav", "y/a.wav", "noext", "out/old.wav", ".hidden.wav"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(speech, tmp_path / name)
    (tmp_path / "notes.xyz").write_text("just text\n")
    (tmp_path / "readme.txt").write_text("not a manifest when found inside a folder\n")

    found = discover([tmp_path], exclude=tmp_path / "out")
    assert [(i.key, i.path) for i in found] == [
        ("noext", tmp_path / "noext"), ("x/a", tmp_path / "x/a.wav"), ("y/a", tmp_path / "y/a.wav")]

    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "m.jsonl").write_text(json.dumps({"audio": "../x/a.wav"}) + "\n\n" +
                                   json.dumps({"path": str(speech), "id": "other"}) + "\n")
    (lists / "m.txt").write_text("# comment\nsub/missing.mp4\n")
    assert [(i.key, i.path.name) for i in read_manifest(lists / "m.jsonl")] == [
        ("a", "a.wav"), ("ieee_S_02_01", "ieee_S_02_01.wav")]
    assert [i.key for i in discover([lists / "m.txt"])] == ["sub/missing"]  # kept: it fails in the run

    with pytest.raises(PodiumError, match="would both write"):
        discover([tmp_path / "x/a.wav", tmp_path / "y/a.wav"])
    assert len(discover([tmp_path / "x", tmp_path / "x/a.wav"])) == 1  # one file reached twice
    with pytest.raises(PodiumError, match="no such file or folder"):
        discover([tmp_path / "nope"])
    (lists / "bad.jsonl").write_text('{"audio": "a.wav"}\n{"audio": \n')
    with pytest.raises(PodiumError, match=r"bad.jsonl:2: not valid JSON"):
        discover([lists / "bad.jsonl"])


def test_ledger_ignores_a_torn_last_line_and_refuses_a_second_writer(tmp_path: Path) -> None:
    with Ledger(tmp_path) as ledger:
        ledger.append({"event": "file", "key": "a", "path": "/a", "status": "done", "sha256": "aa",
                       "size": 1, "mtime_ns": 2})
    with open(tmp_path / LEDGER_NAME, "ab") as handle:
        handle.write(b'{"event": "file", "key": "b", "pa')  # what SIGKILL mid-write leaves
    with Ledger(tmp_path) as ledger:
        with pytest.raises(PodiumError, match="another podium batch"), Ledger(tmp_path):
            pass
        state = ledger.read_state()
        assert list(state.settled) == ["a"] and state.known_hash("/a", 1, 2) == "aa"
        ledger.append({"event": "file", "key": "c", "path": "/c", "status": "failed"})
    assert [line["key"] for line in read_lines(tmp_path / LEDGER_NAME)] == ["a", "c"]


# --- runs with the model ----------------------------------------------------------------------------


def test_bad_inputs_are_recorded_as_failed_and_the_good_ones_are_written(
        first_run: tuple[int, Path], shared_data: Path) -> None:
    code, out = first_run
    assert code == 2
    records = latest(out)
    assert sorted(records) == KEYS
    for key, expected_error in BAD.items():
        record = records[key.rsplit(".", 1)[0]]
        assert record["status"] == "failed" and expected_error in record["error"], record
    for key, reference in references(shared_data).items():
        record = records[key]
        assert record["status"] == "done" and record["audio_seconds"] > 1, record
        assert sorted(record["outputs"]) == [f"{key}.json", f"{key}.txt"]
        assert set(record["stages"]) >= {"hash", "decode", "transcribe", "align", "write"}
        assert len(record["sha256"]) == 64 and record["options_hash"]
        transcript = Transcript.from_json((out / f"{key}.json").read_text())
        heard = words(transcript.text)
        assert len(words(reference) & heard) >= 0.6 * len(words(reference)), (key, transcript.text)
        assert words((out / f"{key}.txt").read_text()) >= heard


def test_unchanged_rerun_skips_everything_without_models_or_hashing(
        first_run: tuple[int, Path], inputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = copy_of(first_run[1], tmp_path)
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*.txt")}
    started = time.perf_counter()
    # Everything skipped, but the bad inputs are still failed: the exit code says so, as the first run's did.
    assert batch(inputs, "--output-dir", out, *FAST, "--log-file", tmp_path / "log.jsonl") == 2
    assert time.perf_counter() - started < 10
    end = read_lines(out / LEDGER_NAME)[-1]
    assert end["event"] == "run_end" and end["skipped"] == len(KEYS) and end["skipped_failed"] == len(BAD)
    assert end["models_loaded"] is False and end["hashed"] == 0
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.txt")} == before
    events = [json.loads(line)["event"] for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert events[0] == "run" and events[-1] == "run_end" and "models_loaded" not in events
    err = capsys.readouterr().err
    assert "skipped" in err  # the summary table
    assert f"{len(BAD)} input(s) failed" in err  # and the list of what is still failed
    assert all(f"  {inputs / name}: " in err for name in BAD), err


def test_missing_output_or_changed_file_is_redone_failed_only_with_retry(
        first_run: tuple[int, Path], inputs: Path, tmp_path: Path, shared_data: Path) -> None:
    out = copy_of(first_run[1], tmp_path)
    moved = Path(shutil.copytree(inputs, tmp_path / "inputs"))  # new paths: hashes are recomputed
    (out / "ieee.txt").unlink()
    shutil.copy(shared_data / "asr" / "ieee_S_02_09.wav", moved / "text.mp4")  # the bad file, fixed
    assert batch(moved, "--output-dir", out, *FAST) == 2  # truncated and video_only are still failed
    statuses = {key: line["status"] for key, line in latest(out).items()}
    assert statuses == {**dict.fromkeys(KEYS, "skipped"), "ieee": "done", "text": "done"}
    assert (out / "ieee.txt").is_file() and "chicken" in (out / "ieee.txt").read_text().lower()

    assert batch(moved, "--output-dir", out, *FAST, "--retry-failed") == 2
    statuses = {key: line["status"] for key, line in latest(out).items()}
    assert statuses == {**dict.fromkeys(KEYS, "skipped"), "truncated": "failed", "video_only": "failed"}


def test_another_file_with_the_same_name_never_overwrites_outputs(
        first_run: tuple[int, Path], tmp_path: Path, shared_data: Path) -> None:
    out = copy_of(first_run[1], tmp_path)
    other = tmp_path / "day2"
    other.mkdir()
    shutil.copy(shared_data / "asr" / "ieee_S_03_07.wav", other / "ieee.wav")
    before = (out / "ieee.txt").read_bytes()
    assert batch(other, "--output-dir", out, *FAST, "--quiet") == 2
    assert "already holds the transcript of" in latest(out)["ieee"]["error"]
    assert (out / "ieee.txt").read_bytes() == before


def test_changed_options_redo_every_input(first_run: tuple[int, Path], inputs: Path, tmp_path: Path) -> None:
    out = copy_of(first_run[1], tmp_path)
    old_hash = latest(out)["ieee"]["options_hash"]
    assert batch(inputs, "--output-dir", out, *FAST, "--beam-size", "1") == 2
    records = latest(out)
    assert {k: r["status"] for k, r in records.items()} == {
        k: "done" if k in GOOD_KEYS else "failed" for k in KEYS}
    assert records["ieee"]["options_hash"] != old_hash
    assert json.loads((out / "ieee.json").read_text())["options"]["asr"]["beam_size"] == 1


def test_sigkill_mid_run_then_rerun_loses_nothing_and_repeats_nothing(
        first_run: tuple[int, Path], inputs: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = start_batch(inputs, out)
    wait_for_first_done(proc, out)
    proc.kill()
    proc.wait()
    done_before = {line["key"] for line in file_lines(out) if line["status"] == "done"}
    assert 0 < len(done_before) < len(GOOD_KEYS), "the kill came too late to test resuming"

    assert batch(inputs, "--output-dir", out, *FAST, "--quiet") == 2
    finals = Counter(line["key"] for line in file_lines(out) if line["status"] == "done")
    assert finals == Counter(GOOD_KEYS)  # each good input done exactly once, over both runs
    assert {k: r["status"] for k, r in latest(out).items() if k in done_before} == dict.fromkeys(
        done_before, "skipped")
    same_outputs(out, first_run[1])


@pytest.mark.parametrize("to_group", [False, True], ids=["to-podium", "to-process-group"])
def test_sigterm_finishes_cleanly_with_143_and_a_consistent_ledger(inputs: Path, tmp_path: Path,
                                                                   to_group: bool) -> None:
    out = tmp_path / "out"
    proc = start_batch(inputs, out, own_group=to_group)
    wait_for_first_done(proc, out)
    if to_group:  # as systemd, `docker stop` or a terminal does it: ffmpeg, mid-decode, is stopped too
        os.killpg(proc.pid, signal.SIGTERM)
    else:
        proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 128 + signal.SIGTERM, stderr

    raw = (out / LEDGER_NAME).read_text().splitlines()
    lines = [json.loads(line) for line in raw]  # every line whole: no torn line after a clean stop
    assert lines[0]["event"] == "run" and lines[-1]["event"] == "run_end"
    assert lines[-1]["interrupted"] == "SIGTERM" and lines[-1]["not_reached"] > 0
    files = [line for line in lines if line["event"] == "file"]
    assert all(line["status"] in ("done", "failed") for line in files)
    for line in files:  # finished files are complete; nothing good was mislabelled failed by the stop
        if line["status"] == "done":
            assert all((out / name).is_file() for name in line["outputs"])
        else:
            assert line["key"] in {k.rsplit(".", 1)[0] for k in BAD}
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    assert os.path.getsize(out / LEDGER_NAME) == sum(len(line) + 1 for line in raw)


def test_diarization_runs_as_its_own_stage(tmp_path: Path, shared_data: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    ffmpeg("-i", shared_data / "diarization" / "pyannote_sample.wav", "-t", "20", folder / "two.wav")
    shutil.copy(shared_data / "asr" / "jfk_inaugural_1961.flac", folder / "one.flac")
    out = tmp_path / "out"
    fast_with_speakers = [flag for flag in FAST if flag != "--no-diarize"]
    assert batch(folder, "--output-dir", out, *fast_with_speakers, "--diarize-device", "cpu", "--quiet") == 0
    for key, record in latest(out).items():
        assert record["status"] == "done" and record["stages"]["diarize"] > 0, record
        transcript = Transcript.from_json((out / f"{key}.json").read_text())
        assert transcript.speakers and all(s.speaker for s in transcript.segments), key
