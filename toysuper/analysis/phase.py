"""Phase diagrams of superposition (TMS section 4): classify models, and the theory.

An "extra" feature (the last one, importance r) competes with features of importance 1 for too few
hidden dimensions. Its phase is one of `PHASES`: not learned, given a dedicated dimension, in
superposition antipodal to another feature, or in another superposition (e.g. a triangle).

Theory: each candidate solution is a family of weights W with a fixed zero pattern (e.g. W = [a, -c]
for an antipodal pair) and free biases. Its expected loss is computed without sampling
(`toysuper.objectives.population`) and minimised over the free entries, so the candidates' norms and
biases are optimised, not fixed at the paper's W in {0, +-1}, b = 0: exactly for features alone in
their block (dedicated or dropped), by gradient descent for blocks that share dimensions. The
theoretical phase at (r, p) is the phase of the best candidate after optimisation, classified by the
same function as trained models (so a candidate that collapses into another family is labelled by
what it became).
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array, Float

from toysuper.analysis.geometry import REPRESENTED_NORM
from toysuper.analysis.polytope_losses import polygon
from toysuper.models import TiedParams
from toysuper.objectives.population import population_loss, population_losses

PHASES = ("not learned", "dedicated", "antipodal", "other superposition")
NOT_LEARNED, DEDICATED, ANTIPODAL, OTHER = range(4)
ANTIPODAL_COS = -0.9  # cos(W_extra, W_j) below this: antipodal pair
ORTHOGONAL_COS = 0.2  # |cos| below this with every represented feature: dedicated


EXACT_LOSS_RESOLUTION = {2: 64, 3: 24}  # quadrature points per feature for ranking models


def _norms_and_directions(W) -> tuple[np.ndarray, np.ndarray]:
    """||W_i|| and W_i / ||W_i|| (0 for a zero row), in float64."""
    W = np.asarray(W, np.float64)
    norms = np.linalg.norm(W, axis=-1)
    return norms, W / np.where(norms > 0, norms, 1)[..., None]


def classify_extra(W: Float[Array, "... feature hidden"],
                   threshold: float = REPRESENTED_NORM) -> np.ndarray:
    """The phase (index into `PHASES`) of the last feature of each model; any leading axes."""
    norms, unit = _norms_and_directions(W)
    cos = np.einsum("...h,...jh->...j", unit[..., -1, :], unit[..., :-1, :])
    others = norms[..., :-1] > threshold
    min_cos = np.where(others, cos, np.inf).min(-1)
    max_abs = np.where(others, np.abs(cos), 0.0).max(-1)
    phase = np.where(max_abs < ORTHOGONAL_COS, DEDICATED,
                     np.where(min_cos < ANTIPODAL_COS, ANTIPODAL, OTHER))
    return np.where(norms[..., -1] > threshold, phase, NOT_LEARNED)


def closed_form_losses_2in1(r, p) -> dict[str, np.ndarray]:
    """The paper's closed forms for n=2, m=1 (feature 2 importance r, both at density p), with
    W in {[1, 0], [0, 1], [1, -1]} and the biases not re-optimised (b = 0 on represented
    features, b = p/2, the mean, on a dropped one):

        extra not learned: r (p/3 - p^2/4),  dedicated: p/3 - p^2/4,  antipodal: (1 + r) p^2 / 6.
    """
    r, p = np.asarray(r, float), np.asarray(p, float)
    return {"not learned": r * (p / 3 - p**2 / 4), "dedicated": p / 3 - p**2 / 4,
            "antipodal": (1 + r) * p**2 / 6}


def closed_form_losses_3in2(r, p) -> dict[str, np.ndarray]:
    """The same closed forms for n=3, m=2 (features 1 and 2 of importance 1, the extra feature
    of importance r, all at density p): each candidate is the 2-in-1 pieces side by side in
    orthogonal dimensions, W entries in {0, +-1}, b = 0 on represented features and p/2 on a
    dropped one (`CANDIDATES[(3, 2)]` without the triangle, which the paper gives no form for):

        extra not learned: r (p/3 - p^2/4)
        extra dedicated, one dropped: p/3 - p^2/4
        extra antipodal with another: (1 + r) p^2 / 6
        other two antipodal (extra dedicated): 2 p^2 / 6.
    """
    r, p = np.asarray(r, float), np.asarray(p, float)
    dropped = p / 3 - p**2 / 4
    return {"not learned": r * dropped,
            "dedicated": np.minimum(dropped, np.broadcast_to(p**2 / 3, np.shape(dropped))),
            "antipodal": (1 + r) * p**2 / 6}


CLOSED_FORMS = {(2, 1): closed_form_losses_2in1, (3, 2): closed_form_losses_3in2}


@dataclasses.dataclass(frozen=True)
class Candidate:
    """A candidate solution: W's starting point; its zero entries stay zero."""

    name: str
    W: np.ndarray  # (n_features, n_hidden)


CANDIDATES = {
    (2, 1): (
        Candidate("extra not learned", np.array([[1.0], [0.0]])),
        Candidate("extra dedicated", np.array([[0.0], [1.0]])),
        Candidate("antipodal pair", np.array([[1.0], [-1.0]])),
    ),
    (3, 2): (
        Candidate("extra not learned", np.array([[1.0, 0], [0, 1], [0, 0]])),
        Candidate("extra dedicated, one dropped", np.array([[1.0, 0], [0, 0], [0, 1]])),
        Candidate("extra antipodal with another", np.array([[1.0, 0], [0, 1], [-1, 0]])),
        Candidate("other two antipodal", np.array([[1.0, 0], [-1, 0], [0, 1]])),
        Candidate("triangle", polygon(3)),
    ),
}


@dataclasses.dataclass(frozen=True)
class TheorySettings:
    """How candidates are optimised: Adam with a cosine-decayed learning rate on the population
    loss of each block, at `resolution[k]` quadrature points per feature for a block of k
    features. The final loss is Richardson-extrapolated from resolutions G and 2G,
    (4 L(2G) - L(G)) / 3, which cancels the midpoint rule's O(G^-2) error, so that candidates
    integrated at different resolutions compare fairly."""

    resolution: tuple[int, ...] = (256, 48, 12)
    steps: int = 500
    lr: float = 0.02


def blocks(W0: np.ndarray) -> list[list[int]]:
    """Groups of features that can interact: connected components of "shares a hidden dimension"
    in W0's nonzero pattern. Features in different blocks are independent under the loss."""
    share = (np.abs(W0) > 0).astype(int) @ (np.abs(W0) > 0).T.astype(int) > 0
    groups, seen = [], set()
    for i in range(len(W0)):
        if i in seen:
            continue
        group, frontier = [], [i]
        while frontier:
            j = frontier.pop()
            if j not in seen:
                seen.add(j)
                group.append(j)
                frontier += list(np.flatnonzero(share[j]))
        groups.append(sorted(group))
    return groups


def optimise_block(W0: np.ndarray, feature_probability, importance, resolution: int = 64,
                   steps: int = 500, lr: float = 0.02, b0=None):
    """Minimise the population loss of one block of features over the nonzero entries of W0
    and the biases (Adam, cosine-decayed learning rate), starting from biases b0 (default:
    0 for a represented feature, p/2 for a dropped one).

    Returns:
      (W (k, m), b (k,), Richardson-extrapolated loss ()).
    """
    p = jnp.asarray(feature_probability, jnp.float32)
    importance = jnp.asarray(importance, jnp.float32)
    # Biases are optimised in units of p (b = p * beta): at small p they are O(p), and Adam's
    # first steps (about lr each, whatever the gradient) would otherwise push a dropped
    # feature's bias p/2 below 0, where ReLU(b) has no gradient.
    mask = jnp.asarray(W0 != 0, jnp.float32)
    beta0 = (jnp.where(mask.sum(-1) == 0, 0.5, 0.0) if b0 is None  # dropped: best bias p/2
             else jnp.asarray(b0, jnp.float32) / p)

    def loss(params, resolution=resolution):
        W, beta = params
        return population_loss(TiedParams(W * mask, beta * p), p, importance, "relu_output",
                               resolution)

    opt = optax.adam(optax.cosine_decay_schedule(lr, steps))
    params = (jnp.asarray(W0, jnp.float32), beta0)

    def step(carry, _):
        params, state = carry
        grads = jax.grad(loss)(params)
        updates, state = opt.update(grads, state, params)
        return (optax.apply_updates(params, updates), state), None

    (params, _), _ = jax.lax.scan(step, (params, opt.init(params)), None, length=steps)
    extrapolated = (4 * loss(params, 2 * resolution) - loss(params)) / 3
    return params[0] * mask, params[1] * p, extrapolated


def single_feature_optimum(W0_row: np.ndarray, p, importance):
    """The exact optimum of a feature alone in its block: with a direction of its own it is
    reconstructed perfectly (|W_i| = 1, b_i = 0, loss 0); dropped, its best output is its mean
    (b_i = p/2, loss I (p/3 - p^2/4))."""
    p, importance = np.asarray(p, np.float64), np.asarray(importance, np.float64)
    if np.any(W0_row != 0):
        W = np.broadcast_to(W0_row / np.linalg.norm(W0_row), (*p.shape, len(W0_row)))
        return W, np.zeros_like(p), np.zeros_like(p)
    return (np.zeros((*p.shape, len(W0_row))), p / 2, importance * (p / 3 - p**2 / 4))


def optimise_candidate(W0: np.ndarray, probability: np.ndarray, importance: np.ndarray,
                       settings: TheorySettings = TheorySettings(), batch_size: int = 64):
    """Optimise one candidate's free norms and biases at many points.

    Args:
      W0: (n, m) the candidate; its zero entries stay zero.
      probability, importance: (P, n) each point's densities and importances.

    Returns:
      (W (P, n, m), b (P, n), loss (P,)): the optimised weights and the population loss.
      Independent blocks (`blocks`) are optimised separately: a feature alone takes its exact
      optimum, a larger block is optimised numerically (`optimise_block`) once per distinct
      (p, I) of the block.
    """
    points, n_features = probability.shape
    W = np.zeros((points, n_features, W0.shape[1]))
    b, losses = np.zeros((points, n_features)), np.zeros(points)
    for group in blocks(W0):
        p_g, imp_g = probability[:, group], importance[:, group]
        if len(group) == 1:
            Wg, bg, lg = single_feature_optimum(W0[group[0]], p_g[:, 0], imp_g[:, 0])
            Wg, bg = Wg[:, None], bg[:, None]
        else:
            keys, inverse = np.unique(np.concatenate([p_g, imp_g], 1), axis=0,
                                      return_inverse=True)
            k = len(group)

            def one(key, W0=W0[group], k=k):
                return optimise_block(W0, key[:k], key[k:], settings.resolution[k - 1],
                                      settings.steps, settings.lr)

            Wg, bg, lg = (np.asarray(x)[inverse.ravel()] for x in jax.lax.map(
                one, jnp.asarray(keys), batch_size=batch_size))
        W[:, group] = Wg
        b[:, group] = bg
        losses += lg
    return W, b, losses


def optimise_each(W0: np.ndarray, b0: np.ndarray, probability: np.ndarray,
                  importance: np.ndarray, resolution: int, steps: int = 500, lr: float = 0.02,
                  batch_size: int = 16):
    """`optimise_block` from a different start at each point (e.g. trained models, to polish
    them on the population loss); zero entries of each W0 stay zero.

    Args:
      W0: (P, n, m) starting weights; b0, probability, importance: (P, n).

    Returns:
      (W (P, n, m), b (P, n), loss (P,)).
    """
    def one(args):
        W0, b0, p, importance = args
        return optimise_block(W0, p, importance, resolution, steps, lr, b0)

    out = jax.lax.map(one, tuple(jnp.asarray(x, jnp.float32) for x in
                                 (W0, b0, probability, importance)), batch_size=batch_size)
    return tuple(np.asarray(x) for x in out)


@functools.lru_cache(maxsize=16)
def _theory_grid_cached(n_features, n_hidden, relative_importance, density, settings,
                        batch_size):
    candidates = CANDIDATES[(n_features, n_hidden)]
    rr, pp = np.meshgrid(np.asarray(relative_importance, np.float32),
                         np.asarray(density, np.float32), indexing="ij")
    importance = np.concatenate([np.ones((rr.size, n_features - 1), np.float32),
                                 rr.reshape(-1, 1)], 1)
    probability = np.repeat(pp.reshape(-1, 1), n_features, 1)
    shape = (len(candidates), rr.size)
    W = np.zeros((*shape, n_features, n_hidden))
    b, losses = np.zeros((*shape, n_features)), np.zeros(shape)
    for c, cand in enumerate(candidates):
        W[c], b[c], losses[c] = optimise_candidate(cand.W, probability, importance, settings,
                                                   batch_size)
    grid = rr.shape
    out = {"losses": losses.reshape(-1, *grid), "W": W.reshape(-1, *grid, n_features, n_hidden),
           "b": b.reshape(-1, *grid, n_features)}
    out["best"] = np.argmin(out["losses"], axis=0)
    best_W = np.take_along_axis(out["W"], out["best"][None, ..., None, None], 0)[0]
    out["phase"] = classify_extra(best_W)
    out["names"] = np.array([c.name for c in candidates])
    return out


def theory_grid(n_features: int, n_hidden: int, relative_importance: np.ndarray,
                density: np.ndarray, settings: TheorySettings = TheorySettings(),
                batch_size: int = 64) -> dict[str, np.ndarray]:
    """Optimise every candidate at every (r, p) of a grid; all features share density p.

    Candidates are split into independent blocks (`blocks`); single features take their exact
    optimum, larger blocks are optimised numerically (`optimise_block`). Results are cached in
    the process.

    Returns:
      losses: (candidate, r, p) optimised population losses.
      W: (candidate, r, p, n, m) optimised weights; b: (candidate, r, p, n).
      best: (r, p) index of the best candidate; phase: (r, p) its phase (`PHASES`);
      names: (candidate,) candidate names.
    """
    out = _theory_grid_cached(n_features, n_hidden,
                              tuple(np.asarray(relative_importance, float).tolist()),
                              tuple(np.asarray(density, float).tolist()), settings, batch_size)
    return {k: v.copy() for k, v in out.items()}


def off_boundary(phase: np.ndarray) -> np.ndarray:
    """Grid points whose 8 neighbours (within the grid) all share their phase."""
    padded = np.pad(phase, 1, mode="edge")
    same = np.ones(phase.shape, bool)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            shifted = padded[1 + di: 1 + di + phase.shape[0], 1 + dj: 1 + dj + phase.shape[1]]
            same &= shifted == phase
    return same


def has_superposition(W: Float[Array, "... feature hidden"],
                      threshold: float = REPRESENTED_NORM) -> np.ndarray:
    """Whether any two represented features share a direction (|cos| >= ORTHOGONAL_COS)."""
    norms, unit = _norms_and_directions(W)
    cos = np.abs(np.einsum("...ih,...jh->...ij", unit, unit))
    rep = norms > threshold
    pair = rep[..., :, None] & rep[..., None, :] & ~np.eye(norms.shape[-1], dtype=bool)
    return np.any(pair & (cos >= ORTHOGONAL_COS), axis=(-2, -1))


def onset_density(superposed: np.ndarray, density: np.ndarray) -> float:
    """The density below which a row of models is in superposition: the geometric mean of the
    densest superposed point and its denser neighbour; NaN if none or all are superposed, or if
    superposed points are not all sparser than the others."""
    order = np.argsort(density)[::-1]  # dense to sparse
    superposed, density = np.asarray(superposed)[order], np.asarray(density)[order]
    if not superposed.any() or superposed.all():
        return float("nan")
    first = int(np.argmax(superposed))
    return float(np.sqrt(density[first] * density[first - 1])) if first else float("nan")


def majority_phase(phases: Float[Array, "... seed"], losses: Float[Array, "... seed"],
                   drop_worst: int = 1) -> np.ndarray:
    """The paper's protocol: drop the `drop_worst` highest-loss models, take the most common
    phase of the rest (ties go to the lower phase index)."""
    order = np.argsort(np.where(np.isfinite(losses), losses, np.inf), axis=-1)
    kept = np.take_along_axis(np.asarray(phases), order, -1)[..., : phases.shape[-1] - drop_worst]
    counts = np.stack([(kept == k).sum(-1) for k in range(len(PHASES))], -1)
    return counts.argmax(-1)


def phase_grid(points: int) -> tuple[np.ndarray, np.ndarray]:
    """The phase diagrams' axes: (relative importance r, density p), log-spaced; r = 1 is the
    middle row."""
    return (np.geomspace(0.1, 10, points).astype(np.float32),
            np.geomspace(0.01, 1, points).astype(np.float32))


def diagrams(ds) -> dict[str, np.ndarray]:
    """Empirical phases (paper protocol and best-of-k) and the theory on the grid of a phase
    sweep's Dataset (axes relative_importance, feature_probability, seed)."""
    n, m = ds.sizes["feature"], ds.sizes["hidden"]
    r, p = ds["relative_importance"].values, ds["feature_probability"].values
    W = ds["W"].values  # (r, p, seed, n, m)
    loss = np.where(ds["diverged"].values, np.inf, exact_losses(ds))
    phases = classify_extra(W)
    best = np.argmin(loss, -1)
    superposed = has_superposition(W)
    theory = theory_grid(n, m, r, p)
    best_W = np.take_along_axis(theory["W"], theory["best"][None, ..., None, None], 0)[0]
    return {
        "r": r, "p": p, "phases": phases, "loss": loss,
        "empirical": np.take_along_axis(phases, best[..., None], -1)[..., 0],
        "majority": majority_phase(phases, loss, drop_worst=1),
        "empirical_superposed": np.take_along_axis(superposed, best[..., None], -1)[..., 0],
        "theory": theory["phase"], "theory_superposed": has_superposition(best_W),
        "best_loss": np.take_along_axis(loss, best[..., None], -1)[..., 0],
        "theory_loss": theory["losses"].min(0),
        "off_boundary": off_boundary(theory["phase"]),
    }


def exact_losses(ds) -> np.ndarray:
    """The expected loss of every trained model of a phase sweep, by quadrature. (r, p, seed)."""
    n = ds.sizes["feature"]
    return population_losses(
        ds["W"].values, ds["b"].values,
        ds["feature_probability"].values[None, :, None, None],
        ds["importance"].values[:, None, None, :], resolution=EXACT_LOSS_RESOLUTION[n])
