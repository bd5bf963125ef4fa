"""TMS section 5 ("the geometry of superposition"): dimensions per feature, feature
dimensionalities and the polytopes features form, with uniform importance.

Published: n=400, m=30 (paper; the released notebook uses n=200, m=20), importance 1, relu_output,
densities log-spaced from 1 down to 1/20 or lower; AdamW lr 1e-3, weight decay 0.01, batch 1024,
10,000 steps. D* = m / ||W||_F^2 against 1/(1-S) is "sticky" at 1 and 1/2; the D_i cluster on
1, 3/4 (tetrahedron), 2/3 (triangle), 1/2 (digon), 2/5 (pentagon), 3/8 (square antiprism).

Chosen here: densities log-spaced from 1 to 1/20 (paper: 40 points, both sizes; quick: n=100,
m=10, 16 points, 5,000 steps, a scaled-down setting); one model per density, as in the notebook.
Clusters are measured on represented features (||W_i|| > 0.5) as enrichment: features with
|D_i - f| < 0.005 against the mean of two windows of the same width centred 0.0125 below and
above, which never overlap another fraction's window. A plateau of D* near 1/2 is a run of
densities with |D* - 1/2| < 0.05 spanning a factor >= 1.5 in 1/(1-S) on which D* is flat (mean
slope at most a third of the average). Efficient packing: sum_i D_i >= 0.98 m wherever features
share dimensions (a random frame of n directions in m dimensions gives about m n / (n + m)).
Polytopes are named by `toysuper.analysis.polytopes`.
"""

from __future__ import annotations

import dataclasses
from collections import Counter

import numpy as np

from toysuper.analysis import represented
from toysuper.analysis.clusters import (
    BAND,
    ENRICHED,
    FRACTIONS,
    MIN_CLUSTER,
    SIDE_OFFSET,
    enrichment,
    is_cluster,
)
from toysuper.analysis.polytopes import cosines
from toysuper.analysis.summaries import dimensionality_summary
from toysuper.config import TrainConfig
from toysuper.experiments.base import Claim, Experiment, optional, rounded
from toysuper.models import ModelConfig
from toysuper.plotting.geometry import plot_dimensionality, plot_feature_graphs
from toysuper.results import Result
from toysuper.sweep import Sweep

POLYTOPE_FRACTIONS = ("3/4", "2/3", "2/5", "3/8")  # beside 1/2; the paper sees no line at 1
PLATEAU_TOL, PLATEAU_SPAN = 0.05, 1.5  # |D* - 1/2| < tol over a factor >= span in 1/(1-S)
FLAT = 1 / 3  # on a plateau the slope of D* against log 1/(1-S) is below this share of the mean
PACKED = 0.98  # efficient packing: sum_i D_i >= this share of m (random directions: ~0.9)


@dataclasses.dataclass(frozen=True)
class Fidelity:
    sizes: tuple[tuple[int, int], ...]  # (n, m) of each part
    points: int  # densities
    steps: int


FIDELITY = {"quick": Fidelity(sizes=((100, 10),), points=16, steps=5000),
            "paper": Fidelity(sizes=((400, 30), (200, 20)), points=40, steps=10_000)}


def part_name(n: int, m: int) -> str:
    return f"n{n}_m{m}"


def sweep(fidelity: str, root_seed: int = 0) -> dict[str, Sweep]:
    return {
        part_name(n, m): Sweep(
            ModelConfig(n, m, "relu_output"),
            TrainConfig(steps=FIDELITY[fidelity].steps, batch_size=1024, log_every=100),
            axes={"feature_probability": np.geomspace(1, 1 / 20, FIDELITY[fidelity].points)},
            fixed={"importance": 1.0, "lr": 1e-3, "weight_decay": 0.01, "seed": 0},
            root_seed=root_seed)
        for n, m in FIDELITY[fidelity].sizes
    }


def plateau(p: np.ndarray, dstar: np.ndarray, level: float = 0.5,
            tol: float = PLATEAU_TOL) -> tuple[float, float | None]:
    """The longest run of consecutive grid points with |D* - level| < tol: its span as a factor
    in 1/(1-S) (1.0 when no point is inside), and how flat it is, the mean |slope| of D*
    against log 1/(1-S) inside the run over the mean |slope| across the whole grid (None for
    a run of one point). A sticky plateau is long and flat; a smooth curve that merely crosses
    the level has a flatness near 1.
    """
    x = np.log(1 / np.asarray(p, np.float64))
    slopes = np.abs(np.diff(dstar) / np.diff(x))
    inside = np.abs(dstar - level) < tol
    best, run = (1.0, None), None
    for k in range(len(p) + 1):
        if k < len(p) and inside[k]:
            run = k if run is None else run
        elif run is not None:
            span = float(p[run] / p[k - 1])
            flat = float(slopes[run:k - 1].mean() / slopes.mean()) if k - 1 > run else None
            best = max(best, (span, flat), key=lambda s: s[0])
            run = None
    return best


def sticky(span: float, flatness: float | None) -> bool:
    return span >= PLATEAU_SPAN and flatness is not None and flatness <= FLAT


def packing(D: np.ndarray, m: int, dstar: np.ndarray) -> np.ndarray:
    """sum_i D_i / m at each density where features share dimensions (D* < 1)."""
    return D.sum(-1)[dstar < 0.95] / m


def summarise(result: Result) -> dict:
    W = result.dataset["W"].values  # (density, feature, hidden)
    return dimensionality_summary(result.dataset) | {
        "W": W, "represented": np.asarray(represented(W)),
        "cos": np.stack([cosines(w) for w in W]), "m": W.shape[-1]}


def analyse(results: dict[str, Result]) -> tuple[dict, list[Claim], dict]:
    data = {part: summarise(r) for part, r in results.items()}
    per_part, dense_ok, plateau_ok, packed_ok = {}, [], [], []
    all_D = np.concatenate([d["D"][d["represented"]] for d in data.values()])
    clusters = {name: enrichment(all_D, f) for name, f in FRACTIONS.items()}
    for part, d in data.items():
        dense = int(np.argmax(d["p"]))
        span, flatness = plateau(d["p"], d["dstar"])
        shares = packing(d["D"], d["m"], d["dstar"])
        dense_ok.append(abs(d["dstar"][dense] - 1) < 0.1)
        plateau_ok.append(sticky(span, flatness))
        packed_ok.append(bool(len(shares) and np.all(shares >= PACKED)))
        per_part[part] = {
            "feature_probability": rounded(d["p"], 4),
            "dimensions_per_feature": rounded(d["dstar"]),
            "sum_D": rounded(d["D"].sum(-1)),
            "plateau_half": {"span": rounded(span, 2), "flatness": optional(flatness, 2)},
            "packing_min": optional(shares.min() if len(shares) else None),
            "polytopes": [dict(Counter(g.name for g in groups)) for groups in d["groups"]],
        }
    enriched = {name: is_cluster(c) for name, c in clusters.items()}
    claims = [
        Claim("dense_one_dimension_per_feature",
              "TMS 5: dense features get one dimension each, D* = m / ||W||_F^2 = 1.",
              "|D* - 1| < 0.1 at p = 1",
              {part: v["dimensions_per_feature"][0] for part, v in per_part.items()},
              all(dense_ok)),
        Claim("sticky_half",
              "TMS 5: D* is 'sticky' at 1/2 (antipodal pairs) over a range of sparsity.",
              f"|D* - 1/2| < {PLATEAU_TOL} over a factor >= {PLATEAU_SPAN} in 1/(1-S), with a "
              f"mean slope there <= {FLAT:.2f} of the mean slope over all densities",
              {part: v["plateau_half"] for part, v in per_part.items()}, all(plateau_ok)),
        Claim("dimensionality_clusters",
              "TMS 5: feature dimensionalities cluster at fractions such as 3/4, 2/3, 1/2, 2/5 "
              "and 3/8 (the paper sees no line at 1: dense basis features look like any other "
              "direction).",
              f"represented features: >= {MIN_CLUSTER} within {BAND} of 1/2 and of two or more "
              f"of 3/4, 2/3, 2/5, 3/8, each >= {ENRICHED}x the windows {SIDE_OFFSET} away",
              clusters,
              enriched["1/2"] and sum(enriched[k] for k in POLYTOPE_FRACTIONS) >= 2),
        Claim("efficient_packing",
              "TMS 5: once features share dimensions they pack efficiently: their "
              "dimensionalities sum to about m.",
              f"sum_i D_i >= {PACKED} m at every density with D* < 0.95 (any set of orthogonal "
              "polytopes gives m; random directions about 0.9 m)",
              {part: v["packing_min"] for part, v in per_part.items()}, all(packed_ok)),
    ]
    metrics = {"per_part": per_part, "clusters": clusters, "band": BAND,
               "side_offset": SIDE_OFFSET}
    return metrics, claims, data


def figures(data: dict) -> dict:
    out = {"geometry_dimensionality": plot_dimensionality(data, FRACTIONS)}
    first = next(iter(data))
    out["geometry_feature_graphs"] = plot_feature_graphs(data[first], first)
    return out


EXPERIMENT = Experiment(
    fidelity=FIDELITY,
    name="geometry",
    section="TMS 5",
    description="uniform importance: D* sticky at 1 and 1/2, feature dimensionalities on the "
                "polytope fractions, feature graphs coloured by polytope",
    sweep=sweep,
    analyse=analyse,
    figures=figures,
    choices="densities 1 to 1/20 (40 points paper, 16 quick); quick at n=100, m=10, 5,000 "
            "steps; clusters of represented features in windows +-0.005 against windows "
            "0.0125 away; plateau tolerance 0.05 and flatness 1/3; packing share 0.98",
)
