"""A fixed, finite training set per model, trained full batch (Henighan et al. 2023)."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from toysuper.data import (
    TRAINING,
    SparseBatch,
    dataset_keys,
    densify,
    min_max_active,
    sparse_dataset,
)
from toysuper.models import MODEL_KINDS, ModelConfig, weighted_mse_rows, weighted_mse_sparse
from toysuper.objectives.base import Objective, Values
from toysuper.validate import is_int, require, show

LAYOUTS = ("sparse", "dense")


@dataclasses.dataclass(frozen=True)
class FixedDataset(Objective):
    """Full-batch training on a fixed training set (`batch_size` is unused).

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
    name: ClassVar[str] = "fixed_dataset"
    fields: ClassVar[tuple[str, ...]] = ("dataset_size", "dataset_seed")
    deterministic: ClassVar[bool] = True

    def __post_init__(self):
        for name in ("capacity", "max_active"):
            value = getattr(self, name)
            require(is_int(value) and value >= 1, f"FixedDataset.{name}", value,
                    "an integer >= 1")
        require(self.layout in LAYOUTS, "FixedDataset.layout", self.layout,
                f"one of {', '.join(LAYOUTS)}")

    def check(self, model: ModelConfig, values: Values) -> None:
        """Sizes within capacity, one density per model, enough slots, a kind that can train on
        sparse uniform points."""
        super().check(model, values)
        kind = MODEL_KINDS[model.kind]
        require(kind.reconstructs_sparse_uniform, "model.kind",
                model.kind, "a reconstruction kind with sparse uniform inputs for a fixed "
                "dataset (linear, relu_output)")
        require(self.layout == "dense" or kind.output_activation is not None, "model.kind",
                model.kind, "a kind with an output_activation for FixedDataset.layout='sparse'")
        for size in values("dataset_size"):
            require(bool(np.all(size <= self.capacity)), "dataset_size", np.max(size),
                    f"integers in [1, FixedDataset.capacity={self.capacity}] (0: the capacity)")
        probabilities = values("feature_probability")
        for p in probabilities:  # (points, n_features)
            require(bool(np.all(p == p[:, :1])), "feature_probability", show(p),
                    "one density for all features of a model with a fixed dataset")
        densest = max(float(np.max(p)) for p in probabilities)
        need = min_max_active(model.n_features, densest, self.capacity)
        require(self.max_active >= need, "FixedDataset.max_active", self.max_active,
                f">= {need} for n_features={model.n_features} at density {densest:g} "
                f"(more active features than slots has probability >= 1e-6 otherwise)")

    def data_key(self, key: jax.Array, hyper) -> jax.Array:
        """The training-set key of the model's dataset seed (not the model's own key)."""
        return dataset_keys(hyper.dataset_seed)[TRAINING]

    def loss(self, data_key, hyper, model: ModelConfig, batch_size: int, shared: Any = None):
        """params -> the mean loss over the model's training set (the same at every step).

        The set's `capacity` points are drawn from `data_key`; rows at or past
        `hyper.dataset_size` (0: the whole capacity) get weight 0 and the others
        1/dataset_size, so the size is traced. The sparse layout uses `weighted_mse_sparse`,
        the dense one `weighted_mse_rows` on the densified set.
        """
        data = sparse_dataset(data_key, hyper.feature_probability[0], model.n_features,
                              self.capacity, self.max_active)
        size = jnp.where(hyper.dataset_size > 0, hyper.dataset_size, self.capacity)
        row_weight = jnp.where(jnp.arange(self.capacity) < size, 1.0 / size, 0.0)
        if self.layout == "sparse":
            def full_batch(params, t):
                return weighted_mse_sparse(params, data, row_weight, hyper.importance, model.kind)
        else:
            x = densify(data, model.n_features)

            def full_batch(params, t):
                return weighted_mse_rows(params, x, row_weight, hyper.importance, model.kind)
        return full_batch

    def rows(self, model: ModelConfig, batch_size: int) -> int:
        return self.capacity

    def row_words(self, model: ModelConfig) -> int:
        return (super().row_words(model) + 4 * self.max_active * (model.n_hidden + 2)
                + (model.n_features if self.layout == "dense" else 0))

    def points(self, feature_probability: float, n_features: int, size: int,
               dataset_seed: int = 0, stream: int = TRAINING) -> SparseBatch:
        """`size` points of the dataset seed's training (or `HELD_OUT`) stream, exactly as
        training draws them: a model of size T trained on the first T training points."""
        return sparse_dataset(dataset_keys(dataset_seed)[stream], float(feature_probability),
                              n_features, size, self.max_active)

    def to_dict(self) -> dict:
        return {"dataset": dataclasses.asdict(self)}

    @classmethod
    def from_dict(cls, d: dict) -> FixedDataset | None:
        return None if d.get("dataset") is None else cls(**d["dataset"])
