"""Traced hyperparameters: the sweepable leaves of one model (`Hyper`), and their helpers.

Every number a sweep varies lives in `Hyper`, a `flax.struct` pytree whose leaves are traced, so a
sweep over new values reuses the compiled program. The first five fields (`COMMON_FIELDS`) apply to
every run; each of the others is read by one training objective (`toysuper.objectives`), which
names it in its `fields`, and is refused in a sweep of another objective.

Paper defaults (TMS released notebook) are set explicitly here, never inherited from a library:
lr 1e-3 and weight decay 0.01 (PyTorch's AdamW default; optax's is 1e-4).
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np
from flax import struct

from toysuper.validate import is_int, require, show


@struct.dataclass
class Hyper:
    """Traced hyperparameters of one model; every leaf may be a sweep axis.

    Attributes:
      feature_probability: (n_features,) density p_i = 1 - S_i of each feature.
      importance: (n_features,) loss weight I_i of each feature.
      lr: () peak learning rate.
      weight_decay: () decoupled (AdamW) weight decay; a negative value is the "growth" of Liu,
        Liu and Gore 2025, pulling each row of W towards unit norm
        (`toysuper.training.decoupled_weight_decay`).
      seed: () int, the model's seed; its PRNG key derives from this alone.
      dataset_size: () int, T, the points of the fixed training set this model trains on
        (objective `FixedDataset` only; 0 there means the dataset's whole capacity).
      dataset_seed: () int, names the training and test sets (`toysuper.data.dataset_keys`);
        models with the same dataset_seed share them whatever their seed or sweep.
      attack_norm: () the norm of the training attack as a fraction of the mean input norm
        (objective `AdversarialBatches` only).
      l1_coefficient, active_latents, dictionary_size, source_index: sparse autoencoders
        only (objective `SparseAutoencoderTraining`, `toysuper.sae`): the L1 penalty
        (sae_relu), the latents a TopK code keeps (sae_topk), the latents in use (the rest
        masked; 0 = all) and which of the objective's source models the SAE reads.
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
        require(bool(np.all((p > 0) & (p <= 1))), "feature_probability", show(p),
                "every value in (0, 1]")
        imp = np.asarray(self.importance)
        require(bool(np.all(np.isfinite(imp) & (imp >= 0))), "importance", show(imp),
                "finite values >= 0")
        lr = np.asarray(self.lr)
        require(bool(np.all(np.isfinite(lr) & (lr > 0))), "lr", show(lr), "finite values > 0")
        wd = np.asarray(self.weight_decay)
        require(bool(np.all(np.isfinite(wd))), "weight_decay", show(wd),
                "finite values (negative: growth)")
        for field in ("attack_norm", "l1_coefficient"):
            value = np.asarray(getattr(self, field))
            require(bool(np.all(np.isfinite(value) & (value >= 0))), field, show(value),
                    "finite values >= 0")
        for field in INT_FIELDS:
            value = np.asarray(getattr(self, field))
            require(np.issubdtype(value.dtype, np.integer) and bool(np.all(value >= 0)), field,
                    show(value), "integers >= 0")
        return self


HYPER_FIELDS = tuple(f.name for f in dataclasses.fields(Hyper))
PER_FEATURE_FIELDS = ("feature_probability", "importance")
INT_FIELDS = ("seed", "dataset_size", "dataset_seed", "active_latents", "dictionary_size",
              "source_index")
COMMON_FIELDS = ("feature_probability", "importance", "lr", "weight_decay", "seed")  # every run
DENSITY_HINT = ("'feature_probability', the density p = 1 - S of each feature (give densities, "
                "not sparsities: S = 0.99 is feature_probability = 0.01)")
FIELD_SYNONYMS = {  # names users reach for -> what they mean, for error messages
    "density": DENSITY_HINT, "densities": DENSITY_HINT, "p": DENSITY_HINT,
    "probability": DENSITY_HINT, "sparsity": DENSITY_HINT, "s": DENSITY_HINT,
    "feature_density": DENSITY_HINT, "importances": "'importance'", "i": "'importance'",
    "learning_rate": "'lr'", "wd": "'weight_decay'", "seeds": "'seed'",
    "n_features": "ModelConfig(n_features, ...): shapes are static, one Sweep per shape",
    "n_hidden": "ModelConfig(..., n_hidden): shapes are static, one Sweep per shape",
    "m": "ModelConfig(..., n_hidden): shapes are static, one Sweep per shape",
    "n": "ModelConfig(n_features, ...): shapes are static, one Sweep per shape",
}


def as_array(value, field: str, dtype) -> np.ndarray:
    """`value` as a numpy array of `dtype`; ValueError naming `field` if it is not numeric, or,
    for an integer dtype, not whole."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{field}={value!r} is invalid: numbers are required") from None
    if np.issubdtype(dtype, np.integer):
        require(bool(np.all(np.isfinite(arr) & (arr == np.round(arr)))), field, show(arr),
                "whole numbers")
        info = np.iinfo(dtype)
        require(bool(np.all((arr >= info.min) & (arr <= info.max))), field, show(arr),
                f"whole numbers from {info.min} to {info.max} (stored as {np.dtype(dtype)})")
    return arr.astype(dtype)


def per_feature(value, n_features: int, field: str) -> np.ndarray:
    """Broadcast a scalar or (n_features,) value to a float32 (n_features,) vector."""
    arr = as_array(value, field, np.float32)
    require(arr.ndim == 0 or arr.shape == (n_features,), field, show(arr),
            f"a scalar or a vector of length n_features={n_features}")
    return np.broadcast_to(arr, (n_features,)).copy()


def decaying_importance(n_features: int, decay: float) -> np.ndarray:
    """I_i = decay**i, i = 0..n-1 (TMS uses 0.9, 0.7, 0.75, 0.8). Shape (n_features,)."""
    require(0 < decay <= 1, "decay", decay, "a number in (0, 1]")
    return (decay ** np.arange(n_features)).astype(np.float32)


def power_space(base: float, num: int) -> np.ndarray:
    """base ** -linspace(0, 1, num): num values log-spaced from 1 down to 1/base.

    The TMS notebook's densities are `power_space(20, 10)` (1 down to 0.05).
    """
    require(base > 1, "base", base, "a number > 1")
    require(is_int(num) and num >= 1, "num", num, "an integer >= 1")
    return (base ** -np.linspace(0, 1, num)).astype(np.float32)
