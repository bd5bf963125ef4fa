"""TMS section 9 ("computation in superposition"): an MLP computing |x| of sparse signed inputs.

Published: h = ReLU(x W), y' = ReLU(h W_out^T + b) (untied, `abs_mlp`), target |x|, active
inputs U[-1, 1]. n=3, m=6 learns ReLU(x) and ReLU(-x), two neurons per feature. n=100, m=40,
I_i = 0.8^i at densities {1, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001}: monosemantic neurons when dense,
more and more polysemantic ones as sparsity grows, and an "asymmetric superposition" motif: one
neuron stores two features with very unequal weights, and an inhibitory neuron cancels the
interference.

Chosen here (the paper publishes no training details for this model): AdamW lr 1e-3, weight
decay 0.01, batch 1024, Xavier-normal W and W_out, b = 0; n=3, m=6 at density 1 with importance 1,
best of 4 seeds; n=100, m=40 three models per density; 10,000 steps (quick: 3,000 at n=3 and
5,000 at n=100). Neurons are read as the paper draws them: each rescaled so its largest |input
weight| is 1 (the output weights scaled inversely, which leaves the function unchanged). A
neuron reads a feature when its rescaled |W_ij| > 0.3 and training moved that weight (farther
than half an init std from its initial value shrunk by the weight decay: with decay this weak,
features the model never uses keep their initial weights). "Monosemantic when dense" asks 90% of
the used neurons to read one feature (the paper states it without a number); "important
features stay monosemantic longest" is a stratified Mann-Whitney rank test over the sparse
densities and the three seeds. The asymmetric
motif is counted when a neuron reads two features whose input weights differ by 2x or more in
magnitude, and another neuron reads the stronger one with an output weight below -0.3 onto the
weaker one's output (it inhibits the weaker feature's output when the stronger one is active).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from toysuper.analysis.neurons import READ_WEIGHT, connections, features_per_neuron
from toysuper.config import TrainConfig
from toysuper.experiments.base import Claim, Experiment, rounded
from toysuper.hyper import decaying_importance
from toysuper.models import ModelConfig
from toysuper.plotting.neurons import plot_neuron_pictures
from toysuper.results import Result
from toysuper.sweep import Sweep
from toysuper.training import init_state, point_key

DENSITIES = (1.0, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001)
DENSE_MONOSEMANTIC = 0.9  # fraction of used neurons that must be monosemantic at p = 1
ASYMMETRY = 2.0  # |w_strong| / |w_weak| at or above which a two-feature neuron is asymmetric
SHOWN_FEATURES = 40  # features drawn in the n=100 figure (the rest are rarely read)
SEEDS = 3  # independent models per density at n=100, pooled by the rank statistic
MOVED = 0.5  # a weight counts only if it moved this many init stds away from its decayed init
RANK_Z = 1.645  # one-sided 5% level of the stratified rank statistic


@dataclasses.dataclass(frozen=True)
class Fidelity:
    steps: dict[str, int]  # part -> steps


FIDELITY = {"quick": Fidelity(steps={"n3_m6": 3000, "n100_m40": 5000}),
            "paper": Fidelity(steps={"n3_m6": 10_000, "n100_m40": 10_000})}


def sweep(fidelity: str, root_seed: int = 0) -> dict[str, Sweep]:
    def train(part):
        return TrainConfig(steps=FIDELITY[fidelity].steps[part], batch_size=1024, log_every=100)

    return {
        "n3_m6": Sweep(ModelConfig(3, 6, "abs_mlp"), train("n3_m6"), axes={"seed": range(4)},
                       fixed={"feature_probability": 1.0, "importance": 1.0, "lr": 1e-3,
                              "weight_decay": 0.01}, root_seed=root_seed),
        "n100_m40": Sweep(ModelConfig(100, 40, "abs_mlp"), train("n100_m40"),
                          axes={"feature_probability": DENSITIES, "seed": range(SEEDS)},
                          fixed={"importance": decaying_importance(100, 0.8), "lr": 1e-3,
                                 "weight_decay": 0.01}, root_seed=root_seed),
    }


def sign_pairs(W: np.ndarray) -> dict:
    """For one small model W (n, m): per feature, how many neurons read it with each sign, and
    whether each used neuron reads a single feature."""
    links = connections(W, signed=True)
    return {"positive": (links & (W > 0)).sum(-1).tolist(),
            "negative": (links & (W < 0)).sum(-1).tolist(),
            "features_per_neuron": features_per_neuron(links).tolist()}


def asymmetric_motifs(W: np.ndarray, W_out: np.ndarray,
                      threshold: float = READ_WEIGHT) -> list[dict]:
    """Asymmetric superposition in one model (W, W_out (n, m)): neurons reading exactly two
    features with input weights |w_strong| >= ASYMMETRY |w_weak|, each with the inhibitory
    neurons that read the strong feature and write W_out < -threshold onto the weak one."""
    links = connections(W, signed=True)
    found = []
    for j in np.flatnonzero(links.sum(0) == 2):
        a, b = np.flatnonzero(links[:, j])
        strong, weak = (a, b) if abs(W[a, j]) >= abs(W[b, j]) else (b, a)
        if abs(W[strong, j]) < ASYMMETRY * abs(W[weak, j]):
            continue
        inhibitors = [int(k) for k in np.flatnonzero(links[strong]) if k != j
                      and W_out[weak, k] < -threshold]
        if inhibitors:
            found.append({"neuron": int(j), "strong": int(strong), "weak": int(weak),
                          "weights": rounded([W[strong, j], W[weak, j]], 2),
                          "inhibitors": inhibitors})
    return found


def initial_weights(result: Result) -> np.ndarray:
    """The input weights W every model of `result` started from (its init depends on its seed
    alone), shaped like the trained W."""
    sweep = result.sweep
    grid = sweep.grid_hyper()
    keys = [point_key(sweep.root_seed, int(seed)) for seed in grid.seed]
    W0 = np.stack([np.asarray(init_state(k, sweep.base, sweep.model, sweep.train).params.W)
                   for k in keys])
    return W0.reshape(result.dataset["W"].shape)


def weight_decay_factor(sweep: Sweep) -> float:
    """What decoupled weight decay alone leaves of a weight after the whole run (constant lr)."""
    base = sweep.base
    return float((1 - float(base.lr) * float(base.weight_decay)) ** sweep.train.steps)


def init_std(sweep: Sweep) -> float:
    """The Xavier-normal std of the input weights."""
    return float(np.sqrt(2 / (sweep.model.n_features + sweep.model.n_hidden)))


def rescaled(W: np.ndarray, W_out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each neuron scaled so its largest |input weight| is 1, as in the paper's figure (its
    footnote): ReLU(a z) = a ReLU(z) for a > 0, so dividing neuron j's input weights by a_j and
    multiplying its output weights by a_j leaves the function unchanged. Shapes (..., n, m)."""
    scale = np.abs(W).max(-2, keepdims=True)
    scale = np.where(scale > 0, scale, 1.0)
    return W / scale, W_out * scale


def moved(W: np.ndarray, W_init: np.ndarray, decay: float, init_std: float) -> np.ndarray:
    """Which weights training moved: farther than MOVED init stds from their initial value
    shrunk by the weight decay alone (a weight no gradient ever reached only decays)."""
    return np.abs(W - decay * W_init) > MOVED * init_std


def neuron_summary(W: np.ndarray, W_out: np.ndarray, used: np.ndarray | None = None) -> dict:
    """One n=100 model: polysemantic neurons, features cleanly held (every neuron reading them
    monosemantic) and the asymmetric motifs, read on the rescaled neurons (`rescaled`), from the
    weights training moved (`used`, default all)."""
    W, W_out = rescaled(W, W_out)
    links = connections(W, signed=True) & (True if used is None else used)
    per_neuron = features_per_neuron(links)
    read = links.any(-1)
    clean = read & ~(links & (per_neuron > 1)).any(-1)
    return {"polysemantic_neurons": int(np.sum(per_neuron > 1)),
            "monosemantic_neurons": int(np.sum(per_neuron == 1)),
            "dead_neurons": int(np.sum(per_neuron == 0)),
            "features_read": int(read.sum()),
            "clean_features": np.flatnonzero(clean).tolist(),
            "mixed_features": np.flatnonzero(read & ~clean).tolist(),
            "asymmetric_motifs": asymmetric_motifs(W, W_out)}


def rank_statistic(clean: list[list[int]], mixed: list[list[int]]) -> dict:
    """Mann-Whitney comparison of feature indices (lower = more important), stratified over the
    models given: U counts the (clean, mixed) pairs in which the clean feature is the more
    important one. Returns the pooled AUC = U / pairs and the z-score of sum U against its null
    mean (no relation between importance and staying monosemantic), from the per-model
    variances n1 n2 (n1 + n2 + 1) / 12."""
    U = mean = var = pairs = 0.0
    for c, m in zip(clean, mixed, strict=True):
        if not c or not m:
            continue
        c, m = np.asarray(c)[:, None], np.asarray(m)[None, :]
        U += float(np.sum(c < m) + 0.5 * np.sum(c == m))
        n1, n2 = c.size, m.size
        mean += n1 * n2 / 2
        var += n1 * n2 * (n1 + n2 + 1) / 12
        pairs += n1 * n2
    if not pairs:
        return {"auc": None, "z": None, "pairs": 0}
    return {"auc": rounded(U / pairs), "z": rounded((U - mean) / np.sqrt(var), 2),
            "pairs": int(pairs)}


def analyse(results: dict[str, Result]) -> tuple[dict, list[Claim], dict]:
    small = results["n3_m6"].best_over("seed").dataset
    pairs = sign_pairs(small["W"].values)
    two_per_feature = (pairs["positive"] == [1, 1, 1] and pairs["negative"] == [1, 1, 1]
                       and pairs["features_per_neuron"] == [1] * 6)

    big_result = results["n100_m40"]
    big = big_result.dataset
    p = big["feature_probability"].values
    W_all, W_out_all = big["W"].values, big["W_out"].values  # (density, seed, n, m)
    used = moved(W_all, initial_weights(big_result), weight_decay_factor(big_result.sweep),
                 init_std(big_result.sweep))
    every = [[neuron_summary(W_all[k, s], W_out_all[k, s], used[k, s])
              for s in range(W_all.shape[1])] for k in range(len(p))]
    summaries = [seeds[0] for seeds in every]  # seed 0 for the figure and the per-model counts
    W, W_out = W_all[:, 0], W_out_all[:, 0]
    dense = summaries[0]
    dense_mono = dense["monosemantic_neurons"] / max(1, W.shape[-1] - dense["dead_neurons"])
    poly = np.array([np.mean([s["polysemantic_neurons"] for s in seeds]) for seeds in every])
    rise = float(np.corrcoef(np.log(1 / p), poly)[0, 1]) if poly.std() > 0 else 0.0
    sparse = p < 1  # the dense models hold every feature cleanly: nothing to rank there
    ranks = rank_statistic([s["clean_features"] for k in np.flatnonzero(sparse) for s in every[k]],
                           [s["mixed_features"] for k in np.flatnonzero(sparse) for s in every[k]])
    per_density_auc = {rounded(p[k], 4): rank_statistic(
        [s["clean_features"] for s in every[k]], [s["mixed_features"] for s in every[k]])["auc"]
        for k in np.flatnonzero(sparse)}
    motif_at = [rounded(p[k], 4) for k, seeds in enumerate(every)
                if any(s["asymmetric_motifs"] for s in seeds)]

    claims = [
        Claim("two_neurons_per_feature",
              "With n=3 features and m=6 neurons the model computes |x| as ReLU(x) + ReLU(-x): two "
              "monosemantic neurons per feature, one of each sign.",
              "each feature read by one positive and one negative neuron, each neuron by one "
              "feature", pairs | {"loss": rounded(small["loss"].values, 5)}, two_per_feature),
        Claim("dense_monosemantic",
              "When dense, every neuron is monosemantic (n=100, m=40).",
              f"p = 1: at least {DENSE_MONOSEMANTIC:.0%} of the used neurons monosemantic",
              {k: dense[k] for k in ("monosemantic_neurons", "polysemantic_neurons",
                                     "dead_neurons")} | {"fraction": rounded(dense_mono)},
              dense_mono >= DENSE_MONOSEMANTIC),
        Claim("polysemantic_rises_with_sparsity",
              "TMS 9: the number of polysemantic neurons rises as sparsity grows.",
              "mean count over seeds rises from p = 1 to p = 0.001 (correlation with log(1/p) "
              "> 0.8)",
              {"polysemantic_neurons": rounded(poly, 2), "correlation": rounded(rise)},
              bool(poly[-1] > poly[0] and rise > 0.8)),
        Claim("important_features_stay_monosemantic",
              "TMS 9: the most important features keep monosemantic neurons longest.",
              f"over the sparse densities and {SEEDS} seeds, features held only by "
              "monosemantic neurons are more important than features touching polysemantic "
              f"ones: stratified Mann-Whitney z > {RANK_Z} (one-sided 5%)",
              ranks | {"auc_per_density": per_density_auc},
              ranks["z"] is not None and ranks["z"] > RANK_Z),
        Claim("asymmetric_superposition",
              "Asymmetric superposition appears: a neuron holds two features with very unequal "
              "weights, and an inhibitory neuron cancels the interference.",
              "found in the sparse models (the paper shows it, without a density)",
              {"densities": motif_at,
               "count": [len(s["asymmetric_motifs"]) for s in summaries]}, bool(motif_at)),
    ]
    metrics = {"n3_m6": pairs, "n100_m40": [{"feature_probability": rounded(p[k], 4), **s,
                                             "loss": rounded(big["loss"].values[k, 0], 5)}
                                            for k, s in enumerate(summaries)],
               "read_weight": READ_WEIGHT, "asymmetry": ASYMMETRY, "moved_init_stds": MOVED}
    titles = [f"{s['polysemantic_neurons']} polysemantic" for s in summaries]
    return metrics, claims, {"W_small": small["W"].values, "W": rescaled(W, W_out)[0], "p": p,
                             "titles": titles}


def figures(data: dict) -> dict:
    return {
        "absolute_value_n3": plot_neuron_pictures(data["W_small"][None], np.ones(1),
                                                  ["best of 4 seeds"], max_features=3),
        "absolute_value_n100": plot_neuron_pictures(data["W"], data["p"], data["titles"],
                                                    max_features=SHOWN_FEATURES),
    }


EXPERIMENT = Experiment(
    fidelity=FIDELITY,
    name="absolute_value",
    section="TMS 9",
    description="an MLP computing |x|: n=3 in m=6 neurons (two per feature) and n=100 in m=40 "
                "over seven densities; polysemantic neurons and asymmetric superposition",
    sweep=sweep,
    analyse=analyse,
    figures=figures,
    choices="AdamW lr 1e-3, wd 0.01, batch 1024, Xavier init (unpublished); n=3 at density 1, "
            "best of 4 seeds; three models per density at n=100; quick 3,000 / 5,000 steps; "
            "neurons rescaled to max |W1| = 1; a neuron reads a feature when the rescaled "
            "|W_ij| > 0.3 and the weight moved > 0.5 init std; dense = 90% monosemantic; "
            "asymmetric motif: 2x weight ratio plus an inhibitory partner; rank test z > 1.645",
)
