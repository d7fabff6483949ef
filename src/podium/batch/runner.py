"""The staged batch pipeline: decode file N+1 while file N is transcribed and file N-1 diarized.

Three threads joined by bounded queues:

    decoder  (hash, skip check, ffmpeg decode) --q--> recognizer (Whisper) --q--> finisher (diarize,
    align, write outputs, ledger line)

The stages are `podium.pipeline`'s, run by the same `Podium.run_stage` as `podium transcribe`;
`THREADS` only says which thread runs which of them.

ffmpeg runs as a child process, and CTranslate2 and torch release the GIL in their heavy parts, so the
stages really overlap. Memory stays flat however many inputs there are: a semaphore allows at most one
decoded audio per heavy stage to exist at once (2 without diarization, 3 with), whatever the queues hold.

Stopping: `StopSignal.request()` (from SIGINT/SIGTERM) stops the decoder taking new files and drops
decoded files that have not reached Whisper; files already in Whisper or later finish and are recorded.
A second request abandons them: `execute` returns at once with `abandoned` set, and the caller should
exit the process (the ledger is closed first, so nothing more is written to it).

The pipeline is pluggable: `BatchRun` plans, skips, keeps the ledger and the summary, and runs the
stages with the threads above; `podium.batch.ray.RayBatchRun` replaces only `_load_models` and
`_pipeline` to run the same stages on a Ray cluster, so the two share one ledger format and a run
started with one resumes with the other.
"""

from __future__ import annotations

import dataclasses
import os
import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISREG
from typing import Any

from podium import __version__
from podium.batch.inputs import BatchInput
from podium.batch.ledger import DONE, FAILED, SKIPPED, FileRecord, Ledger, LedgerState, fingerprint, now
from podium.errors import MediaError, OptionError, PodiumError, RunError
from podium.files import Stopped, describe_file_type, sha256_file
from podium.formats import subtitle_note
from podium.options import option
from podium.pipeline import STAGES, Job, Podium, TranscribeOptions, too_short_note

Emit = Callable[[dict[str, Any]], None]
THREADS = (("decode",), ("transcribe",), ("diarize", "align", "write"))
assert tuple(s for group in THREADS for s in group) == STAGES, "every stage runs on exactly one thread"
QUEUE_SIZE = 1  # decoded files waiting for the next stage; the semaphore is what bounds memory
_POLL = 0.2  # seconds between checks for a stop while a thread waits on a queue
_END = None  # end-of-stream marker passed down the queues
_SIGNAL_GRACE = 0.3  # seconds a failed decode waits to see whether a stop signal caused it


def options_hash(options: TranscribeOptions) -> str:
    """What decides whether earlier outputs are still valid: every transcript-shaping option, the
    formats, and the layout options (subtitle limits, ...) that differ from their defaults (so a ledger
    written before those options existed stays valid)."""
    layout = {f.name: getattr(options.output, f.name) for f in dataclasses.fields(options.output)
              if f.name not in ("output_dir", "formats") and getattr(options.output, f.name) != f.default}
    state: dict[str, Any] = {"options": options.to_dict(), "formats": sorted(set(options.output.formats))}
    return fingerprint({**state, "layout": layout} if layout else state)


@dataclass(frozen=True)
class BatchOptions:
    """How a batch runs (not what its transcripts hold: that is TranscribeOptions)."""

    retry_failed: bool = option(False, "try again the inputs that failed in an earlier run (by default "
                                "they are skipped until the file or the options change)")
    free_gpu_memory: bool = option(False, "hand PyTorch's cached GPU memory back to the driver after each "
                                   "file's transcription and diarization (torch.cuda.empty_cache), for GPUs "
                                   "shared with other jobs; a little slower; does nothing on CPU")
    log_file: str | None = option(None, "append every event (run start, each stage, each file, the "
                                  "summary) as a JSON line to FILE, for unattended runs", metavar="FILE")
    # The cluster settings change where the stages run, never what they produce: they are not part of
    # the options hash, so a run started with --ray resumes without it and the reverse.
    ray: str | None = option(None, "schedule the work on a Ray cluster (pip install podium[ray]): ADDRESS "
                             "as ray.init takes it (auto: the cluster this machine belongs to, "
                             "ray://HOST:10001, HOST:6379); alone, a local cluster started for this run (put "
                             "it after the inputs, or it takes the first as ADDRESS). --output-dir and "
                             "the inputs must be on a filesystem every node sees",
                             metavar="ADDRESS", optional_value="local")
    ray_asr_actors: int = option(1, "with --ray: Whisper actors (each loads the model once)", metavar="N")
    ray_diarize_actors: int = option(1, "with --ray: diarization actors (each loads the diarizer once; "
                                     "they also align and write)", metavar="N")
    ray_gpus_per_actor: float = option(1.0, "with --ray on a cluster with GPUs: the GPU share of each "
                                       "actor (0.5: two models on one GPU)", metavar="FRACTION")
    ray_cpus_per_actor: float = option(1.0, "with --ray on a cluster without GPUs: the CPUs each actor "
                                       "reserves", metavar="N")
    ray_max_decoded: int | None = option(None, "with --ray: decoded files alive at once in the object "
                                         "store, decoding included (default: 2 per actor)", metavar="N")

    def __post_init__(self) -> None:
        if self.ray_asr_actors < 1 or self.ray_diarize_actors < 1:
            raise OptionError("--ray-asr-actors and --ray-diarize-actors must be at least 1")
        if not 0 < self.ray_gpus_per_actor <= 1 or self.ray_cpus_per_actor <= 0:
            raise OptionError("--ray-gpus-per-actor must be in (0, 1] and --ray-cpus-per-actor above 0")
        if self.ray_max_decoded is not None and self.ray_max_decoded < 1:
            raise OptionError("--ray-max-decoded must be at least 1")


class StopSignal:
    """First request: finish what is in Whisper or later, take nothing new. Second: abandon everything."""

    def __init__(self) -> None:
        self.requested = threading.Event()
        self.abandon = threading.Event()
        self.reason: str | None = None

    def request(self, reason: str) -> None:
        if self.requested.is_set():
            self.abandon.set()
        else:
            self.reason = reason
            self.requested.set()


@dataclass
class RunSummary:
    total: int = 0
    counts: dict[str, int] = field(default_factory=lambda: {DONE: 0, SKIPPED: 0, FAILED: 0})
    audio_seconds: float = 0.0  # of the files done in this run
    wall_seconds: float = 0.0
    pipeline_seconds: float = 0.0  # wall time with the stages running (models loaded, inputs planned)
    stages: dict[str, float] = field(default_factory=dict)  # summed over files
    models_loaded: bool = False
    model_seconds: float = 0.0
    hashed: int = 0  # files whose sha256 had to be computed (not known from the ledger)
    skipped_failed: int = 0  # skipped because they failed before (and no --retry-failed)
    interrupted: str | None = None
    abandoned: bool = False
    # (path, error) of every input of this run that is failed: now, or before and skipped this time
    failed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def not_reached(self) -> int:
        """Inputs left for a later run (only after an interruption)."""
        return self.total - sum(self.counts.values())

    def add(self, record: FileRecord) -> None:
        self.counts[record.status] += 1
        if record.status == SKIPPED and record.error:
            self.skipped_failed += 1
        if record.status == FAILED or (record.status == SKIPPED and record.error):
            self.failed.append((record.path, record.error or "failed"))
        for stage, seconds in record.stages.items():
            self.stages[stage] = self.stages.get(stage, 0.0) + seconds
        if record.status == DONE:
            self.audio_seconds += record.audio_seconds or 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"total": self.total, **self.counts, "not_reached": self.not_reached,
                "audio_seconds": round(self.audio_seconds, 3), "wall_seconds": round(self.wall_seconds, 3),
                "pipeline_seconds": round(self.pipeline_seconds, 3),
                "stages": {k: round(v, 3) for k, v in self.stages.items()},
                "skipped_failed": self.skipped_failed, "models_loaded": self.models_loaded,
                "hashed": self.hashed,
                "interrupted": self.interrupted, "abandoned": self.abandoned}


@dataclass
class _Job:
    """One input on its way through the stages."""

    input: BatchInput
    size: int
    mtime_ns: int
    started: str
    work: Job  # what the stages read and fill in; its `seconds` also hold the batch's own "hash" stage
    sha256: str | None = None

    def record(self, status: str, **fields: Any) -> FileRecord:
        stages = {stage: round(seconds, 4) for stage, seconds in self.work.seconds.items()}
        return FileRecord(key=self.input.key, path=str(self.input.path), status=status, size=self.size,
                          mtime_ns=self.mtime_ns, sha256=self.sha256, stages=stages,
                          started=self.started, finished=now(), **fields)


class _Halt(Exception):
    """Raised inside a worker when the run is being abandoned or another worker hit a fatal error."""


class BatchRun:
    """One `podium batch` run over `inputs`; `execute()` does it and returns the summary.

    Subclasses change where the stages run by replacing `_load_models` and `_pipeline` (which must
    record each file it takes through `_finish`, `_fail` or `_record_done`); planning, skipping, the
    ledger and the summary stay here.
    """

    def __init__(self, inputs: list[BatchInput], options: TranscribeOptions, settings: BatchOptions,
                 emit: Emit, stop: StopSignal | None = None) -> None:
        self.inputs = inputs
        self.options = options
        self.settings = settings
        self.emit = emit
        self.stop = stop or StopSignal()
        self.output_dir = Path(options.output.output_dir)
        self.options_hash = options_hash(options)
        self.run_id = f"{now()}-{os.getpid()}"
        self.summary = RunSummary(total=len(inputs))
        # Built now, before the ledger opens: it checks the enrollment clips (decodes them), so a bad
        # --enroll clip stops the run with nothing written. Models load later, in `_load_models`.
        self.engine = Podium(options)
        self._ledger: Ledger | None = None
        self._state: LedgerState | None = None
        self._summary_lock = threading.Lock()
        self._halt = threading.Event()
        self._fatal: BaseException | None = None
        # One slot per decoded audio alive at once: decoding, in Whisper, in the diarizer.
        self._slots = threading.BoundedSemaphore(3 if options.diarize.diarize else 2)

    # --- the run ----------------------------------------------------------------------------

    def execute(self) -> RunSummary:
        started = time.perf_counter()
        with Ledger(self.output_dir) as ledger:
            self._ledger = ledger
            self._state = ledger.read_state()
            start = {"event": "run", "run": self.run_id, "time": now(), "podium": __version__,
                     "inputs": len(self.inputs), "options_hash": self.options_hash,
                     "options": self.options.to_dict(), "formats": list(self.options.output.formats)}
            ledger.append(start)
            self.emit(start)
            try:
                pending = self._plan()
                if pending and not self.stop.requested.is_set():
                    self._load_models()
                    self._pipeline(pending)
            except BaseException as err:  # a model that will not load, a full disk: say so, then raise
                self._fatal = self._fatal or err
            self.summary.wall_seconds = time.perf_counter() - started
            self.summary.interrupted = self.stop.reason
            end = {"event": "run_end", "run": self.run_id, "time": now(), **self.summary.to_dict()}
            if self._fatal is not None:
                end["error"] = f"{type(self._fatal).__name__}: {self._fatal}"
            try:
                ledger.close_with(end)  # an abandoned worker can write nothing after this line
            except RunError as err:  # the disk is still full: report the first error, not this one
                self._fatal = self._fatal or err
            self.emit(end)
        if self._fatal is not None:
            raise self._fatal
        return self.summary

    def _plan(self) -> list[_Job]:
        """Settle what the ledger already answers (no reading of unchanged files); the rest is pending."""
        assert self._state is not None
        pending = []
        for item in self.inputs:
            try:
                stat = os.stat(item.path)
            except OSError as err:
                self._finish(FileRecord(key=item.key, path=str(item.path), status=FAILED,
                                        options_hash=self.options_hash, error=_stat_error(item.path, err),
                                        run=self.run_id, started=now(), finished=now()))
                continue
            if not S_ISREG(stat.st_mode):  # a FIFO would block the hash forever, /dev/zero never ends
                self._finish(FileRecord(key=item.key, path=str(item.path), status=FAILED,
                                        options_hash=self.options_hash, run=self.run_id, started=now(),
                                        error=f"{describe_file_type(stat.st_mode)}, not a regular file",
                                        finished=now()))
                continue
            job = _Job(item, stat.st_size, stat.st_mtime_ns, now(), Job(item.path, stem=item.key))
            job.sha256 = self._state.known_hash(str(item.path), stat.st_size, stat.st_mtime_ns)
            if job.sha256 is not None and self._skip_if_settled(job):
                continue
            pending.append(job)
        self.emit({"event": "plan", "inputs": len(self.inputs), "pending": len(pending),
                   "pending_bytes": sum(j.size for j in pending)})
        return pending

    def _skip_if_settled(self, job: _Job) -> bool:
        """Record a skip when the ledger shows this content under these options already settled."""
        assert self._state is not None
        before = self._state.settled.get(job.input.key)
        if before is None or before.sha256 != job.sha256 or before.options_hash != self.options_hash:
            return False
        if before.status == DONE and all((self.output_dir / out).is_file() for out in before.outputs):
            reason = "done in an earlier run"
        elif before.status == FAILED and not self.settings.retry_failed:
            reason = "failed in an earlier run (--retry-failed tries again)"
        else:
            return False
        self._finish(job.record(SKIPPED, options_hash=self.options_hash, outputs=before.outputs,
                                error=before.error, reason=reason))
        return True

    def _outputs_of_another_file(self, job: _Job) -> str | None:
        """Refuse to overwrite outputs that belong to a different file that still exists.

        `podium batch day1/` then `podium batch day2/` into one folder would otherwise silently replace
        day1's x.txt with day2's. A copied, moved or edited file is not refused (same content, old path
        gone, or same path), nor is one whose old outputs were deleted.
        """
        assert self._state is not None
        before = self._state.settled.get(job.input.key)
        if (before is None or before.status != DONE or before.path == str(job.input.path)
                or before.sha256 == job.sha256 or not Path(before.path).exists()
                or not any((self.output_dir / out).is_file() for out in before.outputs)):
            return None
        return (f"{self.output_dir / job.input.key}.* already holds the transcript of {before.path}: "
                "use another --output-dir, or delete those outputs to replace them")

    def _load_models(self) -> None:
        started = time.perf_counter()
        self.engine.load_models()
        self.summary.models_loaded = True
        self.summary.model_seconds = time.perf_counter() - started
        self.emit({"event": "models_loaded", "seconds": round(self.summary.model_seconds, 3)})

    def _pipeline(self, pending: list[_Job]) -> None:
        decoded: queue.Queue[_Job | None] = queue.Queue(maxsize=QUEUE_SIZE)
        recognized: queue.Queue[_Job | None] = queue.Queue(maxsize=QUEUE_SIZE)
        first, second, third = THREADS
        workers = [threading.Thread(target=self._guarded, args=(run,), name=f"podium-{name}", daemon=True)
                   for name, run in (("decode", lambda: self._decoder(first, pending, decoded)),
                                     ("transcribe", lambda: self._recognizer(second, decoded, recognized)),
                                     ("finish", lambda: self._finisher(third, recognized)))]
        for worker in workers:
            worker.start()
        started = time.perf_counter()
        try:
            self._wait(workers)
        finally:
            self.summary.pipeline_seconds = time.perf_counter() - started

    def _wait(self, workers: list[threading.Thread]) -> None:
        """Wait in short steps, so signal handlers get to run here, and say when a stop takes effect."""
        announced = False
        for worker in workers:
            # After a stop the decoder's file is dropped anyway: a long ffmpeg decode must not hold the
            # run up (its daemon thread writes nothing once the ledger is closed).
            while worker.is_alive() and not (self.stop.requested.is_set() and worker.name == "podium-decode"):
                if self.stop.requested.is_set() and not announced:
                    announced = True
                    self.emit({"event": "interrupt", "signal": self.stop.reason})
                if self.stop.abandon.is_set():
                    self.summary.abandoned = True
                    self._halt.set()
                    self.emit({"event": "abandon"})
                    return
                worker.join(_POLL)

    def _guarded(self, run: Callable[[], None]) -> None:
        try:
            run()
        except _Halt:
            pass
        except BaseException as err:  # a fault that is not one input's: stop the whole run, report it
            self._fatal = err
            self._halt.set()

    # --- stages -----------------------------------------------------------------------------

    def _decoder(self, stages: tuple[str, ...], pending: list[_Job], out: queue.Queue[_Job | None]) -> None:
        try:
            for job in pending:
                if self.stop.requested.is_set() or self._halt.is_set():
                    break
                job.started = now()
                if job.sha256 is None and not self._hash(job):
                    continue
                job.work.source_sha256 = job.sha256  # the provenance records it: no second read
                if self._skip_if_settled(job):
                    continue
                if clash := self._outputs_of_another_file(job):
                    self._fail(job, clash)
                    continue
                self._acquire_slot()
                if not self._decode(stages, job):
                    self._slots.release()
                    continue
                self._put(out, job)
        finally:
            self._put(out, _END, force=True)

    def _hash(self, job: _Job) -> bool:
        stopping = self.stop.requested.is_set
        try:
            job.sha256 = self._timed(job, "hash", lambda: sha256_file(job.input.path, should_stop=stopping))
        except Stopped:  # not recorded: the next run hashes it again
            return False
        except OSError as err:
            self._fail(job, f"cannot read {job.input.path}: {err.strerror or err}")
            return False
        with self._summary_lock:
            self.summary.hashed += 1
        return True

    def _decode(self, stages: tuple[str, ...], job: _Job) -> bool:
        try:
            self._run_stages(stages, job)
        except Exception as err:
            # A Ctrl-C in a terminal (or systemd's SIGTERM to the whole group) also reaches ffmpeg, whose
            # decode then fails, maybe before our handler has run: give the stop a moment to show.
            if not self.stop.requested.wait(_SIGNAL_GRACE):
                self._fail_or_raise(job, err)
            return False
        return True

    def _recognizer(self, stages: tuple[str, ...], source: queue.Queue[_Job | None],
                    out: queue.Queue[_Job | None]) -> None:
        try:
            while (job := self._get(source, end_on_stop=True)) is not _END:
                if self.stop.requested.is_set():  # not started yet: left for the next run
                    self._drop(job)
                    continue
                try:
                    self._run_stages(stages, job)
                except Exception as err:
                    self._drop(job)
                    self._fail_or_raise(job, err)
                    continue
                self._free_gpu_memory()
                self._put(out, job)
        finally:
            self._put(out, _END, force=True)

    def _finisher(self, stages: tuple[str, ...], source: queue.Queue[_Job | None]) -> None:
        while (job := self._get(source)) is not _END:
            try:
                self._run_stages(stages, job)
            except Exception as err:
                self._drop(job)
                self._fail_or_raise(job, err)
                continue
            self._record_done(job)

    # --- helpers ----------------------------------------------------------------------------

    def _record_done(self, job: _Job) -> None:
        """The ledger line of a file whose every stage ran (its outputs are written)."""
        transcript = job.work.transcript
        assert transcript is not None  # the align stage ran
        audio_seconds = transcript.duration
        outputs = [Path(p).relative_to(self.output_dir).as_posix() for p in job.work.outputs]
        self._finish(job.record(DONE, options_hash=self.options_hash, outputs=outputs,
                                subtitles=subtitle_note(transcript, self.options.output),
                                audio_seconds=round(audio_seconds, 3),
                                reason=too_short_note(audio_seconds, self.options)
                                or (None if transcript.segments else "no speech found")))

    def _run_stages(self, stages: tuple[str, ...], job: _Job) -> None:
        """This thread's share of the stages these options use, each announced and timed."""
        for stage in stages:
            if stage not in self.engine.stages:
                continue
            self.emit({"event": "stage_start", "key": job.input.key, "stage": stage})
            hook = self._hook(job) if stage in ("transcribe", "diarize") else None
            self.engine.run_stage(stage, job.work, hook)
            if stage in ("transcribe", "diarize"):
                self._free_gpu_memory()
            elif stage == "align":
                self._drop(job)  # the samples are no longer needed: let the decoder start another file

    def _timed(self, job: _Job, stage: str, work: Callable[[], Any]) -> Any:
        """The batch's own steps that are not pipeline stages (hashing), timed like them."""
        started = time.perf_counter()
        try:
            return work()
        finally:
            job.work.seconds[stage] = job.work.seconds.get(stage, 0.0) + time.perf_counter() - started

    def _hook(self, job: _Job) -> Callable[[str, float, float], None]:
        def hook(stage: str, done: float, total: float) -> None:
            self.emit({"event": "audio_progress", "key": job.input.key, "stage": stage, "done": done,
                       "total": total})
        return hook

    def _drop(self, job: _Job) -> None:
        """Forget the samples and free their slot (once per decoded job)."""
        if job.work.audio is not None:
            job.work.audio = None
            self._slots.release()

    def _fail_or_raise(self, job: _Job, err: Exception) -> None:
        """A bad input is recorded and the run goes on; a setup problem (a bad --speaker-map) stops it."""
        if isinstance(err, PodiumError) and not isinstance(err, MediaError):
            raise err
        message = str(err) if isinstance(err, PodiumError) else f"{type(err).__name__}: {err}"
        self._fail(job, message.splitlines()[0] if message else type(err).__name__)

    def _fail(self, job: _Job, message: str) -> None:
        self._finish(job.record(FAILED, options_hash=self.options_hash, error=message))

    def _finish(self, record: FileRecord) -> None:
        assert self._ledger is not None
        line = {**record.to_line(), "run": self.run_id}
        # A lost skip line costs nothing (the next run skips again), so skips are not fsynced one by one:
        # a re-run over 10,000 unchanged files would otherwise wait on 10,000 disk flushes.
        if not self._ledger.append(line, durable=record.status != SKIPPED):
            return  # abandoned: the ledger is closed, and this file is redone next run
        with self._summary_lock:
            self.summary.add(record)
        self.emit(line)

    def _free_gpu_memory(self) -> None:
        if self.settings.free_gpu_memory:
            free_gpu_memory()

    def _acquire_slot(self) -> None:
        while not self._slots.acquire(timeout=_POLL):
            if self._halt.is_set():
                raise _Halt

    def _put(self, target: queue.Queue[_Job | None], item: _Job | None, force: bool = False) -> None:
        while True:
            try:
                target.put(item, timeout=_POLL)
                return
            except queue.Full:
                if self._halt.is_set() and not force:
                    raise _Halt from None
                if self._halt.is_set():
                    return  # the consumer is gone; nobody waits for the end marker

    def _get(self, source: queue.Queue[_Job | None], end_on_stop: bool = False) -> _Job | None:
        """The next job; with `end_on_stop`, the end once a stop is requested and none is waiting (the
        recognizer would drop anything the decoder still sends, so it need not wait for the decoder)."""
        while True:
            try:
                return source.get(timeout=_POLL)
            except queue.Empty:
                if self._halt.is_set():
                    raise _Halt from None
                if end_on_stop and self.stop.requested.is_set():
                    return _END


def free_gpu_memory() -> None:
    """Hand PyTorch's cached GPU memory back (--free-gpu-memory), in whichever process ran a model."""
    torch = sys.modules.get("torch")  # only if a stage already uses it; never imported for this
    if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.empty_cache()


def _stat_error(path: Path, err: OSError) -> str:
    if isinstance(err, FileNotFoundError):
        return f"no such file: {path}"
    return f"cannot read {path}: {err.strerror or err}"
