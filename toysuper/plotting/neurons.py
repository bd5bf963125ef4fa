"""TMS sections 8-9: what each neuron reads, as stacked weights or a neuron-by-feature picture."""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from toysuper.plotting.style import IMPORTANCE_CMAP, INTERFERENCE_CMAP


def plot_neuron_stacks(W: np.ndarray, p: np.ndarray, labels: list[str]) -> Figure:
    """TMS figure "superposition in a privileged basis": one panel per density; for each neuron
    a bar of the weights W_ij of the features it reads, stacked (positive up, negative down),
    coloured by importance (feature 0, the most important, is yellow; as the notebook, viridis).

    Args:
      W: (density, n_features, n_hidden) best model per density.
      p: (density,) densities.
      labels: per density, the regime (e.g. "monosemantic", "3 in 2").
    """
    n_density, n, m = W.shape
    cmap = plt.get_cmap(IMPORTANCE_CMAP).reversed()  # feature 0 yellow, the least important dark
    colours = cmap(np.linspace(0, 1, n))
    fig, axes = plt.subplots(1, n_density, figsize=(1.5 * n_density + 1, 2.8), sharey=True,
                             squeeze=False)
    for ax, weights, density, label in zip(axes[0], W, p, labels, strict=True):
        # neurons ordered by the most important feature they read most strongly
        order = np.argsort([np.argmax(col) if col.max() > 0 else n for col in weights.T])
        for slot, j in enumerate(order):
            up, down = 0.0, 0.0
            for i in range(n):
                w = weights[i, j]
                base = up if w > 0 else down
                ax.bar(slot, w, bottom=base, color=colours[i], width=0.8, edgecolor="white",
                       linewidth=0.3)
                up, down = (up + w, down) if w > 0 else (up, down + w)
        ax.axhline(0, color="0.3", lw=0.6)
        ax.set(xticks=range(m), xticklabels=[str(j) for j in order], xlabel="neuron")
        ax.set_title(f"1-S = {density:g}\n{label}", fontsize=8)
    axes[0, 0].set_ylabel("W_ij, stacked over features i")
    sm = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(0, n - 1))
    fig.colorbar(sm, ax=axes[0].tolist(), label="feature i (0 = most important)", fraction=0.02)
    fig.suptitle(f"Privileged basis: n={n} features, m={m} ReLU neurons, best of the restarts "
                 "per density", fontsize=9, y=1.04)
    return fig


def plot_neuron_pictures(W: np.ndarray, p: np.ndarray, titles: list[str],
                         max_features: int) -> Figure:
    """TMS figure "absolute value": per density, the input weights as a neuron-by-feature
    picture (blue positive, red negative), neurons sorted by the feature they read most, then by
    the sign of that weight; the first `max_features` features shown.

    Args:
      W: (density, n_features, n_hidden) input weights W_ij (feature i into neuron j).
      p: (density,) densities.
      titles: per density, a second title line (e.g. the count of polysemantic neurons).
    """
    n_density, n, m = W.shape
    fig, axes = plt.subplots(1, n_density, figsize=(1.7 * n_density + 1, 3.4), squeeze=False)
    limit = float(np.abs(W).max()) or 1.0
    image = None
    for ax, weights, density, title in zip(axes[0], W, p, titles, strict=True):
        main = np.argmax(np.abs(weights), axis=0)
        sign = np.sign(weights[main, np.arange(m)])
        order = np.lexsort((-sign, main))
        image = ax.imshow(weights[:max_features, order].T, cmap=INTERFERENCE_CMAP, vmin=-limit,
                          vmax=limit, aspect="auto", interpolation="nearest")
        ax.set(xlabel="feature", yticks=[])
        ax.set_title(f"1-S = {density:g}\n{title}", fontsize=8)
    axes[0, 0].set_ylabel("neuron (sorted)")
    fig.colorbar(image, ax=axes[0].tolist(), label="W_ij", fraction=0.02)
    fig.suptitle(f"Computing |x|: n={n} features, m={m} neurons; input weights per neuron",
                 fontsize=9, y=1.04)
    return fig
