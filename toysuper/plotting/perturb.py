"""TMS section 5 (non-uniform superposition): a pentagon as one feature's density changes."""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

PHASE_COLORS = {"pentagon": "tab:blue", "two digons": "tab:orange", "other": "0.5"}
SNAPSHOTS = 7


def plot_perturb_feature(data: dict) -> Figure:
    """Top: the best model's feature directions at a few relative densities (the perturbed
    fifth feature in red). Bottom: the optimised losses of the pentagon and two-digon solutions
    against the fifth feature's relative density, the best trained model at each grid point
    (coloured by its phase), and the crossings.

    Args:
      data: what `toysuper.experiments.perturb_feature.analyse` returns.
    """
    ratio, W = data["ratio"], data["W"]
    order = np.argsort(ratio)[::-1]  # denser left, sparser right
    picks = order[np.unique(np.linspace(0, len(ratio) - 1, SNAPSHOTS).round().astype(int))]
    fig = plt.figure(figsize=(1.9 * len(picks), 5.6))
    grid = fig.add_gridspec(2, len(picks), height_ratios=[1, 1.5], hspace=0.3, wspace=0.7)
    for col, k in enumerate(picks):
        ax = fig.add_subplot(grid[0, col])
        ax.add_patch(plt.Circle((0, 0), 1, fill=False, color="0.85", lw=0.8))
        for i, (x, y) in enumerate(W[k]):
            color = "tab:red" if i == len(W[k]) - 1 else "0.25"
            ax.plot([0, x], [0, y], color=color, lw=1.8)
            ax.scatter([x], [y], color=color, s=12, zorder=3)
        ax.set(xlim=(-1.4, 1.4), ylim=(-1.4, 1.4), aspect="equal", xticks=[], yticks=[])
        ax.set_title(f"p5/p = {ratio[k]:.2g}\n{data['phase_names'][data['phase'][k]]}", fontsize=8)

    half = len(picks) // 2 + 1
    ax = fig.add_subplot(grid[1, :half])
    for name, th in data["theory"].items():
        ax.plot(ratio, th["loss"], color=PHASE_COLORS[name], lw=1.5,
                label=f"{name} (polished on the population loss)")
    for k, name in enumerate(data["phase_names"]):
        mask = data["phase"] == k
        if mask.any():
            ax.scatter(ratio[mask], data["loss"][mask], color=PHASE_COLORS[name], s=18,
                       edgecolor="k", lw=0.4, zorder=3, label=f"best trained model: {name}")
    ax.set(ylabel="expected loss")
    gap = fig.add_subplot(grid[1, half:])
    if len(data["theory"]) == 2:
        th = data["theory"]
        gap.plot(ratio, th["pentagon"]["loss"] / th["two digons"]["loss"], color="k", lw=1.5)
    gap.axhline(1, color="0.6", lw=0.8)
    gap.set(yscale="log", ylabel="loss: pentagon / two digons")
    for axis in (ax, gap):
        for key, style in (("crossing_theory", "-"), ("crossing_empirical", "--")):
            if data[key] is not None:
                axis.axvline(data[key], color="tab:red", ls=style, lw=0.8,
                             label=f"{key.split('_')[1]} transition: p5/p = {data[key]:.2g}")
        axis.set(xscale="log", xlabel="relative density of the fifth feature p5 / p (p = 0.05)")
    ax.legend(fontsize=7, loc="upper left")
    fig.suptitle("Perturbing one feature of a pentagon: denser, the others repel it; sparser, "
                 "the pentagon gives way to two digons", fontsize=9)
    return fig
