"""The regular k-gon critical points of the exact one-hot loss (Chen, Lau, Mendel, Wei and Murfet
2023, "Dynamical versus Bayesian phase transitions in a toy model of superposition"); the loss
itself is `toysuper.objectives.one_hot.one_hot_loss`.

With m = 2, a regular k-gon of k features (norm l, bias c each) beside n - k dead features
(W_j = 0) is a critical point of L: the k-gon's rows sum to zero, so a dead feature's bias
does not pull its weights, and by symmetry the gradient is zero once (l, c) is stationary in
the two-parameter family. A dead feature's best bias is 1/(2n) > 0 (its output then predicts
the feature's mean share); `kgon_critical_point` finds (l, c).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree

from toysuper.models import TiedParams
from toysuper.objectives.one_hot import one_hot_params_loss


def kgon(k: int, n_features: int, norm, bias, dead_bias) -> TiedParams:
    """A regular k-gon of features 0..k-1 in m = 2 (norm `norm`, bias `bias`) beside n - k dead
    features (W_j = 0, bias `dead_bias`)."""
    angles = 2 * np.pi * np.arange(k) / k
    unit = np.zeros((n_features, 2), np.float32)
    unit[:k] = np.stack([np.cos(angles), np.sin(angles)], -1)
    on = np.arange(n_features) < k
    return TiedParams(W=norm * jnp.asarray(unit),
                      b=jnp.where(jnp.asarray(on), bias, dead_bias).astype(jnp.float32))


def dead_bias(n_features: int) -> float:
    """The best bias of a dead feature, 1/(2n): it minimises
    (1/n) [int_0^1 (mu - c)^2 dmu + (n - 1) c^2] over c > 0."""
    return 1 / (2 * n_features)


def kgon_critical_point(k: int, n_features: int, steps: int = 200) -> dict[str, float]:
    """`_kgon_critical_point`, computed once per (k, n, steps); a new dict each call."""
    return dict(_kgon_critical_point(k, n_features, steps))


@functools.cache
def _kgon_critical_point(k: int, n_features: int, steps: int = 200) -> dict[str, float]:
    """The regular k-gon critical point of `one_hot_loss` (m = 2, importance 1).

    Minimises the loss over the k-gon's norm l and bias c (dead features at `dead_bias`) with
    L-BFGS from l = 1, c = 0, in float32.

    Returns:
      norm, bias, dead_bias and loss of the critical point, and grad_norm, the norm of the full
      gradient of the loss (all n x 2 weights and n biases) there, which is ~0 when it is a
      critical point of the whole model and not only of the symmetric family.
    """
    c_dead = dead_bias(n_features)

    def loss(lc):
        return one_hot_params_loss(kgon(k, n_features, lc[0], lc[1], c_dead))

    opt = optax.lbfgs()
    value_and_grad = optax.value_and_grad_from_state(loss)

    def step(carry, _):
        lc, state = carry
        value, grad = value_and_grad(lc, state=state)
        updates, state = opt.update(grad, state, lc, value=value, grad=grad, value_fn=loss)
        return (optax.apply_updates(lc, updates), state), None

    lc = jnp.array([1.0, 0.0])
    (lc, _), _ = jax.lax.scan(step, (lc, opt.init(lc)), None, length=steps)
    params = kgon(k, n_features, lc[0], lc[1], c_dead)
    grads = jax.grad(one_hot_params_loss)(params)
    grad_norm = jnp.sqrt(sum(jnp.sum(g**2) for g in jax.tree.leaves(grads)))
    return {"norm": float(lc[0]), "bias": float(lc[1]), "dead_bias": c_dead,
            "loss": float(loss(lc)), "grad_norm": float(grad_norm)}


def hessian_spectrum(params: TiedParams) -> np.ndarray:
    """Eigenvalues (ascending) of the Hessian of `one_hot_params_loss` in all weights and biases
    at `params`: a local minimum has none clearly negative (rotations of the hidden plane give
    one zero)."""
    flat, unravel = ravel_pytree(params)
    hessian = jax.hessian(lambda v: one_hot_params_loss(unravel(v)))(flat)
    return np.linalg.eigvalsh(np.asarray(hessian, np.float64))


# Theoretical LLCs at c = 6 (Chen et al. 2023): the 6-gon (3c - 1) / 2 = 8.5; the 5-gon whose
# dead feature has a negative bias, 7; the 5+ (its dead bias 1 / (2c) > 0), 8.5.
THEORY_LLC_C6 = {(5, 0): 7.0, (5, 1): 8.5, (6, 0): 8.5}


def kgon_phase(k: int, positive_dead: int, n_features: int,
               negative_bias: float | None = None) -> TiedParams:
    """The k^(sigma+) critical point of Chen et al. 2023: a regular k-gon at its optimal (l, c)
    beside n - k dead features, `positive_dead` = sigma of them with the bias 1/(2n) > 0 and the
    rest with `negative_bias` (default -1/(2n); any bias < 0 gives the same critical set: their
    output stays 0)."""
    if not 0 <= positive_dead <= n_features - k:
        raise ValueError(f"positive_dead={positive_dead!r} is invalid: an integer in "
                         f"[0, n_features - k = {n_features - k}]")
    cp = kgon_critical_point(k, n_features)
    point = kgon(k, n_features, cp["norm"], cp["bias"], cp["dead_bias"])
    negative_bias = -cp["dead_bias"] if negative_bias is None else negative_bias
    if not negative_bias < 0:
        raise ValueError(f"negative_bias={negative_bias!r} is invalid: a number < 0")
    dead = np.arange(n_features) >= k + positive_dead
    return point.replace(b=jnp.where(jnp.asarray(dead), negative_bias, point.b))


def kgon_phases(n_features: int, ks=(4, 5, 6)) -> dict[tuple[int, int], dict]:
    """Every k^(sigma+) critical point for k in `ks`: {(k, sigma): {"loss", "prior"}}, with its
    exact loss and the prior term ||w||^2 / 2 of the free energy (a standard normal prior),
    taken where the flat direction of each negative dead bias meets 0, as the paper does."""
    out = {}
    for k in ks:
        for sigma in range(n_features - k + 1):
            point = kgon_phase(k, sigma, n_features)
            b = jnp.where(jnp.arange(n_features) >= k, jnp.maximum(point.b, 0.0), point.b)
            out[(k, sigma)] = {"loss": float(one_hot_params_loss(point)),
                               "prior": float(0.5 * (jnp.sum(point.W**2) + jnp.sum(b**2)))}
    return out


def phase_of(W: np.ndarray, b: np.ndarray, threshold: float = 0.5,
             irregularity: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """(k, sigma) of models W (..., n, 2), b (..., n): k features with ||W_i|| > threshold whose
    directions form a k-gon (every angle between neighbours within `irregularity` x 2 pi / k of
    2 pi / k), and sigma of the others with a positive bias; k = -1 where the represented
    features are no polygon of at least 3 sides (or a parameter is not finite).

    Example:
      >>> phase_of(np.asarray(kgon_phase(5, 1, 6).W), np.asarray(kgon_phase(5, 1, 6).b))  # (5, 1)
    """
    W, b = np.asarray(W, np.float64), np.asarray(b, np.float64)
    norms = np.linalg.norm(W, axis=-1)
    represented = norms > threshold
    k = represented.sum(-1)
    angles = np.where(represented, np.arctan2(W[..., 1], W[..., 0]), np.inf)
    ordered = np.sort(angles, axis=-1)  # the represented ones first, then inf
    first = ordered[..., :1]
    wrapped = np.where(np.isfinite(ordered), ordered, first + 2 * np.pi)
    with np.errstate(invalid="ignore"):  # non-finite weights: k = -1 below
        gaps = np.diff(np.concatenate([wrapped, first + 2 * np.pi], -1), axis=-1)
    slot = np.arange(W.shape[-2])
    ideal = 2 * np.pi / np.maximum(k, 1)[..., None]
    off = np.where(slot < k[..., None], np.abs(gaps - ideal) / ideal, 0.0)
    regular = (k >= 3) & np.all(off <= irregularity, -1) & np.all(np.isfinite(W), (-2, -1))
    return np.where(regular, k, -1), ((~represented) & (b > 0)).sum(-1)
