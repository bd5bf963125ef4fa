"""Which polytope uniform superposition should prefer: the expected loss of each regular
polytope at a feature density (TMS section 5, "The geometry of superposition").

With uniform importance and many more features than dimensions (n >> m), a tied ReLU-output
model can build its hidden space as a tegum product of small polytopes, each in its own
orthogonal subspace; polytopes in orthogonal subspaces never interfere, so the loss splits over
them. A polytope of k features in d dimensions, all features at norm r and bias b, removes
k (V - L) of loss against leaving its k features out, where V = Var(x_i) = p/3 - p^2/4 is the
loss of an unrepresented feature (its best constant output, bias p/2) and L the expected loss of
one of the polytope's features:

    L(r, b) = E[(x_1 - ReLU(r^2 (x_1 + s) + b))^2],    s = sum_{j != 1} cos(W_1, W_j) x_j,

with each x_j active with probability p and then uniform on [0, 1] (vertex-transitive polytopes:
every feature sees the same s). The polytope a model should tile its space with is the one with
the largest gain per dimension, k (V - min_{r,b} L) / d. The paper's figure shows tetrahedra
(3/4), triangles (2/3), digons (1/2), pentagons (2/5) and square antiprisms (3/8).

L is a Monte Carlo estimate on a fixed sample (common random numbers: the same draws for every
polytope, norm and bias), minimised over (r^2, b) with L-BFGS.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from scipy.optimize import minimize

SAMPLES = 1 << 21  # Monte Carlo draws of (x_1, ..., x_k); standard error ~0.05% of L


def polygon(k: int) -> np.ndarray:
    """Regular k-gon of unit vectors in the plane, (k, 2)."""
    angle = 2 * np.pi * np.arange(k) / k
    return np.stack([np.cos(angle), np.sin(angle)], -1)


def _square_antiprism() -> np.ndarray:
    angle = np.pi / 2 * np.arange(8) + np.repeat([0, np.pi / 4], 4)
    height = np.repeat([1.0, -1.0], 4) / np.sqrt(2)
    return np.stack([np.cos(angle), np.sin(angle), height], -1) * np.sqrt(2 / 3)


def _tetrahedron() -> np.ndarray:
    return np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]]) / np.sqrt(3)


POLYTOPES = {  # name -> (unit feature directions (k, d), fraction label d/k)
    "dedicated": (np.ones((1, 1)), "1"),
    "tetrahedron": (_tetrahedron(), "3/4"),
    "triangle": (polygon(3), "2/3"),
    "digon": (polygon(2)[:, :1], "1/2"),
    "pentagon": (polygon(5), "2/5"),
    "square antiprism": (_square_antiprism(), "3/8"),
}


@functools.lru_cache(maxsize=8)
def _draws(k: int, seed: int) -> tuple[jax.Array, jax.Array]:
    """Uniform magnitudes (SAMPLES, k) and uniforms (SAMPLES, k) that decide activity; the
    first k' columns are the same for every k >= k' (common random numbers)."""
    rng = np.random.default_rng(seed)
    magnitude, uniform = rng.random((2, SAMPLES, 8), dtype=np.float32)
    return jnp.asarray(magnitude[:, :k]), jnp.asarray(uniform[:, :k])


@jax.jit
def _feature_loss(scale_bias, cos_row, magnitude, uniform, p):
    x = jnp.where(uniform < p, magnitude, 0.0)  # (sample, k): feature 1 first
    pre = scale_bias[0] * (x @ cos_row) + scale_bias[1]
    return jnp.mean((x[:, 0] - jax.nn.relu(pre)) ** 2)


_loss_and_grad = jax.jit(jax.value_and_grad(_feature_loss))


def feature_loss(name: str, p: float, scale: float, bias: float, seed: int = 0) -> float:
    """L(r, b) above for one feature of polytope `name` at density p, with r^2 = scale."""
    directions, _ = POLYTOPES[name]
    magnitude, uniform = _draws(len(directions), seed)
    cos_row = jnp.asarray(directions @ directions[0], jnp.float32)
    return float(_feature_loss(jnp.array([scale, bias], jnp.float32), cos_row, magnitude,
                               uniform, jnp.float32(p)))


@functools.lru_cache(maxsize=256)
def optimal_feature_loss(name: str, p: float, seed: int = 0) -> dict[str, float]:
    """min over (r^2, b) of L for polytope `name` at density p.

    Returns:
      {"loss": min L, "scale": r^2, "bias": b} (the dedicated feature's optimum is r = 1, b = 0
      with loss 0); cached per (name, p, seed), so treat it as read-only.
    """
    directions, _ = POLYTOPES[name]
    magnitude, uniform = _draws(len(directions), seed)
    cos_row = jnp.asarray(directions @ directions[0], jnp.float32)
    args = (cos_row, magnitude, uniform, jnp.float32(p))

    def objective(v):
        value, grad = _loss_and_grad(jnp.asarray(v, jnp.float32), *args)
        return float(value), np.asarray(grad, np.float64)

    best = min((minimize(objective, start, jac=True, method="L-BFGS-B",
                         bounds=[(0.0, 4.0), (-2.0, 1.0)])
                for start in ([1.0, 0.0], [1.0, -0.3])), key=lambda r: r.fun)
    return {"loss": float(best.fun), "scale": float(best.x[0]), "bias": float(best.x[1])}


def unrepresented_loss(p: float) -> float:
    """V = Var(x_i) = p/3 - p^2/4: the loss of a feature left out (output its mean, bias p/2)."""
    return p / 3 - p**2 / 4


def gain_per_dimension(name: str, p: float, seed: int = 0) -> float:
    """k (V - min L) / d: loss removed per hidden dimension by a polytope of this kind,
    against leaving its features out."""
    directions, _ = POLYTOPES[name]
    k, d = directions.shape
    return k * (unrepresented_loss(p) - optimal_feature_loss(name, p, seed)["loss"]) / d


def best_polytope(p: float, names=tuple(POLYTOPES), seed: int = 0) -> tuple[str, dict]:
    """The polytope with the largest gain per dimension at density p, and every gain."""
    gains = {name: gain_per_dimension(name, p, seed) for name in names}
    return max(gains, key=gains.get), gains
