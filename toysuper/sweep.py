"""Sweeps: a grid of named axes over `Hyper` fields, trained as `jit(vmap(train))` in chunks.

    sweep = Sweep(ModelConfig(20, 5), TrainConfig(steps=5000),
                  axes={"feature_probability": np.geomspace(1, 0.01, 100), "seed": range(100)},
                  fixed={"importance": decaying_importance(20, 0.9)})
    result = run_sweep(sweep, out="runs/population")     # progress bar, checkpoints per chunk
    ds = result.to_xarray()         # W: (feature_probability, seed, feature, hidden)

The grid (the Cartesian product of the axes) is flattened and split into chunks of equal size (the
last one padded), so a sweep compiles once per static config and chunk size. Each chunk's model
axis is sharded over all devices (a 1-D `Mesh`, `shard_map`); its size comes from a per-device
memory budget. Within a chunk, steps run in segments so that the bar moves during long runs. A
point's key is `fold_in(key(root_seed), seed)`, so its result does not depend on the sweep it is
part of, nor on the chunking or the sharding.

Across hosts: call `jax.distributed.initialize()` on every host, then the same `run_sweep` on
every host. The mesh spans `jax.devices()` (all hosts), results are gathered to every host, and
only process 0 writes to `out` (a shared directory that every host reads to resume).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import math
import os
import time
from collections.abc import Mapping
from pathlib import Path

import jax
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh
from jax.sharding import PartitionSpec as P
from tqdm.auto import tqdm

from toysuper.checkpoint import log
from toysuper.config import (
    ADVERSARIAL_FIELDS,
    DATASET_FIELDS,
    HYPER_FIELDS,
    INT_FIELDS,
    PER_FEATURE_FIELDS,
    SAE_FIELDS,
    Hyper,
    ModelConfig,
    TrainConfig,
    _require,
    _show,
    as_array,
    per_feature,
)
from toysuper.data import min_max_active, sample_sparse_uniform_feature_major
from toysuper.models import MODEL_KINDS
from toysuper.train import advance, init_state, point_key, state_from_leaves, state_leaves

CPU_CHUNK_BYTES = 1 << 30  # per-chunk working-set budget on CPU (larger chunks gain nothing there)
ACCELERATOR_MEMORY_FRACTION = 0.5  # of a GPU/TPU's memory, for one chunk's working set
MEMORY_ENV = "TOYSUPER_CHUNK_MEMORY"  # bytes per device; overrides the budget above
MODEL_AXIS = "model"  # the mesh axis the models of a chunk are sharded over
MAX_QUADRATURE_NODES = 1 << 20  # per step, for exact_loss="population"


RESULT_NAMES = frozenset({"step", "feature", "hidden", "snapshot", "loss", "loss_history",
                          "diverged", "diverged_step", "eval_loss"})  # dims and variables


@dataclasses.dataclass(frozen=True)
class Axis:
    """One named sweep axis.

    Args:
      name: the dimension name in results (e.g. "feature_probability", "relative_importance").
      values: (k,) scalars or, for per-feature fields, (k, n_features) vectors.
      field: the `Hyper` field it sets; defaults to `name`.
      coords: (k,) coordinate labels; default the values themselves (1-D) or 0..k-1 (vectors).
    """

    name: str
    values: np.ndarray
    field: str | None = None
    coords: np.ndarray | None = None

    def __post_init__(self):
        field = self.field or self.name
        _require(field in HYPER_FIELDS, f"axis {self.name!r} field", field,
                 f"one of {', '.join(HYPER_FIELDS)}")
        dtype = np.int32 if field in INT_FIELDS else np.float32
        values = as_array(list(self.values) if isinstance(self.values, range) else self.values,
                          f"axis {self.name!r} values", dtype)
        _require(values.ndim >= 1 and len(values) >= 1, f"axis {self.name!r}", values.tolist(),
                 "a non-empty sequence of values")
        _require(values.ndim == 1 or (values.ndim == 2 and field in PER_FEATURE_FIELDS),
                 f"axis {self.name!r} values shape", values.shape,
                 "(k,) or, for feature_probability/importance, (k, n_features)")
        _require(values.ndim == 1 or self.name != field, "axis name", self.name,
                 f"a name other than {field!r} for per-feature vectors "
                 f"(e.g. Axis('relative_importance', values, field={field!r}, coords=...))")
        coords = values if (self.coords is None and values.ndim == 1) else self.coords
        coords = np.arange(len(values)) if coords is None else np.asarray(coords)
        _require(coords.shape == (len(values),), f"axis {self.name!r} coords shape",
                 coords.shape, f"({len(values)},), one label per value")
        object.__setattr__(self, "field", field)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "coords", coords)

    def __len__(self) -> int:
        return len(self.values)


@dataclasses.dataclass(frozen=True)
class Sweep:
    """A grid of models: static configs, fixed hyperparameters and named axes.

    Args:
      model: static model config.
      train: static training config.
      axes: name -> values (or `Axis` objects); the grid is their Cartesian product, in order.
      fixed: values of `Hyper` fields that no axis sets (paper defaults otherwise).
      root_seed: the root of every point's key, fold_in(key(root_seed), seed).
    """

    model: ModelConfig
    train: TrainConfig
    axes: tuple[Axis, ...] | Mapping = ()
    fixed: Mapping = dataclasses.field(default_factory=dict)
    root_seed: int = 0

    def __post_init__(self):
        if isinstance(self.axes, Mapping):
            axes = tuple(v if isinstance(v, Axis) else Axis(k, v) for k, v in self.axes.items())
        else:
            axes = tuple(self.axes)
        for a in axes:
            _require(isinstance(a, Axis), "axes", a, "a mapping name -> values, or Axis objects")
        names = [a.name for a in axes]
        _require(len(set(names)) == len(names), "axes", names, "distinct axis names")
        params = {p for kind in MODEL_KINDS.values() for p in kind.param_dims}
        taken = RESULT_NAMES | params | {f"{p}_snapshots" for p in params}
        for a in axes:
            _require(a.name not in taken and (a.name == a.field or a.name not in HYPER_FIELDS),
                     "axis name", a.name, "a name that results do not already use for a "
                     f"dimension or variable ({', '.join(sorted(RESULT_NAMES))}, the parameters"
                     ", or another Hyper field)")
        fields = [a.field for a in axes]
        _require(len(set(fields)) == len(fields), "axes", fields,
                 "at most one axis per Hyper field")
        for field in self.fixed:
            _require(field in HYPER_FIELDS, "fixed", field,
                     f"fields among {', '.join(HYPER_FIELDS)}")
            _require(field not in fields, "fixed", field, "fields that no axis sweeps")
        n = self.model.n_features
        for a in axes:
            _require(a.values.ndim == 1 or a.values.shape[1] == n, f"axis {a.name!r} values shape",
                     a.values.shape, f"(k, n_features={n})")
        _require(isinstance(self.root_seed, int) and 0 <= self.root_seed < 2**32, "root_seed",
                 self.root_seed, f"an integer from 0 to {2**32 - 1}")
        object.__setattr__(self, "axes", axes)
        object.__setattr__(self, "fixed", dict(self.fixed))
        self.base.validated()
        for a in axes:
            self.base.replace(**{a.field: a.values}).validated()
        self._check_dataset()
        self._check_inputs()
        self._check_dictionary()

    def _fields_set(self, fields: tuple[str, ...]) -> list[str]:
        """Those of `fields` that this sweep fixes or sweeps."""
        return [f for f in fields if f in self.fixed or any(a.field == f for a in self.axes)]

    def _check_dataset(self) -> None:
        """With a fixed dataset: sizes within capacity, one density per model, enough slots,
        a kind that can train on it. Without one: no dataset fields set."""
        cfg = self.train.dataset
        set_here = self._fields_set(DATASET_FIELDS)
        if cfg is None:
            _require(not set_here, "Hyper fields", set_here, "dataset_size and dataset_seed "
                     "only with TrainConfig(dataset=DatasetConfig(...)), a fixed training set")
            return
        kind = MODEL_KINDS[self.model.kind]
        _require(kind.sample is sample_sparse_uniform_feature_major and kind.target is None,
                 "model.kind", self.model.kind, "a reconstruction kind with sparse uniform inputs "
                 "for a fixed dataset (linear, relu_output)")
        _require(cfg.layout == "dense" or kind.output_activation is not None, "model.kind",
                 self.model.kind, "a kind with an output_activation for dataset.layout='sparse'")
        sizes = [self.base.dataset_size] + [a.values for a in self.axes
                                            if a.field == "dataset_size"]
        for size in sizes:
            _require(bool(np.all(size <= cfg.capacity)), "dataset_size", np.max(size),
                     f"integers in [1, dataset.capacity={cfg.capacity}] (0: the capacity)")
        probabilities = [np.asarray(self.base.feature_probability)[None]] + [
            a.values.reshape(len(a), -1) for a in self.axes if a.field == "feature_probability"]
        for p in probabilities:  # (points, 1 or n_features)
            _require(bool(np.all(p == p[:, :1])), "feature_probability", _show(p),
                     "one density for all features of a model with a fixed dataset")
        densest = max(float(np.max(p)) for p in probabilities)
        need = min_max_active(self.model.n_features, densest, cfg.capacity)
        _require(cfg.max_active >= need, "dataset.max_active", cfg.max_active,
                 f">= {need} for n_features={self.model.n_features} at density {densest:g} "
                 f"(more active features than slots has probability >= 1e-6 otherwise)")

    def _check_inputs(self) -> None:
        """Feature sets and adversarial training: a kind and a shape they apply to, and the
        attack norm set only with adversarial training."""
        kind = MODEL_KINDS[self.model.kind]
        sets = self.train.feature_sets
        if sets is not None:
            _require(sets.n_features == self.model.n_features, "feature_sets",
                     sets.sets, f"sets whose sizes sum to n_features={self.model.n_features}")
            _require(kind.sample is sample_sparse_uniform_feature_major and kind.target is None,
                     "model.kind", self.model.kind, "a reconstruction kind with uniform "
                     "inputs for feature_sets (linear, relu_output, relu_hidden)")
            _require(self.train.dataset is None, "feature_sets", sets.sets,
                     "None with a fixed dataset")
        if self.train.exact_loss == "one_hot":
            _require(self.model.kind == "relu_output", "model.kind", self.model.kind,
                     "relu_output for exact_loss='one_hot' (its closed form)")
        elif self.train.exact_loss == "population":
            _require(kind.sample is sample_sparse_uniform_feature_major and kind.target is None,
                     "model.kind", self.model.kind, "a reconstruction kind with sparse uniform "
                     "inputs for exact_loss='population' (linear, relu_output, relu_hidden)")
            nodes = (self.train.exact_resolution + 1) ** self.model.n_features
            _require(nodes <= MAX_QUADRATURE_NODES, "exact_resolution",
                     self.train.exact_resolution, f"(exact_resolution + 1) ** n_features <= "
                     f"{MAX_QUADRATURE_NODES} quadrature nodes per step (n_features="
                     f"{self.model.n_features})")
        if self.train.adversarial:
            _require(kind.output_activation is not None, "model.kind", self.model.kind,
                     "a tied kind x' = act(x W W^T + b) for adversarial training "
                     "(linear, relu_output)")
        else:
            set_here = self._fields_set(ADVERSARIAL_FIELDS)
            _require(not set_here, "Hyper fields", set_here,
                     "attack_norm only with TrainConfig(adversarial=True)")

    def _values(self, field: str) -> list[np.ndarray]:
        """The values `field` takes: those of the axis that sweeps it, else its base value."""
        swept = [a.values for a in self.axes if a.field == field]
        return swept or [np.asarray(getattr(self.base, field))]

    def _check_dictionary(self) -> None:
        """Sparse autoencoders: a source of toy models of the right width, indices and sizes
        within range; the SAE fields only for SAE kinds."""
        kind, source = MODEL_KINDS[self.model.kind], self.train.source
        if not kind.dictionary:
            _require(source is None, "train.source", "SourceModels",
                     "None unless model.kind is a sparse autoencoder (sae_relu, sae_topk)")
            set_here = self._fields_set(SAE_FIELDS)
            _require(not set_here, "Hyper fields", set_here,
                     "l1_coefficient, active_latents, dictionary_size and source_index only "
                     "with a sparse autoencoder kind (sae_relu, sae_topk)")
            return
        _require(source is not None, "train.source", None, f"the toy models (a toysuper.sae."
                 f"SourceModels) whose activations model.kind={self.model.kind!r} trains on")
        _require(source.n_hidden == self.model.n_hidden, "model.n_hidden", self.model.n_hidden,
                 f"the source models' width {source.n_hidden}")
        for index in self._values("source_index"):
            _require(bool(np.all(index < len(source))), "source_index", _show(index),
                     f"integers in [0, {len(source)}), one per source model")
        for size in self._values("dictionary_size"):
            _require(bool(np.all(size <= self.model.n_features)), "dictionary_size", _show(size),
                     f"integers in [1, n_features={self.model.n_features}] (0: all latents)")
        for k in self._values("active_latents"):
            if self.model.kind == "sae_topk":
                _require(bool(np.all((k >= 1) & (k <= self.model.n_features))),
                         "active_latents", _show(k),
                         f"integers in [1, n_features={self.model.n_features}] for sae_topk")
            else:
                _require(bool(np.all(k == 0)), "active_latents", _show(k),
                         "unset (0) except for sae_topk")

    @property
    def base(self) -> Hyper:
        """Hyperparameters of a point before its axes are applied."""
        return Hyper.create(self.model.n_features, **self.fixed)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(a) for a in self.axes)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def grid_hyper(self) -> Hyper:
        """The hyperparameters of every point, each leaf with a leading (size,) axis, in C order."""
        index = np.unravel_index(np.arange(self.size), self.shape) if self.axes else ()
        leaves = {f: np.broadcast_to(getattr(self.base, f), (self.size, *np.shape(
            getattr(self.base, f)))).copy() for f in HYPER_FIELDS}
        for a, idx in zip(self.axes, index, strict=True):
            values = a.values[idx]
            if a.field in PER_FEATURE_FIELDS and values.ndim == 1:
                values = values[:, None]
            leaves[a.field] = np.broadcast_to(values, leaves[a.field].shape).astype(
                leaves[a.field].dtype)
        return Hyper(**leaves)

    def smaller(self, steps: int | None = None, **keep: int) -> Sweep:
        """The same sweep at a smaller size, for tutorials and smoke runs: each named axis keeps
        `keep[name]` of its values (evenly spread; first and last included when two or more are
        kept), and training runs
        `steps` steps (default: unchanged; the log interval shrinks to divide it if needed, the
        warm-up scales with it, and snapshots past the end are dropped).

        Example:
          >>> sweep.smaller(steps=2000, seed=4, feature_probability=5)
        """
        _require(steps is None or (isinstance(steps, int) and steps >= 1), "steps", steps,
                 "a number of steps >= 1, or None")
        for name, k in keep.items():
            _require(name in [a.name for a in self.axes], name, k,
                     f"the name of an axis of this sweep: {[a.name for a in self.axes]}")
            _require(isinstance(k, int) and k >= 1, name, k, "a number of values >= 1")
        axes = []
        for a in self.axes:
            k = min(keep.get(a.name, len(a)), len(a))
            idx = np.unique(np.round(np.linspace(0, len(a) - 1, k)).astype(int))
            axes.append(Axis(a.name, a.values[idx], a.field, a.coords[idx]))
        train = self.train
        if steps is not None:
            log_every = math.gcd(steps, train.log_every)
            warmup = round(train.warmup_steps * steps / train.steps)
            train = dataclasses.replace(train, steps=steps, log_every=log_every,
                                        warmup_steps=warmup,
                                        snapshot_steps=tuple(t for t in train.snapshot_steps
                                                             if t <= steps))
        return dataclasses.replace(self, train=train, axes=tuple(axes))

    def to_dict(self) -> dict:
        """A JSON-able description of the whole sweep (what the config hash covers)."""
        def plain(x):
            return np.asarray(x).tolist()

        return {
            "model": dataclasses.asdict(self.model),
            "train": self.train.to_dict(),
            "axes": [{"name": a.name, "field": a.field, "values": plain(a.values),
                      "coords": plain(a.coords)} for a in self.axes],
            "fixed": {f: plain(per_feature(v, self.model.n_features, f)
                               if f in PER_FEATURE_FIELDS else v) for f, v in self.fixed.items()},
            "root_seed": self.root_seed,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Sweep:
        return cls(model=ModelConfig(**d["model"]), train=TrainConfig(**d["train"]),
                   axes=tuple(Axis(a["name"], np.asarray(a["values"]), a["field"],
                                   np.asarray(a["coords"])) for a in d["axes"]),
                   fixed=d["fixed"], root_seed=d["root_seed"])

    def config_hash(self) -> str:
        """16 hex digits of sha256 over the canonical JSON of `to_dict()`."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def estimate_bytes_per_model(model: ModelConfig, train: TrainConfig) -> int:
    """Rough working set of one model's training step: batch activations, gradients, params
    (with a fixed dataset, its rows: K slots each, and n outputs or a dense input)."""
    n, m, batch = model.n_features, model.n_hidden, train.batch_size
    if train.exact_loss == "population":
        batch = (train.exact_resolution + 1) ** n
    elif train.exact_loss == "one_hot":
        batch = n
    per_row = 8 * n + 4 * m
    if train.dataset is not None:
        batch = train.dataset.capacity
        per_row += 4 * train.dataset.max_active * (m + 2) + (n if train.dataset.layout == "dense"
                                                             else 0)
    return 4 * (batch * per_row + 8 * n * m + 8 * n)


def memory_budget() -> int:
    """Bytes one chunk's working set may take on each device: $TOYSUPER_CHUNK_MEMORY if set, else
    half of an accelerator's memory (the first device's), else `CPU_CHUNK_BYTES`."""
    if MEMORY_ENV in os.environ:
        value = os.environ[MEMORY_ENV]
        _require(value.isdigit() and int(value) > 0, MEMORY_ENV, value, "a number of bytes > 0")
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
                           sweep.train)
    return _advance_chunk.lower(state, hyper, sweep.model, sweep.train,
                                steps_per_call).compile()


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
    _require(len(devices) >= 1, "devices", devices, "at least one jax device")
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


SEQUENTIAL_MIN_WORK = 1 << 18  # rows x n_features per step from which CPU chunks run in turn


def models_in_turn(model_cfg: ModelConfig, train_cfg: TrainConfig) -> bool:
    """Whether a chunk trains its models one after another (`lax.map`) instead of batched
    (`vmap`): on CPU, for models whose step already fills the cores. vmap turns their matrix
    products into batched ones, which XLA's CPU backend runs 2-4x slower (measured for fixed
    datasets at n=1,000, T=1,024; see benchmarks/RESULTS.md)."""
    rows = train_cfg.dataset.capacity if train_cfg.dataset is not None else train_cfg.batch_size
    return (jax.default_backend() == "cpu"
            and rows * model_cfg.n_features >= SEQUENTIAL_MIN_WORK)


@functools.partial(jax.jit, static_argnums=(2, 3, 4, 5), donate_argnums=(0,))
def _advance_chunk(state, hyper: Hyper, model_cfg, train_cfg, n_steps, mesh=None):
    def one(s, h):
        return advance(s, h, model_cfg, train_cfg, n_steps)

    def run(states, hypers):
        if models_in_turn(model_cfg, train_cfg):
            return jax.lax.map(lambda sh: one(*sh), (states, hypers))
        return jax.vmap(one)(states, hypers)

    return over_models(run, mesh, 2)(state, hyper)


def train_chunk(sweep: Sweep, hyper: Hyper, *, steps_per_call: int | None = None,
                on_steps=None, resume: dict[str, np.ndarray] | None = None,
                checkpoint=None, mesh: Mesh | None = None) -> dict[str, np.ndarray]:
    """Train the models of one chunk (leaves with a leading chunk axis).

    Args:
      sweep: the sweep the chunk belongs to (static configs and root seed).
      hyper: the chunk's hyperparameters, each leaf with a leading (chunk,) axis.
      steps_per_call: steps per compiled call; default `segment_steps(sweep.train)`.
      on_steps: called with the number of steps taken after each compiled call.
      resume: a mid-chunk checkpoint written through `checkpoint`, to continue from.
      checkpoint: called after each compiled call but the last with (step, arrays), where
        arrays hold the TrainState leaves and the history so far.
      mesh: shard the chunk's models over this mesh (`model_mesh`); the chunk size must be a
        multiple of its size.

    Returns:
      W, b (leading chunk axis), history (chunk, windows) and diverged_step (chunk,) as numpy;
      with snapshot steps also W_snapshots (chunk, snapshots, ...) etc.
    """
    steps_per_call = segment_steps(sweep.train) if steps_per_call is None else steps_per_call
    _require(sweep.train.steps % steps_per_call == 0 and steps_per_call % sweep.train.log_every
             == 0, "steps_per_call", steps_per_call,
             f"a multiple of log_every={sweep.train.log_every} dividing steps={sweep.train.steps}")
    state = _init_chunk(hyper, np.uint32(sweep.root_seed), sweep.model, sweep.train, mesh)
    histories = []
    if resume is not None:
        n_leaves = len(resume) - 1
        state = state_from_leaves(state, [resume[f"leaf{i}"] for i in range(n_leaves)])
        histories.append(resume["history"])
    done = int(np.asarray(state.step).reshape(-1)[0])
    if on_steps is not None and done:
        on_steps(done)
    while done < sweep.train.steps:
        # a checkpoint from a run with another call size can sit between this run's calls:
        # one shorter call realigns, so the run ends at exactly the configured step
        n_steps = min(steps_per_call - done % steps_per_call, sweep.train.steps - done)
        state, history = _advance_chunk(state, hyper, sweep.model, sweep.train, n_steps, mesh)
        histories.append(to_host(history))
        done += n_steps
        if on_steps is not None:
            on_steps(n_steps)
        if checkpoint is not None and done < sweep.train.steps:
            leaves = {f"leaf{i}": leaf for i, leaf in enumerate(state_leaves(state, to_host))}
            checkpoint(done, leaves | {"history": np.concatenate(histories, axis=1)})
    snapshots = {} if state.snapshots is None else {
        f"{k}_snapshots": to_host(v) for k, v in dataclasses.asdict(state.snapshots).items()}
    return {**{k: to_host(v) for k, v in dataclasses.asdict(state.params).items()},
            **snapshots,
            "history": np.concatenate(histories, axis=1),
            "diverged_step": to_host(state.diverged_step)}


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
    from toysuper.results import Result, open_result_dir, result_path

    mesh = model_mesh(devices)
    n_devices = 1 if mesh is None else mesh.size
    _require(memory_bytes is None or (isinstance(memory_bytes, int) and memory_bytes > 0),
             "memory_bytes", memory_bytes, "a number of bytes > 0, or None")
    if chunk_size is None:
        chunk_size = default_chunk_size(sweep, memory_bytes, n_devices)
    _require(isinstance(chunk_size, int) and chunk_size >= 1, "chunk_size", chunk_size,
             "an integer >= 1")
    chunk_size = n_devices * math.ceil(chunk_size / n_devices)
    steps_per_call = segment_steps(sweep.train) if steps_per_call is None else steps_per_call
    _require(isinstance(steps_per_call, int) and steps_per_call >= 1, "steps_per_call",
             steps_per_call, "an integer >= 1")
    _require(checkpoint_every is None or (isinstance(checkpoint_every, int) and checkpoint_every
             > 0 and checkpoint_every % steps_per_call == 0), "checkpoint_every",
             checkpoint_every, f"a positive multiple of steps_per_call={steps_per_call}")
    finished = out is not None and result_path(out) is not None  # loading needs no budget
    if memory_bytes is None and MEMORY_ENV not in os.environ and not finished:
        per_model, limit = estimate_bytes_per_model(sweep.model, sweep.train), single_model_limit()
        _require(per_model <= limit, "model size", f"{per_model / 2**30:.1f} GiB per model",
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
