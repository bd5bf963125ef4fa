"""TMS figures 2-3: per density, W^T W beside the ||W_i|| bars coloured by superposition."""

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from toysuper.analysis import interference
from toysuper.analysis.summaries import sparsity_summary
from toysuper.plotting.style import INTERFERENCE_CMAP

SUPERPOSITION_CMAP = "plasma"  # dark: orthogonal to all others; yellow: in superposition


def plot_sparsity_sweep(rows: dict[str, dict | xr.Dataset], n: int, m: int,
                        title: str | None = None) -> Figure:
    """One row per model kind, one column per density: the interference matrix W_i . W_j and,
    beside it, the bars ||W_i|| (most important feature on top) coloured by
    sum_{j != i} (Ŵ_i . W_j)^2, clipped at 1 (TMS figures 2-3).

    Args:
      rows: {row label: a Dataset of one sweep over feature_probability (see
        `toysuper.analysis.summaries.sparsity_summary`),
        or {"p": (density,), "W": (density, n, m), "superposition": (density, n)}}.
      title: the figure's title (default: the paper's).
    """
    rows = {k: sparsity_summary(v) if isinstance(v, xr.Dataset) else v for k, v in rows.items()}
    kinds = list(rows)
    p = rows[kinds[0]]["p"]
    fig = plt.figure(figsize=(2.0 * len(p) + 1.2, 1.9 * len(kinds) + 0.5))
    grid = fig.add_gridspec(len(kinds), 2 * len(p), width_ratios=[1, 0.55] * len(p),
                            wspace=0.06, hspace=0.15, left=0.04, right=0.86, top=0.86,
                            bottom=0.03)
    cmap = plt.get_cmap(SUPERPOSITION_CMAP)
    for row, kind in enumerate(kinds):
        d = rows[kind]
        gram = np.asarray(interference(d["W"]))
        norms = np.linalg.norm(d["W"], axis=-1)
        for k in range(len(p)):
            heat = fig.add_subplot(grid[row, 2 * k])
            image = heat.imshow(gram[k], cmap=INTERFERENCE_CMAP, vmin=-1, vmax=1,
                                aspect="auto")
            heat.set(xticks=[], yticks=[])
            bars = fig.add_subplot(grid[row, 2 * k + 1])
            bars.barh(np.arange(n), norms[k], color=cmap(np.clip(d["superposition"][k], 0, 1)),
                      height=0.85)
            bars.set(xlim=(0, 1.3), ylim=(n - 0.5, -0.5), xticks=[], yticks=[])
            bars.axvline(1, color="0.8", lw=0.6, zorder=0)
            if row == 0:
                heat.set_title(f"1-S = {p[k]:g}", fontsize=8, loc="left")
            if k == 0:
                heat.set_ylabel(kind.replace("_", " "), fontsize=9)
    fig.colorbar(image, cax=fig.add_axes((0.88, 0.1, 0.012, 0.7)), label="W_i . W_j")
    sm = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(0, 1))
    fig.colorbar(sm, cax=fig.add_axes((0.94, 0.1, 0.012, 0.7)),
                 label="superposition of feature i (bar length ||W_i||)")
    fig.suptitle(title or f"n={n} features in m={m} dimensions: W^T W and ||W_i|| per density "
                 "(features by importance, most important on top)", fontsize=9)
    return fig
