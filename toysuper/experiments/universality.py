"""Beyond the papers: universality across seeds. How often does training find the same solution?

For each setting and density, many seeds are trained and their final geometries compared up to
rotation and sign of the hidden space and permutations of equally important features
(`toysuper.analysis.universality`). The entropy of the distribution of geometry classes says how
much of what one reads in one trained model carries over to another: 0 bits when every seed
finds the same geometry.

Settings: "uniform", n=6, m=2 with equal importance (every permutation is a symmetry), and
"decaying", the intro model, n=5, m=2, I_i = 0.9^i (no permutation is). relu_output, AdamW lr
1e-3, weight decay 0.01, batch 1024 (TMS). Chosen here: densities log-spaced from 1 to 0.02
(6 quick, 16 paper), 20 seeds quick, 128 paper, 10,000 steps; two models share a
geometry when their Gram matrices differ by less than 10% (relative Frobenius norm) after the
best permutation; models are ranked by their exact expected loss (quadrature).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from toysuper.analysis.polytopes import UNKNOWN
from toysuper.analysis.universality import entropy_bits, geometry_classes, geometry_name
from toysuper.config import TrainConfig
from toysuper.experiments.base import Claim, Experiment, rounded
from toysuper.hyper import decaying_importance
from toysuper.models import ModelConfig
from toysuper.objectives.population import population_losses
from toysuper.plotting.universality import plot_universality
from toysuper.results import Result
from toysuper.sweep import Sweep

SETTINGS = {"uniform": (6, 2, np.ones(6, np.float32)),
            "decaying": (5, 2, decaying_importance(5, 0.9))}
EXACT_LOSS_RESOLUTION = 6
UNIVERSAL_SHARE = 0.8  # share of seeds in one class for "every seed finds it"
FLAT_LOSS = 0.01  # relative spread of the exact loss within which solutions are equivalent
CARRIED_SHARE = 0.5  # "the polytopes carry over": most seeds share one polytope description
SPLIT_SHARE = 0.8  # "seeds split between polytopes": two descriptions hold most seeds


@dataclasses.dataclass(frozen=True)
class Fidelity:
    densities: int
    seeds: int
    steps: int


FIDELITY = {"quick": Fidelity(6, 20, 10_000), "paper": Fidelity(16, 128, 10_000)}


def sweep(fidelity: str, root_seed: int = 0) -> dict[str, Sweep]:
    f = FIDELITY[fidelity]
    density = np.geomspace(1, 0.02, f.densities).astype(np.float32)
    return {name: Sweep(ModelConfig(n, m, "relu_output"),
                        TrainConfig(steps=f.steps, batch_size=1024, log_every=100),
                        axes={"feature_probability": density, "seed": range(f.seeds)},
                        fixed={"importance": importance, "lr": 1e-3, "weight_decay": 0.01},
                        root_seed=root_seed)
            for name, (n, m, importance) in SETTINGS.items()}


def classes_by_density(result: Result) -> dict:
    """Geometry classes of the seeds at every density of one setting.

    Returns:
      density (d,); entropy (d,) bits of the geometry classes (Gram matrices up to symmetry);
      polytope_entropy (d,) bits of the coarser polytope names (`geometry_name`); n_classes
      (d,); labels (d, seed); names: per density the name of each class (its best model's
      polytopes); shares: per density each class's fraction of seeds; best_share (d,) the
      fraction in the lowest-loss class; loss_spread (d,) (max - min) / min of the exact loss;
      polytope_top_share, polytope_top2_share (d,): the seeds' share of the most common
      polytope name, and of the two most common (names with an unnamed group not counted).
    """
    ds = result.dataset
    density, importance = ds["feature_probability"].values, ds["importance"].values
    W, b = ds["W"].values, ds["b"].values  # (density, seed, n, m), (density, seed, n)
    loss = population_losses(W, b, density[:, None, None], importance,
                             resolution=EXACT_LOSS_RESOLUTION)
    loss = np.where(ds["diverged"].values, np.inf, loss)
    out = {"density": density, "entropy": [], "polytope_entropy": [], "n_classes": [],
           "labels": [], "names": [], "shares": [], "best_share": [],
           "polytope_top_share": [], "polytope_top2_share": [],
           "loss_spread": np.ptp(loss, -1) / np.min(loss, -1)}
    for d in range(len(density)):
        labels, reps = geometry_classes(W[d], importance, loss[d])
        shares = np.bincount(labels, minlength=len(reps)) / len(labels)
        out["labels"].append(labels)
        out["names"].append([geometry_name(W[d, r]) for r in reps])
        out["shares"].append(shares)
        out["entropy"].append(entropy_bits(labels))
        polytope_names = [geometry_name(w) for w in W[d]]
        out["polytope_entropy"].append(entropy_bits(np.unique(polytope_names,
                                                              return_inverse=True)[1]))
        named = [name for name in polytope_names if UNKNOWN not in name]
        counts = np.unique(named, return_counts=True)[1] if named else np.zeros(1)
        top = np.sort(counts)[::-1] / len(polytope_names)
        out["polytope_top_share"].append(float(top[0]))
        out["polytope_top2_share"].append(float(top[:2].sum()))
        out["n_classes"].append(len(reps))
        out["best_share"].append(float(shares[0]))
    for key in ("entropy", "polytope_entropy", "n_classes", "labels", "best_share",
                "polytope_top_share", "polytope_top2_share"):
        out[key] = np.asarray(out[key])
    return out


def analyse(results: dict[str, Result]) -> tuple[dict, list[Claim], dict]:
    data = {name: classes_by_density(results[name]) for name in SETTINGS}
    metrics = {name: {"density": rounded(d["density"], 4), "entropy_bits": rounded(d["entropy"]),
                      "polytope_entropy_bits": rounded(d["polytope_entropy"]),
                      "relative_loss_spread": rounded(d["loss_spread"], 4),
                      "n_classes": d["n_classes"].tolist(),
                      "best_geometry_share": rounded(d["best_share"]),
                      "most_common_geometry": [names[int(np.argmax(shares))] for names, shares
                                               in zip(d["names"], d["shares"], strict=True)]}
               for name, d in data.items()}
    dense = {name: int(np.argmax(d["density"])) for name, d in data.items()}
    uniform, decaying = data["uniform"], data["decaying"]
    dense_share = float(np.max(decaying["shares"][dense["decaying"]]))
    dense_classes = int(uniform["n_classes"][dense["uniform"]])
    seeds = len(uniform["labels"][0])
    dense_spread = float(uniform["loss_spread"][dense["uniform"]])
    # the polytopes carry over: most seeds share one polytope description there
    carried = (decaying["density"] < 0.5) & (decaying["polytope_top_share"] >= CARRIED_SHARE)
    gap = float(np.max(decaying["entropy"][carried] - decaying["polytope_entropy"][carried],
                       initial=0.0))
    # a split between polytopes: entropy, but the seeds in two descriptions, not scattered
    split = {name: float(np.max(np.where(
        (d["density"] < 0.5) & (d["polytope_top2_share"] >= SPLIT_SHARE), d["polytope_entropy"],
        0.0))) for name, d in data.items()}
    claims = [
        Claim("dense_distinct_importances_universal",
              "Dense features of distinct importance: every seed finds the same solution (the "
              "most important features dedicated, the rest dropped).",
              f"decaying, density 1: >= {UNIVERSAL_SHARE:.0%} of seeds in one geometry class",
              {"largest_class_share": rounded(dense_share),
               "geometry": decaying["names"][dense["decaying"]][0]},
              dense_share >= UNIVERSAL_SHARE),
        Claim("dense_equal_importances_degenerate",
              "Dense features of equal importance: the solutions form a continuum (any "
              "2-dimensional subspace of the features serves), so seeds differ in geometry but "
              "not in loss.",
              f"uniform, density 1: more than half the seeds in classes of their own, exact "
              f"losses within {FLAT_LOSS:.0%}",
              {"classes": dense_classes, "seeds": seeds,
               "relative_loss_spread": rounded(dense_spread, 4)},
              dense_classes > seeds / 2 and dense_spread < FLAT_LOSS),
        Claim("polytopes_carry_over_arrangements_do_not",
              "In superposition, seeds agree far more on which polytopes form than on which "
              "features share them (distinct importances: the arrangement is not universal).",
              f"decaying, some density < 0.5 where >= {CARRIED_SHARE:.0%} of the seeds share one "
              "polytope description: entropy of the arrangement (Gram classes) exceeds that of "
              "the polytope names by >= 1 bit",
              {"largest_gap_bits": rounded(gap),
               "entropy_bits": rounded(decaying["entropy"]),
               "polytope_entropy_bits": rounded(decaying["polytope_entropy"])},
              gap >= 1),
        Claim("sparse_seeds_split_between_polytopes",
              "Near the transitions into superposition, seeds split between different polytopes "
              "(e.g. a pentagon or two digons).",
              f"polytope-level entropy >= 0.5 bit at some density < 0.5 where the two most "
              f"common descriptions hold >= {SPLIT_SHARE:.0%} of the seeds, in every setting",
              {name: rounded(v) for name, v in split.items()},
              all(v >= 0.5 for v in split.values())),
    ]
    return metrics, claims, data


def figures(data: dict) -> dict:
    return {"universality": plot_universality(data, {name: s[:2] for name, s in SETTINGS.items()})}


EXPERIMENT = Experiment(
    fidelity=FIDELITY,
    name="universality",
    section="Beyond: universality",
    description="how often seeds find the same geometry (up to rotation, sign and symmetric "
                "permutations): entropy over sparsity",
    sweep=sweep,
    analyse=analyse,
    figures=figures,
    choices="n=6, m=2 uniform and n=5, m=2 I=0.9^i; densities 1 to 0.02 (6 quick, 16 paper); "
            "20 seeds quick, 128 paper, 10,000 steps; same geometry below 10% relative "
            "Gram distance; models ranked by exact expected loss",
    extension=True,
)
