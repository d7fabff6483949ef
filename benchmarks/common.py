"""Small helpers shared by the benchmark scripts: where the data is, the machine, child processes.

Kept free of heavy imports: benchmark children re-import their script (multiprocessing "spawn"), and
whatever is imported here would count in every child's peak RSS.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
EXAMPLES = REPO / "examples"

T = TypeVar("T")


def read_manifest(path: Path, kinds: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Items of a manifest.jsonl (podium's one manifest reader), only those of `kinds` when given;
    their paths stay as written, relative to the manifest's folder."""
    from podium.manifest import read_items

    return [item.fields for item in read_items(path) if not kinds or item.fields.get("kind") in kinds]


@dataclass(frozen=True)
class DiarFile:
    """One `diar` recording of a manifest: its audio, reference turns (RTTM) and scored region (UEM),
    each read by podium itself (`podium.media`, `podium.evaluate.readers`) when asked for."""

    id: str
    audio: Path
    rttm: Path
    uem: Path

    def turns(self) -> tuple[Any, ...]:
        """The reference speaker turns (podium SpeakerTurns), in order of start."""
        from podium.evaluate.readers import read_reference

        return read_reference(self.rttm, "rttm").turns

    def region(self) -> tuple[tuple[float, float], ...]:
        from podium.evaluate.readers import read_uem

        return read_uem(self.uem)

    def samples(self) -> Any:
        """The audio as 16 kHz mono float32 (a numpy array)."""
        from podium.media import load_audio

        return load_audio(self.audio).samples


def diarization_files(data: Path = SHARED_DATA) -> list[DiarFile]:
    """Every `diar` item of `data`/manifest.jsonl, in manifest order."""
    return [DiarFile(item["id"], data / item["audio"], data / item["rttm"], data / item["uem"])
            for item in read_manifest(data / "manifest.jsonl", ("diar",))]


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MiB (VmHWM).

    Not ru_maxrss: Linux carries the pre-exec high-water mark of the forked parent into a spawned
    child's ru_maxrss, so a parent holding torch made every child read ~1 GB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def in_child(function: Callable[..., T], *args: Any) -> T:
    """Run `function(*args)` in a fresh spawned process, so its peak RSS and threads are its own."""
    with multiprocessing.get_context("spawn").Pool(1, maxtasksperchild=1) as worker:
        return worker.apply(function, args)


def machine() -> str:
    """`nproc`, CPU model and RAM, as the README tables state them."""
    cpu, ram_gb = "unknown CPU", 0.0
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            ram_gb = int(line.split()[1]) / 1024**2
    return f"nproc {os.cpu_count()}, {cpu}, {ram_gb:.0f} GiB RAM, load average {load_average()} at start"


def load_average() -> str:
    """1, 5 and 15-minute load averages: other work on a shared machine skews every timing."""
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def build_meeting_loop(folder: Path, loops: int) -> tuple[Path, float]:
    """The five original diarization excerpts concatenated `loops` times (5 x 30 s each loop), 16 kHz wav.

    Reuses benchmarks/diarize.py's builder (its LOOPS constant sets the repeat count). Returns the wav
    and its duration in seconds."""
    here = str(Path(__file__).resolve().parent)
    if here not in sys.path:
        sys.path.insert(0, here)
    import diarize as diarize_benchmark  # benchmarks/diarize.py; heavy (torch), so imported here only

    diarize_benchmark.LOOPS = loops
    excerpts = diarize_benchmark.original_excerpts(diarization_files(SHARED_DATA))
    long_file = diarize_benchmark.build_long_file(excerpts, folder)
    import soundfile as sf

    return long_file.audio, sf.info(str(long_file.audio)).duration
