"""TMS section 6 ("superposition and correlated features").

Published: relu_output, importance 1. Correlated sets (one draw decides whether the whole set is
active; values independent U[0, 1]) and anticorrelated sets (the set is active with density p,
then exactly one member). With m=2: two sets of two correlated features (n=4) put correlated
features in orthogonal directions; two sets of two anticorrelated features put them antipodal;
three sets of two correlated features (n=6) lie side by side and, as density grows, collapse
onto their principal component (a + b)/sqrt 2: none collapsed at density <= 0.05, one at
0.05-0.15, two at 0.15-0.2, all three at 0.25-0.5. Two sets of ten correlated features in m=10
(n=20) form local orthogonal bases in superposition with each other.

Chosen here (the paper does not state them): densities 0.03 (the m=2 pictures and local bases)
and a 12-point grid from 0.02 to 0.5 for the collapse; 10,000 steps, AdamW lr 1e-3, weight
decay 0.01, batch 1024, the best of k seeds by final training loss (quick: k=4, paper: k=10).
A set has collapsed when both members are kept (norm > 0.25) with cosine > 0.9.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from toysuper.analysis.correlation import across_cosines, collapsed_count, within_cosines
from toysuper.config import TrainConfig
from toysuper.data import FeatureSets
from toysuper.experiments.base import Claim, Experiment, rounded
from toysuper.models import ModelConfig
from toysuper.objectives import FreshBatches
from toysuper.plotting.correlated import plot_collapse, plot_local_bases, plot_pairs
from toysuper.results import Result
from toysuper.sweep import Sweep

PICTURE_DENSITY = 0.03
COLLAPSE_DENSITIES = (0.02, 0.035, 0.05, 0.07, 0.1, 0.13, 0.17, 0.2, 0.25, 0.3, 0.4, 0.5)
PARTS = {  # part -> (feature sets, m, densities)
    "correlated_2x2": ((("correlated", 2), ("correlated", 2)), 2, (PICTURE_DENSITY,)),
    "anticorrelated_2x2": ((("anticorrelated", 2), ("anticorrelated", 2)), 2,
                           (PICTURE_DENSITY,)),
    "correlated_3x2": ((("correlated", 2),) * 3, 2, COLLAPSE_DENSITIES),
    "local_bases": ((("correlated", 10), ("correlated", 10)), 10, (PICTURE_DENSITY,)),
}
ORTHOGONAL_COS, ANTIPODAL_COS = 0.1, -0.95


def paper_collapsed(density: float) -> tuple[int, int]:
    """The paper's range of collapsed sets (of three) at a density: (low, high)."""
    if density <= 0.05:
        return (0, 1) if density == 0.05 else (0, 0)
    if density < 0.15:
        return (1, 1)
    if density <= 0.2:
        return (1, 2) if density == 0.15 else (2, 2)
    if density < 0.25:
        return (2, 3)
    return (3, 3)


@dataclasses.dataclass(frozen=True)
class Fidelity:
    seeds: int


FIDELITY = {"quick": Fidelity(seeds=4), "paper": Fidelity(seeds=10)}


def sweep(fidelity: str, root_seed: int = 0) -> dict[str, Sweep]:
    out = {}
    for part, (sets, m, densities) in PARTS.items():
        feature_sets = FeatureSets(sets)
        out[part] = Sweep(
            ModelConfig(feature_sets.n_features, m, "relu_output"),
            TrainConfig(steps=10_000, batch_size=1024, log_every=100,
                        objective=FreshBatches(feature_sets)),
            axes={"feature_probability": np.asarray(densities, np.float32),
                  "seed": range(FIDELITY[fidelity].seeds)},
            fixed={"importance": 1.0, "lr": 1e-3, "weight_decay": 0.01},
            root_seed=root_seed)
    return out


def analyse(results: dict[str, Result]) -> tuple[dict, list[Claim], dict]:
    best = {part: r.best_over("seed").dataset for part, r in results.items()}
    W = {part: ds["W"].values for part, ds in best.items()}  # (density, n, m)
    sets = {part: r.sweep.train.objective.feature_sets.members() for part, r in results.items()}

    def within(part, k=0):
        return np.concatenate([within_cosines(W[part][k], s) for s in sets[part]])

    corr_within, anti_within = within("correlated_2x2"), within("anticorrelated_2x2")
    corr_across = across_cosines(W["correlated_2x2"][0], sets["correlated_2x2"])
    density = best["correlated_3x2"]["feature_probability"].values
    collapsed = np.array([collapsed_count(w, sets["correlated_3x2"])
                          for w in W["correlated_3x2"]])
    paper_range = np.array([paper_collapsed(p) for p in density])
    in_range = (collapsed >= paper_range[:, 0]) & (collapsed <= paper_range[:, 1])
    side_by_side = within("correlated_3x2", 0)
    local_within = np.abs(within("local_bases"))
    local_across = np.abs(across_cosines(W["local_bases"][0], sets["local_bases"]))

    metrics = {
        "correlated_2x2_within_cos": rounded(corr_within),
        "correlated_2x2_across_cos": rounded(corr_across),
        "anticorrelated_2x2_within_cos": rounded(anti_within),
        "correlated_3x2": {"density": rounded(density), "collapsed_sets": collapsed.tolist(),
                           "paper_range": paper_range.tolist(),
                           "sparsest_within_cos": rounded(side_by_side)},
        "local_bases_mean_abs_cos": {"within_sets": rounded(local_within.mean()),
                                     "across_sets": rounded(local_across.mean())},
    }
    claims = [
        Claim("correlated_orthogonal",
              "Correlated features prefer orthogonal directions (m=2, two sets of two).",
              f"|cos| within each set < {ORTHOGONAL_COS}; the other set's features antipodal",
              {"within_cos": rounded(corr_within), "min_across_cos": rounded(corr_across.min())},
              bool(np.all(np.abs(corr_within) < ORTHOGONAL_COS)
                   and corr_across.min() < ANTIPODAL_COS)),
        Claim("anticorrelated_antipodal",
              "Anticorrelated features prefer antipodal directions (m=2, two sets of two).",
              f"cos within each set < {ANTIPODAL_COS}",
              {"within_cos": rounded(anti_within)}, bool(np.all(anti_within < ANTIPODAL_COS))),
        Claim("correlated_side_by_side",
              "Sets of correlated features that cannot be orthogonal sit side by side (m=2, "
              "three sets of two, sparse).",
              "0 < cos < 0.9 within every set at the sparsest density (neighbours, not "
              "antipodal, not collapsed)",
              {"within_cos": rounded(side_by_side), "density": float(density[0])},
              bool(np.all((side_by_side > 0) & (side_by_side < 0.9)))),
        Claim("collapse_by_density",
              "As density grows, correlated sets collapse onto their principal component: "
              "none at <= 0.05, one at 0.05-0.15, two at 0.15-0.2, all at 0.25-0.5.",
              "collapsed count never falls as density grows, 0 at the sparsest, 3 at the "
              "densest; in the paper's range at most grid points",
              {"collapsed_sets": collapsed.tolist(), "in_paper_range": f"{in_range.sum()}"
               f"/{len(in_range)}"},
              bool(np.all(np.diff(collapsed) >= 0) and collapsed[0] == 0 and collapsed[-1] == 3
                   and in_range.mean() >= 0.75)),
        Claim("local_orthogonal_bases",
              "Two sets of ten correlated features in m=10 form local orthogonal bases, in "
              "superposition with each other.",
              "mean |cos| within sets < 0.05 and at least 3x smaller than across sets",
              metrics["local_bases_mean_abs_cos"],
              bool(local_within.mean() < 0.05 and local_across.mean() > 3 * local_within.mean())),
    ]
    data = {"W": W, "sets": sets, "density": density, "collapsed": collapsed,
            "paper_range": paper_range}
    return metrics, claims, data


def figures(data: dict) -> dict:
    return {"correlated_pairs": plot_pairs(data["W"], data["sets"]),
            "correlated_collapse": plot_collapse(data["W"]["correlated_3x2"],
                                                 data["sets"]["correlated_3x2"], data["density"],
                                                 data["collapsed"], data["paper_range"]),
            "correlated_local_bases": plot_local_bases(data["W"]["local_bases"][0],
                                                       data["sets"]["local_bases"])}


EXPERIMENT = Experiment(
    fidelity=FIDELITY,
    name="correlated",
    section="TMS 6",
    description="correlated features orthogonal, anticorrelated antipodal, collapse onto "
                "principal components, local orthogonal bases",
    sweep=sweep,
    analyse=analyse,
    figures=figures,
    choices="density 0.03 for the pictures and local bases, 12 densities 0.02-0.5 for the "
            "collapse; best of 4 (quick) or 10 (paper) seeds; sets active with density p, "
            "anticorrelated members each p/2",
)
