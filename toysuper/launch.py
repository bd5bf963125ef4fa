"""Sweeps as cluster job arrays: each task trains its share of the chunks into one directory.

    launcher = Launcher("slurm", tasks=8, partition="gpu", gpus_per_task=1, time_minutes=120)
    result = launch_sweep(sweep, "runs/population", launcher)   # waits, then assembles once

Tasks are submitted through submitit (the `cluster` extra): on Slurm as one job array, or with
`Launcher("local", ...)` as local processes running the very same task code (how the tests run
it). The launcher prepares the result directory, records the chunk size (`chunks/plan.json`), and
gives each task every N-th chunk still missing; each task writes its finished chunks, mid-chunk
states and a status file (`toysuper.run.train_chunks`). When the jobs are done, the launcher
assembles the result once. A task that a time limit or pre-emption stops is requeued by submitit
and resumes from its saved state; running the same launch again trains only what is missing.
Chunks that a task still running holds (heard from within `STALE_SECONDS`, and on this host a
live process) are not given out again: the launch waits for them instead.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import os
import socket
import time
from collections.abc import Mapping
from pathlib import Path

import jax
import numpy as np
from tqdm.auto import tqdm

from toysuper.checkpoint import ChunkStore, log
from toysuper.engine import default_chunk_size
from toysuper.results import CONFIG_FILE, Result, open_result_dir, read_config, result_path
from toysuper.run import HEARTBEAT_SECONDS, chunk_bounds, train_chunks
from toysuper.sweep import Sweep
from toysuper.validate import one_of, require

LAUNCHERS = ("local", "slurm")
JOBS_DIR = "jobs"  # submitit's pickles and task logs, inside the result directory
STALE_SECONDS = 4 * HEARTBEAT_SECONDS  # a task not heard from for longer is taken for dead


class LaunchError(RuntimeError):
    """A job array that could not run or finish: submitit missing, tasks that failed."""


@dataclasses.dataclass(frozen=True)
class Launcher:
    """Where and how the tasks of a job array run.

    Attributes:
      kind: "slurm" (a job array through submitit) or "local" (submitit's local processes).
      tasks: at most this many tasks (fewer when fewer chunks are missing).
      partition: the Slurm partition (None: the cluster's default).
      gpus_per_task: GPUs per task; each task shards its chunks over them.
      cpus_per_task: CPU cores per task (None: the scheduler's default).
      time_minutes: each task's time limit; a task stopped by it is requeued and resumes.
      slurm: further `slurm_*` parameters for submitit, without the prefix (e.g. {"account":
        "abc", "qos": "high"}).
      poll_seconds: how often the launcher reads the tasks' progress while it waits.
    """

    kind: str = "local"
    tasks: int = 2
    partition: str | None = None
    gpus_per_task: int = 0
    cpus_per_task: int | None = None
    time_minutes: int = 60
    slurm: Mapping = dataclasses.field(default_factory=dict)
    poll_seconds: float = 2.0

    def __post_init__(self):
        require(self.kind in LAUNCHERS, "kind", self.kind, one_of(str(self.kind), LAUNCHERS))
        for name in ("tasks", "time_minutes"):
            value = getattr(self, name)
            require(isinstance(value, int) and value >= 1, name, value, "an integer >= 1")
        require(isinstance(self.gpus_per_task, int) and self.gpus_per_task >= 0, "gpus_per_task",
                self.gpus_per_task, "an integer >= 0")
        require(self.cpus_per_task is None or (isinstance(self.cpus_per_task, int)
                                               and self.cpus_per_task >= 1),
                "cpus_per_task", self.cpus_per_task, "an integer >= 1, or None")
        require(self.poll_seconds > 0, "poll_seconds", self.poll_seconds, "seconds > 0")
        for name in ("partition", "slurm"):
            require(self.kind == "slurm" or not getattr(self, name), name,
                    getattr(self, name), "only with kind='slurm'")

    def executor(self, folder: Path):
        """A submitit executor for these settings, keeping its files in `folder`."""
        try:
            import submitit
        except ImportError as err:
            raise LaunchError("job arrays need submitit: pip install 'toysuper[cluster]'") \
                from err
        if self.kind == "local":
            executor = submitit.LocalExecutor(folder=folder)
            executor.update_parameters(timeout_min=self.time_minutes, tasks_per_node=1,
                                       gpus_per_node=self.gpus_per_task)
            return executor
        executor = submitit.AutoExecutor(folder=folder, cluster="slurm")
        executor.update_parameters(
            name="toysuper", timeout_min=self.time_minutes, tasks_per_node=1, nodes=1,
            gpus_per_node=self.gpus_per_task, slurm_array_parallelism=self.tasks,
            **({"cpus_per_task": self.cpus_per_task} if self.cpus_per_task else {}),
            **({"slurm_partition": self.partition} if self.partition else {}),
            **{f"slurm_{k}": v for k, v in self.slurm.items()})
        return executor

    def submit(self, tasks: list, folder: Path) -> list:
        """Submit `tasks` (callables): on Slurm as one array; locally one process each, task i
        seeing GPUs i*G to i*G+G-1 (G = `gpus_per_task`; with none, the GPUs are hidden)."""
        executor = self.executor(folder)
        if self.kind == "slurm":
            with executor.batch():
                return [executor.submit(task) for task in tasks]
        jobs = []
        for i, task in enumerate(tasks):
            gpus = list(range(i * self.gpus_per_task, (i + 1) * self.gpus_per_task))
            executor.update_parameters(visible_gpus=gpus)
            jobs.append(executor.submit(task))
        return jobs


@dataclasses.dataclass
class ChunkTask:
    """One task of the array (what submitit pickles and runs): train `chunks` into `out`.
    Its `checkpoint` (called by submitit at a time limit or pre-emption) requeues it as it is:
    the saved chunks and mid-chunk states are its checkpoint."""

    sweep: Sweep
    out: str
    chunks: list
    chunk_size: int
    task: int
    steps_per_call: int | None = None
    checkpoint_every: int | None = None
    checkpoint_seconds: float = 60.0
    cache_dir: str | None = None

    def __call__(self) -> int:
        if self.cache_dir:
            jax.config.update("jax_compilation_cache_dir", self.cache_dir)
        job = ""
        with contextlib.suppress(Exception):
            import submitit

            job = submitit.JobEnvironment().job_id
        train_chunks(self.sweep, self.out, self.chunks, chunk_size=self.chunk_size,
                     task=self.task, job=job, steps_per_call=self.steps_per_call,
                     checkpoint_every=self.checkpoint_every,
                     checkpoint_seconds=self.checkpoint_seconds)
        return len(self.chunks)

    def checkpoint(self):
        import submitit

        return submitit.helpers.DelayedSubmission(self)


def task_alive(status: dict, now: float | None = None) -> bool:
    """Whether the task that wrote `status` may still be running: it was heard from within
    `STALE_SECONDS`, and on this host its process still exists."""
    if status.get("state") != "running":
        return False
    if (now or time.time()) - status.get("time", 0) > STALE_SECONDS:
        return False
    writer = status.get("writer", {})
    if writer.get("host") == socket.gethostname() and isinstance(writer.get("pid"), int):
        try:
            os.kill(writer["pid"], 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # someone else's process of that number
            return True
    return True


@dataclasses.dataclass
class Submission:
    """A submitted job array: its jobs, and what each task was given."""

    sweep: Sweep
    out: Path
    chunk_size: int
    jobs: list
    shares: list  # per job: its chunks
    meta: dict | None = None
    poll_seconds: float = 2.0  # how often `wait` reads the tasks' progress

    @functools.cached_property
    def store(self) -> ChunkStore:
        return ChunkStore(self.out, self.sweep.config_hash())

    def missing(self) -> list[tuple[int, int]]:
        done = set(self.store.chunks())
        return [c for c in chunk_bounds(self.sweep.size, self.chunk_size) if c not in done]

    def model_steps(self) -> int:
        """Model-steps done: finished chunks, and the current chunk of each running task."""
        steps = self.sweep.train.steps
        done = sum((stop - start) * steps for start, stop in self.store.chunks())
        return done + sum(s.get("current_model_steps", 0) for s in self.store.tasks().values()
                          if task_alive(s))

    def running(self) -> bool:
        """Whether a job of this launch, or a task holding a chunk still missing, runs."""
        if not all(job.done() for job in self.jobs):
            return True
        missing = set(self.missing())
        return any(task_alive(s) and missing & {tuple(c) for c in s.get("chunks", [])}
                   for s in self.store.tasks().values())

    def wait(self, progress: bool = True) -> Result:
        """Wait for every task (one progress bar for the whole array), then assemble the
        result once and return it.

        Raises:
          LaunchError: chunks are still missing when the tasks are done (a task failed or was
            killed): names the tasks, their logs and the chunks; launching again trains only
            those.
        """
        bar = tqdm(total=self.sweep.size * self.sweep.train.steps, unit="model-step",
                   unit_scale=True, disable=not progress,
                   desc=f"{self.sweep.size} models x {self.sweep.train.steps} steps, "
                        f"{len(self.jobs)} task(s)")
        while self.running():
            bar.n = min(bar.total, self.model_steps())
            bar.refresh()
            time.sleep(self.poll_seconds)
        bar.n = min(bar.total, self.model_steps())
        bar.close()
        # let go of the finished jobs now: submitit's local jobs, dropped only at interpreter
        # exit, print an error from their finaliser
        jobs, self.jobs = self.jobs, []
        if result_path(self.out) is not None:  # assembled by an earlier launch
            return Result.load(self.out)
        missing = self.missing()
        if missing:
            outcomes = [(i, job, _outcome(job)) for i, job in enumerate(jobs)]
            failed = [f"task {i} ({job.job_id}, log {job.paths.stderr}): {outcome}"
                      for i, job, outcome in outcomes if outcome != "finished"]
            raise LaunchError(
                f"{len(missing)} chunk(s) of {self.out} are not finished "
                f"({', '.join(f'{a}-{b}' for a, b in missing[:5])}"
                f"{', ...' if len(missing) > 5 else ''}); "
                + ("; ".join(failed) if failed else "no task reported an error")
                + ". Launch again to train only what is missing.")
        return assemble(self.sweep, self.out, self.chunk_size, self.meta)


def _outcome(job) -> str:
    """'finished', or why a done job did not finish: its error's last line, or that it left no
    result (killed, or stopped by the scheduler)."""
    if not job.paths.result_pickle.exists():  # (job.exception() would wait for it first)
        return f"ended without a result (killed, or stopped by the scheduler; state {job.state})"
    error = job.exception()
    if error is None:
        return "finished"
    lines = str(error).strip().splitlines() or [""]
    return f"{type(error).__name__}: {lines[-1][:300]}"


def submit(sweep: Sweep, out: str | Path, launcher: Launcher, *, chunk_size: int | None = None,
           meta: dict | None = None, overwrite: bool = False, reuse_stale: bool = False,
           steps_per_call: int | None = None, checkpoint_every: int | None = None,
           checkpoint_seconds: float = 60.0) -> Submission:
    """Prepare `out` for `sweep` and submit a job array of its missing chunks (returns at once;
    `Submission.wait` waits and assembles). Arguments as `run_sweep`'s; `chunk_size` defaults
    to the one recorded in `out` by an earlier launch, else to the smaller of
    `default_chunk_size` for one task's devices (`launcher.gpus_per_task`, or one) and an equal
    share per task, and is kept for every later launch. (Results at another chunk size than a
    run here agree to float32 rounding, as any two chunkings; at the same one, bit for bit.)"""
    out = Path(out)
    open_result_dir(out, sweep, meta, overwrite, reuse_stale)
    if result_path(out) is not None:  # finished: `wait` loads it
        return Submission(sweep, out, chunk_size or sweep.size, [], [], meta,
                          launcher.poll_seconds)
    store = ChunkStore(out, sweep.config_hash())
    per_task = max(1, launcher.gpus_per_task)
    recorded = store.chunk_size()
    if recorded is not None and chunk_size not in (None, recorded):
        log(f"{out} was planned in chunks of {recorded} (chunks/plan.json): keeping them, "
            f"not {chunk_size}")
    if chunk_size is None:
        chunk_size = min(default_chunk_size(sweep, n_devices=per_task),
                         math.ceil(sweep.size / launcher.tasks))
    require(isinstance(chunk_size, int) and chunk_size >= 1, "chunk_size", chunk_size,
            "an integer >= 1")
    chunk_size = store.plan(per_task * math.ceil(chunk_size / per_task))
    require(chunk_size % per_task == 0, "gpus_per_task", launcher.gpus_per_task,
            f"a divisor of the chunk size {chunk_size} recorded in {out / 'chunks/plan.json'}")
    submission = Submission(sweep, out, chunk_size, [], [], meta, launcher.poll_seconds)
    held = {tuple(c) for s in store.tasks().values() if task_alive(s) for c in s["chunks"]}
    missing = submission.missing()
    todo = [c for c in missing if c not in held]
    if len(todo) < len(missing):
        log(f"{len(missing) - len(todo)} chunk(s) of {out} are held by tasks still running: "
            "waiting for them instead of training them again")
    n_tasks = min(launcher.tasks, len(todo))
    if n_tasks == 0:
        return submission
    first = max(store.tasks(), default=-1) + 1  # task numbers are never reused in a directory
    submission.shares = [todo[i::n_tasks] for i in range(n_tasks)]
    cache = jax.config.jax_compilation_cache_dir
    tasks = [ChunkTask(sweep, str(out), share, chunk_size, first + i, steps_per_call,
                       checkpoint_every, checkpoint_seconds, cache)
             for i, share in enumerate(submission.shares)]
    for task in tasks:  # numbered and listed before any can start (`toysuper status`)
        store.save_task(task.task, {"state": "queued", "chunks": task.chunks,
                                    "steps": sweep.train.steps})
    submission.jobs = launcher.submit(tasks, out / JOBS_DIR)
    log(f"submitted {n_tasks} {launcher.kind} task(s) for {len(todo)} chunk(s) of {chunk_size} "
        f"models into {out} (job {submission.jobs[0].job_id.split('_')[0]}; logs in "
        f"{out / JOBS_DIR}; progress: toysuper status {out})")
    return submission


def assemble(sweep: Sweep, out: str | Path, chunk_size: int, meta: dict | None = None
             ) -> Result:
    """The result of the chunks a job array saved in `out` (chunks of `chunk_size`), loaded,
    never trained; saved once, and the checkpoints cleared.

    Raises:
      LaunchError: a chunk is missing, damaged or of another length (launch again to train it).
    """
    out = Path(out)
    store = ChunkStore(out, sweep.config_hash())
    windows = sweep.train.steps // sweep.train.log_every
    chunks = []
    for start, stop in chunk_bounds(sweep.size, chunk_size):
        saved = store.load_chunk(start, stop)
        if saved is None or saved["history"].shape[-1] != windows:
            raise LaunchError(f"the chunk {start}-{stop} in {out} is missing or damaged: "
                               "launch again to train it")
        chunks.append(saved)
    result = Result.from_arrays(sweep, {k: np.concatenate([c[k] for c in chunks])
                                        for k in chunks[0]})
    result.save(out, meta)
    store.clear()
    return result


def launch_sweep(sweep: Sweep, out: str | Path, launcher: Launcher, *, progress: bool = True,
                 **options) -> Result:
    """`submit` the sweep's missing chunks as a job array, wait, and return the assembled
    `Result` (loaded at once if `out` holds it already)."""
    return submit(sweep, out, launcher, **options).wait(progress)


def status(directory: str | Path) -> str:
    """`toysuper status DIR`: for each sweep in `directory` (itself, or its parts), the chunks
    finished, being trained, part-trained and missing, and each task's state."""
    directory = Path(directory)
    require(directory.is_dir(), "directory", str(directory), "a result directory")
    sweeps = ([directory] if (directory / CONFIG_FILE).exists()
              else sorted(p.parent for p in directory.glob(f"*/{CONFIG_FILE}")))
    require(bool(sweeps), "directory", str(directory),
            f"a result directory (with {CONFIG_FILE}) or one holding such directories")
    return "\n".join(_sweep_status(path) for path in sweeps)


def _sweep_status(path: Path) -> str:
    config = read_config(path)
    sweep = Sweep.from_dict(config["sweep"])
    head = f"{path} (config {config.get('config_hash')}, {sweep.size:,} models x " \
           f"{sweep.train.steps:,} steps)"
    if result_path(path) is not None:
        return f"{head}: finished ({result_path(path).name})"
    store = ChunkStore(path, config.get("config_hash"))
    done, partial = set(store.chunks()), set(store.chunks(partial=True))
    now, tasks = time.time(), store.tasks()
    running = {tuple(s["current"]) for s in tasks.values()
               if task_alive(s, now) and s.get("current")}
    size = store.chunk_size()
    if size is None:
        lines = [f"{head}: {store.summary() or 'nothing saved yet'} (no job array)"]
    else:
        bounds = chunk_bounds(sweep.size, size)
        missing = [c for c in bounds if c not in done and c not in running]
        lines = [f"{head}: {len(bounds)} chunks of {size}: {len(done & set(bounds))} done, "
                 f"{len(running)} running, {len(missing)} missing"
                 + (f" ({len(partial & set(missing))} of them part-trained)"
                    if partial & set(missing) else "")]
    for number, s in sorted(tasks.items()):
        chunks = [tuple(c) for c in s.get("chunks", [])]
        n_done = sum(c in done for c in chunks)
        state = s.get("state", "?")
        if state == "running" and not task_alive(s, now):
            state = "stopped (no longer running)"
        where = ""
        if s.get("current") and state == "running":
            start, stop = s["current"]
            share = s.get("current_model_steps", 0) / max(1, (stop - start) * s.get("steps", 1))
            where = f", chunk {start}-{stop} at {share:.0%}"
        job = f" (job {s['job']})" if s.get("job") else ""
        error = f": {s['error']}" if s.get("error") else ""
        lines.append(f"  task {number}{job}: {state}{error}, {n_done} of {len(chunks)} chunks "
                     f"done{where}, last heard {now - s.get('time', now):.0f} s ago")
    return "\n".join(lines)
