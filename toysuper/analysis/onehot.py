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
