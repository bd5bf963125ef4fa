"""Model families: `init(key, cfg) -> params` and `apply(params, x) -> x'` for one model.

Weight layout follows the paper's notebook: `W[i, :]` is feature i's direction, W has shape
(n_features, n_hidden). In row layout the tied models of TMS section 2 are

    h = x W,   x' = h W^T + b            (linear;      paper: x' = W^T W x + b)
    x' = ReLU(h W^T + b)                 (relu_output; paper: x' = ReLU(W^T W x + b))

A new family is a new `ModelKind` entry in `MODEL_KINDS`; training and sweeps need no change.

Initialisation: W is Xavier-normal per model, std = sqrt(2 / (n_features + n_hidden)), b = 0. The
paper's notebook calls `xavier_normal_` on one (n_instances, n_features, n_hidden) tensor, which
PyTorch reads as fan_in = n_features * n_hidden and fan_out = n_instances * n_hidden, so its std
sqrt(2 / (n_hidden * (n_features + n_instances))) depends on how many models share the tensor.
Here a model's init does not depend on its sweep (the `torch_reference.py` baseline uses the same
per-model convention).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
from flax import struct
from jaxtyping import Array, Float

if TYPE_CHECKING:
    from toysuper.config import ModelConfig


@struct.dataclass
class TiedParams:
    """Parameters of a tied autoencoder.

    Attributes:
      W: (n_features, n_hidden) feature directions, row i = W_i.
      b: (n_features,) output bias.
    """

    W: Float[Array, "feature hidden"]
    b: Float[Array, " feature"]


def xavier_normal(key: jax.Array, n_in: int, n_out: int) -> Float[Array, "n_in n_out"]:
    """Glorot/Xavier normal for one matrix: N(0, 2 / (n_in + n_out))."""
    return jax.random.normal(key, (n_in, n_out), jnp.float32) * jnp.sqrt(2.0 / (n_in + n_out))


def init_tied(key: jax.Array, cfg: ModelConfig) -> TiedParams:
    """Xavier-normal W (per model), zero bias."""
    return TiedParams(W=xavier_normal(key, cfg.n_features, cfg.n_hidden),
                      b=jnp.zeros(cfg.n_features, jnp.float32))


def apply_linear(params: TiedParams,
                 x: Float[Array, "batch feature"]) -> Float[Array, "batch feature"]:
    """x' = x W W^T + b."""
    return (x @ params.W) @ params.W.T + params.b


def apply_relu_output(params: TiedParams,
                      x: Float[Array, "batch feature"]) -> Float[Array, "batch feature"]:
    """x' = ReLU(x W W^T + b)."""
    return jax.nn.relu(apply_linear(params, x))


def apply_linear_feature_major(params: TiedParams, xt: Float[Array, "feature batch"]
                               ) -> Float[Array, "feature batch"]:
    """`apply_linear` on a feature-major batch, unrolled over the small, static n and m.

    h_j = sum_i x_i W_ij and x'_i = sum_j h_j W_ij + b_i, written out entry by entry: every
    operation is an elementwise loop over the batch, which XLA's CPU backend runs several times
    faster than its batched dot for tiny matrices (see `UNROLL_MAX_WEIGHTS`).
    """
    W, b = params.W, params.b
    n, m = W.shape
    h = [sum(xt[i] * W[i, j] for i in range(n)) for j in range(m)]
    return jnp.stack([sum(h[j] * W[i, j] for j in range(m)) + b[i] for i in range(n)])


def apply_relu_output_feature_major(params: TiedParams, xt: Float[Array, "feature batch"]
                                    ) -> Float[Array, "feature batch"]:
    """`apply_relu_output` on a feature-major batch, unrolled."""
    return jax.nn.relu(apply_linear_feature_major(params, xt))


@dataclasses.dataclass(frozen=True)
class ModelKind:
    """A model family: how to initialise it, how to run it, and one line about it.

    `apply_feature_major`, if given, computes the same function on a (feature, batch) input and
    is used in training when the weights are small (n_features * n_hidden <= UNROLL_MAX_WEIGHTS).
    """

    init: Callable[[jax.Array, Any], Any]
    apply: Callable[[Any, jax.Array], jax.Array]
    description: str
    apply_feature_major: Callable[[Any, jax.Array], jax.Array] | None = None


UNROLL_MAX_WEIGHTS = 64  # measured on CPU: 4x faster at 3x2 and 5x2, 2.7x at 10x5, even at 20x5

MODEL_KINDS: dict[str, ModelKind] = {
    "linear": ModelKind(init_tied, apply_linear, "tied linear autoencoder, x' = W^T W x + b",
                        apply_linear_feature_major),
    "relu_output": ModelKind(init_tied, apply_relu_output,
                             "tied autoencoder with output ReLU, x' = ReLU(W^T W x + b)",
                             apply_relu_output_feature_major),
}


def uses_feature_major(cfg: ModelConfig) -> bool:
    """Whether training `cfg` runs the unrolled feature-major path."""
    return (MODEL_KINDS[cfg.kind].apply_feature_major is not None
            and cfg.n_features * cfg.n_hidden <= UNROLL_MAX_WEIGHTS)


def weighted_mse(params, x: Float[Array, "batch feature"], importance: Float[Array, " feature"],
                 kind: str) -> Float[Array, ""]:
    """Importance-weighted reconstruction loss, L = mean_batch sum_i I_i (x_i - x'_i)^2.

    Sums over features as the TMS text writes it (the released notebook averages over features
    instead; AdamW is invariant to that constant factor up to eps). With unit-norm inputs, as in
    Henighan et al. 2023, predicting 0 gives a loss of exactly 1.
    """
    err = x - MODEL_KINDS[kind].apply(params, x)
    return jnp.mean(jnp.sum(importance * err**2, axis=-1))


def weighted_mse_feature_major(params, xt: Float[Array, "feature batch"],
                               importance: Float[Array, " feature"], kind: str) -> Float[Array, ""]:
    """`weighted_mse` of a feature-major batch, through the kind's unrolled apply."""
    err = xt - MODEL_KINDS[kind].apply_feature_major(params, xt)
    return jnp.mean(jnp.sum(importance[:, None] * err**2, axis=0))
