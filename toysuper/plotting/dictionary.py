"""Figures of the sparse-autoencoder experiment: recovery of the true features against the toy
model's sparsity and the dictionary size, and true against learned directions for m=2."""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure


def plot_sae_recovery(data: dict) -> Figure:
    """Three panels: the fraction of represented features recovered (best L1) against
    1/(1-S) per dictionary size; MMCS against dictionary size per toy density; reconstruction
    error (NMSE) against L1 per toy density, for the widest dictionary.

    Args:
      data: from `toysuper.experiments.sae_recovery.analyse`.
    """
    density, sizes, l1 = data["density"], data["sizes"], data["l1"]
    best, relu = data["best_l1"], data["relu"]
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    ax = axes[0]
    for j, size in enumerate(sizes):
        ax.plot(1 / density, best["fraction"][:, j], "-o", ms=4, label=f"{size} latents")
    ax.set(xscale="log", xlabel="toy model 1 / (1 - S)", ylim=(-0.03, 1.03),
           ylabel="represented features recovered (cos > 0.95)",
           title="Recovery against sparsity (best L1)")
    ax.legend(fontsize=8)
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(density)))
    ax = axes[1]
    for i, p in enumerate(density):
        ax.plot(sizes, best["mmcs"][i], "-o", ms=4, color=colors[i],
                label=f"density {p:.3g} ({relu['represented'][i, 0, 0]} represented)")
    ax.axvline(data["n_features"], color="k", ls=":", lw=1)
    ax.set(xscale="log", xlabel="dictionary size (latents)", ylabel="mean max cosine (MMCS)",
           title="Recovery against dictionary size (best L1)", ylim=(None, 1.01))
    ax.set_xticks(sizes, [str(s) for s in sizes])
    ax.legend(fontsize=7)
    ax = axes[2]
    for i, p in enumerate(density):
        ax.plot(l1, relu["nmse"][i, :, -1], "-o", ms=4, color=colors[i], label=f"{p:.3g}")
        ax.plot(l1, relu["fraction"][i, :, -1], "--", color=colors[i], lw=1)
    ax.set(xscale="log", xlabel="L1 coefficient",
           ylabel="reconstruction NMSE (solid), recovered (dashed)",
           title=f"The L1 trade-off, {sizes[-1]} latents")
    ax.legend(title="toy density", fontsize=7)
    fig.suptitle("Sparse autoencoders on toy-model activations (n=20 features in m=5)",
                 fontsize=11)
    fig.tight_layout()
    return fig


def plot_sae_directions(pentagon: dict) -> Figure:
    """True feature directions of an m=2 pentagon (grey) against the SAE's in-use dictionary
    directions (coloured), one panel per dictionary size.

    Args:
      pentagon: true_W (n, 2), learned (sizes, L, 2) unit dictionaries, sizes (sizes,) and
        the L1 coefficient l1 they were trained with.
    """
    sizes = pentagon["sizes"]
    fig, axes = plt.subplots(1, len(sizes), figsize=(3.6 * len(sizes), 3.8), squeeze=False)
    true = np.asarray(pentagon["true_W"])
    for ax, size, learned in zip(axes[0], sizes, pentagon["learned"], strict=True):
        for w in true:
            ax.annotate("", xy=w / np.linalg.norm(w) * 1.1, xytext=(0, 0),
                        arrowprops={"arrowstyle": "-", "color": "0.6", "lw": 5, "alpha": 0.6})
        for d in learned[:size]:
            ax.annotate("", xy=d, xytext=(0, 0),
                        arrowprops={"arrowstyle": "-|>", "color": "C3", "lw": 1.4})
        ax.set(xlim=(-1.2, 1.2), ylim=(-1.2, 1.2), aspect="equal", xticks=[], yticks=[],
               title=f"{size} latents")
    axes[0, 0].set_xlabel("grey: true W_i; red: learned dictionary", fontsize=8)
    fig.suptitle(f"SAEs on a pentagon's activations (n=5, m=2, density 0.05), L1 "
                 f"{pentagon['l1']:g}", fontsize=10)
    fig.tight_layout()
    return fig
