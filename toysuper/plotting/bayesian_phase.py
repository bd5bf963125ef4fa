"""Figures of the Bayesian-versus-dynamical experiment (Chen et al. 2023): free energies, LLCs,
the phases SGD ends in, and SGD's loss against the k-gon critical losses."""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure


def _label(phase) -> str:
    return "other" if phase is None else f"{phase[0]}-gon" + "+" * phase[1]


def plot_bayesian_phase(data: dict) -> Figure:
    """(a) F_n(6-gon) - F_n(5-gon) against n, with theory and measured LLCs; (b) LLC estimates
    against theory; (c) the share of SGD runs ending in each phase per training-set size, with
    the phase the posterior prefers there.

    Args:
      data: `toysuper.experiments.bayesian_phase.analyse`'s data.
    """
    llcs, theory = data["llcs"], data["theory_llc"]
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    n, gaps = data["free_energy_gap"]["n"], data["free_energy_gap"]
    for source, style in (("theory", "-"), ("measured", "--")):
        axes[0].plot(n, gaps[source], style, color="k",
                     label=f"{source} LLCs: crossing n = {data['crossing'][source]:.0f}")
    axes[0].axhline(0, color="0.6", lw=0.8)
    axes[0].axvspan(*data["window"], color="tab:orange", alpha=0.25,
                    label="paper's MCMC transition")
    axes[0].set(xscale="log", xlabel="sample size n", ylabel="F(6-gon) - F(5-gon)",
                title="Bayesian phase transition")
    axes[0].legend(fontsize=7)

    points = list(llcs)
    x = np.arange(len(points))
    axes[1].bar(x - 0.2, [theory[p] for p in points], 0.4, color="0.7", label="theory")
    axes[1].axhline(data["bound"], color="k", ls=":", lw=0.8, label="bound of a minimum, d/2")
    axes[1].bar(x + 0.2, [llcs[p]["llc"] for p in points], 0.4,
                yerr=[llcs[p]["chain_std"] for p in points], color="tab:blue",
                label="SGLD (spread over chains)")
    axes[1].set(xticks=x, xticklabels=[_label(p) for p in points],
                ylabel="local learning coefficient", title="LLC at the critical points")
    axes[1].legend(fontsize=7)

    sizes = list(data["named"])
    shown = sorted({p for n in sizes for p in data["named"][n] if p is not None}, reverse=True)
    bottom = np.zeros(len(sizes))
    colors = plt.get_cmap("viridis")(np.linspace(0, 0.9, len(shown)))
    for phase, color in zip([*shown, None], [*colors, (0.85, 0.85, 0.85, 1)], strict=True):
        share = np.array([data["named"][n].count(phase) / len(data["named"][n]) for n in sizes])
        axes[2].bar(range(len(sizes)), share, bottom=bottom, color=color, label=_label(phase))
        bottom += share
    for i, n in enumerate(sizes):
        axes[2].annotate(_label(data["bayes"][n]), (i, 1.02), ha="center", fontsize=7)
    axes[2].set(xticks=range(len(sizes)), xticklabels=sizes, ylim=(0, 1.12),
                xlabel="training-set size n", ylabel="share of SGD runs",
                title="SGD's final phase (posterior's above)")
    axes[2].legend(fontsize=7, loc="lower right", framealpha=0.8)
    fig.suptitle("One-hot TMS, 6 features in 2 dimensions (Chen et al. 2023)", fontsize=11)
    fig.tight_layout()
    return fig


def plot_sgd_trajectories(data: dict, size: int | None = None, runs: int = 12) -> Figure:
    """Exact loss of SGD runs at their snapshots against the k-gon critical losses (dashed).

    Args:
      data: the experiment's data; size: the training-set size shown (default: the largest
        up to 1,000); runs: how many seeds are drawn.
    """
    sizes = list(data["runs"])
    size = size or max([n for n in sizes if n <= 1000] or sizes)
    run = data["runs"][size]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    steps = np.maximum(run["steps"], 1)
    for loss in run["loss"][:runs]:
        ax.plot(steps, loss, lw=1, alpha=0.8)
    for phase, values in data["phases"].items():
        ax.axhline(values["loss"], ls="--", lw=0.7, color="0.4")
        ax.annotate(_label(phase), (steps[-1], values["loss"]), fontsize=7, va="bottom",
                    ha="right", color="0.3")
    ax.set(xscale="log", yscale="log", xlabel="SGD step", ylabel="exact loss",
           title=f"SGD on n = {size} one-hot samples: plateaus at k-gon losses")
    fig.tight_layout()
    return fig
