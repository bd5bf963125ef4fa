"""Sparse autoencoders (dictionary learning) on the hidden activations of trained toy models.

Can features be taken back out of superposition? A toy model maps sparse features x (n) to
h = x W (m < n); a sparse autoencoder (SAE) with L latents learns a dictionary of L unit-norm
directions d_j in R^m and sparse codes f (L) with h ~ f D + b_dec (Sharkey et al. 2022,
"Taking features out of superposition with sparse autoencoders"):

    f = ReLU((h - b_dec) W_enc^T + b_enc)            sae_relu:  loss ||h - h'||^2 + l1 sum_j f_j
    f = TopK(ReLU((h - b_dec) W_enc^T + b_enc))      sae_topk:  loss ||h - h'||^2, k latents kept
    h' = f D + b_dec,   D_j = W_j / ||W_j||          (unit-norm decoder rows by construction)

SAEs train with the sweep engine like any model kind: `ModelConfig(n_latents, m, "sae_relu")`,
`TrainConfig(source=SourceModels(...))` naming the toy models whose activations they see, and
the traced `Hyper` fields l1_coefficient, active_latents (TopK k), dictionary_size (latents in
use, the rest masked; 0 = all) and source_index (which toy model), so one compiled sweep covers a
grid of penalties, dictionary sizes and toy models. In results, the "feature" dim of `W` indexes
the latents, and `W[..., j, :]` is latent j's (unnormalised) dictionary direction.

    sources = SourceModels.from_arrays(toy_W, toy_density)   # (k, n, m), (k,)
    sweep = Sweep(ModelConfig(32, 5, "sae_relu"), TrainConfig(steps=5000, source=sources),
                  axes={"source_index": range(k), "l1_coefficient": [0.01, 0.03, 0.1]},
                  fixed={"lr": 1e-3, "weight_decay": 0.0})
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from jaxtyping import Array, Float

from toysuper.config import _require
from toysuper.data import sample_sparse_uniform_feature_major

SAE_KINDS = ("sae_relu", "sae_topk")


@struct.dataclass
class SAEParams:
    """Parameters of a sparse autoencoder with L latents on m-dimensional activations.

    Attributes:
      W: (L, m) decoder directions, used normalised (row j / ||row j||).
      W_enc: (L, m) encoder rows.
      b: (L,) encoder bias.
      b_dec: (m,) decoder bias, subtracted before encoding.
    """

    W: Float[Array, "latent hidden"]
    W_enc: Float[Array, "latent hidden"]
    b: Float[Array, " latent"]
    b_dec: Float[Array, " hidden"]


SAE_DIMS = {"W": ("feature", "hidden"), "W_enc": ("feature", "hidden"), "b": ("feature",),
            "b_dec": ("hidden",)}


@dataclasses.dataclass(frozen=True)
class SourceModels:
    """The toy models whose hidden activations SAEs train on; static (part of the config).

    Activations of model k are h = x W_k with x sparse uniform at density feature_probability[k]
    (TMS inputs). `Hyper.source_index` picks the model, so SAEs on different toy models share
    one compiled sweep.

    Args:
      W: (k, n, m) nested tuples, the toy models' weights.
      feature_probability: (k,) their feature densities.
    """

    W: tuple
    feature_probability: tuple

    def __post_init__(self):
        W = np.asarray(self.W, np.float32)
        p = np.asarray(self.feature_probability, np.float32)
        _require(W.ndim == 3 and len(W) >= 1 and bool(np.all(np.isfinite(W))), "source.W",
                 W.shape, "(models, n_features, n_hidden) finite weights, at least one model")
        _require(p.shape == (len(W),) and bool(np.all((p > 0) & (p <= 1))),
                 "source.feature_probability", p.tolist(), f"{len(W)} densities in (0, 1]")
        object.__setattr__(self, "W", tuple(tuple(tuple(row) for row in w) for w in W.tolist()))
        object.__setattr__(self, "feature_probability", tuple(p.tolist()))

    @classmethod
    def from_arrays(cls, W, feature_probability) -> SourceModels:
        return cls(np.asarray(W, np.float32).tolist(),
                   np.asarray(feature_probability, np.float32).tolist())

    @property
    def n_hidden(self) -> int:
        return len(self.W[0][0])

    def __len__(self) -> int:
        return len(self.W)


def init_sae(key: jax.Array, cfg) -> SAEParams:
    """Random unit decoder directions, the encoder initialised to the decoder (tied start),
    zero biases."""
    W = jax.random.normal(key, (cfg.n_features, cfg.n_hidden), jnp.float32)
    W = W / jnp.linalg.norm(W, axis=-1, keepdims=True)
    return SAEParams(W=W, W_enc=W, b=jnp.zeros(cfg.n_features, jnp.float32),
                     b_dec=jnp.zeros(cfg.n_hidden, jnp.float32))


def dictionary(params: SAEParams) -> Float[Array, "latent hidden"]:
    """The unit-norm dictionary D (rows d_j)."""
    return params.W / jnp.linalg.norm(params.W, axis=-1, keepdims=True)


def latents_in_use(dictionary_size, n_latents: int) -> Array:
    """Mask (..., latent) of the first `dictionary_size` latents (0: all `n_latents`), for a
    scalar or an array of sizes."""
    size = jnp.where(dictionary_size > 0, dictionary_size, n_latents)
    return jnp.arange(n_latents) < jnp.asarray(size)[..., None]


def encode(params: SAEParams, h: Float[Array, "batch hidden"], kind: str, hyper=None
           ) -> Float[Array, "batch latent"]:
    """The sparse code f of activations h; latents at or past `hyper.dictionary_size` are off,
    and sae_topk keeps the `hyper.active_latents` largest (all latents without `hyper`)."""
    pre = (h - params.b_dec) @ params.W_enc.T + params.b
    n_latents = pre.shape[-1]
    in_use = True if hyper is None else latents_in_use(hyper.dictionary_size, n_latents)
    f = jnp.where(in_use, jax.nn.relu(pre), 0.0)
    if kind == "sae_topk" and hyper is not None:
        ranked = jnp.sort(jnp.where(in_use, pre, -jnp.inf), axis=-1)
        kth = jnp.take(ranked, n_latents - hyper.active_latents, axis=-1)
        f = jnp.where(pre >= kth[..., None], f, 0.0)
    return f


def decode(params: SAEParams, f: Float[Array, "batch latent"]) -> Float[Array, "batch hidden"]:
    """h' = f D + b_dec."""
    return f @ dictionary(params) + params.b_dec


def reconstruct(params: SAEParams, h: Float[Array, "batch hidden"], kind: str = "sae_relu",
                hyper=None) -> Float[Array, "batch hidden"]:
    """h' = decode(encode(h))."""
    return decode(params, encode(params, h, kind, hyper))


def sae_loss(params: SAEParams, h: Float[Array, "batch hidden"], hyper, kind: str
             ) -> Float[Array, ""]:
    """mean_batch [ ||h - h'||^2 + l1_coefficient sum_j f_j ] (the penalty is 0 for sae_topk,
    whose sparsity is its k)."""
    f = encode(params, h, kind, hyper)
    err = h - decode(params, f)
    penalty = 0.0 if kind == "sae_topk" else hyper.l1_coefficient * jnp.sum(f, -1)
    return jnp.mean(jnp.sum(err**2, -1) + penalty)


def sample_activations(key: jax.Array, source: SourceModels, index, batch_size: int
                       ) -> Float[Array, "batch hidden"]:
    """h = x W_index for a batch of sparse uniform x at the source model's density."""
    W = jnp.asarray(source.W, jnp.float32)[index]
    p = jnp.asarray(source.feature_probability, jnp.float32)[index]
    xt = sample_sparse_uniform_feature_major(key, jnp.full(W.shape[0], p), batch_size)
    return xt.T @ W


def batch_loss(data_key: jax.Array, hyper, kind: str, source: SourceModels, batch_size: int):
    """(params, step t) -> the SAE loss on a fresh batch of the source's activations drawn from
    fold_in(data_key, t)."""
    def loss(params, t):
        h = sample_activations(jax.random.fold_in(data_key, t), source, hyper.source_index,
                               batch_size)
        return sae_loss(params, h, hyper, kind)

    return loss
