"""Running a sweep: train it (`toysuper.engine`), store it, resume it, report progress.

    sweep = Sweep(ModelConfig(20, 5), TrainConfig(steps=5000),
                  axes={"feature_probability": np.geomspace(1, 0.01, 100), "seed": range(100)},
                  fixed={"importance": decaying_importance(20, 0.9)})
    result = run_sweep(sweep, out="runs/population")     # progress bar, checkpoints per chunk
    ds = result.to_xarray()         # W: (feature_probability, seed, feature, hidden)

Across hosts: call `jax.distributed.initialize()` on every host, then the same `run_sweep` on
every host. The mesh spans `jax.devices()` (all hosts), results are gathered to every host, and
only process 0 writes to `out` (a shared directory that every host reads to resume).
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import jax
import numpy as np
from tqdm.auto import tqdm

from toysuper.checkpoint import log
from toysuper.engine import (
    MEMORY_ENV,
    default_chunk_size,
    estimate_bytes_per_model,
    model_mesh,
    segment_steps,
    single_model_limit,
    train_chunk,
)
from toysuper.results import Result, open_result_dir, result_path
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
        checksummed manifest), and long chunks also save their training state between compiled
        calls; a rerun with the same config resumes where the last one stopped and ends with
        the same result bit for bit. A finished directory is loaded without retraining, and a
        directory holding another config is refused.
      chunk_size: models per compiled call, rounded up to a multiple of the device count;
        default from `default_chunk_size`.
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
    require(checkpoint_every is None or (isinstance(checkpoint_every, int) and checkpoint_every
            > 0 and checkpoint_every % steps_per_call == 0), "checkpoint_every",
            checkpoint_every, f"a positive multiple of steps_per_call={steps_per_call}")
    finished = out is not None and result_path(out) is not None  # loading needs no budget
    if memory_bytes is None and MEMORY_ENV not in os.environ and not finished:
        per_model, limit = estimate_bytes_per_model(sweep.model, sweep.train), single_model_limit()
        require(per_model <= limit, "model size", f"{per_model / 2**30:.1f} GiB per model",
                f"at most {limit / 2**30:.1f} GiB (the working-set estimate of one training "
                "step against the memory budget, or half the machine's memory on a CPU): lower "
                f"batch_size or n_features, or raise the budget explicitly (memory_bytes=..., "
                f"or ${MEMORY_ENV})")
    store = (open_result_dir(out, sweep, meta, overwrite, reuse_stale) if out is not None
             else None)
    writes = store is not None and jax.process_index() == 0  # one writer in multi-host runs
    if store is not None and result_path(out) is not None:
        if writes:
            store.clear()  # checkpoints left by a run killed after writing its result
        return Result.load(out)
    grid = sweep.grid_hyper()
    windows = sweep.train.steps // sweep.train.log_every
    bar = tqdm(total=sweep.size * sweep.train.steps, unit="model-step", unit_scale=True,
               disable=not progress, desc=f"{sweep.size} models x {sweep.train.steps} steps")
    chunks = []
    for start in range(0, sweep.size, chunk_size):
        stop = min(start + chunk_size, sweep.size)
        saved = store.load_chunk(start, stop) if store is not None else None
        if saved is not None and saved["history"].shape[-1] != windows:
            log(f"the saved chunk {start}-{stop} in {out} has {saved['history'].shape[-1]} loss "
                f"windows, not {windows}: recomputing it")
            saved = None
        if saved is None:
            pad = np.minimum(np.arange(start, start + chunk_size), sweep.size - 1)
            hyper = jax.tree.map(lambda leaf, pad=pad: leaf[pad], grid)
            saved = train_chunk(
                sweep, hyper, steps_per_call=steps_per_call,
                on_steps=lambda steps, n=stop - start: bar.update(n * steps),
                resume=store.load_partial(start, stop) if store is not None else None,
                checkpoint=_checkpointer(store, start, stop, checkpoint_every,
                                         checkpoint_seconds) if writes else None, mesh=mesh)
            saved = {k: v[: stop - start] for k, v in saved.items()}
            if writes:
                store.save_chunk(start, stop, saved)
        else:
            bar.update((stop - start) * sweep.train.steps)
        chunks.append(saved)
    bar.close()
    result = Result.from_arrays(sweep, {k: np.concatenate([c[k] for c in chunks])
                                        for k in chunks[0]})
    if writes:
        result.save(out, meta)
        store.clear()
    return result


def _checkpointer(store, start: int, stop: int, every: int | None, seconds: float):
    """A `train_chunk` checkpoint callback: every `every` steps, or once `seconds` have passed."""
    last = [time.monotonic()]

    def checkpoint(step: int, arrays: dict[str, np.ndarray]) -> None:
        due = step % every == 0 if every else time.monotonic() - last[0] >= seconds
        if due:
            store.save_partial(start, stop, arrays)
            last[0] = time.monotonic()

    return checkpoint
