"""TMS section 7 ("learning dynamics"): feature dimensionality over training.

Published: in the uniform-importance setup, each feature's dimensionality D_i moves between
"energy levels" (1, 1/2, 2/5, ...) in discrete jumps, with drops in the loss; with n=6, m=3 and
two sets of three correlated features, training passes through distinct geometric stages (the
first PCA-like) and ends in an octahedron.

Chosen here (the paper does not state them): the uniform-superposition setup of section 5 with
many features, n=400, m=30, at density 0.4 (1/(1-S) = 2.5, on the digon plateau of D*), with the
parameters recorded every 100 steps over 10,000 steps (`TrainConfig.snapshot_steps`, linearly
spaced so that a level held for several snapshots is held for several hundred steps); the
correlated run at density 0.05 with about 120 log-spaced snapshots; relu_output, importance 1,
AdamW lr 1e-3, weight decay 0.01, batch 1024. The loss at each snapshot is measured on one fixed
batch of 8,192 fresh samples. Seeds: 2 (quick), 10 (paper). Jumps are found by
`toysuper.analysis.dynamics` (a change between two levels each held over >= 6 snapshots, large
against the drift within them); a jump counts as one between energy levels only when it starts
on a level: the move away from a random initial value does not count. The "PCA-like" stage is
measured as the rise of the mean cosine within the correlated sets (features of a set clumping
towards their principal component) above its value at initialisation.
"""

from __future__ import annotations

import dataclasses

import jax
import numpy as np

from toysuper.analysis import feature_dimensionality
from toysuper.analysis.correlation import within_cosines
from toysuper.analysis.dynamics import all_jumps
from toysuper.analysis.polytopes import name_group
from toysuper.config import TrainConfig
from toysuper.data import FeatureSets, sample_sparse_uniform
from toysuper.experiments.base import Claim, Experiment, rounded
from toysuper.models import ModelConfig, TiedParams, weighted_mse
from toysuper.objectives import FreshBatches
from toysuper.plotting.dynamics import plot_jumps, plot_stages
from toysuper.results import Result
from toysuper.sweep import Sweep

STEPS = 10_000
SNAPSHOTS = 120
UNIFORM_SNAPSHOT_EVERY = 100
UNIFORM = (400, 30, 0.4)  # n, m, density
SHOWN_FEATURES = 40  # features drawn in the jumps figure (those that jump first)
OCTAHEDRON_SETS = (("correlated", 3), ("correlated", 3))
OCTAHEDRON_DENSITY = 0.05
EVAL_BATCH = 8192
LEVELS = {"1": 1.0, "3/4": 3 / 4, "2/3": 2 / 3, "1/2": 1 / 2, "2/5": 2 / 5, "3/8": 3 / 8,
          "1/3": 1 / 3}
LEVEL_TOL = 0.02  # narrower than half the gap between neighbouring levels (3/8 and 2/5)
NEAR_JUMP = 2  # snapshots either side of a jump that count as "at" it


@dataclasses.dataclass(frozen=True)
class Fidelity:
    seeds: int


FIDELITY = {"quick": Fidelity(seeds=2), "paper": Fidelity(seeds=10)}


def snapshot_steps(steps: int = STEPS, num: int = SNAPSHOTS) -> tuple[int, ...]:
    """0 and about `num` distinct log-spaced steps from 1 to `steps`."""
    return (0, *sorted({int(s) for s in np.round(np.geomspace(1, steps, num))}))


def sweep(fidelity: str, root_seed: int = 0) -> dict[str, Sweep]:
    n, m, p = UNIFORM
    sets = FeatureSets(OCTAHEDRON_SETS)
    common = {"importance": 1.0, "lr": 1e-3, "weight_decay": 0.01}

    def train(snapshots=None, **kw):
        return TrainConfig(steps=STEPS, batch_size=1024, log_every=100,
                           snapshot_steps=snapshots or snapshot_steps(), **kw)

    seeds = {"seed": range(FIDELITY[fidelity].seeds)}
    return {
        "uniform": Sweep(ModelConfig(n, m, "relu_output"),
                         train(tuple(range(0, STEPS + 1, UNIFORM_SNAPSHOT_EVERY))), axes=seeds,
                         fixed=common | {"feature_probability": p}, root_seed=root_seed),
        "octahedron": Sweep(ModelConfig(sets.n_features, 3, "relu_output"),
                            train(objective=FreshBatches(sets)), axes=seeds,
                            fixed=common | {"feature_probability": OCTAHEDRON_DENSITY},
                            root_seed=root_seed),
    }


def snapshot_losses(W: np.ndarray, b: np.ndarray, density: float, key: jax.Array,
                    batch: int = EVAL_BATCH) -> np.ndarray:
    """The loss of each snapshot (..., snapshot, n, m) on one fixed batch of sparse uniform
    inputs (importance 1). Shape (..., snapshot)."""
    x = sample_sparse_uniform(key, np.full(W.shape[-2], density, np.float32), batch)
    loss = jax.jit(lambda W, b: jax.lax.map(
        lambda wb: weighted_mse(TiedParams(*wb), x, 1.0, "relu_output"), (W, b), batch_size=8))
    flat = loss(W.reshape(-1, *W.shape[-2:]), b.reshape(-1, b.shape[-1]))
    return np.asarray(flat).reshape(W.shape[:-2])


def loss_share_at_jumps(steps: np.ndarray, loss: np.ndarray, jump_steps: list[int]) -> float:
    """How much more of the loss decrease happens near jumps than their share of snapshots:
    (share of the total decrease within `NEAR_JUMP` snapshots of a jump) / (share of snapshot
    intervals there). Above 1: jumps coincide with drops in loss. NaN without jumps."""
    index = np.searchsorted(steps, jump_steps)
    near = np.zeros(len(steps) - 1, bool)  # interval k: from snapshot k to k + 1
    for i in index:
        near[max(0, i - NEAR_JUMP - 1):i + NEAR_JUMP] = True
    drop = np.maximum(-np.diff(loss), 0.0)
    if not near.any() or drop.sum() == 0:
        return float("nan")
    return float(drop[near].sum() / drop.sum() / near.mean())


def on_level(value: float) -> bool:
    return any(abs(value - f) < LEVEL_TOL for f in LEVELS.values())


def analyse(results: dict[str, Result]) -> tuple[dict, list[Claim], dict]:
    uniform, octa = results["uniform"].dataset, results["octahedron"].dataset
    steps = uniform["snapshot"].values
    W_snap, b_snap = uniform["W_snapshots"].values, uniform["b_snapshots"].values
    D = np.asarray(feature_dimensionality(W_snap))  # (seed, snapshot, feature)
    loss = snapshot_losses(W_snap, b_snap, UNIFORM[2], jax.random.key(1))
    jumps = [[j for j in all_jumps(steps, d) if on_level(j.before)] for d in D]
    counts = np.array([len(j) for j in jumps])
    landing = [on_level(j.after) for js in jumps for j in js]
    share = np.array([loss_share_at_jumps(steps, lo, [j.step for j in js])
                      for lo, js in zip(loss, jumps, strict=True)])

    sets = results["octahedron"].sweep.train.objective.feature_sets.members()
    W_oct = octa["W_snapshots"].values  # (seed, snapshot, 6, 3)
    clump = np.array([[np.mean(np.concatenate([within_cosines(w, s) for s in sets]))
                       for w in seed_run] for seed_run in W_oct])  # (seed, snapshot)
    rise = clump.max(-1) - clump[:, 0]
    final = [name_group(w) for w in octa["W"].values]
    n_octahedra = sum(name == "octahedron" for name in final)
    shown = int(np.argmax(rise))  # the seed whose stages are clearest

    metrics = {
        "uniform": {"jumps_per_model": counts.tolist(),
                    "jumps_landing_on_a_level": f"{sum(landing)}/{len(landing)}",
                    "loss_drop_concentration_at_jumps": rounded(share, 2),
                    "first_jumps_seed0": [
                        {"feature": j.feature, "step": j.step, "before": round(j.before, 3),
                         "after": round(j.after, 3)} for j in jumps[0][:10]]},
        "octahedron": {"final_geometry": final, "clumping_rise": rounded(rise),
                       "clumping_peak_step": [int(octa["snapshot"].values[k])
                                              for k in clump.argmax(-1)]},
    }
    claims = [
        Claim("discrete_jumps",
              "TMS 7: feature dimensionalities move between energy levels in discrete jumps.",
              "jumps from a level held over several snapshots in every model; >= 70% of them "
              f"land within {LEVEL_TOL} of a level ({', '.join(LEVELS)})",
              {"jumps_per_model": counts.tolist(),
               "landing_on_level": rounded(np.mean(landing) if landing else 0.0)},
              bool(counts.min() > 0 and landing and np.mean(landing) >= 0.7)),
        Claim("loss_drops_at_jumps",
              "TMS 7: the jumps coincide with drops in the loss.",
              "per model, the share of the loss decrease near jumps is > 1.5x their share of "
              "the training time (median over seeds)",
              {"concentration": rounded(share, 2)},
              bool(np.isfinite(share).any() and np.median(share[np.isfinite(share)]) > 1.5)),
        Claim("octahedron_pca_first",
              "TMS 7: n=6, m=3 with two correlated sets of three: first a PCA-like stage (each "
              "set's "
              "features clump towards their principal component), then an octahedron.",
              "median rise of the within-set cosine >= 0.2; most seeds end in an octahedron",
              {"clumping_rise": rounded(rise), "octahedra": f"{n_octahedra}/{len(final)}"},
              bool(np.median(rise) >= 0.2 and n_octahedra > len(final) / 2)),
    ]
    shown_features = list(dict.fromkeys(j.feature for j in jumps[0]))[:SHOWN_FEATURES]
    data = {"steps": steps, "D": D[0][:, shown_features], "loss": loss[0],
            "jumps": [dataclasses.replace(j, feature=shown_features.index(j.feature))
                      for j in jumps[0] if j.feature in shown_features],
            "octahedron_steps": octa["snapshot"].values, "W_octahedron": W_oct[shown],
            "clump": clump[shown], "sets": sets, "final": final[shown]}
    return metrics, claims, data


def figures(data: dict) -> dict:
    return {"dynamics_jumps": plot_jumps(data["steps"], data["D"], data["loss"], data["jumps"],
                                         LEVELS, log_steps=False),
            "dynamics_octahedron": plot_stages(data["octahedron_steps"], data["W_octahedron"],
                                               data["clump"], data["final"])}


EXPERIMENT = Experiment(
    fidelity=FIDELITY,
    name="dynamics",
    section="TMS 7",
    description="feature dimensionality over training: discrete jumps between energy levels; "
                "n=6, m=3 correlated sets through a PCA-like stage to an octahedron",
    sweep=sweep,
    analyse=analyse,
    figures=figures,
    choices="uniform n=400, m=30 at density 0.4 with a snapshot every 100 steps; correlated "
            "n=6, m=3 at 0.05 with ~120 log-spaced snapshots; 2 (quick) or 10 (paper) seeds; "
            "jumps start on a level; loss on a fixed batch of 8,192",
)
