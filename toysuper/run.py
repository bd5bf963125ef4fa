"""Running a sweep: train it (`toysuper.engine`), store it, resume it, report progress.

    sweep = Sweep(ModelConfig(20, 5), TrainConfig(steps=5000),
                  axes={"feature_probability": np.geomspace(1, 0.01, 100), "seed": range(100)},
                  fixed={"importance": decaying_importance(20, 0.9)})
    result = run_sweep(sweep, out="runs/population")     # progress bar, checkpoints per chunk
    ds = result.to_xarray()         # W: (feature_probability, seed, feature, hidden)

Across processes: call `jax.distributed.initialize()` in every process, then the same `run_sweep`
in every process. The mesh spans `jax.devices()` (every process's), results are gathered to every
process, and only process 0 writes to `out` (a directory every process reads to resume).
Across the jobs of a cluster: `toysuper.launch` gives each task of a job array its share of the
chunks (`train_chunks`) and assembles the result once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import jax
import numpy as np
from jax.experimental import multihost_utils
from tqdm.auto import tqdm

from toysuper.checkpoint import ChunkStore, log
from toysuper.engine import (
    MEMORY_ENV,
    default_chunk_size,
    estimate_bytes_per_model,
    model_mesh,
    segment_steps,
    single_model_limit,
    train_chunk,
)
from toysuper.results import CONFIG_FILE, Result, open_result_dir, read_config, result_path
from toysuper.sweep import Sweep
from toysuper.validate import require


def run_sweep(sweep: Sweep, *, out: str | Path | None = None, chunk_size: int | None = None,
              steps_per_call: int | None = None, progress: bool = True,
              overwrite: bool = False, reuse_stale: bool = False, meta: dict | None = None,
              checkpoint_every: int | None = None, checkpoint_seconds: float = 60.0,
              devices=None, memory_bytes: int | None = None):
    """Train every point of the grid and return a `Result`.

    Args:
      sweep: the grid.
      out: optional result directory. Each finished chunk is written there atomically (with a
        checksummed manifest entry), and long chunks also save their training state between
        compiled calls; a rerun with the same config resumes where the last one stopped and
        ends with the same result bit for bit. A finished directory is loaded without
        retraining, and a directory holding another config is refused.
      chunk_size: models per compiled call, rounded up to a multiple of the device count;
        default: the one a job array recorded in `out` (`toysuper.launch`), else
        `default_chunk_size`.
      steps_per_call: steps per compiled call within a chunk (progress and checkpoint grain).
      progress: show a tqdm bar counting model-steps.
      overwrite: discard whatever `out` holds instead of resuming or refusing.
      reuse_stale: load (or resume) what `out` holds even if other training code made it
        (by default it is trained again, with a notice: `toysuper.results.stale`).
      meta: extra JSON-able entries for config.json (e.g. experiment name, fidelity).
      checkpoint_every: save the mid-chunk training state every this many steps (a multiple
        of `steps_per_call`); by default it is saved when `checkpoint_seconds` have passed.
      checkpoint_seconds: the time-based default interval of mid-chunk checkpoints.
      devices: shard each chunk's models over these devices; default `jax.devices()`.
      memory_bytes: working-set budget per device for the default chunk size; default
        `memory_budget()`.
    """
    finished = out is not None and result_path(out) is not None  # loading needs no budget
    if chunk_size is None and out is not None and not overwrite:
        chunk_size = ChunkStore(Path(out)).chunk_size()
    plan = _Plan.make(sweep, chunk_size, steps_per_call, checkpoint_every, checkpoint_seconds,
                      devices, memory_bytes, check_size=not finished)
    store = _open_store(out, sweep, meta, overwrite, reuse_stale) if out is not None else None
    if store is not None and result_path(out) is not None:
        if plan.writes:
            store.clear()  # checkpoints left by a run killed after writing its result
        return Result.load(out)
    bar = tqdm(total=sweep.size * sweep.train.steps, unit="model-step", unit_scale=True,
               disable=not progress, desc=f"{sweep.size} models x {sweep.train.steps} steps")
    chunks = [plan.chunk(sweep, store, start, stop, bar)[0]
              for start, stop in chunk_bounds(sweep.size, plan.chunk_size)]
    bar.close()
    result = Result.from_arrays(sweep, {k: np.concatenate([c[k] for c in chunks])
                                        for k in chunks[0]})
    if store is not None and plan.writes:
        result.save(out, meta)
        store.clear()
    return result


def train_chunks(sweep: Sweep, out: str | Path, chunks: Sequence[tuple[int, int]], *,
                 chunk_size: int, task: int = 0, job: str = "", steps_per_call: int | None = None,
                 checkpoint_every: int | None = None, checkpoint_seconds: float = 60.0,
                 devices=None) -> None:
    """One task's share of a sweep: train the chunks [start, stop) of `chunks` into `out`
    (already prepared by `toysuper.results.open_result_dir` for this sweep), resuming any
    saved mid-chunk state and skipping finished ones. The result is not assembled (the
    launcher does that once). Progress goes to out/chunks/task-NNNN.json (`toysuper status`).

    Args:
      chunks: (start, stop) pairs, each a chunk of `chunk_bounds(sweep.size, chunk_size)`.
      chunk_size: the chunk size every task of the array uses (a multiple of the device count).
      task, job: this task's number in the array and its scheduler job id, for the status file.
    """
    out = Path(out)
    found = read_config(out).get("config_hash") if (out / CONFIG_FILE).exists() else None
    require(found == sweep.config_hash(), "out", str(out),
            f"a result directory prepared for config {sweep.config_hash()} (it holds "
            f"{found or 'no config.json'})")
    plan = _Plan.make(sweep, chunk_size, steps_per_call, checkpoint_every, checkpoint_seconds,
                      devices, None, check_size=True)
    require(plan.chunk_size == chunk_size, "chunk_size", chunk_size,
            f"a multiple of this task's {plan.n_devices} devices (the chunk boundaries of every "
            "task must agree)")
    bounds = set(chunk_bounds(sweep.size, chunk_size))
    for chunk in chunks:
        require(tuple(chunk) in bounds, "chunks", chunk,
                f"chunks of {sweep.size} models in steps of {chunk_size}")
    if result_path(out) is not None:
        log(f"{out} holds the assembled result already: nothing to train")
        return
    store = ChunkStore(out, sweep.config_hash())
    status = _TaskStatus(store if plan.writes else None, task, job, [tuple(c) for c in chunks],
                         sweep.train.steps)
    try:
        for start, stop in status.chunks:
            status.begin(start, stop)
            status.finish(start, stop, plan.chunk(sweep, store, start, stop, status)[1])
        status.save("finished")
    except (KeyboardInterrupt, SystemExit) as err:  # a signal, or submitit's requeue
        status.save("interrupted", error=type(err).__name__)
        raise
    except Exception as err:
        lines = str(err).strip().splitlines() or [""]
        status.save("failed", error=f"{type(err).__name__}: {lines[-1][:300]}")
        raise


def _open_store(out, sweep: Sweep, meta, overwrite: bool, reuse_stale: bool) -> ChunkStore:
    """`open_result_dir` in process 0; the others wait for it, then only check the config (in a
    multi-process run every process reads `out`, and only process 0 writes)."""
    if jax.process_count() == 1:
        return open_result_dir(out, sweep, meta, overwrite, reuse_stale)
    error = None
    if jax.process_index() == 0:
        try:
            store = open_result_dir(out, sweep, meta, overwrite, reuse_stale)
        except (ValueError, OSError) as err:
            error = err
    if not _agreed(error is None):  # every process stops, not only process 0
        if error is not None:
            raise error
        raise RuntimeError(f"process 0 could not prepare {out} (its error says why)")
    if jax.process_index() != 0:
        found = read_config(Path(out)).get("config_hash")
        require(found == sweep.config_hash(), "out", str(out), f"a directory that every "
                f"process sees as process 0 prepared it (config {sweep.config_hash()}; this "
                f"process reads {found})")
        store = ChunkStore(Path(out), sweep.config_hash())
    return store


def _agreed(flag: bool) -> bool:
    """Process 0's `flag`, in every process of a multi-process run (a collective: every process
    must call it as often); `flag` itself in a single process."""
    if jax.process_count() == 1:
        return flag
    return bool(multihost_utils.broadcast_one_to_all(np.bool_(flag)))


def chunk_bounds(size: int, chunk_size: int) -> list[tuple[int, int]]:
    """The chunks [start, stop) of a sweep of `size` points: every `chunk_size`, the last
    one shorter (padded when trained)."""
    return [(start, min(start + chunk_size, size)) for start in range(0, size, chunk_size)]


@dataclasses.dataclass
class _Plan:
    """How chunks are trained: devices, chunk size, call size, checkpoints, who writes."""

    mesh: object
    n_devices: int
    chunk_size: int
    steps_per_call: int
    checkpoint_every: int | None
    checkpoint_seconds: float
    writes: bool  # only process 0 writes in a multi-process run

    @classmethod
    def make(cls, sweep, chunk_size, steps_per_call, checkpoint_every, checkpoint_seconds,
             devices, memory_bytes, check_size) -> _Plan:
        mesh = model_mesh(devices)
        n_devices = 1 if mesh is None else mesh.size
        require(memory_bytes is None or (isinstance(memory_bytes, int) and memory_bytes > 0),
                "memory_bytes", memory_bytes, "a number of bytes > 0, or None")
        if chunk_size is None:
            chunk_size = default_chunk_size(sweep, memory_bytes, n_devices)
        require(isinstance(chunk_size, int) and chunk_size >= 1, "chunk_size", chunk_size,
                "an integer >= 1")
        chunk_size = n_devices * math.ceil(chunk_size / n_devices)
        steps_per_call = segment_steps(sweep.train) if steps_per_call is None else steps_per_call
        require(isinstance(steps_per_call, int) and steps_per_call >= 1, "steps_per_call",
                steps_per_call, "an integer >= 1")
        require(checkpoint_every is None or (isinstance(checkpoint_every, int)
                and checkpoint_every > 0 and checkpoint_every % steps_per_call == 0),
                "checkpoint_every", checkpoint_every,
                f"a positive multiple of steps_per_call={steps_per_call}")
        if check_size and memory_bytes is None and MEMORY_ENV not in os.environ:
            per_model, limit = (estimate_bytes_per_model(sweep.model, sweep.train),
                                single_model_limit())
            require(per_model <= limit, "model size", f"{per_model / 2**30:.1f} GiB per model",
                    f"at most {limit / 2**30:.1f} GiB (the working-set estimate of one training "
                    "step against the memory budget, or half the machine's memory on a CPU): "
                    f"lower batch_size or n_features, or raise the budget explicitly "
                    f"(memory_bytes=..., or ${MEMORY_ENV})")
        return cls(mesh, n_devices, chunk_size, steps_per_call, checkpoint_every,
                   checkpoint_seconds, jax.process_index() == 0)

    def chunk(self, sweep: Sweep, store: ChunkStore | None, start: int, stop: int, progress
              ) -> tuple[dict[str, np.ndarray], int | None]:
        """The finished chunk [start, stop), and the step its training started from (None if
        it was loaded whole from `store`; a saved mid-chunk state's step if resumed, else 0).
        `progress.update(model_steps)` is called as it goes."""
        windows = sweep.train.steps // sweep.train.log_every
        saved = store.load_chunk(start, stop) if store is not None else None
        if saved is not None and saved["history"].shape[-1] != windows:
            log(f"the saved chunk {start}-{stop} in {store.directory} has "
                f"{saved['history'].shape[-1]} loss windows, not {windows}: recomputing it")
            saved = None
        if _agreed(saved is not None) != (saved is not None):
            raise RuntimeError(_DISAGREE.format(f"{start}-{stop}", store.directory))
        if saved is not None:
            progress.update((stop - start) * sweep.train.steps)
            return saved, None
        pad = np.minimum(np.arange(start, start + self.chunk_size), sweep.size - 1)
        hyper = jax.tree.map(lambda leaf: leaf[pad], sweep.grid_hyper())
        due = _Due(self.checkpoint_every, self.checkpoint_seconds) if store is not None else None
        resume = store.load_partial(start, stop) if store is not None else None
        if _agreed(resume is not None) != (resume is not None):
            raise RuntimeError(_DISAGREE.format(f"{start}-{stop}'s mid-chunk state",
                                                store.directory))
        saved = train_chunk(
            sweep, hyper, steps_per_call=self.steps_per_call,
            on_steps=lambda steps: progress.update((stop - start) * steps), resume=resume,
            checkpoint=((lambda step, arrays: store.save_partial(start, stop, arrays))
                        if store is not None and self.writes else None),
            checkpoint_due=due, mesh=self.mesh)
        saved = {k: v[: stop - start] for k, v in saved.items()}
        if store is not None and self.writes:
            store.save_chunk(start, stop, saved)
        resumed = 0 if resume is None else resume["history"].shape[-1] * sweep.train.log_every
        return saved, resumed


_DISAGREE = ("the saved chunk {} in {} is readable in some processes and not in others: every "
             "process must see the same result directory (a shared file system)")


class _Due:
    """When a mid-chunk checkpoint is due: every `every` steps, or once `seconds` have passed.
    In a multi-process run process 0 decides for all (they gather the state together)."""

    def __init__(self, every: int | None, seconds: float):
        self.every, self.seconds, self.last = every, seconds, time.monotonic()

    def __call__(self, step: int) -> bool:
        due = step % self.every == 0 if self.every else _agreed(
            time.monotonic() - self.last >= self.seconds)
        if due:
            self.last = time.monotonic()
        return due


HEARTBEAT_SECONDS = 30.0  # a job-array task rewrites its status file at least this often,
PROGRESS_SECONDS = 5.0  # and at most this often between chunk boundaries


class _TaskStatus:
    """A job-array task's progress in its status file (none if `store` is None: a process that
    does not write): rewritten at every chunk boundary, and by a heartbeat thread every
    `HEARTBEAT_SECONDS` (so a long compiled call does not look like a dead task); passed to
    `_Plan.chunk` as its progress bar."""

    def __init__(self, store: ChunkStore | None, task: int, job: str, chunks: list, steps: int):
        self.store, self.task, self.job, self.chunks, self.steps = store, task, job, chunks, steps
        self.loaded, self.trained = [], []  # [start, stop]; [start, stop, from step]
        self.current, self.model_steps, self.state, self.last = None, 0, "running", 0.0
        self.lock, self.stopped = threading.Lock(), threading.Event()
        self.save("running")
        threading.Thread(target=self._beat, daemon=True).start()

    def _beat(self) -> None:
        while not self.stopped.wait(HEARTBEAT_SECONDS):
            with contextlib.suppress(OSError):  # a full disk: the next beat tries again
                self.save(self.state)

    def begin(self, start: int, stop: int) -> None:
        with self.lock:
            self.current, self.model_steps = (start, stop), 0
        self.save("running")

    def update(self, model_steps: int) -> None:
        with self.lock:
            self.model_steps += model_steps
        if time.monotonic() - self.last >= PROGRESS_SECONDS:
            self.save("running")

    def finish(self, start: int, stop: int, resumed_from: int | None) -> None:
        with self.lock:
            if resumed_from is None:
                self.loaded.append((start, stop))
            else:
                self.trained.append((start, stop, resumed_from))
            self.current, self.model_steps = None, 0
        self.save("running")

    def save(self, state: str, **extra) -> None:
        """Rewrite the status file; a final state ("finished", "failed", "interrupted") stops
        the heartbeat."""
        with self.lock:
            if self.state != "running":
                return  # final already: a late heartbeat must not overwrite it
            if state != "running":
                self.stopped.set()
            self.state, self.last = state, time.monotonic()
            if self.store is not None:
                self.store.save_task(self.task, {
                    "state": state, "job": self.job, "steps": self.steps,
                    "chunks": self.chunks, "loaded": self.loaded, "trained": self.trained,
                    "current": self.current, "current_model_steps": self.model_steps, **extra})
