"""Sparse autoencoders (dictionary learning) on the hidden activations of trained toy models.

Can features be taken back out of superposition? A toy model maps sparse features x (n) to
h = x W (m < n); a sparse autoencoder (SAE) with L latents learns a dictionary of L unit-norm
directions d_j in R^m and sparse codes f (L) with h ~ f D + b_dec (Sharkey et al. 2022,
"Taking features out of superposition with sparse autoencoders"):

    f = ReLU((h - b_dec) W_enc^T + b_enc)            sae_relu:  loss ||h - h'||^2 + l1 sum_j f_j
    f = TopK(ReLU((h - b_dec) W_enc^T + b_enc))      sae_topk:  loss ||h - h'||^2, k latents kept
    h' = f D + b_dec,   D_j = W_j / ||W_j||          (unit-norm decoder rows by construction)

SAEs train with the sweep engine like any model kind: `ModelConfig(n_latents, m, "sae_relu")`,
the objective `toysuper.objectives.SparseAutoencoderTraining(SourceModels(...))` naming the toy
models whose activations they see, and
the traced `Hyper` fields l1_coefficient, active_latents (TopK k), dictionary_size (latents in
use, the rest masked; 0 = all) and source_index (which toy model), so one compiled sweep covers a
grid of penalties, dictionary sizes and toy models. In results, the "feature" dim of `W` indexes
the latents, and `W[..., j, :]` is latent j's (unnormalised) dictionary direction.

    sources = SourceModels.from_arrays(toy_W, toy_density)   # (k, n, m), (k,)
    sweep = Sweep(ModelConfig(32, 5, "sae_relu"),
                  TrainConfig(steps=5000, objective=SparseAutoencoderTraining(sources)),
                  axes={"source_index": range(k), "l1_coefficient": [0.01, 0.03, 0.1]},
                  fixed={"lr": 1e-3, "weight_decay": 0.0})
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct
from jaxtyping import Array, Float

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
