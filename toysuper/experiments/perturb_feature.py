"""TMS section 5 ("non-uniform superposition"): perturbing one feature of a pentagon.

Published: n=5, m=2, relu_output, uniform importance 1; four features at density 0.05 form a
regular pentagon; varying the fifth feature's density, the others repel from it when it is denser
and move towards it when it is sparser, and at about 2.5x sparser the pentagon turns into two
digons (the fifth feature dropped), a first-order change. Pentagon points sit slightly off the
unit circle because of a negative bias; the printed ||W_i|| = 1/(1-b_i) would put them inside
it (norms below 1 for b < 0), so we read it as a typo and test b_i < 0, ||W_i|| > 1 and
||W_i||^2 = 1 - b_i, the relation that holds. AdamW lr 1e-3, weight decay 0.01, batch 1024,
10,000 steps (notebook).

Chosen here: the fifth feature's relative density p_5 / 0.05 on a log grid from 1/10 to 10^0.5
(quick: 16 points, 12 seeds; paper: 31 points, 32 seeds; both 10,000 steps). Each point keeps the
model with the lowest exact expected loss (quadrature, not the noisy last training batch). The
two candidate solutions, the pentagon (all five features) and two digons (fifth dropped), are
polished on the exact population loss, each followed across the grid from the nearest trained
model of its kind (`polished`), so the figure shows where their losses cross; the transition is
the zero of their loss difference, interpolated in log density, and it must fall within one grid
cell of where the best trained models change phase (so training, not the polishing alone, shows
it). "About 2.5x" is accepted from 2.0x to 3.1x.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from toysuper.analysis import feature_dimensionality, feature_norms, represented
from toysuper.analysis.phase import optimise_each
from toysuper.analysis.polytopes import polytope_counts, rank
from toysuper.config import TrainConfig
from toysuper.experiments.base import Claim, Experiment, optional, rounded
from toysuper.models import ModelConfig
from toysuper.objectives.population import population_losses
from toysuper.plotting.perturb import plot_perturb_feature
from toysuper.results import Result
from toysuper.sweep import Axis, Sweep

N_FEATURES, N_HIDDEN = 5, 2
BASE_DENSITY = 0.05
PAPER_SPARSER = 2.5  # the paper: two digons once the fifth feature is ~2.5x sparser
ABOUT = 1.25  # "about 2.5x": 2.0-3.1x
PHASES = ("pentagon", "two digons", "other")
EXACT_LOSS_RESOLUTION = 8  # quadrature points per active feature when ranking trained models
THEORY_RESOLUTION, THEORY_STEPS, THEORY_LR = 6, 300, 0.005  # polishing on the population loss


@dataclasses.dataclass(frozen=True)
class Fidelity:
    points: int
    seeds: int
    steps: int


FIDELITY = {"quick": Fidelity(16, 12, 10_000), "paper": Fidelity(31, 32, 10_000)}


def relative_density(points: int) -> np.ndarray:
    """p_5 / 0.05 from 1/10 to 10^0.5, log-spaced; 1 is a grid point when (points - 1) % 3 == 0."""
    return np.logspace(-1, 0.5, points).astype(np.float32)


def probabilities(ratio: np.ndarray) -> np.ndarray:
    """(k, 5) densities: four at 0.05, the fifth at 0.05 x ratio."""
    p = np.full((len(ratio), N_FEATURES), BASE_DENSITY, np.float32)
    p[:, -1] *= ratio
    return p


def sweep(fidelity: str, root_seed: int = 0) -> Sweep:
    f = FIDELITY[fidelity]
    ratio = relative_density(f.points)
    return Sweep(
        ModelConfig(N_FEATURES, N_HIDDEN, "relu_output"),
        TrainConfig(steps=f.steps, batch_size=1024, log_every=100),
        axes=(Axis("relative_density", probabilities(ratio), "feature_probability", ratio),
              Axis("seed", range(f.seeds))),
        fixed={"importance": 1.0, "lr": 1e-3, "weight_decay": 0.01},
        root_seed=root_seed,
    )


def classify(W: np.ndarray) -> int:
    """The phase (index into `PHASES`) of one model W (5, 2)."""
    rep = np.asarray(represented(W))
    if rep.all() and rank(W) == 2:
        return PHASES.index("pentagon")
    if not rep[-1] and polytope_counts(W) == {"digon": 2}:
        return PHASES.index("two digons")
    return PHASES.index("other")


def polished(W: np.ndarray, b: np.ndarray, loss: np.ndarray, phase: np.ndarray,
             p: np.ndarray) -> dict:
    """The optimised loss of the pentagon and of the two-digon solution at every grid point.

    Each solution is polished on the exact population loss (`optimise_each`) starting from the
    lowest-loss trained model of that phase at the nearest grid point that has one (the fifth
    feature held at zero for two digons), so a solution is followed across the grid even where
    training did not find it.

    Args:
      W: (point, seed, 5, 2), b: (point, seed, 5) trained weights; loss, phase: (point, seed);
      p: (point, 5).

    Returns:
      {phase name: {"loss": (point,)}} for the phases that training found somewhere.
    """
    out = {}
    for name in ("pentagon", "two digons"):
        k = PHASES.index(name)
        found = np.flatnonzero((phase == k).any(-1))
        if len(found) == 0:
            continue
        log_p = np.log(p[:, -1])
        source = found[np.argmin(np.abs(log_p[:, None] - log_p[None, found]), -1)]
        seed = np.argmin(np.where(phase[source] == k, loss[source], np.inf), -1)
        W0 = W[source, seed].copy()
        if name == "two digons":
            W0[:, -1] = 0
        _, _, best = optimise_each(W0, b[source, seed], p, np.ones_like(p), THEORY_RESOLUTION,
                                   THEORY_STEPS, THEORY_LR)
        out[name] = {"loss": best}
    return out


def crossing(ratio: np.ndarray, is_digons: np.ndarray) -> float | None:
    """The relative density below which (going sparser from 1) the best solution is two
    digons, from phases on the grid: the geometric mean of the first such grid point and its
    denser neighbour."""
    order = np.argsort(ratio)[::-1]
    ratio, is_digons = ratio[order], is_digons[order]
    start = int(np.argmin(np.abs(np.log(ratio))))  # ratio = 1
    after = np.flatnonzero(is_digons[start:])
    if len(after) == 0 or after[0] == 0:
        return None
    k = start + int(after[0])
    return float(np.sqrt(ratio[k] * ratio[k - 1]))


def loss_crossing(ratio: np.ndarray, pentagon: np.ndarray, digons: np.ndarray) -> float | None:
    """The relative density at which the two solutions' losses are equal, going sparser from
    1: the zero of loss(pentagon) - loss(two digons), linearly interpolated in log density
    between the grid points where its sign changes (None if it never does)."""
    order = np.argsort(ratio)[::-1]
    x, diff = np.log(ratio[order]), (pentagon - digons)[order]
    start = int(np.argmin(np.abs(x)))
    for k in range(start, len(x) - 1):
        if diff[k] <= 0 < diff[k + 1]:
            t = diff[k] / (diff[k] - diff[k + 1])
            return float(np.exp(x[k] + t * (x[k + 1] - x[k])))
    return None


def analyse(result: Result) -> tuple[dict, list[Claim], dict]:
    ds = result.dataset
    ratio = ds["relative_density"].values
    W, b = ds["W"].values, ds["b"].values  # (ratio, seed, 5, 2), (ratio, seed, 5)
    p = ds["feature_probability"].values  # (ratio, 5)
    loss = population_losses(W, b, p[:, None, :], np.ones(N_FEATURES),
                             resolution=EXACT_LOSS_RESOLUTION)
    loss = np.where(ds["diverged"].values, np.inf, loss)
    all_phases = np.array([[classify(w) for w in row] for row in W])
    best = np.argmin(loss, -1)
    rows = np.arange(len(ratio))
    W_best, b_best, phase = W[rows, best], b[rows, best], all_phases[rows, best]
    fine = [population_losses(W_best, b_best, p, np.ones(N_FEATURES), resolution=r)
            for r in (EXACT_LOSS_RESOLUTION, 2 * EXACT_LOSS_RESOLUTION)]
    best_loss = (4 * fine[1] - fine[0]) / 3  # Richardson: the midpoint rule's O(G^-2) removed
    th = polished(W, b, loss, all_phases, p)
    th_digons = (th["two digons"]["loss"] < th["pentagon"]["loss"]
                 if len(th) == 2 else phase == PHASES.index("two digons"))
    cross_empirical = crossing(ratio, phase == PHASES.index("two digons"))
    cross_theory = (loss_crossing(ratio, th["pentagon"]["loss"], th["two digons"]["loss"])
                    if len(th) == 2 else crossing(ratio, th_digons))

    equal = int(np.argmin(np.abs(np.log(ratio))))
    D_equal = np.asarray(feature_dimensionality(W_best[equal]))
    pentagon = phase == PHASES.index("pentagon")
    norms = np.asarray(feature_norms(W_best))[pentagon]
    bias = b_best[pentagon]
    paper_relation = np.abs(norms * (1 - bias) - 1)  # ||W_i|| = 1 / (1 - b_i), as printed
    squared_relation = np.abs(norms**2 + bias - 1)  # ||W_i||^2 = 1 - b_i
    sparser = None if cross_theory is None else 1 / cross_theory
    # the grid phases of the best trained models must put the change in the same grid cell or
    # the next (the grid phase change is a geometric mean of two grid points)
    cell = np.sort(ratio)
    agree = (cross_empirical is not None and cross_theory is not None
             and abs(np.searchsorted(cell, cross_empirical) - np.searchsorted(cell, cross_theory))
             <= 1)

    data = {"ratio": ratio, "W": W_best, "b": b_best, "phase": phase, "phase_names": PHASES,
            "loss": best_loss, "theory": th,
            "crossing_empirical": cross_empirical, "crossing_theory": cross_theory}
    metrics = {
        "relative_density": rounded(ratio, 4),
        "phase": [PHASES[k] for k in phase],
        "best_exact_loss": rounded(data["loss"], 6),
        "theory_loss": {name: rounded(v["loss"], 6) for name, v in th.items()},
        "crossing_relative_density": {"empirical": optional(cross_empirical, 4),
                                      "theory": optional(cross_theory, 4)},
        "pentagon_norm_bias": {
            "paper_relation_mean_abs_error": optional(paper_relation.mean() if len(norms)
                                                      else None, 4),
            "squared_relation_mean_abs_error": optional(squared_relation.mean() if len(norms)
                                                        else None, 4)},
    }
    claims = [
        Claim("pentagon_at_equal_density",
              "With all five features equally dense, they form a regular pentagon.",
              "relative density 1: 5 features, each D_i = 2/5",
              {"phase": PHASES[phase[equal]], "D": rounded(D_equal)},
              bool(phase[equal] == 0 and np.all(np.abs(D_equal - 0.4) < 0.05))),
        Claim("two_digons_when_sparser",
              "TMS 5 (non-uniform superposition): when the fifth feature is about 2.5x sparser "
              "than the others, the pentagon turns into two digons (the fifth feature dropped).",
              f"transition at ~{PAPER_SPARSER}x sparser (accepted: {PAPER_SPARSER / ABOUT:.2f}"
              f"-{PAPER_SPARSER * ABOUT:.2f}x, values that read as 'about 2.5x' rather than "
              "'about 3x' or more)",
              {"times_sparser": optional(sparser),
               "grid_phase_change": optional(1 / cross_empirical if cross_empirical else None),
               "training_and_theory_agree": bool(agree)},
              bool(agree) and abs(np.log(sparser / PAPER_SPARSER)) <= np.log(ABOUT),
              evidence="the polished pentagon and two-digon losses cross where the best trained "
                       "models change phase (within one grid cell)" if agree else ""),
        Claim("pentagon_norm_bias_relation",
              "TMS 5: pentagon points sit slightly off the unit circle because of a negative "
              "bias (printed as ||W_i|| = 1/(1-b_i), which with b_i < 0 gives norms below 1 "
              "and contradicts the sentence: a typo, we test the relation that holds).",
              "pentagon points: every b_i < 0, every ||W_i|| > 1, and mean "
              "| ||W_i||^2 - (1 - b_i) | < 0.05",
              metrics["pentagon_norm_bias"] | {
                  "pentagon_points": int(pentagon.sum()),
                  "max_bias": optional(bias.max() if len(norms) else None, 4),
                  "min_norm": optional(norms.min() if len(norms) else None, 4)},
              bool(len(norms) and np.all(bias < 0) and np.all(norms > 1)
                   and squared_relation.mean() < 0.05)),
    ]
    return metrics, claims, data


def figures(data: dict) -> dict:
    return {"perturb_feature": plot_perturb_feature(data)}


EXPERIMENT = Experiment(
    fidelity=FIDELITY,
    name="perturb_feature",
    section="TMS 5",
    description="a pentagon of five features as the fifth one's density changes: deformation, "
                "then two digons",
    sweep=sweep,
    analyse=analyse,
    figures=figures,
    choices="relative density 1/10 to 10^0.5 (16 points x 12 seeds quick, 31 x 32 paper); best "
            "model by exact expected loss; candidate losses optimised on the population loss",
)
