"""Figures of the exact-loss experiment: phase diagrams with and without sampling noise, and the
k-gon critical points of the one-hot model (Chen et al. 2023)."""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from toysuper.analysis.onehot import kgon
from toysuper.analysis.phase import PHASES
from toysuper.plotting.phase import PHASE_COLORS, _edges


def plot_exact_phase(sampled: dict, exact: dict) -> Figure:
    """Phase of the extra feature (2 features in 1 dimension) over (density, relative
    importance): trained on sampled batches, trained on the exact loss, and theory.

    Args:
      sampled, exact: `toysuper.analysis.phase.diagrams` of the two trainings.
    """
    cmap = ListedColormap(PHASE_COLORS)
    norm = BoundaryNorm(np.arange(len(PHASES) + 1) - 0.5, cmap.N)
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2), sharey=True)
    px, ry = _edges(exact["p"]), _edges(exact["r"])
    pp, rr = np.meshgrid(exact["p"], exact["r"])
    panels = ((sampled["empirical"], "Trained on sampled batches"),
              (exact["empirical"], "Trained on the exact loss (no noise)"),
              (exact["theory"], "Theory (optimised candidates)"))
    for ax, (phase, title) in zip(axes, panels, strict=True):
        ax.pcolormesh(px, ry, phase, cmap=cmap, norm=norm)
        ax.set(xscale="log", yscale="log", xlabel="feature density 1 - S", title=title)
    for ax, d in ((axes[0], sampled), (axes[1], exact)):
        wrong = (d["empirical"] != exact["theory"]) & exact["off_boundary"]
        ax.scatter(pp[wrong], rr[wrong], marker="x", color="k", s=14, lw=0.8,
                   label="disagrees with theory")
        ax.legend(loc="lower left", fontsize=7, framealpha=0.8)
    axes[0].set_ylabel("relative importance of the extra feature")
    axes[2].legend(handles=[Patch(color=c, label=f"extra feature: {name}")
                            for c, name in zip(PHASE_COLORS, PHASES, strict=True)],
                   loc="lower left", fontsize=7, framealpha=0.8)
    fig.suptitle("2 features in 1 dimension, with and without sampling noise", fontsize=11)
    fig.tight_layout()
    return fig


def plot_kgons(critical: dict, trained: dict, n: int) -> Figure:
    """The analytic 5-gon and 6-gon critical points of the one-hot loss, drawn as feature
    vectors, and the final losses of noise-free training coloured by the polygon each model
    formed, against the critical points' losses.

    Args:
      critical: {k: kgon_critical_point(k, n) (+ hessian_lowest)}.
      trained: `toysuper.experiments.exact_loss.trained_kgons`: k, loss, error per seed.
      n: the number of features.
    """
    fig = plt.figure(figsize=(13, 4))
    grid = fig.add_gridspec(1, 4, width_ratios=[1, 1, 0.15, 2.2])
    shown = [k for k in (5, 6) if k in critical]
    for i, k in enumerate(shown):
        cp = critical[k]
        W = np.asarray(kgon(k, n, cp["norm"], cp["bias"], cp["dead_bias"]).W)
        ax = fig.add_subplot(grid[0, i])
        for w in W[:k]:
            ax.annotate("", xy=w, xytext=(0, 0),
                        arrowprops={"arrowstyle": "-|>", "color": "C0", "lw": 1.5})
        ax.plot(*np.vstack([W[:k], W[:1]]).T, color="C0", lw=0.6, alpha=0.5)
        lim = 1.15 * cp["norm"]
        ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal", xticks=[], yticks=[],
               title=f"{k}-gon: |W_i| = {cp['norm']:.4f}\nb_i = {cp['bias']:.4f}, "
                     f"L = {cp['loss']:.5f}")
        ax.set_xlabel(f"{n - k} dead feature{'s' if n - k != 1 else ''}, b = {cp['dead_bias']:.4f}"
                      if n > k else "", fontsize=8)
    ax = fig.add_subplot(grid[0, 3])
    finite = np.isfinite(trained["loss"])  # diverged models are left out
    loss, polygon = trained["loss"][finite], trained["k"][finite]
    ks = sorted(set(polygon.tolist()))
    bins = np.linspace(loss.min() * 0.98, loss.max() * 1.02, 40)
    ax.hist([loss[polygon == k] for k in ks], bins=bins, stacked=True,
            label=[f"{k}-gon" if k else "other" for k in ks])
    for k, cp in critical.items():
        ax.axvline(cp["loss"], color="k", ls=":", lw=1)
        ax.text(cp["loss"], ax.get_ylim()[1] * 0.95, f" {k}-gon", fontsize=8, va="top")
    ax.set(xlabel="exact one-hot loss after training", ylabel="seeds",
           title="Noise-free training ends on the critical points")
    ax.legend(fontsize=8)
    fig.suptitle(f"One-hot toy model, n={n}, m=2 (Chen et al. 2023)", fontsize=11)
    fig.tight_layout()
    return fig
