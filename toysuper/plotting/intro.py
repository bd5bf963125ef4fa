"""TMS figure 1 / intro: feature directions in the hidden plane and W^T W + b, per density."""

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from toysuper.analysis import interference
from toysuper.plotting.style import IMPORTANCE_CMAP, INTERFERENCE_CMAP


def plot_intro(ds: xr.Dataset, title: str | None = None) -> Figure:
    """One column per density: the 2-D feature directions W_i coloured by importance, and below,
    the interference matrix W_i . W_j with the bias b as an extra column.

    Args:
      ds: a dataset with `W` (feature_probability, feature, hidden=2), `b` and `importance`
        (e.g. `result.best_over("seed").dataset` of the intro experiment).
      title: the figure's title (default: the paper's reading of it).
    """
    W, b = ds["W"].values, ds["b"].values
    p = ds["feature_probability"].values
    importance = np.broadcast_to(ds["importance"].values, W.shape[:-1])
    colors = plt.get_cmap(IMPORTANCE_CMAP)(importance / importance.max())
    gram = np.asarray(interference(W))
    n_cols = len(p)
    fig, axes = plt.subplots(2, n_cols, figsize=(1.7 * n_cols, 3.9),
                             gridspec_kw={"height_ratios": [1, 1]})
    axes = np.asarray(axes).reshape(2, n_cols)
    for k in range(n_cols):
        ax = axes[0, k]
        ax.add_patch(plt.Circle((0, 0), 1, fill=False, color="0.85", lw=0.8))
        for i in range(W.shape[1]):
            x, y = W[k, i]
            ax.plot([0, x], [0, y], color=colors[k, i], lw=1.8)
            ax.scatter([x], [y], color=colors[k, i], s=14, zorder=3)
        ax.set(xlim=(-1.4, 1.4), ylim=(-1.4, 1.4), aspect="equal", xticks=[], yticks=[])
        ax.set_title(f"1-S = {p[k]:.3g}", fontsize=8)
        matrix = np.concatenate([gram[k], np.full((len(b[k]), 1), np.nan), b[k][:, None]], 1)
        image = axes[1, k].imshow(matrix, cmap=INTERFERENCE_CMAP, vmin=-1, vmax=1)
        axes[1, k].set(xticks=[], yticks=[])
    axes[0, 0].set_ylabel("W_i in the hidden plane", fontsize=8)
    axes[1, 0].set_ylabel("W^T W  |  b", fontsize=8)
    fig.colorbar(image, ax=axes[1].tolist(), fraction=0.015, pad=0.01)
    sm = plt.cm.ScalarMappable(cmap=IMPORTANCE_CMAP)
    fig.colorbar(sm, ax=axes[0].tolist(), fraction=0.015, pad=0.01, label="importance")
    fig.suptitle(title or "Five features in two dimensions: sparsity lets the model use "
                 "superposition (least sparse left, most sparse right)", fontsize=9)
    return fig
