"""TMS section 5 ("the geometry of superposition"): dimensions per feature, feature
dimensionalities and the polytopes features form, with uniform importance.

Published: n=400, m=30 (paper; the released notebook uses n=200, m=20), importance 1, relu_output,
densities log-spaced from 1 down to 1/20 or lower; AdamW lr 1e-3, weight decay 0.01, batch 1024,
10,000 steps. D* = m / ||W||_F^2 against 1/(1-S) is "sticky" at 1 and 1/2; the D_i cluster on
1, 3/4 (tetrahedron), 2/3 (triangle), 1/2 (digon), 2/5 (pentagon), 3/8 (square antiprism).

Chosen here: densities log-spaced from 1 to 1/20 (paper: 40 points, both sizes; quick: n=100,
m=10, 16 points, 5,000 steps, a scaled-down setting); one model per density, as in the notebook.
Clusters are measured as enrichment: features with |D_i - f| < 0.01 against those 0.01-0.03 away
on either side (same total width); a plateau of D* near 1/2 is the span of 1/(1-S) over which
|D* - 1/2| < 0.05. Polytopes are named by `toysuper.analysis.polytopes`.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from toysuper.analysis import dimensions_per_feature, feature_dimensionality
from toysuper.analysis.polytopes import cosines, feature_labels, polytopes
from toysuper.config import ModelConfig, TrainConfig
from toysuper.experiments.base import Claim, Experiment, rounded
from toysuper.plotting.geometry import plot_dimensionality, plot_feature_graphs
from toysuper.results import Result
from toysuper.sweep import Sweep

SIZES = {"quick": ((100, 10),), "paper": ((400, 30), (200, 20))}
POINTS = {"quick": 16, "paper": 40}
STEPS = {"quick": 5000, "paper": 10_000}
FRACTIONS = {"1": 1.0, "3/4": 3 / 4, "2/3": 2 / 3, "1/2": 1 / 2, "2/5": 2 / 5, "3/8": 3 / 8}
BAND = 0.01  # half-width of the band around each fraction
ENRICHED = 2.0  # a cluster: at least this many times the density of the side bands
MIN_CLUSTER = 3  # and at least this many features in the band
PLATEAU_TOL, PLATEAU_SPAN = 0.05, 1.5  # |D* - 1/2| < tol over a factor >= span in 1/(1-S)


def part_name(n: int, m: int) -> str:
    return f"n{n}_m{m}"


def sweep(fidelity: str, root_seed: int = 0) -> dict[str, Sweep]:
    return {
        part_name(n, m): Sweep(
            ModelConfig(n, m, "relu_output"),
            TrainConfig(steps=STEPS[fidelity], batch_size=1024, log_every=100),
            axes={"feature_probability": np.geomspace(1, 1 / 20, POINTS[fidelity])},
            fixed={"importance": 1.0, "lr": 1e-3, "weight_decay": 0.01, "seed": 0},
            root_seed=root_seed)
        for n, m in SIZES[fidelity]
    }


def enrichment(D: np.ndarray, fraction: float, band: float = BAND) -> dict:
    """Features within `band` of `fraction` against those 1-3 bands away, per unit width
    (enrichment None when the side bands are empty)."""
    centre = int(np.sum(np.abs(D - fraction) < band))
    below = int(np.sum((D > fraction - 3 * band) & (D <= fraction - band)))
    above = int(np.sum((D >= fraction + band) & (D < fraction + 3 * band)))
    sides = [below] if fraction >= 1 else [below, above]  # D_i <= 1: nothing above 1
    side_density = sum(sides) / (2 * band * len(sides))
    ratio = rounded(centre / (2 * band) / side_density, 2) if side_density else None
    return {"centre": centre, "side": sum(sides), "enrichment": ratio}


def is_cluster(counts: dict) -> bool:
    """At least MIN_CLUSTER features in the band, and ENRICHED times the side bands' density."""
    return counts["centre"] >= MIN_CLUSTER and (counts["enrichment"] is None
                                                or counts["enrichment"] >= ENRICHED)


def plateau_span(p: np.ndarray, dstar: np.ndarray, level: float = 0.5,
                 tol: float = PLATEAU_TOL) -> float:
    """The largest factor in 1/(1-S) over which consecutive grid points have |D* - level| < tol
    (1.0 when no point does)."""
    inside = np.abs(dstar - level) < tol
    best, start = 1.0, None
    for k in range(len(p) + 1):
        if k < len(p) and inside[k]:
            start = k if start is None else start
        elif start is not None:
            best = max(best, float(p[start] / p[k - 1]))
            start = None
    return best


def summarise(result: Result) -> dict:
    ds = result.dataset
    W = ds["W"].values  # (density, feature, hidden)
    groups = [polytopes(w) for w in W]
    return {"p": ds["feature_probability"].values, "W": W,
            "D": np.asarray(feature_dimensionality(W)),
            "dstar": np.asarray(dimensions_per_feature(W)),
            "groups": groups, "labels": [feature_labels(g, W.shape[1]) for g in groups],
            "cos": np.stack([cosines(w) for w in W]), "m": W.shape[-1]}


def analyse(results: dict[str, Result]) -> tuple[dict, list[Claim], dict]:
    data = {part: summarise(r) for part, r in results.items()}
    per_part, dense_ok, plateau_ok, bound_ok = {}, [], [], []
    all_D = np.concatenate([d["D"].ravel() for d in data.values()])
    clusters = {name: enrichment(all_D, f) for name, f in FRACTIONS.items()}
    for part, d in data.items():
        dense = int(np.argmax(d["p"]))
        span = plateau_span(d["p"], d["dstar"])
        sums = d["D"].sum(-1)
        dense_ok.append(abs(d["dstar"][dense] - 1) < 0.1)
        plateau_ok.append(span >= PLATEAU_SPAN)
        bound_ok.append(bool(np.all(sums <= d["m"] + 1e-3)))
        per_part[part] = {
            "feature_probability": rounded(d["p"], 4),
            "dimensions_per_feature": rounded(d["dstar"]),
            "sum_D": rounded(sums),
            "plateau_half_span": rounded(span, 2),
            "polytopes": [dict(Counter(g.name for g in groups)) for groups in d["groups"]],
        }
    enriched = {name: is_cluster(c) for name, c in clusters.items()}
    others = [name for name in FRACTIONS if name not in ("1", "1/2")]
    claims = [
        Claim("dense_one_dimension_per_feature",
              "Dense features: D* = m / ||W||_F^2 is 1 (one dimension per learned feature).",
              "|D* - 1| < 0.1 at p = 1",
              {part: v["dimensions_per_feature"][0] for part, v in per_part.items()},
              all(dense_ok)),
        Claim("sticky_half",
              "D* sticks at 1/2 (antipodal pairs) over a range of sparsity.",
              f"|D* - 1/2| < {PLATEAU_TOL} over a factor >= {PLATEAU_SPAN} in 1/(1-S)",
              {part: v["plateau_half_span"] for part, v in per_part.items()}, all(plateau_ok)),
        Claim("dimensionality_clusters",
              "Feature dimensionalities cluster at 1, 3/4, 2/3, 1/2, 2/5 and 3/8 (clusters, not "
              "a majority of points).",
              f">= {MIN_CLUSTER} features and >= {ENRICHED}x the density of the neighbouring "
              "bands at 1 and 1/2 and at two or more of 3/4, 2/3, 2/5, 3/8",
              clusters,
              enriched["1"] and enriched["1/2"] and sum(enriched[k] for k in others) >= 2),
        Claim("sum_dimensionality_bounded",
              "The dimensionalities of all features sum to at most m.",
              "sum_i D_i <= m at every density",
              {part: max(v["sum_D"]) for part, v in per_part.items()}, all(bound_ok)),
    ]
    metrics = {"per_part": per_part, "clusters": clusters, "band": BAND}
    return metrics, claims, data


def figures(data: dict) -> dict:
    out = {"geometry_dimensionality": plot_dimensionality(data, FRACTIONS)}
    first = next(iter(data))
    out["geometry_feature_graphs"] = plot_feature_graphs(data[first], first)
    return out


EXPERIMENT = Experiment(
    name="geometry",
    section="TMS 5",
    description="uniform importance: D* sticky at 1 and 1/2, feature dimensionalities on the "
                "polytope fractions, feature graphs coloured by polytope",
    sweep=sweep,
    analyse=analyse,
    figures=figures,
    choices="densities 1 to 1/20 (40 points paper, 16 quick); quick at n=100, m=10, 5,000 "
            "steps; cluster bands +-0.01 against 0.01-0.03; plateau tolerance 0.05",
)
