"""TMS section 7 (learning dynamics): dimensionality jumps and the stages of a geometry."""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from toysuper.plotting.style import INTERFERENCE_CMAP

STAGE_PANELS = 5


def plot_jumps(steps: np.ndarray, D: np.ndarray, loss: np.ndarray, jumps: list,
               levels: dict[str, float], log_steps: bool = True) -> Figure:
    """Top: the features' D_i over training, the energy levels dotted and the detected jumps
    marked. Bottom: the loss on a fixed batch.

    Args:
      steps: (snapshot,); D: (snapshot, feature) one model (the features to draw); loss:
      (snapshot,); jumps: its `toysuper.analysis.dynamics.Jump`s, `feature` indexing D's
      columns; levels: name -> value; log_steps: a log step axis (for log-spaced snapshots).
    """
    scale = "log" if log_steps else "linear"
    x = np.maximum(steps, 1)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 5.4), sharex=True,
                                      gridspec_kw={"height_ratios": [2, 1]})
    colors = plt.cm.viridis(np.linspace(0, 0.9, D.shape[1]))
    for i in range(D.shape[1]):
        top.plot(x, D[:, i], color=colors[i], lw=1, alpha=0.8)
    for name, value in levels.items():
        top.axhline(value, color="0.6", ls=":", lw=0.8)
        top.text(x[-1] * (1.15 if log_steps else 1.02), value, name, va="center", fontsize=8,
                 color="0.4")
    top.scatter([j.step for j in jumps], [j.after for j in jumps], s=18, color="tab:red",
                zorder=3, label=f"detected jumps ({len(jumps)})")
    top.set(xscale=scale, ylabel="feature dimensionality D_i", ylim=(-0.02, 1.05),
            title="Feature dimensionality over training jumps between levels")
    top.legend(loc="lower left", fontsize=8)
    bottom.plot(x, loss, color="k", lw=1.2)
    for j in jumps:
        bottom.axvline(j.step, color="tab:red", lw=0.5, alpha=0.4)
    bottom.set(xscale=scale, yscale="log", xlabel="training step", ylabel="loss")
    return fig


def plot_stages(steps: np.ndarray, W: np.ndarray, clump: np.ndarray, final: str) -> Figure:
    """The n=6, m=3 run with two correlated sets: W W^T at a few snapshots (from the start,
    through the peak of clumping, to the end) above the mean within-set cosine over training.

    Args:
      steps: (snapshot,); W: (snapshot, 6, 3) one model; clump: (snapshot,) mean within-set
      cosine; final: the name of the final geometry.
    """
    peak = int(np.argmax(clump))
    log_steps = np.log(np.maximum(steps, 1))
    targets = np.concatenate([[0.0], np.linspace(log_steps[peak], log_steps[-1],
                                                 STAGE_PANELS - 1)])
    picks = sorted({0, peak, *[int(np.argmin(np.abs(log_steps - t))) for t in targets[2:]]})
    fig = plt.figure(figsize=(2.1 * len(picks), 4.6))
    grid = fig.add_gridspec(2, len(picks), height_ratios=[1.1, 1], hspace=0.45)
    for col, k in enumerate(picks):
        ax = fig.add_subplot(grid[0, col])
        ax.imshow(W[k] @ W[k].T, cmap=INTERFERENCE_CMAP, vmin=-1, vmax=1)
        ax.axhline(2.5, color="k", lw=0.6)
        ax.axvline(2.5, color="k", lw=0.6)
        ax.set(xticks=[], yticks=[], title=f"step {steps[k]}")
    ax = fig.add_subplot(grid[1, :])
    ax.plot(np.maximum(steps, 1), clump, color="k")
    for k in picks:
        ax.axvline(max(steps[k], 1), color="0.7", lw=0.6)
    ax.set(xscale="log", xlabel="training step", ylabel="mean cos within sets",
           title=f"Clumping towards principal components, then apart: ends as {final}")
    fig.suptitle("n=6, m=3, two sets of three correlated features: W W^T over training", y=1.0)
    return fig
