"""Henighan et al. 2023, "Superposition, Memorization, and Double Descent".

Published: relu_output models, n=10,000 features of density 1 - S = 0.001, I = 1, each point
rescaled to unit norm, trained full batch on a fixed set of T points; AdamW with weight decay
1e-2, a linear warmup over 2,500 steps to lr 1e-3 then cosine decay to 0, 50,000 steps; several
inits, the lowest training loss kept. m=2 for the pictures, a T x m sweep for the map. Small T:
the hidden vectors of the training points form a T-gon (memorisation); large T: five features
form a pentagon (generalisation); the test loss peaks in between (double descent) near
T(1 - S) ~ 10; ||W||_F and ||b|| peak at small T; more epochs enlarge the bump and weight
decay 1.0 removes it (m=4).

Chosen here: dataset sizes T = 2^(k/2) (rounded) from 4 to 2,048 (quick) or 32,768 (paper);
each sweep part holds the sizes of one power-of-two capacity (sizes below 64 share capacity 64)
so that no model from T = 512 up pays for more than twice its rows (smaller sets share
capacities 64 and 256); at m=2 every size trains on 4 training sequences (dataset seeds 0-3; a
set of T points is the first T of its sequence) and the numbers are averaged over them, as the
paper averages 4 models per size; the map and the ablations use sequence 0. Quick fidelity:
n=1,000 and 1 - S = 0.01 (the scaled-down setting of the replications, the same ~10 active
features per point), 4,000 steps with the warmup scaled to 5% of them (200), 2 inits per set at
m=2; the T x m map at m = 2, 4 only (paper: 1-10) with 1 init for m > 2 (consistent there, as
the paper says); the ablations at m=4: weight decay 1.0 (a traced axis of the m=4 map) and twice
the steps. The test loss is measured
on 10,000 held-out points. The weight-decay ablation keeps the paper's total decay: 1.0 over
50,000 steps is 12.5 over the quick run's 4,000. Claim bands (the paper gives values without
tolerances): data dimensionality within a factor 1.5 of m/T (median) for the sizes the model
memorises; at the largest T the five features of largest D_i lie within 10 degrees of a
regular pentagon, each D_i below 2/5, and hold at least half of the feature dimensionality (the
others' share is reported); the test-loss peak exceeds both ends by >= 0.01 with T(1 - S)
within a factor 2 of 10; the norms peak within a factor 2 of T = 30 (the paper states this in
T, at n=10,000; we keep it in T at the scaled-down setting too, where it may sit elsewhere).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from toysuper.analysis import feature_dimensionality
from toysuper.analysis.memorization import describe, held_out_loss
from toysuper.config import TrainConfig
from toysuper.data import HELD_OUT, SparseBatch, min_max_active
from toysuper.experiments.base import Claim, Experiment, optional, rounded
from toysuper.models import ModelConfig
from toysuper.objectives import FixedDataset
from toysuper.plotting.double_descent import (
    plot_ablations,
    plot_double_descent,
    plot_memorisation_pictures,
    plot_size_by_hidden_map,
)
from toysuper.results import Result
from toysuper.sweep import Sweep

WARMUP_FRACTION = 0.05  # 2,500 of 50,000 steps
SMALLEST_CAPACITY = 64
DATASET_SEEDS = 4  # training sets per size at m=2, averaged (the paper's 4 models per size)
PICTURE_HIDDEN = 2
ABLATION_HIDDEN = 4
PAPER_ABLATION_WEIGHT_DECAY = 1.0  # at 50,000 steps; shorter runs scale it to the same total
ABLATION_STEPS_FACTOR = 2
WEIGHT_DECAY, LR = 1e-2, 1e-3
TEST_POINTS = 10_000
PEAK_MARGIN = 0.01
MEMORISED_RATIO_BAND = 1.5
PENTAGON_SHARE = 0.5  # the five hold most of the feature dimensionality
PENTAGON_ANGLE_TOL = 10.0  # degrees from 72 between neighbouring pentagon directions
REPLICATION_T_TIMES_DENSITY = 10.0
PEAK_FACTOR = 2.0  # "T(1-S) ~ 10": the test-loss peak within a factor 2 (two grid steps)
PAPER_NORM_PEAK_T = 30  # "||W|| and ||b|| peak near T ~ 30": within a factor 2 of it


@dataclasses.dataclass(frozen=True)
class Fidelity:
    n_features: int
    density: float
    steps: int
    largest_size: int
    inits: int
    generalising_inits: int  # where T(1-S) >= 10: the solution is consistent
    map_hidden: tuple[int, ...]  # the size-by-width map's widths, beside m=2 from the main part


FIDELITY = {
    "quick": Fidelity(n_features=1000, density=0.01, steps=4000, largest_size=2048, inits=2,
                      generalising_inits=2, map_hidden=(4,)),
    "paper": Fidelity(n_features=10_000, density=0.001, steps=50_000, largest_size=32_768,
                      inits=5, generalising_inits=5, map_hidden=(1, 3, 4, 5, 6, 8, 10)),
}


def training_set(sweep: Sweep, dataset_seed: int = 0) -> SparseBatch:
    """The fixed training set a sweep trained on (all `capacity` rows; a model of size T used the
    first T), regenerated from its dataset seed exactly as training drew it."""
    objective = sweep.train.objective
    return objective.points(np.asarray(sweep.base.feature_probability)[0],
                            sweep.model.n_features, objective.capacity, dataset_seed)


def held_out_set(sweep: Sweep, size: int, dataset_seed: int = 0) -> SparseBatch:
    """`size` held-out points from the training set's distribution (the test key of the seed)."""
    return sweep.train.objective.points(np.asarray(sweep.base.feature_probability)[0],
                                        sweep.model.n_features, size, dataset_seed, HELD_OUT)


def ablation_weight_decay(fidelity: str) -> float:
    """Weight decay 1.0 over 50,000 steps, scaled so that a shorter run gets the same total
    decay sum_t lr_t wd (the schedule's shape is the same at every length)."""
    return PAPER_ABLATION_WEIGHT_DECAY * FIDELITY["paper"].steps / FIDELITY[fidelity].steps


def dataset_sizes(largest: int) -> np.ndarray:
    """T = round(2^(k/2)) from 4 up to `largest`, without repeats."""
    sizes = np.unique(np.round(2 ** (np.arange(4, 2 * math.log2(largest) + 1) / 2)).astype(int))
    return sizes[sizes <= largest]


def capacity_of(size: int) -> int:
    """The capacity a size is padded to: the next power of two from 512 up, else 64 or 256
    (small sets cost little, so they share a compile at up to 4x padding)."""
    power = 1 << math.ceil(math.log2(size))
    return power if power >= 512 else max(SMALLEST_CAPACITY, 1 << 2 * math.ceil(
        math.log2(power) / 2))


def by_capacity(sizes) -> dict[int, list[int]]:
    """Sizes grouped by `capacity_of`, each group one compiled sweep."""
    groups: dict[int, list[int]] = {}
    for size in sizes:
        groups.setdefault(capacity_of(int(size)), []).append(int(size))
    return groups


def sweep(fidelity: str, root_seed: int = 0) -> dict[str, Sweep]:
    f = FIDELITY[fidelity]
    n, p, steps = f.n_features, f.density, f.steps
    sizes = dataset_sizes(f.largest_size)
    slots = min_max_active(n, p, f.largest_size)  # one K: every set a prefix of one

    def part(m, group_sizes, capacity, axes, steps=steps):
        return Sweep(ModelConfig(n, m, "relu_output"),
                     TrainConfig(steps=steps, log_every=steps // 40, schedule="warmup_cosine",
                                 warmup_steps=int(WARMUP_FRACTION * steps),
                                 objective=FixedDataset(capacity, slots)),
                     axes={"dataset_size": group_sizes, **axes},
                     fixed={"feature_probability": p, "importance": 1.0, "lr": LR,
                            **({} if "weight_decay" in axes else {"weight_decay": WEIGHT_DECAY}),
                            **({} if "dataset_seed" in axes else {"dataset_seed": 0})},
                     root_seed=root_seed)

    parts = {}
    for capacity, group in by_capacity(sizes).items():
        inits = f.inits if min(group) * p < 10 else f.generalising_inits
        parts[f"m{PICTURE_HIDDEN}_T{capacity}"] = part(
            PICTURE_HIDDEN, group, capacity,
            {"dataset_seed": range(DATASET_SEEDS), "seed": range(inits)})
    map_sizes = sizes[np.isclose(np.log2(sizes) % 1, 0)]  # the powers of two
    for m in f.map_hidden:
        axes = ({"weight_decay": [WEIGHT_DECAY, ablation_weight_decay(fidelity)]}
                if m == ABLATION_HIDDEN else {})
        for capacity, group in by_capacity(map_sizes).items():
            parts[f"m{m}_T{capacity}"] = part(m, group, capacity, axes | {"seed": [0]})
    for capacity, group in by_capacity(map_sizes).items():
        parts[f"m{ABLATION_HIDDEN}_long_T{capacity}"] = part(
            ABLATION_HIDDEN, group, capacity, {"seed": [0]}, steps=ABLATION_STEPS_FACTOR * steps)
    return parts


def group(results: dict[str, Result], prefix: str) -> list[Result]:
    """The parts named PREFIX_T{capacity}, in increasing capacity."""
    found = [(int(name.rsplit("_T", 1)[1]), r) for name, r in results.items()
             if name.rsplit("_T", 1)[0] == prefix]
    return [r for _, r in sorted(found, key=lambda pair: pair[0])]


def series(parts: list[Result], held_out: SparseBatch, select: dict | None = None,
           keep_models: bool = False) -> dict:
    """Per dataset size, the best init of the parts (lowest loss on its own training set),
    described; with a `dataset_seed` axis, each training set's best model is described on its
    own set and the numbers are combined over the sets (`average`; the models and pictures are
    the first set's).

    Args:
      parts: results of one model family at increasing capacities.
      held_out: the test points.
      select: extra coordinates to pick (e.g. {"weight_decay": 1.0}).
      keep_models: also return W, b and H per size (for the pictures).
    """
    out: dict[str, list] = {}
    for result in parts:
        best = result.best_over("seed").dataset if "seed" in result.dataset.dims else \
            result.dataset
        if select:
            best = best.sel(select, method="nearest")
        seeds = (best["dataset_seed"].values if "dataset_seed" in best.dims
                 else [int(result.sweep.base.dataset_seed)])
        per_seed = []
        for dataset_seed in seeds:
            one = (best.sel(dataset_seed=dataset_seed) if "dataset_seed" in best.dims
                   else best)
            per_seed.append(describe_sizes(one, training_set(result.sweep, int(dataset_seed)),
                                           held_out, result.sweep.model.kind))
        for k in range(len(per_seed[0])):
            d = average([s[k] for s in per_seed])
            if keep_models:
                d |= {key: per_seed[0][k][key] for key in ("W", "b", "H")}
            d |= {"test_loss_by_dataset": [s[k]["test_loss"] for s in per_seed]}
            for key, value in d.items():
                out.setdefault(key, []).append(value)
    return out


def describe_sizes(best, training: SparseBatch, held_out: SparseBatch, kind: str) -> list[dict]:
    """`describe` each size's model of one training set (best: dims (dataset_size, ...))."""
    test = held_out_loss(best["W"].values, best["b"].values, held_out, kind)
    found = []
    for k, size in enumerate(best["dataset_size"].values):
        model = best.isel(dataset_size=k)
        d = describe(model["W"].values, model["b"].values, training, int(size))
        found.append(d | {"size": int(size), "train_loss": float(model["loss"]),
                          "test_loss": float(test[k]), "W": model["W"].values,
                          "b": model["b"].values})
    return found


def average(described: list[dict]) -> dict:
    """The descriptions of one size on several training sets, combined: the regime most sets
    are in (ties: the first set's), the training points' dimensionalities pooled over the sets
    in that regime, scalars and the top features' dimensionalities averaged over all sets, other
    arrays those of the first set."""
    regimes = [d["regime"] for d in described]
    regime = max(dict.fromkeys(regimes), key=regimes.count)
    out = {}
    for key, value in described[0].items():
        if key in ("W", "b", "H"):
            continue
        if key == "regime":
            out[key] = regime
        elif key == "data_dims":
            out[key] = np.concatenate([d[key] for d in described if d["regime"] == regime])
        elif key == "top_feature_dims":
            out[key] = np.mean([d[key] for d in described], 0)
        elif np.ndim(value) == 0 and not isinstance(value, str) and key != "size":
            out[key] = float(np.mean([d[key] for d in described]))
        else:
            out[key] = value
    return out


def bump(sizes, loss) -> float:
    """Height of the test-loss peak above the loss at the largest size."""
    return float(np.max(loss) - loss[np.argmax(sizes)])


def pentagon_angles(W: np.ndarray, top_k: int = 5) -> np.ndarray:
    """Angles in degrees between neighbouring directions of the `top_k` features of largest
    D_i of one m=2 model W (n, 2), sorted around the circle (72 each for a regular pentagon)."""
    D = np.asarray(feature_dimensionality(W))
    top = np.argsort(D)[::-1][:top_k]
    theta = np.sort(np.degrees(np.arctan2(W[top, 1], W[top, 0])) % 360)
    return np.diff(np.append(theta, theta[0] + 360))


def peak_claim(sizes, loss, density) -> tuple[dict, bool]:
    peak = int(np.argmax(loss))
    interior = 0 < peak < len(loss) - 1
    above = float(min(loss[peak] - loss[0], loss[peak] - loss[-1]))
    t_density = float(sizes[peak] * density)
    band = (REPLICATION_T_TIMES_DENSITY / PEAK_FACTOR, REPLICATION_T_TIMES_DENSITY * PEAK_FACTOR)
    measured = {"T_peak": int(sizes[peak]), "T_peak_times_density": rounded(t_density, 2),
                "peak_test_loss": rounded(loss[peak], 4), "above_both_ends": rounded(above, 4)}
    return measured, bool(interior and above >= PEAK_MARGIN and band[0] <= t_density <= band[1])


def analyse(results: dict[str, Result]) -> tuple[dict, list[Claim], dict]:
    first = next(iter(results.values())).sweep
    n, m = first.model.n_features, PICTURE_HIDDEN
    density = float(np.asarray(first.base.feature_probability)[0])
    points = held_out_set(first, TEST_POINTS)
    main = series(group(results, f"m{m}"), points, keep_models=True)
    sizes = np.array(main["size"])
    test = np.array(main["test_loss"])

    # Memorisation: data dimensionality of each point ~ m/T where the model memorises, at the
    # sizes where a feature is seen at most once on average (T(1-S) <= 1: nothing to generalise).
    memorised = [k for k, r in enumerate(main["regime"]) if r == "memorising"
                 and sizes[k] * density <= 1]
    ratios = {int(sizes[k]): np.quantile(main["data_dims"][k] * sizes[k] / m, [0.25, 0.5, 0.75])
              for k in memorised}
    small = int(np.sum(sizes * density <= 1))
    ratio_ok = len(ratios) == small >= 2 and all(
        1 / MEMORISED_RATIO_BAND <= q[1] <= MEMORISED_RATIO_BAND for q in ratios.values())

    # Generalisation: a pentagon at the largest T, its D_i below 2/5 by what the others take.
    top = np.array(main["top_feature_dims"][-1])
    share = main["top_feature_share"][-1]
    angles = pentagon_angles(main["W"][-1], top_k=5)
    pentagon_ok = bool(share >= PENTAGON_SHARE and np.all(top < 0.4)
                       and np.all(np.abs(angles - 72) <= PENTAGON_ANGLE_TOL))

    peak_measured, peak_ok = peak_claim(sizes, test, density)
    t_peak = peak_measured["T_peak"]
    norm_peaks = {key: int(sizes[np.argmax(main[key])]) for key in ("W_norm", "b_norm")}
    norm_fall = {key: rounded(main[key][-1] / max(main[key]), 3) for key in norm_peaks}
    norms_ok = all(abs(np.log(t / PAPER_NORM_PEAK_T)) <= np.log(PEAK_FACTOR) + 1e-9
                   for t in norm_peaks.values()) and all(f <= 0.5 for f in norm_fall.values())

    # The T x m map and the ablations.
    hidden = sorted({m, *trained_hidden(results)})
    map_sizes = sizes[np.isclose(np.log2(sizes) % 1, 0)]
    loss_map = np.full((len(hidden), len(map_sizes)), np.nan)
    peaks_by_m = {}
    ablation = {}
    for row, h in enumerate(hidden):
        s = main if h == m else series(group(results, f"m{h}"), points,
                                       {"weight_decay": WEIGHT_DECAY} if h == ABLATION_HIDDEN
                                       else None)
        for size, loss in zip(s["size"], s["test_loss"], strict=True):
            if size in map_sizes:
                loss_map[row, list(map_sizes).index(size)] = loss
        peaks_by_m[h] = int(s["size"][int(np.argmax(s["test_loss"]))])
        if h == ABLATION_HIDDEN:
            ablation["weight decay 0.01"] = (np.array(s["size"]), np.array(s["test_loss"]))
    heavy_decay = float(max(group(results, f"m{ABLATION_HIDDEN}")[0].dataset[
        "weight_decay"].values))
    heavy = series(group(results, f"m{ABLATION_HIDDEN}"), points, {"weight_decay": heavy_decay})
    heavy_name = f"weight decay {heavy_decay:g}"
    ablation[heavy_name] = (np.array(heavy["size"]), np.array(heavy["test_loss"]))
    long = series(group(results, f"m{ABLATION_HIDDEN}_long"), points)
    ablation[f"{ABLATION_STEPS_FACTOR}x steps"] = (np.array(long["size"]),
                                                   np.array(long["test_loss"]))
    bumps = {"base": bump(*ablation["weight decay 0.01"]),
             "more_steps": bump(np.array(long["size"]), np.array(long["test_loss"])),
             "weight_decay_1": bump(*ablation[heavy_name])}

    claims = [
        Claim("memorised_points_dim_m_over_T",
              "Henighan et al.: for small T the model memorises: the training points' hidden "
              "vectors form a T-gon, each with data dimensionality m/T.",
              f"median D_t T/m within a factor {MEMORISED_RATIO_BAND} of 1 at every T with "
              "T(1-S) <= 1, each of them memorising (>= 2 sizes)",
              {"quartiles_by_T": {t: rounded(q, 2) for t, q in ratios.items()}}, ratio_ok),
        Claim("pentagon_at_large_T",
              "Henighan et al.: for large T the model generalises: five features form a "
              "pentagon, their D_i notably below 2/5 because of the small share the thousands "
              "of other features take.",
              f"largest T: the five features of largest D_i are {PENTAGON_ANGLE_TOL:g} degrees "
              f"or less from a regular pentagon, each D_i < 2/5, and hold >= {PENTAGON_SHARE} "
              "of the feature dimensionality (the rest: the other features' share)",
              {"T": int(sizes[-1]), "top5_dims": rounded(top, 3), "top5_share": rounded(share),
               "others_share": rounded(1 - share), "neighbour_angles": rounded(angles, 1)},
              pentagon_ok),
        Claim("test_loss_bump",
              "Henighan et al.: the test loss has a local maximum between memorisation and "
              "generalisation (double descent), near T(1-S) ~ 10.",
              f"interior peak >= {PEAK_MARGIN} above both ends, T(1-S) within a factor "
              f"{PEAK_FACTOR:g} of 10",
              peak_measured, peak_ok),
        Claim("norms_peak_at_small_T",
              "Henighan et al.: ||W||_F and ||b|| peak near T ~ 30, then fall and plateau.",
              f"argmax T within a factor {PEAK_FACTOR:g} of {PAPER_NORM_PEAK_T}; largest-T "
              "value <= half the peak",
              {"argmax_T": norm_peaks, "largest_T_over_peak": norm_fall}, norms_ok),
        Claim("more_steps_grow_the_bump",
              "Henighan et al.: training longer enlarges the test-loss bump (m=4).",
              f"bump at {ABLATION_STEPS_FACTOR}x steps > bump at 1x (same sizes)",
              {k: rounded(v, 4) for k, v in bumps.items() if k != "weight_decay_1"},
              bumps["more_steps"] > bumps["base"] and bumps["base"] > 0),
        Claim("weight_decay_removes_the_bump",
              f"Henighan et al.: weight decay {PAPER_ABLATION_WEIGHT_DECAY:g} (over 50,000 "
              "steps) removes the bump (m=4).",
              f"bump < {PEAK_MARGIN} with weight decay {heavy_decay:g} (the paper's total decay "
              f"over this run's steps), while >= {PEAK_MARGIN} at 0.01",
              {k: rounded(v, 4) for k, v in bumps.items() if k != "more_steps"},
              bumps["weight_decay_1"] < PEAK_MARGIN <= bumps["base"]),
    ]
    per_size = [{"T": int(t), "train_loss": rounded(main["train_loss"][k], 4),
                 "test_loss": rounded(test[k], 4), "regime": main["regime"][k],
                 "point_share": rounded(main["point_share"][k]),
                 "top5_feature_share": rounded(main["top_feature_share"][k]),
                 **{key: rounded(main[key][k]) for key in ("W_norm", "b_norm", "h_norm",
                                                           "top_W_norm")}}
                for k, t in enumerate(sizes)]
    metrics = {"n_features": n, "density": density, "per_size": per_size,
               "test_loss_peak_by_hidden": peaks_by_m,
               "test_loss_map": {"hidden": hidden, "sizes": map_sizes.tolist(),
                                 "test_loss": [[optional(v, 4) for v in row] for row in loss_map]},
               "bumps": {k: rounded(v, 4) for k, v in bumps.items()}}
    chosen = sorted({int(sizes[0]), *(int(sizes[k]) for k in memorised[-1:]), t_peak,
                     int(sizes[-1])})
    pictures = [{"size": t, "H": main["H"][k], "W": main["W"][k], "regime": main["regime"][k]}
                for k, t in enumerate(sizes) if t in chosen]
    data = {"sizes": sizes, "main": main, "m": m, "density": density, "pictures": pictures,
            "hidden": hidden, "map_sizes": map_sizes, "loss_map": loss_map, "ablation": ablation}
    return metrics, claims, data


def trained_hidden(results: dict[str, Result]) -> set[int]:
    """The hidden dimensions trained in parts named m{M}_T{capacity}."""
    return {int(name.split("_")[0][1:]) for name in results if name.count("_") == 1}


def figures(data: dict) -> dict:
    return {
        "double_descent": plot_double_descent(data["sizes"], data["main"], data["m"],
                                              data["density"]),
        "double_descent_pictures": plot_memorisation_pictures(data["pictures"]),
        "double_descent_map": plot_size_by_hidden_map(data["map_sizes"], data["hidden"],
                                                      data["loss_map"], data["density"]),
        "double_descent_ablations": plot_ablations(data["ablation"], ABLATION_HIDDEN),
    }


EXPERIMENT = Experiment(
    fidelity=FIDELITY,
    name="double_descent",
    section="Henighan 2023",
    description="memorisation and double descent: relu_output models on fixed datasets of T "
                "points, T-gons at small T, a pentagon at large T, a test-loss bump between",
    sweep=sweep,
    analyse=analyse,
    figures=figures,
    choices="quick: n=1,000, 1-S=0.01, 4,000 steps (warmup 5%), 2 inits x 4 training sets "
            "at m=2, 1 init at m=4 (map rows m=2, 4 only); "
            "paper: n=10,000, 1-S=0.001, 50,000 steps, 5 inits x 4 training sets; T = 2^(k/2) "
            "from 4, padded to power-of-two capacities; sets are prefixes of a sequence; "
            "10,000 test points; ablations at m=4 on one set: weight decay 1.0 at 50,000 steps "
            "(12.5 at the quick 4,000: the same total decay) and 2x steps",
)
