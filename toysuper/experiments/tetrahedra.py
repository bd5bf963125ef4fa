"""TMS section 5, the dense end of the geometry figure: do tetrahedra (D_i = 3/4) and triangles
(2/3) form where they are the best polytope, and is training as good as the best polytopes?

The paper's scatter of feature dimensionalities has lines at 3/4 (tetrahedron) and 2/3 (triangle)
at low sparsity. Our `geometry` runs never show 3/4. This targeted run settles whether that is our
training or the geometry itself: n=400, m=30, uniform importance (the paper's size), densities
1/(1-S) from 1.05 to 2, trained for the paper's 10,000 steps (quick, one seed) or three times as
long with three seeds (paper fidelity). Beside it, `toysuper.analysis.polytope_losses` gives the
expected loss of tiling the hidden space with each regular polytope (norm and bias optimised):
which polytope is best at each density, by how much, and the loss of the best tiling.

Claims (TMS 5, "features cluster on these lines"): at the densities where the polytope theory
prefers tetrahedra (triangles), at least MIN_CLUSTER represented features of one model lie within
BAND of 3/4 (2/3), enriched against the side windows as in `geometry`. The faithfulness
check: each density's best trained model reaches the best tiling's loss within LOSS_TOL; when it
does and still forms no tetrahedra, the polytope is not what training prefers, and the verdict
is "not reproduced" with that evidence.

Chosen here (the paper gives no densities for its 3/4 points): 1/(1-S) in {1.05, 1.1, 1.2, 1.3,
1.5, 2}; AdamW lr 1e-3, weight decay 0.01, batch 1024 as in `geometry`.

Found (paper fidelity, 2-core CPU): the theory prefers tetrahedra at 1/(1-S) <= 1.2 and triangles
at 1.3-1.5, but there the trained models represent no feature (all norms < 0.45, D* = 1, biases
near 0.03 rather than p/2) and lose 18-30% more than the best tiling; the gap closes to 0.15% at
1/(1-S) = 2, where training finds the theory's antipodal pairs.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from toysuper.analysis import dimensions_per_feature, feature_dimensionality, represented
from toysuper.analysis.clusters import BAND, FRACTIONS, MIN_CLUSTER, enrichment, is_cluster
from toysuper.analysis.polytope_losses import POLYTOPES, best_polytope, unrepresented_loss
from toysuper.analysis.polytopes import feature_labels, polytopes
from toysuper.config import TrainConfig
from toysuper.experiments.base import Claim, Experiment, optional, rounded
from toysuper.models import ModelConfig
from toysuper.plotting.polytope_losses import plot_polytope_preference
from toysuper.results import Result
from toysuper.sweep import Sweep

N_FEATURES, N_HIDDEN = 400, 30
INVERSE_DENSITY = (1.05, 1.1, 1.2, 1.3, 1.5, 2.0)  # 1 / (1 - S)


@dataclasses.dataclass(frozen=True)
class Fidelity:
    steps: int
    seeds: int


FIDELITY = {"quick": Fidelity(steps=10_000, seeds=1), "paper": Fidelity(steps=30_000, seeds=3)}
LOSS_TOL = 0.005  # best trained loss within 0.5% of the best tiling's: training is not the limit
TARGETS = {"tetrahedron": ("3/4", "tetrahedra"), "triangle": ("2/3", "triangles")}


def sweep(fidelity: str, root_seed: int = 0) -> Sweep:
    return Sweep(
        ModelConfig(N_FEATURES, N_HIDDEN, "relu_output"),
        TrainConfig(steps=FIDELITY[fidelity].steps, batch_size=1024, log_every=100),
        axes={"feature_probability": 1 / np.asarray(INVERSE_DENSITY),
              "seed": range(FIDELITY[fidelity].seeds)},
        fixed={"importance": 1.0, "lr": 1e-3, "weight_decay": 0.01},
        root_seed=root_seed,
    )


def theory(p: np.ndarray, n: int = N_FEATURES, m: int = N_HIDDEN) -> dict:
    """Per density: the best polytope, each polytope's gain per dimension, and the loss of
    tiling all m dimensions with the best one (the other features left out)."""
    best, gains = zip(*(best_polytope(float(q)) for q in p), strict=True)
    tiling = [n * unrepresented_loss(float(q)) - m * g[b] for q, b, g in zip(p, best, gains,
                                                                            strict=True)]
    return {"best": list(best), "gains": {name: np.array([g[name] for g in gains])
                                          for name in POLYTOPES},
            "tiling_loss": np.array(tiling)}


def analyse(result: Result) -> tuple[dict, list[Claim], dict]:
    evaluation = result.evaluation_loss().values  # (density, seed)
    ds = result.dataset
    W = ds["W"].values  # (density, seed, feature, hidden)
    p = ds["feature_probability"].values
    D = np.asarray(feature_dimensionality(W))
    rep = np.asarray(represented(W))
    dstar = np.asarray(dimensions_per_feature(W))  # (density, seed)
    th = theory(p)
    counts = [[{name: enrichment(D[k, s][rep[k, s]], FRACTIONS[name])
                for name in ("3/4", "2/3", "1/2")} for s in range(W.shape[1])]
              for k in range(len(p))]
    best_loss = evaluation.min(-1)
    loss_ratio = best_loss / th["tiling_loss"]
    per_density = [{
        "inverse_density": rounded(1 / p[k], 3),
        "theory_best": th["best"][k],
        "theory_gain_per_dimension": {name: rounded(g[k], 5) for name, g in th["gains"].items()},
        "tiling_loss": rounded(th["tiling_loss"][k], 4),
        "best_trained_loss": rounded(best_loss[k], 4),
        "trained_over_tiling": rounded(loss_ratio[k], 4),
        "clusters_per_seed": counts[k],
        "represented_per_seed": rep[k].sum(-1).tolist(),
        "dimensions_per_feature_per_seed": rounded(dstar[k]),
        "largest_norm_per_seed": rounded(np.linalg.norm(W[k], axis=-1).max(-1)),
        "mean_bias_unrepresented": optional(np.mean(ds["b"].values[k][~rep[k]])
                                            if (~rep[k]).any() else None),
        "best_constant_bias": rounded(p[k] / 2),
    } for k in range(len(p))]
    matches = bool(np.all(loss_ratio <= 1 + LOSS_TOL))
    claims = []
    for polytope, (fraction, plural) in TARGETS.items():
        where = [k for k in range(len(p)) if th["best"][k] == polytope]
        found = [bool(is_cluster(c[fraction])) for k in where for c in counts[k]]
        evidence = ""
        if where and matches and not any(found):
            evidence = (f"training reaches the best tiling's loss within {LOSS_TOL:.1%} at every "
                        f"density (trained / tiling {rounded(loss_ratio.max(), 4)} at most), and "
                        f"the {polytope} beats the next polytope by at most "
                        f"{margin(th, polytope, where):.2%} of its gain there")
        claims.append(Claim(
            f"{plural}_form",
            f"TMS 5: feature dimensionalities cluster on the {fraction} line ({plural}) at "
            "low sparsity.",
            f">= {MIN_CLUSTER} represented features of one model within {BAND} of {fraction}, "
            "enriched, "
            f"where the polytope theory prefers {plural}",
            {"theory_prefers_at_inverse_density": rounded(1 / p[where], 3),
             "clusters": [counts[k][s][fraction] for k in where for s in range(W.shape[1])]},
            bool(where) and any(found), evidence))
    claims.append(Claim(
        "training_reaches_the_best_tiling",
        "TMS 5 (a check of our setup): training finds solutions as good as the best tegum "
        "product of regular polytopes.",
        f"best trained evaluation loss <= (1 + {LOSS_TOL}) x the best tiling's loss at every "
        "density",
        rounded(loss_ratio, 4), matches))
    data = {"p": p, "D": D, "represented": rep, "theory": th,
            "labels": [[feature_labels(polytopes(w), len(w)) for w in row] for row in W]}
    return {"per_density": per_density, "loss_tolerance": LOSS_TOL}, claims, data


def margin(th: dict, polytope: str, where: list[int]) -> float:
    """Largest relative lead of `polytope`'s gain over the runner-up at the densities `where`."""
    leads = []
    for k in where:
        gains = sorted((g[k] for g in th["gains"].values()), reverse=True)
        leads.append((gains[0] - gains[1]) / gains[0])
    return max(leads)


def figures(data: dict) -> dict:
    return {"tetrahedra": plot_polytope_preference(data, FRACTIONS)}


EXPERIMENT = Experiment(
    fidelity=FIDELITY,
    name="tetrahedra",
    section="TMS 5",
    description="the dense end of the geometry figure: tetrahedra and triangles against the "
                "exact loss of each polytope, n=400, m=30",
    sweep=sweep,
    analyse=analyse,
    figures=figures,
    choices="1/(1-S) in {1.05, 1.1, 1.2, 1.3, 1.5, 2}; quick: the paper's 10,000 steps, one "
            "seed; paper fidelity: 30,000 steps, three seeds; polytope losses by Monte Carlo "
            "(2^21 common draws); training matches the theory within 0.5% of the loss",
)
