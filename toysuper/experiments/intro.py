"""TMS section 1 (intro figure): five features in two dimensions, as sparsity grows.

Published (TMS notebook): n=5, m=2, relu_output, I_i = 0.9^i, densities p = 20^-linspace(0, 1, 10),
AdamW lr 1e-3, weight decay 0.01, batch 1024, 10,000 steps.

Chosen here: the notebook trains one model per density; m=2 models often stop in a local minimum
(two antipodal pairs where a pentagon is better), so we train several seeds per density and keep the
lowest final loss (the paper's best-of-k protocol for hard m=2 cases): 8 seeds at quick fidelity,
32 at paper fidelity. Both fidelities train the full 10,000 steps (quick differs only in seeds).
The three claims are checked at the grid densities nearest their sparsity: p = 1 (dense), the
density nearest S = 80% (p = 0.19), and every density with S >= 90% (p <= 0.1).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from toysuper.analysis import dimensions_per_feature, feature_dimensionality, represented
from toysuper.config import TrainConfig
from toysuper.experiments.base import Claim, Experiment, rounded
from toysuper.hyper import decaying_importance, power_space
from toysuper.models import ModelConfig
from toysuper.plotting.intro import plot_intro
from toysuper.results import Result
from toysuper.sweep import Sweep

N_FEATURES, N_HIDDEN = 5, 2
TOLERANCE = 0.05  # |D_i - ideal| allowed for a feature to count as in the ideal polytope


@dataclasses.dataclass(frozen=True)
class Fidelity:
    seeds: int


FIDELITY = {"quick": Fidelity(seeds=8), "paper": Fidelity(seeds=32)}


def sweep(fidelity: str, root_seed: int = 0) -> Sweep:
    return Sweep(
        ModelConfig(N_FEATURES, N_HIDDEN, "relu_output"),
        TrainConfig(steps=10_000, batch_size=1024, log_every=100),
        axes={"feature_probability": power_space(20, 10), "seed": range(FIDELITY[fidelity].seeds)},
        fixed={"importance": decaying_importance(N_FEATURES, 0.9), "lr": 1e-3,
               "weight_decay": 0.01},
        root_seed=root_seed,
    )


def analyse(result: Result) -> tuple[dict, list[Claim], object]:
    best = result.best_over("seed").dataset
    W = best["W"].values  # (density, feature, hidden)
    p = best["feature_probability"].values
    dims = np.asarray(feature_dimensionality(W))
    rep = np.asarray(represented(W))
    per_density = [{
        "feature_probability": rounded(p[k], 4),
        "sparsity": rounded(1 - p[k], 4),
        "represented_features": int(rep[k].sum()),
        "dimensions_per_feature": rounded(dimensions_per_feature(W[k]), 4),
        "feature_dimensionality": rounded(dims[k]),
        "best_seed": int(best["seed"].values[k]),
        "loss": float(best["loss"].values[k]),
    } for k in range(len(p))]

    dense = int(np.argmax(p))
    top2 = rep[dense].tolist() == [True, True, False, False, False]
    claim_dense = Claim(
        "dense_top2_orthogonal",
        "Dense (S=0): the two most important features get orthogonal dimensions, the rest are "
        "dropped.",
        "represented = features {0, 1}, D_0 = D_1 = 1",
        {"sparsity": 0.0, "represented": np.flatnonzero(rep[dense]).tolist(),
         "D": rounded(dims[dense, :2])},
        top2 and bool(np.all(np.abs(dims[dense, :2] - 1) < TOLERANCE)))

    mid = int(np.argmin(np.abs(p - 0.2)))
    mid_dims = dims[mid][rep[mid]]
    claim_pairs = Claim(
        "s80_two_antipodal_pairs",
        "~80% sparsity: four features are represented as two antipodal pairs.",
        "4 represented, each D_i = 1/2",
        {"sparsity": rounded(1 - p[mid]), "represented": int(rep[mid].sum()),
         "D": rounded(mid_dims)},
        int(rep[mid].sum()) == 4 and bool(np.all(np.abs(mid_dims - 0.5) < TOLERANCE)))

    sparse = np.flatnonzero(p <= 0.1 + 1e-6)
    pentagon = [bool(rep[k].all() and np.all(np.abs(dims[k] - 0.4) < TOLERANCE)) for k in sparse]
    claim_pentagon = Claim(
        "s90_pentagon",
        "~90% sparsity or more: all five features are represented as a pentagon.",
        "5 represented, each D_i = 2/5, at every S >= 0.9",
        {"sparsity": rounded(1 - p[sparse]),
         "represented": [int(rep[k].sum()) for k in sparse],
         "mean_D": rounded(dims[sparse].mean(-1))},
        all(pentagon))

    metrics = {"per_density": per_density}
    return metrics, [claim_dense, claim_pairs, claim_pentagon], best


def figures(best) -> dict:
    """The intro figure from the best-of-seeds dataset that `analyse` returns."""
    return {"intro": plot_intro(best)}


EXPERIMENT = Experiment(
    fidelity=FIDELITY,
    name="intro",
    section="TMS 1",
    description="five features in two dimensions: dropped, antipodal pairs, pentagon as sparsity "
                "grows",
    sweep=sweep,
    analyse=analyse,
    figures=figures,
    choices="best of 8 (quick) / 32 (paper) seeds per density; the notebook trains one model",
)
