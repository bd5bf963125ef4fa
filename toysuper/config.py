"""Configurations: static shapes (compile keys) and traced hyperparameters (sweepable leaves).

Everything that changes an array shape or the traced program (n_features, n_hidden, model kind,
batch size, steps, schedule) lives in the frozen, hashable `ModelConfig` and `TrainConfig`; a change
there recompiles. Every number a sweep varies lives in `Hyper`, a `flax.struct` pytree whose leaves
are traced, so a sweep over new values reuses the compiled program.

Paper defaults (TMS released notebook) are set explicitly here, never inherited from a library:
AdamW, lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 0.01 (PyTorch's default; optax's is
1e-4), constant schedule, batch 1024, 10,000 steps.
"""

from __future__ import annotations

import dataclasses
import itertools
import numbers
from typing import TYPE_CHECKING

import jax.numpy as jnp
import numpy as np
from flax import struct

if TYPE_CHECKING:
    from toysuper.sae import SourceModels

SCHEDULES = ("constant", "linear", "warmup_cosine")
LAYOUTS = ("sparse", "dense")
SET_KINDS = ("correlated", "anticorrelated", "independent")
EXACT_LOSSES = ("population", "one_hot")


def _require(ok: bool, field: str, value, allowed: str) -> None:
    """Raise a ValueError naming the field, the value and what is allowed."""
    if not ok:
        raise ValueError(f"{field}={value!r} is invalid: {allowed}")


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Static model shape and family; a compile key.

    Args:
      n_features: n, the input and output dimension.
      n_hidden: m, the bottleneck dimension.
      kind: a model family registered in `toysuper.models.MODEL_KINDS`.
    """

    n_features: int
    n_hidden: int
    kind: str = "relu_output"

    def __post_init__(self):
        from toysuper.models import MODEL_KINDS

        _require(_is_int(self.n_features) and self.n_features >= 1, "n_features",
                 self.n_features, "an integer >= 1")
        _require(_is_int(self.n_hidden) and self.n_hidden >= 1, "n_hidden",
                 self.n_hidden, "an integer >= 1")
        _require(self.kind in MODEL_KINDS, "kind", self.kind,
                 f"one of {', '.join(sorted(MODEL_KINDS))}")


@dataclasses.dataclass(frozen=True)
class DatasetConfig:
    """A fixed, finite training set per model, trained full batch (Henighan et al. 2023); static.

    Each model trains on the first `Hyper.dataset_size` points of the training set named by
    `Hyper.dataset_seed`: sparse uniform points, each rescaled to unit norm (see
    `toysuper.data.sparse_dataset`). Sets of every size are stored padded to `capacity` rows
    and the rows past a model's size are masked, so the dataset size is a traced, sweepable value.

    Args:
      capacity: rows stored per model, at least the largest dataset_size of the sweep. Every
        model pays for `capacity` rows, so sweeps over sizes far apart are best split into a few
        capacities (see `toysuper.experiments.double_descent`).
      max_active: K, the slots per point for its active features (indices and values). It must
        make an overflow negligible: `toysuper.data.min_max_active(n, p, capacity)` gives it.
      layout: "sparse" computes from the K slots and never forms the dense (capacity, n)
        batch (needed at n=10,000); "dense" scatters them into that batch first (the
        reference the sparse path is tested against).
    """

    capacity: int
    max_active: int
    layout: str = "sparse"

    def __post_init__(self):
        for name in ("capacity", "max_active"):
            value = getattr(self, name)
            _require(_is_int(value) and value >= 1, f"dataset.{name}", value, "an integer >= 1")
        _require(self.layout in LAYOUTS, "dataset.layout", self.layout,
                 f"one of {', '.join(LAYOUTS)}")


@dataclasses.dataclass(frozen=True)
class FeatureSets:
    """Correlated and anticorrelated sets of features (TMS section 6); static.

    Features are laid out set after set, in the order given. Each set draws one uniform number
    per sample that decides whether the set is active, with the density p of its first feature
    (`Hyper.feature_probability`; give all members the same value):
      correlated: when the set is active, every member is active, each with its own U[0, 1)
        value;
      anticorrelated: when the set is active, exactly one member, chosen uniformly, is active
        with a U[0, 1) value (so each member's own density is p / size);
      independent: `size` features, each active on its own with its density (sets of one).

    Args:
      sets: ((kind, size), ...) with kind one of `SET_KINDS` and size >= 1.

    Example:
      >>> FeatureSets((("correlated", 2), ("correlated", 2)))   # n = 4, two correlated pairs
    """

    sets: tuple[tuple[str, int], ...]

    def __post_init__(self):
        sets = tuple(tuple(s) for s in self.sets)
        _require(len(sets) >= 1, "feature_sets.sets", sets, "at least one (kind, size) pair")
        for s in sets:
            _require(len(s) == 2 and s[0] in SET_KINDS, "feature_sets kind", s,
                     f"a (kind, size) pair with kind one of {', '.join(SET_KINDS)}")
            _require(_is_int(s[1]) and s[1] >= 1, "feature_sets size", s, "an integer >= 1")
        object.__setattr__(self, "sets", sets)

    @property
    def n_features(self) -> int:
        return sum(size for _, size in self.sets)

    def members(self) -> list[list[int]]:
        """The feature indices of every set (`groups` without the kinds)."""
        return [members for _, members in self.groups()]

    def groups(self) -> list[tuple[str, list[int]]]:
        """(kind, feature indices) of every set; an independent set gives one group per feature."""
        out, start = [], 0
        for kind, size in self.sets:
            members = list(range(start, start + size))
            out += ([("independent", [i]) for i in members] if kind == "independent"
                    else [(kind, members)])
            start += size
        return out


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Static training setup; a compile key.

    Args:
      steps: optimiser steps; a multiple of `log_every`.
      batch_size: fresh samples drawn each step.
      log_every: the loss history holds the mean training loss of each window of this many steps.
      schedule: learning-rate schedule, one of `SCHEDULES` (constant: lr; linear: lr decays
        linearly to 0 at `steps`; warmup_cosine: linear warmup from 0 over `warmup_steps`, then
        cosine decay to 0 at `steps`, as in Henighan et al. 2023).
      warmup_steps: used by warmup_cosine only.
      b1, b2, eps: AdamW moments and epsilon (PyTorch's defaults, set explicitly).
      dataset: None to draw a fresh batch of `batch_size` points every step (TMS); a
        `DatasetConfig` to train full batch on a fixed training set (`batch_size` is unused).
      feature_sets: None for independent features (TMS section 2); a `FeatureSets` for
        correlated and anticorrelated sets of features (TMS section 6).
      snapshot_steps: steps after which the parameters are recorded inside the compiled loop
        (0 = the initialisation), strictly increasing, each <= steps; results then hold
        `W_snapshots` etc. with a `snapshot` dim (TMS section 7, learning dynamics).
      adversarial: train on attacked inputs (TMS section 7): each sample gets the analytic
        attack on one uniformly drawn feature, of norm `Hyper.attack_norm` x the batch's mean
        input norm (`toysuper.attacks`).
      exact_loss: None to train on sampled batches; else noise-free training on the expected
        loss itself, one of `EXACT_LOSSES`: "population", the TMS input distribution by
        subset-by-subset quadrature (`toysuper.analysis.population`, `exact_resolution`
        midpoint points per active feature); "one_hot", exactly one active feature per input
        in closed form (`toysuper.analysis.onehot`, Chen et al. 2023; densities unused).
        `batch_size` is unused.
      exact_resolution: quadrature points per active feature for exact_loss="population".
      source: for the sparse autoencoder kinds (`toysuper.sae`), the toy models whose hidden
        activations they train on (a `toysuper.sae.SourceModels`); None otherwise.
    """

    steps: int = 10_000
    batch_size: int = 1024
    log_every: int = 100
    schedule: str = "constant"
    warmup_steps: int = 0
    b1: float = 0.9
    b2: float = 0.999
    eps: float = 1e-8
    dataset: DatasetConfig | None = None
    feature_sets: FeatureSets | None = None
    snapshot_steps: tuple[int, ...] = ()
    adversarial: bool = False
    exact_loss: str | None = None
    exact_resolution: int = 32
    source: SourceModels | None = None

    def __post_init__(self):
        for name in ("steps", "batch_size", "log_every"):
            value = getattr(self, name)
            _require(_is_int(value) and value >= 1, name, value, "an integer >= 1")
        _require(self.steps % self.log_every == 0, "steps", self.steps,
                 f"a multiple of log_every={self.log_every}")
        _require(self.schedule in SCHEDULES, "schedule", self.schedule,
                 f"one of {', '.join(SCHEDULES)}")
        _require(_is_int(self.warmup_steps) and 0 <= self.warmup_steps <= self.steps,
                 "warmup_steps", self.warmup_steps, f"an integer in [0, steps={self.steps}]")
        _require(0 <= self.b1 < 1, "b1", self.b1, "a number in [0, 1)")
        _require(0 <= self.b2 < 1, "b2", self.b2, "a number in [0, 1)")
        _require(self.eps > 0, "eps", self.eps, "a number > 0")
        if isinstance(self.dataset, dict):  # from JSON
            object.__setattr__(self, "dataset", DatasetConfig(**self.dataset))
        _require(self.dataset is None or isinstance(self.dataset, DatasetConfig), "dataset",
                 self.dataset, "None or a DatasetConfig")
        if isinstance(self.feature_sets, dict):  # from JSON
            object.__setattr__(self, "feature_sets", FeatureSets(**self.feature_sets))
        _require(self.feature_sets is None or isinstance(self.feature_sets, FeatureSets),
                 "feature_sets", self.feature_sets, "None or a FeatureSets")
        snaps = tuple(self.snapshot_steps)
        _require(all(_is_int(s) for s in snaps) and all(0 <= s <= self.steps for s in snaps)
                 and all(a < b for a, b in itertools.pairwise(snaps)), "snapshot_steps", snaps,
                 f"strictly increasing integers in [0, steps={self.steps}]")
        object.__setattr__(self, "snapshot_steps", snaps)
        from toysuper.sae import SourceModels

        if isinstance(self.source, dict):  # from JSON
            object.__setattr__(self, "source", SourceModels(**self.source))
        _require(self.source is None or isinstance(self.source, SourceModels), "source",
                 type(self.source).__name__, "None or a toysuper.sae.SourceModels")
        _require(self.source is None or (self.dataset is None and self.feature_sets is None
                                         and not self.adversarial and self.exact_loss is None),
                 "source", "SourceModels", "None with a fixed dataset, feature sets, adversarial "
                 "training or an exact loss")
        _require(isinstance(self.adversarial, bool), "adversarial", self.adversarial,
                 "True or False")
        _require(not (self.adversarial and self.dataset is not None), "adversarial",
                 self.adversarial, "False with a fixed dataset")
        _require(self.exact_loss is None or self.exact_loss in EXACT_LOSSES, "exact_loss",
                 self.exact_loss, f"None or one of {', '.join(EXACT_LOSSES)}")
        _require(_is_int(self.exact_resolution) and self.exact_resolution >= 1,
                 "exact_resolution", self.exact_resolution, "an integer >= 1")
        _require(self.exact_loss is None or (self.dataset is None and self.feature_sets is None
                                             and not self.adversarial), "exact_loss",
                 self.exact_loss, "None with a fixed dataset, feature sets or adversarial training")

    def to_dict(self) -> dict:
        """JSON-able fields; the optional ones only when set (so older configs keep their hash)."""
        d = dataclasses.asdict(self)
        for name, unset in (("dataset", None), ("feature_sets", None), ("snapshot_steps", ()),
                            ("adversarial", False), ("exact_loss", None),
                            ("exact_resolution", 32), ("source", None)):
            if getattr(self, name) == unset:
                del d[name]
        return d


@struct.dataclass
class Hyper:
    """Traced hyperparameters of one model; every leaf may be a sweep axis.

    Attributes:
      feature_probability: (n_features,) density p_i = 1 - S_i of each feature.
      importance: (n_features,) loss weight I_i of each feature.
      lr: () peak learning rate.
      weight_decay: () decoupled (AdamW) weight decay.
      seed: () int, the model's seed; its PRNG key derives from this alone.
      dataset_size: () int, T, the points of the fixed training set this model trains on;
        used with `TrainConfig.dataset` only (0 there means the dataset's whole capacity).
      dataset_seed: () int, names the training and test sets (`toysuper.data.dataset_keys`);
        models with the same dataset_seed share them whatever their seed or sweep.
      attack_norm: () the norm of the training attack as a fraction of the mean input norm;
        used with `TrainConfig.adversarial` only.
      l1_coefficient, active_latents, dictionary_size, source_index: sparse autoencoders
        only (`toysuper.sae`): the L1 penalty (sae_relu), the latents a TopK code keeps
        (sae_topk), the latents in use (the rest masked; 0 = all) and which of
        `TrainConfig.source`'s toy models the SAE reads.
    """

    feature_probability: jnp.ndarray
    importance: jnp.ndarray
    lr: jnp.ndarray
    weight_decay: jnp.ndarray
    seed: jnp.ndarray
    dataset_size: jnp.ndarray
    dataset_seed: jnp.ndarray
    attack_norm: jnp.ndarray
    l1_coefficient: jnp.ndarray
    active_latents: jnp.ndarray
    dictionary_size: jnp.ndarray
    source_index: jnp.ndarray

    @classmethod
    def create(cls, n_features: int, *, feature_probability=1.0, importance=1.0, lr=1e-3,
               weight_decay=0.01, seed=0, dataset_size=0, dataset_seed=0,
               attack_norm=0.0, l1_coefficient=0.0, active_latents=0, dictionary_size=0,
               source_index=0) -> Hyper:
        """Validated hyperparameters, scalars broadcast to per-feature vectors (numpy leaves)."""
        return cls(
            feature_probability=per_feature(feature_probability, n_features,
                                            "feature_probability"),
            importance=per_feature(importance, n_features, "importance"),
            lr=as_array(lr, "lr", np.float32),
            weight_decay=as_array(weight_decay, "weight_decay", np.float32),
            seed=as_array(seed, "seed", np.int32),
            dataset_size=as_array(dataset_size, "dataset_size", np.int32),
            dataset_seed=as_array(dataset_seed, "dataset_seed", np.int32),
            attack_norm=as_array(attack_norm, "attack_norm", np.float32),
            l1_coefficient=as_array(l1_coefficient, "l1_coefficient", np.float32),
            active_latents=as_array(active_latents, "active_latents", np.int32),
            dictionary_size=as_array(dictionary_size, "dictionary_size", np.int32),
            source_index=as_array(source_index, "source_index", np.int32),
        ).validated()

    def validated(self) -> Hyper:
        """Check concrete (numpy) values, any leading axes; raise ValueError naming the field."""
        p = np.asarray(self.feature_probability)
        _require(bool(np.all((p > 0) & (p <= 1))), "feature_probability", _show(p),
                 "every value in (0, 1]")
        imp = np.asarray(self.importance)
        _require(bool(np.all(np.isfinite(imp) & (imp >= 0))), "importance", _show(imp),
                 "finite values >= 0")
        lr = np.asarray(self.lr)
        _require(bool(np.all(np.isfinite(lr) & (lr > 0))), "lr", _show(lr), "finite values > 0")
        wd = np.asarray(self.weight_decay)
        _require(bool(np.all(np.isfinite(wd) & (wd >= 0))), "weight_decay", _show(wd),
                 "finite values >= 0")
        for field in ("attack_norm", "l1_coefficient"):
            value = np.asarray(getattr(self, field))
            _require(bool(np.all(np.isfinite(value) & (value >= 0))), field, _show(value),
                     "finite values >= 0")
        for field in INT_FIELDS:
            value = np.asarray(getattr(self, field))
            _require(np.issubdtype(value.dtype, np.integer) and bool(np.all(value >= 0)), field,
                     _show(value), "integers >= 0")
        return self


HYPER_FIELDS = tuple(f.name for f in dataclasses.fields(Hyper))
PER_FEATURE_FIELDS = ("feature_probability", "importance")
INT_FIELDS = ("seed", "dataset_size", "dataset_seed", "active_latents", "dictionary_size",
              "source_index")
DATASET_FIELDS = ("dataset_size", "dataset_seed")
ADVERSARIAL_FIELDS = ("attack_norm",)
SAE_FIELDS = ("l1_coefficient", "active_latents", "dictionary_size", "source_index")


def as_array(value, field: str, dtype) -> np.ndarray:
    """`value` as a numpy array of `dtype`; ValueError naming `field` if it is not numeric, or,
    for an integer dtype, not whole."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{field}={value!r} is invalid: numbers are required") from None
    if np.issubdtype(dtype, np.integer):
        _require(bool(np.all(np.isfinite(arr) & (arr == np.round(arr)))), field, _show(arr),
                 "whole numbers")
        info = np.iinfo(dtype)
        _require(bool(np.all((arr >= info.min) & (arr <= info.max))), field, _show(arr),
                 f"whole numbers from {info.min} to {info.max} (stored as {np.dtype(dtype)})")
    return arr.astype(dtype)


def per_feature(value, n_features: int, field: str) -> np.ndarray:
    """Broadcast a scalar or (n_features,) value to a float32 (n_features,) vector."""
    arr = as_array(value, field, np.float32)
    _require(arr.ndim == 0 or arr.shape == (n_features,), field, _show(arr),
             f"a scalar or a vector of length n_features={n_features}")
    return np.broadcast_to(arr, (n_features,)).copy()


def decaying_importance(n_features: int, decay: float) -> np.ndarray:
    """I_i = decay**i, i = 0..n-1 (TMS uses 0.9, 0.7, 0.75, 0.8). Shape (n_features,)."""
    _require(0 < decay <= 1, "decay", decay, "a number in (0, 1]")
    return (decay ** np.arange(n_features)).astype(np.float32)


def power_space(base: float, num: int) -> np.ndarray:
    """base ** -linspace(0, 1, num): num values log-spaced from 1 down to 1/base.

    The TMS notebook's densities are `power_space(20, 10)` (1 down to 0.05).
    """
    _require(base > 1, "base", base, "a number > 1")
    _require(_is_int(num) and num >= 1, "num", num, "an integer >= 1")
    return (base ** -np.linspace(0, 1, num)).astype(np.float32)


class _Shown(str):
    """Text that prints without quotes in an error message."""

    __repr__ = str.__str__


def _show(arr: np.ndarray):
    """A short printable form of a possibly large array for error messages."""
    arr = np.asarray(arr)
    if arr.size == 1:
        return arr.item()
    return _Shown(np.array2string(arr, threshold=8, precision=4, separator=", "))
