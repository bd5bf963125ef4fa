"""Superposition and neural scaling (Liu, Liu and Gore 2025, "Superposition yields robust neural
scaling"): power-law feature frequencies, which features a model represents, and the exponent
of its loss against width.

Feature i (1-based) is active with probability p_i proportional to i^-alpha, normalised so that
sum_i p_i = E, the expected number of active features (their E = 1). Their data exponent alpha
is 1 + the `alpha` of their code (p_i ~ 1 / i^(1 + alpha)).

Weak superposition: a model represents about m features (those with ||W_i|| > 1/2) and drops
the rest, so its loss is about <v^2> sum over unrepresented i of p_i, which falls as
m^-(alpha - 1). Strong superposition: nearly every feature is represented and the loss falls
as about 1/m, whatever alpha.
"""

from __future__ import annotations

import numpy as np

from toysuper.validate import require

REPRESENTED_NORM = 0.5  # ||W_i|| above which feature i counts as represented (their phi_1/2)


def power_law_frequencies(n_features: int, alpha: float, expected_active: float = 1.0
                          ) -> np.ndarray:
    """p_i = E i^-alpha / sum_j j^-alpha, i = 1..n: (n_features,) float32 densities.

    Example:
      >>> power_law_frequencies(1000, 1.5).sum()   # 1.0: one active feature on average
    """
    require(0 < expected_active < np.inf, "expected_active", expected_active, "a number > 0")
    weights = np.arange(1, n_features + 1, dtype=np.float64) ** -float(alpha)
    p = expected_active * weights / weights.sum()
    require(p.max() <= 1, "expected_active", expected_active,
            f"a value that keeps every p_i <= 1 (the most frequent would be {p.max():.3g} at "
            f"alpha={alpha})")
    return p.astype(np.float32)


def represented_fraction(W: np.ndarray, threshold: float = REPRESENTED_NORM) -> np.ndarray:
    """phi: the fraction of features with ||W_i|| > threshold. W (..., n, m) -> (...,)."""
    return np.mean(np.linalg.norm(W, axis=-1) > threshold, axis=-1)


def unrepresented_loss(W: np.ndarray, p: np.ndarray, second_moment: float,
                       threshold: float = REPRESENTED_NORM) -> np.ndarray:
    """The weak-superposition prediction <v^2> sum_{i unrepresented} p_i: the loss of a model
    that reconstructs its represented features perfectly and outputs 0 for the rest.

    Args:
      W: (..., n, m) weights; p: (..., n) densities (broadcast against W's leading axes).
      second_moment: <v^2> of an active feature's magnitude (4/3 for U[0, 2]).

    Returns:
      (...,) the predicted loss summed over features (divide by n for a per-feature mean).
    """
    dropped = np.linalg.norm(W, axis=-1) <= threshold
    return second_moment * np.sum(np.where(dropped, p, 0.0), axis=-1)


def regimes(weight_decay) -> tuple[int, int]:
    """Indices of the strong-superposition (most negative) and weak-superposition (smallest
    positive) weight decays of a sweep's grid (Liu, Liu and Gore: -1 and about 0.1)."""
    wd = np.asarray(weight_decay, np.float64)
    require(bool((wd < 0).any() and (wd > 0).any()), "weight_decay", wd.tolist(),
            "a grid with a negative value (strong superposition) and a positive one (weak)")
    return int(np.argmin(wd)), int(np.argmin(np.where(wd > 0, wd, np.inf)))


def loss_exponent(widths, losses) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares fit of log L = log A - alpha_m log m over the widths.

    Args:
      widths: (k,) hidden sizes m; losses: (..., k) losses at those widths.

    Returns:
      alpha_m (...,) the exponent (positive when the loss falls with width), and r2 (...,)
      the fit's coefficient of determination in log-log space (NaN where a loss is not
      positive and finite).
    """
    x = np.log(np.asarray(widths, np.float64))
    y = np.log(np.where(np.asarray(losses) > 0, losses, np.nan))
    xc = x - x.mean()
    slope = np.sum(xc * (y - y.mean(-1, keepdims=True)), -1) / np.sum(xc**2)
    fitted = y.mean(-1, keepdims=True) + slope[..., None] * xc
    residual = np.sum((y - fitted) ** 2, -1)
    total = np.sum((y - y.mean(-1, keepdims=True)) ** 2, -1)
    return -slope, 1 - residual / np.where(total > 0, total, np.nan)
