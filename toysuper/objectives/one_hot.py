"""Training on the exact loss of a tied ReLU model on one-hot inputs (Chen, Lau, Mendel, Wei and
Murfet 2023, "Dynamical versus Bayesian phase transitions in a toy model of superposition").

In the high-sparsity limit of TMS every input has exactly one active feature: x = mu e_i with
i uniform over the n features and mu ~ U[0, 1]. For x' = ReLU(W W^T x + b) (row layout,
G = W W^T) output j is ReLU(mu G_ij + b_j), so the expected loss is a sum of one-dimensional
integrals of ReLUs of linear functions, each in closed form:

    L(W, b) = (1/n) sum_i [ I_i (1/3 - 2 M(G_ii, b_i)) + sum_j I_j Q(G_ij, b_j) ],
    Q(a, c) = int_0^1 ReLU(a mu + c)^2 dmu,   M(a, c) = int_0^1 mu ReLU(a mu + c) dmu.

Both integrals are taken over the interval of [0, 1] where a mu + c > 0, as polynomials in its
end points, which is stable for any a (no division by a small slope outside a clip). Its k-gon
critical points are in `toysuper.analysis.onehot`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from toysuper.data import TRAINING, dataset_keys
from toysuper.models import ModelConfig, TiedParams
from toysuper.objectives.base import Objective, Values
from toysuper.validate import is_int, require

FLAT_SLOPE = 1e-8  # |a| below which a mu + c counts as constant


def active_interval(a, c) -> tuple[jax.Array, jax.Array]:
    """[lo, hi], the part of [0, 1] where a mu + c > 0 (lo = hi when it is empty).

    Slopes below `FLAT_SLOPE` count as 0 (an error of at most that size in the integrals), so
    that the root -c/a, and its derivatives, stay finite where the clip discards them.
    """
    a, c = jnp.asarray(a), jnp.asarray(c)
    flat = jnp.abs(a) < FLAT_SLOPE
    root = jnp.clip(-c / jnp.where(flat, 1.0, a), 0.0, 1.0)
    lo = jnp.where(flat | (a < 0), 0.0, root)
    hi = jnp.where(flat, jnp.where(c > 0, 1.0, 0.0), jnp.where(a > 0, 1.0, root))
    return lo, hi


def relu_square_integral(a, c) -> jax.Array:
    """Q(a, c) = int_0^1 ReLU(a mu + c)^2 dmu (elementwise)."""
    lo, hi = active_interval(a, c)
    return (a**2 * (hi**3 - lo**3) / 3 + a * c * (hi**2 - lo**2) + c**2 * (hi - lo))


def relu_moment_integral(a, c) -> jax.Array:
    """M(a, c) = int_0^1 mu ReLU(a mu + c) dmu (elementwise)."""
    lo, hi = active_interval(a, c)
    return a * (hi**3 - lo**3) / 3 + c * (hi**2 - lo**2) / 2


def one_hot_loss(W: Float[Array, "feature hidden"], b: Float[Array, " feature"],
                 importance: Float[Array, " feature"] | None = None) -> Float[Array, ""]:
    """E ||x - ReLU(x W W^T + b)||^2_I over one-hot inputs x = mu e_i, exactly.

    Args:
      W: (n, m) feature directions; b: (n,) biases.
      importance: (n,) weights I_i of the squared errors (default 1).

    Returns:
      () the expected loss, averaged over the n choices of the active feature.

    Example:
      >>> one_hot_loss(jnp.eye(2), jnp.zeros(2))   # every feature dedicated: 0
    """
    n = W.shape[0]
    importance = jnp.ones(n) if importance is None else jnp.asarray(importance)
    gram = W @ W.T
    wrong = jnp.sum(importance * relu_square_integral(gram, b), axis=-1)  # (input i,)
    own = importance * (1 / 3 - 2 * relu_moment_integral(jnp.diagonal(gram), b))
    return jnp.mean(wrong + own)


def one_hot_params_loss(params: TiedParams, importance=None) -> Float[Array, ""]:
    """`one_hot_loss` of a `TiedParams`: the loss the `OneHotLoss` objective trains on."""
    return one_hot_loss(params.W, params.b, importance)


@dataclasses.dataclass(frozen=True)
class OneHotLoss(Objective):
    """Noise-free training on `one_hot_loss`, exactly one active feature per input (relu_output
    only; densities and `batch_size` unused)."""

    name: ClassVar[str] = "one_hot_loss"
    deterministic: ClassVar[bool] = True

    def check(self, model: ModelConfig, values: Values) -> None:
        super().check(model, values)
        require(model.kind == "relu_output", "model.kind", model.kind,
                "relu_output for OneHotLoss (its closed form)")

    def loss(self, data_key, hyper, model: ModelConfig, batch_size: int, shared: Any = None):
        def expected(params, t):
            return one_hot_params_loss(params, hyper.importance)

        return expected

    def rows(self, model: ModelConfig, batch_size: int) -> int:
        return model.n_features

    def to_dict(self) -> dict:
        return {"exact_loss": "one_hot"}

    @classmethod
    def from_dict(cls, d: dict) -> OneHotLoss | None:
        return cls() if d.get("exact_loss") == "one_hot" else None


def one_hot_points(key: jax.Array, n_features: int, size: int
                   ) -> tuple[Int[Array, " point"], Float[Array, " point"]]:
    """`size` one-hot inputs x = mu e_i: feature i uniform over the n features, mu ~ U[0, 1).

    Returns:
      (feature (size,) int32, magnitude (size,) float32).
    """
    k_feature, k_magnitude = jax.random.split(key)
    return (jax.random.randint(k_feature, (size,), 0, n_features),
            jax.random.uniform(k_magnitude, (size,)))


def one_hot_points_loss(W: Float[Array, "feature hidden"], b: Float[Array, " feature"],
                        feature: Int[Array, " point"], magnitude: Float[Array, " point"],
                        importance: Float[Array, " feature"] | None = None) -> Float[Array, ""]:
    """The mean of ||x - ReLU(x W W^T + b)||^2_I over one-hot points x = mu e_i, from the rows
    G_i of W W^T alone.

    Args:
      W: (n, m); b: (n,); feature, magnitude: (points,) the points (`one_hot_points`).
      importance: (n,) weights I_j of the squared errors (default 1).
    """
    n = W.shape[0]
    importance = jnp.ones(n) if importance is None else jnp.asarray(importance)
    rows = (W[feature] @ W.T) * magnitude[:, None] + b  # (points, n)
    target = magnitude[:, None] * jax.nn.one_hot(feature, n)
    errors = jnp.sum(importance * (target - jax.nn.relu(rows)) ** 2, axis=-1)
    return jnp.mean(errors)


@dataclasses.dataclass(frozen=True)
class OneHotDataset(Objective):
    """Minibatch training on a fixed set of one-hot points (Chen et al. 2023, section 5: SGD on
    n training samples): the model trains on the first `Hyper.dataset_size` points of the set
    named by `Hyper.dataset_seed` (`capacity` points stored, so the size is traced), and each
    step draws `batch_size` of them uniformly with replacement from the model's own key and the
    step (relu_output only; densities unused).

    Args:
      capacity: points stored per model, at least the largest dataset_size of the sweep.
    """

    capacity: int
    name: ClassVar[str] = "one_hot_dataset"
    fields: ClassVar[tuple[str, ...]] = ("dataset_size", "dataset_seed")

    def __post_init__(self):
        require(is_int(self.capacity) and self.capacity >= 1, "OneHotDataset.capacity",
                self.capacity, "an integer >= 1")

    def check(self, model: ModelConfig, values: Values) -> None:
        super().check(model, values)
        require(model.kind == "relu_output", "model.kind", model.kind,
                "relu_output for OneHotDataset (Chen et al.'s model)")
        for size in values("dataset_size"):
            require(bool(np.all(size <= self.capacity)), "dataset_size", np.max(size),
                    f"integers in [1, OneHotDataset.capacity={self.capacity}] (0: the capacity)")

    def points(self, n_features: int, dataset_seed: int = 0):
        """The `capacity` training points of the dataset seed, as training draws them:
        (feature (capacity,), magnitude (capacity,))."""
        return one_hot_points(dataset_keys(dataset_seed)[TRAINING], n_features, self.capacity)

    def loss(self, data_key, hyper, model: ModelConfig, batch_size: int, shared: Any = None):
        feature, magnitude = self.points(model.n_features, hyper.dataset_seed)
        size = jnp.where(hyper.dataset_size > 0, hyper.dataset_size, self.capacity)

        def minibatch(params, t):
            rows = jax.random.randint(jax.random.fold_in(data_key, t), (batch_size,), 0, size)
            return one_hot_points_loss(params.W, params.b, feature[rows], magnitude[rows],
                                       importance=hyper.importance)

        return minibatch

    def row_words(self, model: ModelConfig) -> int:
        return 3 * model.n_features + 2

    def to_dict(self) -> dict:
        return {"one_hot_dataset": dataclasses.asdict(self)}

    @classmethod
    def from_dict(cls, d: dict) -> OneHotDataset | None:
        d = d.get("one_hot_dataset")
        return None if d is None else cls(**d)
