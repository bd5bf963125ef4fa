"""The engine: trains the models of a sweep chunk by chunk as `jit(vmap(advance))`.

The grid is flattened and split into chunks of equal size (the last one padded), so a sweep
compiles once per static config and chunk size. Each chunk's model axis is sharded over all
devices (a 1-D `Mesh`, `shard_map`); its size comes from a per-device memory budget. On a CPU a
chunk's models step in cache-sized blocks, one block after another (`models_per_block`). Within
a chunk, steps run in segments (compiled calls) so that progress can be reported and training
state checkpointed between them. A point's key is `fold_in(key(root_seed), seed)`, so its
result does not depend on the sweep it is part of, nor on the chunking or the sharding.
Arrays the objective reads as data (`Objective.shared`) are passed to every call, replicated.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import os

import jax
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh
from jax.sharding import PartitionSpec as P

from toysuper.config import TrainConfig
from toysuper.hyper import Hyper
from toysuper.models import ModelConfig
from toysuper.sweep import Sweep
from toysuper.training import advance, init_state, point_key, state_from_leaves, state_leaves
from toysuper.validate import require

CPU_CHUNK_BYTES = 1 << 30  # per-chunk working-set budget on CPU (larger chunks gain nothing there)
ACCELERATOR_MEMORY_FRACTION = 0.5  # of a GPU/TPU's memory, for one chunk's working set
MEMORY_ENV = "TOYSUPER_CHUNK_MEMORY"  # bytes per device; overrides the budget above
MODEL_AXIS = "model"  # the mesh axis the models of a chunk are sharded over


def estimate_bytes_per_model(model: ModelConfig, train: TrainConfig) -> int:
    """Rough working set of one model's training step (`Objective.bytes_per_model`)."""
    return train.objective.bytes_per_model(model, train.batch_size)


def memory_budget() -> int:
    """Bytes one chunk's working set may take on each device: $TOYSUPER_CHUNK_MEMORY if set, else
    half of an accelerator's memory (the first device's), else `CPU_CHUNK_BYTES`."""
    if MEMORY_ENV in os.environ:
        value = os.environ[MEMORY_ENV]
        require(value.isdigit() and int(value) > 0, MEMORY_ENV, value, "a number of bytes > 0")
        return int(value)
    device = jax.devices()[0]
    stats = device.memory_stats() if device.platform != "cpu" else None
    if stats and "bytes_limit" in stats:
        return int(ACCELERATOR_MEMORY_FRACTION * stats["bytes_limit"])
    return CPU_CHUNK_BYTES


def single_model_limit() -> int:
    """The most one model's working set may take before a sweep is refused: the memory budget,
    and on a CPU at least half the machine's physical memory (one model at a time may use it)."""
    budget = memory_budget()
    if jax.devices()[0].platform != "cpu":
        return budget
    with contextlib.suppress(ValueError, OSError, AttributeError):
        return max(budget, os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2)
    return budget


def default_chunk_size(sweep: Sweep, memory_bytes: int | None = None, n_devices: int = 1) -> int:
    """Equal chunks, as few as fit in `memory_bytes` per device (default `memory_budget()`) by
    the working-set estimate, a multiple of `n_devices` (so the last chunk needs little padding:
    16,000 models that fit 13,000 at a time run as 2 x 8,000)."""
    memory_bytes = memory_budget() if memory_bytes is None else memory_bytes
    fits = n_devices * max(1, memory_bytes // estimate_bytes_per_model(sweep.model, sweep.train))
    n_chunks = math.ceil(sweep.size / fits)
    return n_devices * math.ceil(sweep.size / n_chunks / n_devices)


def compiled_chunk(sweep: Sweep, chunk_size: int, steps_per_call: int | None = None):
    """The compiled executable of one segment call on a chunk of `chunk_size` models (one
    device), for XLA's memory and cost analyses."""
    steps_per_call = segment_steps(sweep.train) if steps_per_call is None else steps_per_call
    hyper = jax.tree.map(lambda leaf: leaf[np.minimum(np.arange(chunk_size), sweep.size - 1)],
                         sweep.grid_hyper())
    state = jax.eval_shape(_init_chunk, hyper, np.uint32(sweep.root_seed), sweep.model,
                           sweep.train.static())
    return _advance_chunk.lower(state, hyper, sweep.train.objective.shared(), sweep.model,
                                sweep.train.static(), steps_per_call).compile()


def chunk_memory_bytes(sweep: Sweep, chunk_size: int) -> int:
    """Device memory one segment call on `chunk_size` models needs by XLA's own accounting:
    arguments + outputs + temporaries - buffers the outputs reuse."""
    stats = compiled_chunk(sweep, chunk_size).memory_analysis()
    return (stats.argument_size_in_bytes + stats.output_size_in_bytes
            + stats.temp_size_in_bytes - stats.alias_size_in_bytes)


def model_mesh(devices=None) -> Mesh | None:
    """A 1-D mesh naming `MODEL_AXIS` over `devices` (default `jax.devices()`, every host's);
    None for a single device."""
    devices = jax.devices() if devices is None else list(devices)
    require(len(devices) >= 1, "devices", devices, "at least one jax device")
    return Mesh(np.array(devices), (MODEL_AXIS,)) if len(devices) > 1 else None


def over_models(fn, mesh: Mesh | None, n_args: int, replicated: tuple[int, ...] = ()):
    """`fn` (taking and returning arrays with a leading model axis) run on each device's slice of
    that axis with `shard_map`; `fn` itself without a mesh. Arguments in `replicated` are
    passed whole to every device."""
    if mesh is None:
        return fn
    specs = tuple(P() if i in replicated else P(MODEL_AXIS) for i in range(n_args))
    return jax.shard_map(fn, mesh=mesh, in_specs=specs, out_specs=P(MODEL_AXIS))


def to_host(x) -> np.ndarray:
    """A device array as numpy; gathered from every host in a multi-host run."""
    if jax.process_count() > 1:
        return np.asarray(multihost_utils.process_allgather(x, tiled=True))
    return np.asarray(x)


def segment_steps(train: TrainConfig, target_segments: int = 10) -> int:
    """Steps per compiled call: a divisor of the run into about `target_segments` equal parts."""
    windows = train.steps // train.log_every
    per_segment = max(d for d in range(1, windows + 1)
                      if windows % d == 0 and d <= max(1, windows // target_segments))
    return per_segment * train.log_every


@functools.partial(jax.jit, static_argnums=(2, 3, 4))
def _init_chunk(hyper: Hyper, root_seed, model_cfg, train_cfg, mesh=None):
    def init(h, root):
        return jax.vmap(lambda hh: init_state(point_key(root, hh.seed), hh, model_cfg,
                                              train_cfg))(h)

    return over_models(init, mesh, 2, replicated=(1,))(hyper, root_seed)


SEQUENTIAL_MIN_WORK = 1 << 18  # rows x n_features per step from which CPU models run in turn
CPU_BLOCK_BYTES = 24 << 20  # working set of the models that step together on a CPU


def models_per_block(model_cfg: ModelConfig, train_cfg: TrainConfig) -> int | None:
    """How many models of a chunk step together (vmapped), the blocks one after another
    (`lax.map`); None: the whole chunk at once (on accelerators).

    On a CPU a block's working set (`estimate_bytes_per_model`) fits in `CPU_BLOCK_BYTES`,
    within a 32 MiB L3 cache: 1,000 models of n=20, m=5 trained about 5x faster in blocks of 32
    than all at once, whose batch arrays stream through memory at every operation. Models whose
    step already fills the cores run one at a time: vmap turns their matrix products into
    batched ones, which XLA's CPU backend runs 2-4x slower (measured for fixed datasets at
    n=1,000, T=1,024; see benchmarks/RESULTS.md).
    """
    if jax.default_backend() != "cpu":
        return None
    rows = train_cfg.objective.rows(model_cfg, train_cfg.batch_size)
    if rows * model_cfg.n_features >= SEQUENTIAL_MIN_WORK:
        return 1
    return max(1, CPU_BLOCK_BYTES // estimate_bytes_per_model(model_cfg, train_cfg))


@functools.partial(jax.jit, static_argnums=(3, 4, 5, 6), donate_argnums=(0,))
def _advance_chunk(state, hyper: Hyper, shared, model_cfg, train_cfg, n_steps, mesh=None):
    """`n_steps` of every model of a chunk; `shared` is the objective's data (replicated),
    `train_cfg` the static config (`TrainConfig.static`)."""
    def run(states, hypers, shared):
        def one(s, h):
            return advance(s, h, model_cfg, train_cfg, n_steps, shared)

        block = models_per_block(model_cfg, train_cfg)
        if block is None or 1 < block >= jax.tree.leaves(hypers)[0].shape[0]:
            return jax.vmap(one)(states, hypers)
        # in turn (block 1: no batch axis at all), or vmapped blocks
        return jax.lax.map(lambda sh: one(*sh), (states, hypers),
                           batch_size=None if block == 1 else block)

    return over_models(run, mesh, 3, replicated=(2,))(state, hyper, shared)


def train_chunk(sweep: Sweep, hyper: Hyper, *, steps_per_call: int | None = None,
                on_steps=None, resume: dict[str, np.ndarray] | None = None,
                checkpoint=None, checkpoint_due=None, mesh: Mesh | None = None
                ) -> dict[str, np.ndarray]:
    """Train the models of one chunk (leaves with a leading chunk axis).

    Args:
      sweep: the sweep the chunk belongs to (static configs and root seed).
      hyper: the chunk's hyperparameters, each leaf with a leading (chunk,) axis.
      steps_per_call: steps per compiled call; default `segment_steps(sweep.train)`.
      on_steps: called with the number of steps taken after each compiled call.
      resume: a mid-chunk checkpoint written through `checkpoint`, to continue from.
      checkpoint: called after each compiled call but the last with (step, arrays), where
        arrays hold the TrainState leaves and the history so far.
      checkpoint_due: step -> whether to gather the state for a checkpoint after this call
        (default: after every call). In a multi-process run gathering is a collective: every
        process passes it, answering the same, and only the one that writes a `checkpoint`.
      mesh: shard the chunk's models over this mesh (`model_mesh`); the chunk size must be a
        multiple of its size.

    Returns:
      W, b (leading chunk axis), history (chunk, windows) and diverged_step (chunk,) as numpy;
      with snapshot steps also W_snapshots (chunk, snapshots, ...) etc.
    """
    steps_per_call = segment_steps(sweep.train) if steps_per_call is None else steps_per_call
    require(sweep.train.steps % steps_per_call == 0 and steps_per_call % sweep.train.log_every
            == 0, "steps_per_call", steps_per_call,
            f"a multiple of log_every={sweep.train.log_every} dividing steps={sweep.train.steps}")
    static, shared = sweep.train.static(), sweep.train.objective.shared()
    state = _init_chunk(hyper, np.uint32(sweep.root_seed), sweep.model, static, mesh)
    histories = []
    if resume is not None:
        n_leaves = len(resume) - 1
        state = state_from_leaves(state, [resume[f"leaf{i}"] for i in range(n_leaves)])
        histories.append(resume["history"])
    done = int(to_host(state.step).reshape(-1)[0])
    if on_steps is not None and done:
        on_steps(done)
    while done < sweep.train.steps:
        # a checkpoint from a run with another call size can sit between this run's calls:
        # one shorter call realigns, so the run ends at exactly the configured step
        n_steps = min(steps_per_call - done % steps_per_call, sweep.train.steps - done)
        state, history = _advance_chunk(state, hyper, shared, sweep.model, static, n_steps,
                                        mesh)
        histories.append(to_host(history))
        done += n_steps
        if on_steps is not None:
            on_steps(n_steps)
        gathers = checkpoint is not None or checkpoint_due is not None
        if gathers and done < sweep.train.steps and (checkpoint_due is None
                                                     or checkpoint_due(done)):
            leaves = {f"leaf{i}": leaf for i, leaf in enumerate(state_leaves(state, to_host))}
            if checkpoint is not None:
                checkpoint(done, leaves | {"history": np.concatenate(histories, axis=1)})
    snapshots = {} if state.snapshots is None else {
        f"{k}_snapshots": to_host(v) for k, v in dataclasses.asdict(state.snapshots).items()}
    return {**{k: to_host(v) for k, v in dataclasses.asdict(state.params).items()},
            **snapshots,
            "history": np.concatenate(histories, axis=1),
            "diverged_step": to_host(state.diverged_step)}
