"""Which polytope the theory prefers, beside what training formed (TMS 5, dense end)."""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from toysuper.analysis.polytopes import NOT_LEARNED
from toysuper.plotting.geometry import polytope_color


def plot_polytope_preference(data: dict, fractions: dict[str, float]) -> Figure:
    """Left: each polytope's gain per hidden dimension over the best polytope's, against
    1/(1-S). Right: every represented feature's D_i of every trained model, coloured by the
    polytope it belongs to, with the fractions as lines.

    Args:
      data: {"p": (density,), "D": (density, seed, n), "represented": (density, seed, n),
             "labels": density x seed x n names, "theory": {"gains": {name: (density,)}}}.
    """
    x = 1 / data["p"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    gains = data["theory"]["gains"]
    best = np.max(np.stack(list(gains.values())), axis=0)
    for name, g in gains.items():
        left.plot(x, g / best, ".-", color=polytope_color(name), label=name)
    left.set(xscale="log", xlabel="1 / (1 - S)", ylabel="gain per dimension / best polytope's",
             title="Polytope theory: loss removed per hidden dimension", ylim=(0.8, 1.005))
    left.legend(fontsize=7)
    labels = np.array(data["labels"])
    shown = data["represented"] & (labels != NOT_LEARNED)
    xs = np.broadcast_to(x[:, None, None], data["D"].shape)
    jitter = np.exp(np.random.default_rng(0).uniform(-0.02, 0.02, data["D"].shape))
    for name in dict.fromkeys(labels[shown]):
        mask = shown & (labels == name)
        right.scatter(xs[mask] * jitter[mask], data["D"][mask], s=6, alpha=0.6, lw=0,
                      color=polytope_color(name), label=name)
    for name, f in fractions.items():
        right.axhline(f, color="0.6", lw=0.6)
        right.text(x.max() * 1.03, f, name, va="center", fontsize=8)
    right.set(xscale="log", ylim=(0, 1.05), xlabel="1 / (1 - S)",
              ylabel="feature dimensionality D_i", title="Trained, n=400, m=30 (all seeds)")
    if shown.any():
        right.legend(fontsize=7, markerscale=2.5, title="polytope", title_fontsize=7)
    fig.tight_layout()
    return fig
