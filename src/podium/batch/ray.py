"""`podium batch --ray`: the batch's stages on a Ray cluster, its planning and ledger unchanged.

    driver (this process: plan, hash, skip, ledger, progress)
      -> decode task (CPU, any node) ----------------------------------- decoded Job in the object store
      -> Whisper actor (GPU share or CPUs; model loaded once)         --> words
      -> diarize actor (diarize, align, write; diarizer loaded once)  --> outputs on the shared --output-dir
    Without diarization the Whisper actor aligns and writes too: one hop less per file.

The driver is the ledger's only writer: workers write outputs (atomically, `write_outputs`) and hand
back what the ledger line needs, and the driver records each file once, when its last stage is back.
So a run started with --ray resumes without it (same options hash, same records), and the reverse.

Decoded audio is bounded: at most `--ray-max-decoded` files exist between their decode task's start and
their last stage's end, so the object store holds a few files' samples, however many inputs there are.

Failures: a bad input fails its task (the decoder's or a model's error) and is recorded failed, as in
the thread pipeline. A worker process or node that dies is Ray's to retry: tasks have `max_retries`,
actors `max_restarts` and `max_task_retries`, so the call is run again on the restarted actor and the
driver only ever sees one answer per file. An input that kills its worker on every try is recorded
failed; a run whose actors of one kind are all gone for good stops (nothing is lost: run it again).

This module is imported only on the --ray path: plain `podium` never imports ray.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import warnings
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import ray
from ray.exceptions import (
    ActorDiedError,
    ActorUnavailableError,
    RayActorError,
    RayTaskError,
    WorkerCrashedError,
)

from podium.batch.ledger import now
from podium.batch.runner import _POLL, BatchRun, _Job, free_gpu_memory
from podium.errors import OptionError, RunError
from podium.pipeline import Job, Podium, TranscribeOptions

DECODE_RETRIES = 3  # a decode task whose worker or node died is run again this many times
ACTOR_RESTARTS = 3  # an actor whose process or node died is restarted (models reloaded) this many times
ACTOR_TASK_RETRIES = 2  # ... and the call it was running is sent again to the new one this many times
CALLS_PER_ACTOR = 2  # one running, one waiting: the actor never idles between files
PING_EVERY = 1.0  # seconds between liveness checks of the actors (for the progress line)
PING_PATIENCE = 3.0  # an actor that has not answered a ping for this long is not counted alive
RESUBMITS = 3  # calls sent again after the actor was briefly unreachable (restarting)


@ray.remote(num_returns=2, max_retries=DECODE_RETRIES)
def _decode(options: TranscribeOptions, job: Job) -> tuple[Job, dict[str, Any]]:
    """The decode stage as a CPU task: the decoded Job (for the actors) and a small note (for the driver,
    which then never pulls the samples across the network)."""
    # Diarization off: the engine would otherwise decode the --enroll clips for every input.
    engine = Podium(replace(options, diarize=replace(options.diarize, diarize=False)))
    engine.run_stage("decode", job)
    return job, {"seconds": dict(job.seconds)}


class StageWorker:
    """A Ray actor running some of `podium.pipeline`'s stages with its own models, loaded once."""

    def __init__(self, options: TranscribeOptions, stages: tuple[str, ...], free_gpu: bool) -> None:
        self.engine = Podium(options)
        self.stages = tuple(s for s in stages if s in self.engine.stages)
        self.free_gpu = free_gpu
        # Loaded now, so a model that will not load fails the actor's creation, before any input.
        if "transcribe" in self.stages:
            self.engine.transcriber  # noqa: B018 - property access loads the model
        if "diarize" in self.stages:
            self.engine.diarizer  # noqa: B018

    @ray.method(concurrency_group="ping")
    def ping(self) -> dict[str, Any]:
        """Alive, and where: answered on its own thread, even while a model is busy."""
        return {"pid": os.getpid(), "node": ray.get_runtime_context().get_node_id()}

    def run(self, job: Job, *earlier: Job) -> Job:
        """This actor's stages on `job`, after taking in what earlier actors computed for the same file."""
        for other in earlier:
            job.asr = other.asr or job.asr
            job.diarization = other.diarization or job.diarization
            job.seconds.update(other.seconds)
        for stage in self.stages:
            self.engine.run_stage(stage, job)
            if self.free_gpu and stage in ("transcribe", "diarize"):
                free_gpu_memory()
        job.audio = None  # the samples are already in the object store: do not send them back
        return job


@dataclass
class _Actor:
    role: str
    index: int
    handle: Any
    calls: int = 0  # sent and not answered
    dead: bool = False  # gone for good (restarts used up)
    ping: Any = None
    ping_sent: float = 0.0
    answered: float = field(default_factory=time.monotonic)
    where: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Flight:
    """One file between its decode and its last stage."""

    job: _Job
    decoded: Any  # ObjectRef of the decoded Job (samples included)
    asr: Any = None  # ObjectRef of the Whisper actor's Job
    actor: _Actor | None = None
    resubmits: int = 0


class RayBatchRun(BatchRun):
    """`BatchRun` with the stages on a Ray cluster (`--ray`): same plan, skips, ledger and summary."""

    _actors: list[_Actor]

    def execute(self) -> Any:
        self._actors = []
        try:
            return super().execute()
        finally:
            self._shutdown()

    # --- the cluster ------------------------------------------------------------------------

    def _load_models(self) -> None:
        """Join (or start) the cluster and start the actors; wait until every one has its models."""
        started = time.perf_counter()
        address = self.settings.ray
        with warnings.catch_warnings():  # a tip about a future default that concerns no podium setting
            warnings.filterwarnings("ignore", category=FutureWarning, module="ray")
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False,
                     **({"include_dashboard": False} if address == "local" else {}))
        gpus = ray.cluster_resources().get("GPU", 0) > 0 and self.options.asr.device != "cpu"
        diarize = self.options.diarize.diarize
        asr_stages = ("transcribe",) if diarize else ("transcribe", "align", "write")
        roles = [("asr", asr_stages, self.settings.ray_asr_actors, gpus)]
        if diarize:
            gpus_diarize = ray.cluster_resources().get("GPU", 0) > 0 and self.options.diarize.device != "cpu"
            roles.append(("diarize", ("diarize", "align", "write"), self.settings.ray_diarize_actors,
                          gpus_diarize))
        for role, stages, count, on_gpu in roles:
            resources = ({"num_gpus": self.settings.ray_gpus_per_actor, "num_cpus": 0} if on_gpu
                         else {"num_cpus": self.settings.ray_cpus_per_actor})
            options: dict[str, Any] = {"max_restarts": ACTOR_RESTARTS, "max_task_retries": ACTOR_TASK_RETRIES,
                                       "concurrency_groups": {"ping": 1}, **resources}
            cls = ray.remote(**options)(StageWorker)
            for index in range(count):
                handle = cls.remote(self.options, stages, self.settings.free_gpu_memory)
                self._actors.append(_Actor(role, index, handle))
        free_cpus = ray.cluster_resources().get("CPU", 0) - sum(
            count * self.settings.ray_cpus_per_actor for _, _, count, on_gpu in roles if not on_gpu)
        if free_cpus < 1:  # the decode tasks would wait for a CPU forever
            raise OptionError(f"the actors reserve every CPU of the cluster ({free_cpus:g} left), "
                              "leaving none to decode on: lower --ray-asr-actors, --ray-diarize-actors or "
                              "--ray-cpus-per-actor")
        self.emit({"event": "ray", "address": address, "gpus": gpus,
                   "resources": {k: v for k, v in ray.cluster_resources().items() if "node:" not in k},
                   "actors": {role: count for role, _, count, _ in roles}})
        # The first ping answers once the constructor is done: every model loaded (or failed to load).
        answers = ray.get([a.handle.ping.remote() for a in self._actors])
        for actor, where in zip(self._actors, answers, strict=True):
            actor.where = where
        self._report_actors(force=True)
        self.summary.models_loaded = True
        self.summary.model_seconds = time.perf_counter() - started
        self.emit({"event": "models_loaded", "seconds": round(self.summary.model_seconds, 3)})

    def _shutdown(self) -> None:
        if not ray.is_initialized():
            return
        for actor in self._actors:  # free their GPUs for the next job now, not when the driver is reaped
            with contextlib.suppress(Exception):  # already gone
                ray.kill(actor.handle, no_restart=True)
        ray.shutdown()

    # --- the pipeline -----------------------------------------------------------------------

    def _pipeline(self, pending: list[_Job]) -> None:
        asr = [a for a in self._actors if a.role == "asr"]
        finishers = [a for a in self._actors if a.role == "diarize"]
        bound = self.settings.ray_max_decoded or CALLS_PER_ACTOR * len(self._actors)
        todo: Iterator[_Job] = iter(pending)
        decoding: dict[Any, _Flight] = {}  # decode note ref -> flight
        waiting: deque[_Flight] = deque()  # decoded, for a Whisper actor
        to_finish: deque[_Flight] = deque()  # transcribed, for a diarize actor
        running: dict[Any, _Flight] = {}  # actor call ref -> flight
        exhausted = False
        announced = False
        started = time.perf_counter()
        try:
            while True:
                if self.stop.abandon.is_set():
                    self.summary.abandoned = True
                    self.emit({"event": "abandon"})
                    return
                if self.stop.requested.is_set():
                    if not announced:
                        announced = True
                        self.emit({"event": "interrupt", "signal": self.stop.reason})
                    # Not yet in Whisper: left for the next run, as the thread pipeline leaves them.
                    for ref in decoding:
                        with contextlib.suppress(Exception):  # finished meanwhile
                            ray.cancel(ref)
                    decoding.clear()
                    waiting.clear()
                    exhausted = True
                alive = len(decoding) + len(waiting) + len(to_finish) + len(running)
                while not exhausted and alive < bound:
                    job = next(todo, None)
                    if job is None:
                        exhausted = True
                    elif (flight := self._start(job)) is not None:
                        decoding[flight.decoded[1]] = flight
                        flight.decoded = flight.decoded[0]
                        alive += 1
                self._dispatch(waiting, asr, running, lambda f: (f.decoded,))
                self._dispatch(to_finish, finishers, running, lambda f: (f.decoded, f.asr))
                self._report_actors()
                if not (decoding or waiting or to_finish or running):
                    if exhausted:
                        return
                    continue
                refs = [*decoding, *running]
                if not refs:
                    time.sleep(_POLL)  # every flight waits for an actor: the pings tell when one is back
                    continue
                ready, _ = ray.wait(refs, num_returns=1, timeout=_POLL, fetch_local=False)
                for ref in ready:
                    if ref in decoding:
                        self._decoded(decoding.pop(ref), ref, waiting)
                    else:
                        self._answered(running.pop(ref), ref, waiting, to_finish, bool(finishers))
        finally:
            self.summary.pipeline_seconds = time.perf_counter() - started

    def _start(self, job: _Job) -> _Flight | None:
        """Hash (when the ledger does not know the file), skip if settled, else send it to decode."""
        job.started = now()
        if job.sha256 is None and not self._hash(job):
            return None
        job.work.source_sha256 = job.sha256  # the provenance records it: no second read
        if self._skip_if_settled(job):
            return None
        if clash := self._outputs_of_another_file(job):
            self._fail(job, clash)
            return None
        self.emit({"event": "stage_start", "key": job.input.key, "stage": "decode"})
        return _Flight(job, _decode.remote(self.options, job.work))

    def _dispatch(self, queue: deque[_Flight], actors: list[_Actor], running: dict[Any, _Flight],
                  args: Any) -> None:
        """Hand waiting files to the least busy live actors, `CALLS_PER_ACTOR` at most each."""
        while queue:
            free = [a for a in actors if not a.dead and a.calls < CALLS_PER_ACTOR]
            if not free:
                return
            actor = min(free, key=lambda a: a.calls)
            flight = queue.popleft()
            flight.actor = actor
            actor.calls += 1
            stage = "transcribe" if actor.role == "asr" else "diarize"
            self.emit({"event": "stage_start", "key": flight.job.input.key, "stage": stage})
            running[actor.handle.run.remote(*args(flight))] = flight

    def _decoded(self, flight: _Flight, note: Any, waiting: deque[_Flight]) -> None:
        try:
            ray.get(note)
        except Exception as err:
            with contextlib.suppress(Exception):  # read its twin too, or Ray logs it as an unhandled error
                ray.get(flight.decoded)
            self._failed(flight, err)
            return
        waiting.append(flight)

    def _answered(self, flight: _Flight, ref: Any, waiting: deque[_Flight], to_finish: deque[_Flight],
                  diarize: bool) -> None:
        actor = flight.actor
        assert actor is not None
        actor.calls -= 1
        try:
            work = ray.get(ref)
        except ActorUnavailableError:  # restarting: send it again (to whichever actor is free then)
            if flight.resubmits < RESUBMITS:
                flight.resubmits += 1
                (waiting if actor.role == "asr" else to_finish).appendleft(flight)
                return
            self._failed(flight, RunError("the Ray actor stayed unreachable"))
            return
        except Exception as err:
            if isinstance(err, ActorDiedError) and _gone_for_good(actor):
                actor.dead = True
                self._check_actors(actor.role)
            self._failed(flight, err)
            return
        if actor.role == "asr" and diarize:
            flight.asr = ref
            to_finish.append(flight)
            return
        flight.job.work = work
        self._record_done(flight.job)

    def _failed(self, flight: _Flight, err: BaseException) -> None:
        """A task's error: the input's own (recorded, the run goes on) or a setup one (raised)."""
        cause: BaseException = err
        if isinstance(err, RayTaskError) and err.cause is not None:
            cause = err.cause
        elif isinstance(err, (RayActorError, WorkerCrashedError)):
            # Ray has already retried it on a fresh worker: this input kills its worker every time.
            cause = RunError(f"the Ray worker died on every try ({type(err).__name__})")
        if not isinstance(cause, Exception):
            raise cause
        self._fail_or_raise(flight.job, cause)

    def _check_actors(self, role: str) -> None:
        if all(a.dead for a in self._actors if a.role == role):
            raise RunError(f"every {role} actor is gone for good (restarts used up, or no node can hold "
                           "one): run the same command again to go on")

    # --- liveness, for the progress line ----------------------------------------------------

    def _report_actors(self, force: bool = False) -> None:
        """Ping each actor about once a second; say how many are alive when that changes."""
        now = time.monotonic()
        changed = force
        for actor in self._actors:
            if actor.dead:
                continue
            if actor.ping is not None:
                done, _ = ray.wait([actor.ping], timeout=0)
                if done:
                    try:
                        where = ray.get(actor.ping)
                    except ActorDiedError:
                        if _gone_for_good(actor):
                            actor.dead = changed = True
                            self._check_actors(actor.role)
                    except Exception:  # restarting: the next ping tells
                        pass
                    else:
                        changed |= where != actor.where or now - actor.answered > PING_PATIENCE
                        actor.where, actor.answered = where, now
                    actor.ping = None
            if actor.ping is None and now - actor.ping_sent >= PING_EVERY:
                actor.ping, actor.ping_sent = actor.handle.ping.remote(), now
            if not self._alive(actor, now) and actor.where:
                changed = True
                actor.where = {}
        if changed:
            alive = sum(self._alive(a, now) for a in self._actors)
            self.emit({"event": "actors", "alive": alive, "total": len(self._actors),
                       "workers": [{"role": a.role, "index": a.index, **a.where}
                                   for a in self._actors if self._alive(a, now)]})

    @staticmethod
    def _alive(actor: _Actor, now: float) -> bool:
        return not actor.dead and bool(actor.where) and now - actor.answered <= PING_PATIENCE


def _gone_for_good(actor: _Actor) -> bool:
    """Whether an actor that raised ActorDiedError will not come back (its restarts are used up)."""
    try:
        ray.get(actor.handle.ping.remote(), timeout=PING_PATIENCE)
    except ActorDiedError:
        return True
    except Exception:  # restarting (reloading its models): it comes back
        return False
    return False
