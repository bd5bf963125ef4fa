"""Memorisation and generalisation of models trained on a fixed dataset (Henighan et al. 2023).

A model trained on T points either memorises them (the hidden vectors h_t = x_t W of the training
points spread out, at small T as a regular T-gon, each with data dimensionality m/T) or learns
features (at large T, for m=2, five features form a pentagon, each with D_i a bit under 2/5).
Both dimensionalities are the same measure (`feature_dimensionality`) applied to different
vectors. Their sums saturate at m in both regimes (T points or n features share the m dimensions
either way), so the regimes are told apart by how the dimensions are shared:

    point share   median_t D_t T / m        1 when every training point gets its m/T (a T-gon)
    top share     sum of the 5 largest D_i / sum_i D_i    1 when five features hold everything
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from toysuper.analysis.geometry import feature_dimensionality
from toysuper.data import SparseBatch
from toysuper.models import TiedParams, hidden_sparse, weighted_mse_sparse

REGIME_SHARE = 0.5  # generalising: top share >= this; memorising: point share >= this
# compiled once per shape (one executable instead of one per primitive, op by op)
_hidden_sparse = jax.jit(hidden_sparse)
_dimensionality = jax.jit(feature_dimensionality)


@functools.partial(jax.jit, static_argnums=(3,))
def _held_out_losses(W, b, points: SparseBatch, kind: str):
    weight = jnp.full(points.indices.shape[0], 1.0 / points.indices.shape[0])
    importance = jnp.ones(W.shape[-2])

    def one(wb):
        return weighted_mse_sparse(TiedParams(*wb), points, weight, importance, kind)

    return jax.lax.map(one, (W, b))


def held_out_loss(W: Float[Array, "model feature hidden"], b: Float[Array, "model feature"],
                  points: SparseBatch, kind: str = "relu_output") -> np.ndarray:
    """Mean loss of tied models of `kind` on held-out points, shape (model,). Predicting 0
    gives exactly 1 on unit-norm points."""
    return np.asarray(_held_out_losses(jnp.asarray(W), jnp.asarray(b), points, kind))


def hidden_vectors(W: Float[Array, "feature hidden"], points: SparseBatch) -> np.ndarray:
    """h_t = x_t W of each point, shape (points, hidden)."""
    return np.asarray(_hidden_sparse(jnp.asarray(W), points))


def data_dimensionality(H: Float[Array, "point hidden"]) -> np.ndarray:
    """D_t = ||h_t||^2 / sum_s (ĥ_t . h_s)^2 of each training point's hidden vector: m/T for T
    points in a regular T-gon arrangement (m=2). Shape (points,)."""
    return np.asarray(_dimensionality(jnp.asarray(H)))


def regime(point_share: float, top_share: float) -> str:
    """"generalising" when the top features hold at least `REGIME_SHARE` of the feature
    dimensionality; else "memorising" when the median training point holds at least that share
    of its m/T; else "in between". (Features come first: points that are copies of a few
    feature directions also split the space evenly, but they are not memorised.)"""
    if top_share >= REGIME_SHARE:
        return "generalising"
    return "memorising" if point_share >= REGIME_SHARE else "in between"


def describe(W: Float[Array, "feature hidden"], b: Float[Array, " feature"],
             training: SparseBatch, size: int, top: int = 5) -> dict:
    """Everything the double-descent figures need about one model trained on the first `size`
    points of `training`: dimensionalities, shares, regime and norms.

    Returns:
      dict of data_dims (size,), feature_dims (n,), H (size, m), top_feature_dims (top,) and
      scalars: point_share (median D_t T/m), top_feature_share (the `top` largest D_i over
      their sum), regime,
      W_norm (||W||_F), b_norm, h_norm (mean ||h_t||), top_W_norm (mean ||W_i|| of the `top`
      features with the largest D_i).
    """
    W, b = np.asarray(W), np.asarray(b)
    m = W.shape[-1]
    H = hidden_vectors(W, jax.tree.map(lambda a: np.asarray(a)[:size], training))
    data_dims = data_dimensionality(H)
    feature_dims = np.asarray(feature_dimensionality(jnp.asarray(W)))
    order = np.argsort(feature_dims)[::-1][:top]
    point_share = float(np.median(data_dims) * size / m)
    top_share = float(feature_dims[order].sum() / max(feature_dims.sum(), 1e-12))
    return {"data_dims": data_dims, "feature_dims": feature_dims,
            "point_share": point_share, "top_feature_share": top_share,
            "top_feature_dims": feature_dims[order],
            "regime": regime(point_share, top_share),
            "W_norm": float(np.linalg.norm(W)), "b_norm": float(np.linalg.norm(b)),
            "h_norm": float(np.linalg.norm(H, axis=1).mean()),
            "top_W_norm": float(np.linalg.norm(W[order], axis=1).mean()),
            "H": H}
