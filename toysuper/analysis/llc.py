"""The local learning coefficient (LLC) by SGLD (Lau, Furman, Wang, Murfet and Wei 2023; used on
the toy model of superposition by Chen, Lau, Mendel, Wei and Murfet 2023).

At a local minimum w* of a loss L (population or empirical), the LLC lambda(w*) measures how
fast the volume of {w : L(w) - L(w*) < eps} near w* shrinks with eps (lambda = d/2 for a
regular minimum of d parameters, less where the model is singular). It is estimated from the
tempered, localised posterior

    p(w) ~ exp(-n beta L(w) - gamma/2 ||w - w*||^2)

as lambda-hat = n beta (E_w[L(w)] - L(w*)), with n beta = n / log n by default (beta* = 1 /
log n, the inverse temperature of the WBIC), sampled by full-batch SGLD:

    w <- w - eps/2 (n beta grad L(w) + gamma (w - w*)) + N(0, eps).

Every estimate is `jax.vmap`-ed over chains and over points (critical points, trained models)
in one compiled call. `quartic_potential` gives the known answer to calibrate against:
K(w) = sum_i w_i^(2 k_i) has lambda = sum_i 1 / (2 k_i).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from toysuper.validate import is_int, require

WINDOW = 100  # draws per entry of a chain's trace and samples


@dataclasses.dataclass(frozen=True)
class SGLD:
    """Settings of the SGLD estimate of the LLC (each explicit; defaults as Chen et al. 2023's
    estimates along SGD trajectories: eps 1e-3, gamma 1, full batch).

    Attributes:
      step_size: eps, the SGLD step (the noise has variance eps).
      localization: gamma, the strength of the pull towards w*.
      chains: independent chains per point, each started at w*.
      burn_in: steps discarded at the start of each chain.
      draws: steps after burn-in whose loss is averaged, a multiple of `WINDOW`.
      nbeta: n beta; None: n / log n.
    """

    step_size: float = 1e-3
    localization: float = 1.0
    chains: int = 8
    burn_in: int = 1000
    draws: int = 4000
    nbeta: float | None = None

    def __post_init__(self):
        for name in ("step_size", "localization"):
            value = getattr(self, name)
            require(0 < value < np.inf, f"SGLD.{name}", value, "a finite number > 0")
        for name, low in (("chains", 1), ("burn_in", 0)):
            value = getattr(self, name)
            require(is_int(value) and value >= low, f"SGLD.{name}", value,
                    f"an integer >= {low}")
        require(is_int(self.draws) and self.draws >= WINDOW and self.draws % WINDOW == 0,
                "SGLD.draws", self.draws, f"a positive multiple of {WINDOW}")
        require(self.nbeta is None or 0 < self.nbeta < np.inf, "SGLD.nbeta", self.nbeta,
                "None (n / log n) or a finite number > 0")

    def inverse_temperature(self, n: int) -> float:
        """n beta: `nbeta` if given, else n / log n."""
        require(is_int(n) and n >= 2, "n", n, "an integer >= 2 (the sample size)")
        return float(self.nbeta) if self.nbeta is not None else n / np.log(n)


def llc_estimates(key: jax.Array, loss: Callable, points: jax.Array, n: int,
                  sgld: SGLD = SGLD()) -> dict[str, np.ndarray]:
    """LLC estimates at many points at once.

    Args:
      key: PRNG key; point p, chain c uses fold_in(fold_in(key, p), c).
      loss: w (d,) -> () the loss whose LLC is measured (population or empirical).
      points: (P, d) the points w*, flattened parameters.
      n: the sample size the inverse temperature refers to.
      sgld: the sampler's settings.

    Returns:
      llc (P,) lambda-hat over all chains; llc_per_chain (P, chains); loss_at_point (P,);
      trace (P, chains, draws / WINDOW) the chains' mean loss over each WINDOW draws (a chain
      that wanders off, e.g. into a lower-loss phase, shows as a drifting trace); samples
      (P, chains, draws / WINDOW, d) where each chain is at the end of each window, to tell
      which region of parameter space a chain explored (e.g. a phase it fell into).
    """
    points = jnp.asarray(points, jnp.float32)
    nbeta = sgld.inverse_temperature(n)
    eps, gamma = sgld.step_size, sgld.localization
    windows = sgld.draws // WINDOW

    def one_chain(chain_key, w_star):
        value_and_grad = jax.value_and_grad(loss)

        def step(w, step_key):
            value, grad = value_and_grad(w)
            drift = nbeta * grad + gamma * (w - w_star)
            noise = jax.random.normal(step_key, w.shape) * jnp.sqrt(eps)
            return w - eps / 2 * drift + noise, value

        def window(w, window_keys):
            w, values = jax.lax.scan(step, w, window_keys)
            return w, (values.mean(), w)

        keys = jax.random.split(chain_key, sgld.burn_in + sgld.draws)
        w, _ = jax.lax.scan(step, w_star, keys[:sgld.burn_in])
        _, (trace, samples) = jax.lax.scan(
            window, w, keys[sgld.burn_in:].reshape(windows, WINDOW, *keys.shape[1:]))
        return trace, samples

    def one_point(point_key, w_star):
        chain_keys = jax.vmap(lambda c: jax.random.fold_in(point_key, c))(
            jnp.arange(sgld.chains))
        trace, samples = jax.vmap(one_chain, (0, None))(chain_keys, w_star)
        return trace, samples, loss(w_star)

    point_keys = jax.vmap(lambda p: jax.random.fold_in(key, p))(jnp.arange(len(points)))
    trace, samples, at_point = (np.asarray(x) for x in
                                jax.jit(jax.vmap(one_point))(point_keys, points))
    per_chain = nbeta * (trace.mean(-1) - at_point[:, None])
    return {"llc": per_chain.mean(-1), "llc_per_chain": per_chain, "loss_at_point": at_point,
            "trace": trace, "samples": samples}


def quartic_potential(powers) -> tuple[Callable, float]:
    """K(w) = sum_i w_i^(2 k_i) and its learning coefficient sum_i 1 / (2 k_i) (at w = 0).

    Args:
      powers: (d,) the integers k_i >= 1 (k_i = 1 everywhere: a regular minimum, d/2).

    Returns:
      (loss w (d,) -> (), lambda).
    """
    powers = np.asarray(powers)
    require(powers.ndim == 1 and bool(np.all((powers >= 1) & (powers == np.round(powers)))),
            "powers", powers.tolist(), "a list of integers >= 1")
    exponents = jnp.asarray(2 * powers, jnp.float32)

    def potential(w):
        return jnp.sum(w ** exponents)

    return potential, float(np.sum(1 / (2 * powers)))


def free_energy(n, loss, llc, prior=0.0):
    """The asymptotic Bayesian free energy of a phase, F_n ~ n L + lambda log n + prior term
    (Watanabe; Chen et al. 2023, with the prior term ||w*||^2 / 2 of a standard normal prior).
    Broadcasts over arrays."""
    n = np.asarray(n, np.float64)
    return n * np.asarray(loss) + np.asarray(llc) * np.log(n) + np.asarray(prior)


def crossing(low: dict, high: dict, n_max: float = 1e7) -> float:
    """The sample size n > 1 at which the posterior moves from phase `low` (higher loss, lower
    LLC) to phase `high`: where their free energies (`free_energy`) cross; each a dict with
    loss, llc and prior. NaN when `high` never takes over in [2, n_max] (it never wins, or
    it already wins at n = 2)."""
    n = np.geomspace(2, n_max, 200_001)
    gap = free_energy(n, high["loss"], high["llc"], high["prior"]) - free_energy(
        n, low["loss"], low["llc"], low["prior"])
    after = np.flatnonzero((gap[:-1] > 0) & (gap[1:] <= 0))
    if not after.size:
        return float("nan")
    i = after[0]
    return float(n[i] + (n[i + 1] - n[i]) * gap[i] / (gap[i] - gap[i + 1]))
