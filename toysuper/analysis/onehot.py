"""The exact loss of a tied ReLU model on one-hot inputs, and its regular k-gon critical points
(Chen, Lau, Mendel, Wei and Murfet 2023, "Dynamical versus Bayesian phase transitions in a toy
model of superposition").

In the high-sparsity limit of TMS every input has exactly one active feature: x = mu e_i with
i uniform over the n features and mu ~ U[0, 1]. For x' = ReLU(W W^T x + b) (row layout,
G = W W^T) output j is ReLU(mu G_ij + b_j), so the expected loss is a sum of one-dimensional
integrals of ReLUs of linear functions, each in closed form:

    L(W, b) = (1/n) sum_i [ I_i (1/3 - 2 M(G_ii, b_i)) + sum_j I_j Q(G_ij, b_j) ],
    Q(a, c) = int_0^1 ReLU(a mu + c)^2 dmu,   M(a, c) = int_0^1 mu ReLU(a mu + c) dmu.

Both integrals are taken over the interval of [0, 1] where a mu + c > 0, as polynomials in its
end points, which is stable for any a (no division by a small slope outside a clip).

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
from jaxtyping import Array, Float

from toysuper.models import TiedParams

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
    """`one_hot_loss` of a `TiedParams`: the loss of `TrainConfig(exact_loss="one_hot")`."""
    return one_hot_loss(params.W, params.b, importance)


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
