"""Training on the expected (population) loss of a small model under sparse uniform inputs.

The input distribution of TMS is a mixture over active subsets S of features: S has probability
prod_{i in S} p_i prod_{i not in S} (1 - p_i), and the active values are uniform on [0, 1]^|S|.
The expected loss is the sum over all 2^n subsets of P(S) times an integral over [0, 1]^|S|, which
we take with the midpoint rule on `resolution` points per active feature (error O(resolution^-2);
exact for integrands linear in each active value). Cost grows as resolution^n: meant for n <= 4.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from toysuper.models import MODEL_KINDS, ModelConfig, TiedParams
from toysuper.objectives.base import Objective, Values
from toysuper.validate import is_int, require

MAX_QUADRATURE_NODES = 1 << 20  # per step
DEFAULT_RESOLUTION = 32


@functools.lru_cache(maxsize=32)
def quadrature(n_features: int, resolution: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nodes of the subset-by-subset midpoint rule.

    Returns:
      points: (N, n_features) inputs, zero outside their subset.
      active: (N, n_features) bool, which features are active at each point.
      volume: (N,) the midpoint-rule weight resolution^-|S| of each point.
    """
    mids = (np.arange(resolution) + 0.5) / resolution
    points, active, volume = [], [], []
    for k in range(n_features + 1):
        for subset in itertools.combinations(range(n_features), k):
            grid = (np.stack(np.meshgrid(*([mids] * k), indexing="ij"), -1).reshape(-1, k)
                    if k else np.zeros((1, 0)))
            x = np.zeros((len(grid), n_features), np.float32)
            x[:, list(subset)] = grid
            mask = np.zeros((len(grid), n_features), bool)
            mask[:, list(subset)] = True
            points.append(x)
            active.append(mask)
            volume.append(np.full(len(grid), float(resolution) ** -k))
    return np.concatenate(points), np.concatenate(active), np.concatenate(volume)


def subset_weights(feature_probability: Float[Array, " feature"], active: np.ndarray,
                   volume: np.ndarray) -> Float[Array, " point"]:
    """P(S) times the quadrature volume for each node (sums to 1 over all nodes)."""
    p = jnp.asarray(feature_probability)
    return jnp.prod(jnp.where(active, p, 1 - p), axis=-1) * volume


def population_loss(params, feature_probability: Float[Array, " feature"],
                    importance: Float[Array, " feature"], kind: str = "relu_output",
                    resolution: int = 64) -> Float[Array, ""]:
    """E_x[sum_i I_i (x_i - x'_i)^2] over sparse uniform inputs, by subset enumeration.

    The same quantity `toysuper.models.weighted_mse` estimates from a batch; differentiable in
    `params`, `feature_probability` and `importance`.

    Args:
      params: a model's parameters (e.g. `TiedParams(W (n, m), b (n,))`).
      feature_probability: (n,) densities p_i.
      importance: (n,) weights I_i.
      kind: the model family in `MODEL_KINDS`.
      resolution: midpoint-rule points per active feature.

    Example:
      >>> params = TiedParams(jnp.array([[1.0], [0.0]]), jnp.array([0.0, 0.05]))
      >>> population_loss(params, jnp.array([0.1, 0.1]), jnp.array([1.0, 1.0]))  # 0.1/3 - 0.1**2/4
    """
    model = MODEL_KINDS[kind]
    require(model.reconstructs_sparse_uniform, "kind", kind, "a reconstruction model on sparse "
            "uniform inputs (linear, relu_output, relu_hidden); the exact loss of other input "
            "distributions is not implemented")
    points, active, volume = quadrature(len(importance), resolution)
    err = points - model.apply(params, jnp.asarray(points))
    per_point = jnp.sum(jnp.asarray(importance) * err**2, axis=-1)
    return jnp.sum(subset_weights(feature_probability, active, volume) * per_point)


def population_losses(W: Float[Array, "... feature hidden"], b: Float[Array, "... feature"],
                      feature_probability: Float[Array, "... feature"],
                      importance: Float[Array, "... feature"], kind: str = "relu_output",
                      resolution: int = 64, batch_size: int = 256) -> np.ndarray:
    """`population_loss` of many models at once (any leading axes, broadcast), in batches.

    Returns:
      (...) expected losses, e.g. to rank the trained models of a sweep without the noise of
      their last training batches.
    """
    W = np.asarray(W, np.float32)
    shape, (n, m) = W.shape[:-2], W.shape[-2:]
    flat = [np.broadcast_to(np.asarray(x, np.float32), (*shape, n)).reshape(-1, n)
            for x in (b, feature_probability, importance)]

    def one(args):
        W, b, p, importance = args
        return population_loss(TiedParams(W, b), p, importance, kind, resolution)

    losses = jax.lax.map(one, (jnp.asarray(W.reshape(-1, n, m)), *map(jnp.asarray, flat)),
                         batch_size=batch_size)
    return np.asarray(losses).reshape(shape)


@dataclasses.dataclass(frozen=True)
class PopulationLoss(Objective):
    """Noise-free training on the expected loss itself, `population_loss` with `resolution`
    midpoint points per active feature (`batch_size` is unused; n_features small)."""

    resolution: int = DEFAULT_RESOLUTION
    name: ClassVar[str] = "population_loss"
    deterministic: ClassVar[bool] = True

    def __post_init__(self):
        require(is_int(self.resolution) and self.resolution >= 1, "PopulationLoss.resolution",
                self.resolution, "an integer >= 1")

    def check(self, model: ModelConfig, values: Values) -> None:
        super().check(model, values)
        require(MODEL_KINDS[model.kind].reconstructs_sparse_uniform, "model.kind", model.kind,
                "a reconstruction kind with sparse uniform inputs for PopulationLoss "
                "(linear, relu_output, relu_hidden)")
        nodes = (self.resolution + 1) ** model.n_features
        require(nodes <= MAX_QUADRATURE_NODES, "PopulationLoss.resolution", self.resolution,
                f"(resolution + 1) ** n_features <= {MAX_QUADRATURE_NODES} quadrature "
                f"nodes per step (n_features={model.n_features})")

    def loss(self, data_key, hyper, model: ModelConfig, batch_size: int, shared: Any = None):
        def expected(params, t):
            return population_loss(params, hyper.feature_probability, hyper.importance,
                                   model.kind, self.resolution)

        return expected

    def rows(self, model: ModelConfig, batch_size: int) -> int:
        return (self.resolution + 1) ** model.n_features

    def to_dict(self) -> dict:
        return {"exact_loss": "population"} | (
            {} if self.resolution == DEFAULT_RESOLUTION else {"exact_resolution": self.resolution})

    @classmethod
    def from_dict(cls, d: dict) -> PopulationLoss | None:
        return (cls(d.get("exact_resolution", DEFAULT_RESOLUTION))
                if d.get("exact_loss") == "population" else None)
