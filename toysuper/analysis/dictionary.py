"""How well a learned dictionary recovers the true feature directions (Sharkey et al. 2022).

The true features of a toy model are its rows W_i (n, m); a sparse autoencoder's dictionary is its
unit-norm decoder rows d_j (L, m). Recovery of feature i is max_j cos(W_i, d_j) over the latents in
use; the mean over the represented features is the mean max cosine similarity (MMCS), and a
feature counts as recovered above `RECOVERED_COS`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from toysuper.analysis.geometry import REPRESENTED_NORM
from toysuper.sae import decode, encode, latents_in_use

RECOVERED_COS = 0.95  # max cosine above which a true feature counts as recovered


def max_cosines(true_W: Float[Array, "... feature hidden"],
                learned: Float[Array, "... latent hidden"],
                in_use: Float[Array, "... latent"]) -> np.ndarray:
    """max_j cos(W_i, d_j) over latents in use, per true feature i. Shape (..., feature)."""
    def unit(x):
        x = np.asarray(x, np.float64)
        norm = np.linalg.norm(x, axis=-1, keepdims=True)
        return x / np.where(norm > 0, norm, 1)

    cos = np.einsum("...ih,...jh->...ij", unit(true_W), unit(learned))
    return np.where(np.asarray(in_use)[..., None, :], cos, -np.inf).max(-1)


def recovery(true_W: np.ndarray, learned: np.ndarray, in_use: np.ndarray,
             threshold: float = RECOVERED_COS) -> dict[str, np.ndarray]:
    """Recovery of the represented features (||W_i|| > REPRESENTED_NORM) of each toy model.

    Args:
      true_W: (..., n, m) toy weights; learned: (..., L, m) dictionaries; in_use: (..., L).

    Returns:
      mmcs (...,) mean max cosine over represented features; recovered (...,) how many of them
      are recovered; represented (...,) how many there are; fraction (...,) recovered /
      represented.
    """
    best = max_cosines(true_W, learned, in_use)
    rep = np.linalg.norm(np.asarray(true_W), axis=-1) > REPRESENTED_NORM
    count = rep.sum(-1)
    mmcs = np.where(rep, best, 0).sum(-1) / np.maximum(count, 1)
    recovered = (rep & (best > threshold)).sum(-1)
    return {"mmcs": mmcs, "recovered": recovered, "represented": count,
            "fraction": recovered / np.maximum(count, 1)}


def code_statistics(codes: Float[Array, "... sample latent"], h: Float[Array, "... sample hidden"],
                    h_hat: Float[Array, "... sample hidden"], in_use: Float[Array, "... latent"]
                    ) -> dict[str, np.ndarray]:
    """Dead latents, sparsity and reconstruction error of SAEs on held-out activations.

    Returns:
      dead_fraction (...,): latents in use that never fire; l0 (...,): mean active latents per
      sample; nmse (...,): E||h - h'||^2 / E||h - E h||^2 (1 = no better than the mean).
    """
    codes, h, h_hat = (jnp.asarray(x) for x in (codes, h, h_hat))
    fired = jnp.any(codes > 0, axis=-2)
    in_use = jnp.asarray(in_use)
    dead = jnp.sum(in_use & ~fired, -1) / jnp.maximum(jnp.sum(in_use, -1), 1)
    l0 = jnp.mean(jnp.sum(codes > 0, -1), -1)
    centred = h - jnp.mean(h, axis=-2, keepdims=True)
    nmse = (jnp.mean(jnp.sum((h - h_hat) ** 2, -1), -1)
            / jnp.maximum(jnp.mean(jnp.sum(centred**2, -1), -1), 1e-12))
    return {k: np.asarray(v) for k, v in {"dead_fraction": dead, "l0": l0, "nmse": nmse}.items()}


def evaluate_saes(params, hyper, kind: str, h_eval: Float[Array, "source sample hidden"]
                  ) -> dict[str, np.ndarray]:
    """`code_statistics` of a batch of SAEs (params and hyper with a leading model axis), each
    on the held-out activations of its own source model (`hyper.source_index`)."""
    def one(p, hp):
        h = jnp.asarray(h_eval)[hp.source_index]
        f = encode(p, h, kind, hp)
        return f, h, decode(p, f)

    codes, h, h_hat = jax.lax.map(lambda args: one(*args), (params, hyper), batch_size=16)
    return code_statistics(codes, h, h_hat,
                           latents_in_use(hyper.dictionary_size, codes.shape[-1]))
