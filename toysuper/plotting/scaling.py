"""Figures of the scaling-law experiment (Liu, Liu and Gore 2025): loss against width, the fitted
exponents against the data exponent, and how many features each regime represents."""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from toysuper.analysis.scaling import regimes


def plot_scaling(data: dict) -> Figure:
    """(a) loss against width (log-log) per alpha, strong superposition solid and weak dashed;
    (b) fitted exponent against alpha with the lines alpha_m = 1 and alpha - 1; (c) the
    represented fraction phi_1/2 against width, with m/n; (d) row norms at the largest width.

    Args:
      data: `toysuper.experiments.scaling_law.measure`'s output.
    """
    alpha, wd, widths, n = data["alpha"], data["weight_decay"], data["widths"], data["n"]
    strong, weak = regimes(wd)
    colors = plt.get_cmap("plasma")(np.linspace(0.1, 0.85, len(alpha)))
    fig, axes = plt.subplots(1, 4, figsize=(17, 4.2))
    for a, color in enumerate(colors):
        for j, style in ((strong, "-"), (weak, "--")):
            axes[0].plot(widths, data["loss"][a, j], style, marker="o", ms=3, color=color,
                         label=f"alpha {alpha[a]:g}" if j == strong else None)
    axes[0].set(xscale="log", yscale="log", xlabel="width m", ylabel="loss",
                title=f"loss (solid: weight decay {wd[strong]:g}; dashed: {wd[weak]:.3g})")
    axes[0].legend(fontsize=7)

    grid = np.linspace(min(alpha.min(), 1), alpha.max(), 50)
    axes[1].plot(grid, np.ones_like(grid), "k--", lw=0.8, label="1 (strong)")
    axes[1].plot(grid, np.maximum(grid - 1, 0), "k:", lw=0.8, label="alpha - 1 (weak)")
    for j, decay in enumerate(wd):
        color = {strong: "tab:red", weak: "tab:blue"}.get(j, "0.7")
        axes[1].scatter(alpha, data["exponent"][:, j], color=color, s=20, zorder=3 if
                        j in (strong, weak) else 2,
                        label=f"weight decay {decay:.3g}" if j in (strong, weak) else None)
    axes[1].set(xlabel="data exponent alpha", ylabel="model exponent alpha_m",
                title="fitted loss exponents")
    axes[1].legend(fontsize=7)

    for a, color in enumerate(colors):
        for j, style in ((strong, "-"), (weak, "--")):
            axes[2].plot(widths, data["phi"][a, j], style, marker="o", ms=3, color=color)
    axes[2].plot(widths, widths / n, "k:", lw=0.8, label="m / n")
    axes[2].set(xscale="log", yscale="log", xlabel="width m", ylabel="phi_1/2 (||W_i|| > 1/2)",
                ylim=(0.5 / n, 1.5),
                title="represented fraction (solid strong, dashed weak)")
    axes[2].legend(fontsize=7)

    a = len(alpha) // 2
    bins = np.linspace(0, max(1.5, float(np.nanmax(data["norms"]))), 40)
    for j, label, color in ((strong, "strong", "tab:red"), (weak, "weak", "tab:blue")):
        axes[3].hist(data["norms"][a, j], bins, alpha=0.6, color=color,
                     label=f"{label} (weight decay {wd[j]:.3g})")
    axes[3].set(xlabel="row norm ||W_i||", ylabel="features",
                title=f"row norms, m = {widths[-1]}, alpha {alpha[a]:g}")
    axes[3].legend(fontsize=7)
    fig.suptitle(f"Superposition and scaling: n = {n} power-law features "
                 "(Liu, Liu and Gore 2025)", fontsize=11)
    fig.tight_layout()
    return fig
