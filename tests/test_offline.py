"""podium is offline: a diarized `podium transcribe` under strace opens no connection, makes no DNS
query, and writes nothing outside its output directory and its own cache.

This is how onnxruntime's telemetry was found (issue 11, item 6): onnxruntime >= 1.29, which runs
faster-whisper's Silero VAD, wrote a 1DS event database and a device id to ~/.cache/Microsoft and
looked up mobile.events.data.microsoft.com a few seconds into every run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import REPO

STRACE = shutil.which("strace")
pytestmark = pytest.mark.skipif(STRACE is None, reason="strace is not installed (scripts/install --dev "
                                "installs it with apt)")

CLIP = REPO / "examples" / "enroll" / "secretary-general.wav"  # 9 s of one voice, in the repository
OPENING = ("open", "openat", "creat")
MAKING = ("mkdir", "mkdirat", "rename", "renameat", "renameat2", "link", "linkat", "symlink", "symlinkat")
# Syscalls that touch the network or create files; -yy prints the path or socket behind every fd.
TRACED = ",".join(("%network", *OPENING, *MAKING))
WRITE_FLAGS = re.compile(r"O_WRONLY|O_RDWR|O_CREAT|O_TRUNC")
LOOPBACK = ('"127.0.0.1"', '"::1"')
DNS = re.compile(r"htons\(53\)|:53\]|nscd/socket|/run/systemd/resolve")
# Calls that carry or await packets. Creating an internet socket alone sends nothing: urllib3 makes
# one at import, binds it to ::1 and closes it, to learn whether the machine has IPv6.
SENDING = ("connect", "sendto", "sendmsg", "sendmmsg", "listen", "accept", "accept4")
INTERNET = re.compile(r"AF_INET6?\b|<(TCP|UDP)(v6)?:")


@dataclass(frozen=True)
class Trace:
    network: list[str]  # offending syscall lines
    written: list[Path]  # every path the process created or opened for writing
    lines: list[str]


def traced(command: list[str], tmp_path: Path, env: dict[str, str]) -> tuple[subprocess.CompletedProcess,
                                                                              Trace]:
    """Run `command` under strace -f; one trace file per process, so no call is split across lines."""
    assert STRACE is not None
    prefix = tmp_path / "trace" / "pid"
    prefix.parent.mkdir()
    result = subprocess.run([STRACE, "-ff", "-qq", "-yy", "-s", "200", "-e", f"trace={TRACED}",
                             "-o", str(prefix), *command], capture_output=True, text=True, env=env,
                            cwd=tmp_path, timeout=900)
    lines = [line for file in sorted(prefix.parent.iterdir()) for line in file.read_text().splitlines()]
    return result, Trace(network=[line for line in lines if _is_network(line)],
                         written=[p for line in lines for p in _written(line, tmp_path)], lines=lines)


def _is_network(line: str) -> bool:
    call = line.split("(", 1)[0]
    if DNS.search(line) and call != "socket":
        return True
    if call == "bind":
        return bool(INTERNET.search(line)) and not any(address in line for address in LOOPBACK)
    return call in SENDING and bool(INTERNET.search(line))


def _written(line: str, cwd: Path) -> list[Path]:
    call = line.split("(", 1)[0]
    if call in OPENING:
        opened = re.search(r"= \d+<(.+)>$", line)  # the path of the fd it returned (failed opens have none)
        return [Path(opened.group(1))] if opened and (call == "creat" or WRITE_FLAGS.search(line)) else []
    if call not in MAKING or re.search(r"\) = 0$", line) is None:  # one that failed made nothing
        return []
    # mkdir(path), renameat(dirfd, old, dirfd, new), ...: the new name is the last quoted path.
    named = re.findall(r'(?:(\d+|AT_FDCWD)<([^>]*)>, )?"([^"]*)"', line)
    if not named:
        return []
    _, base, path = named[-1]
    return [Path(base or cwd) / path]


def outside(paths: list[Path], allowed: list[Path]) -> list[str]:
    """The paths not inside an allowed folder; making an allowed folder's parents (~/.cache) is fine."""
    return sorted({str(p) for p in paths
                   if not any(p == a or a in p.parents or p in a.parents for a in allowed)
                   and not _pseudo(p)})


def _pseudo(path: Path) -> bool:
    """/dev/null, /dev/shm semaphores (gone at exit), /proc/self/...: nothing stored on disk."""
    return path.parts[1:2] in (("dev",), ("proc",))


def fresh_env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    (tmp_path / "tmp").mkdir()
    home.mkdir()
    # A fresh user: nothing cached from earlier runs, every per-user write lands in tmp_path.
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("XDG_", "MPL", "ORT_", "PYANNOTE_", "HF_"))}
    # PYTHONDONTWRITEBYTECODE: compiling podium's own modules to __pycache__ is the install's business.
    return {**env, "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache"), "TMPDIR": str(tmp_path / "tmp"),
            "PYTHONDONTWRITEBYTECODE": "1"}


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if not p.is_dir())


def test_the_checks_see_a_dns_query_and_a_stray_file(tmp_path: Path) -> None:
    """The trace checks themselves: a lookup and a file in HOME must both be caught."""
    script = ("import pathlib, socket, os\n"
              "pathlib.Path(os.environ['HOME'], 'stray').write_text('x')\n"
              "try:\n    socket.getaddrinfo('podium-offline-check.invalid', 443)\n"
              "except OSError:\n    pass\n")
    env = fresh_env(tmp_path)
    _, trace = traced([sys.executable, "-c", script], tmp_path, env)
    assert trace.network, "a DNS lookup went unseen"
    assert outside(trace.written, [tmp_path / "tmp"]) == [str(tmp_path / "home" / "stray")]


@pytest.mark.slow
def test_diarized_transcribe_stays_offline_and_writes_only_its_outputs(tmp_path: Path) -> None:
    env = {**fresh_env(tmp_path), "ORT_DISABLE_TELEMETRY": "0"}  # an inherited "0" must not turn it on
    out, cache, home = tmp_path / "out", tmp_path / "home" / ".cache" / "podium", tmp_path / "home"
    # tiny.en keeps it short; VAD (onnxruntime) and diarization (pyannote) run as in any default run.
    command = [sys.executable, "-m", "podium.cli", "transcribe", str(CLIP), "--model", "tiny.en",
               "--output-dir", str(out), "--format", "txt,srt,vtt,json,tsv,rttm,png", "--quiet"]
    result, trace = traced(command, tmp_path, env)
    assert result.returncode == 0, result.stderr
    assert '"speakers"' in (out / f"{CLIP.stem}.json").read_text()
    assert any("onnxruntime_pybind11_state" in line for line in trace.lines), "VAD did not load onnxruntime"
    assert trace.network == [], "\n".join(trace.network[:10])
    assert outside(trace.written, [out, cache, tmp_path / "tmp"]) == []
    # What stays behind: podium's cache under HOME, nothing in TMPDIR, no telemetry database.
    assert [f for f in files_under(home) if not f.startswith(".cache/podium/")] == []
    assert files_under(tmp_path / "tmp") == []
