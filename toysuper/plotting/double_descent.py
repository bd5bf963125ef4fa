"""Henighan et al. 2023 figures: test loss, dimensionalities and norms against the dataset size T,
the hidden-space pictures, the T x m map and the ablations."""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

DATA_COLOUR, FEATURE_COLOUR = "tab:red", "tab:blue"  # the paper draws h_t red and W_i blue


def plot_double_descent(sizes: np.ndarray, series: dict, m: int, density: float) -> Figure:
    """Three panels against T (log x): train and test loss; every training point's data
    dimensionality D_t (red) and the largest feature dimensionalities D_i (blue) with the m/T
    line; the norms ||W||_F, ||b||, mean ||h_t|| and mean ||W_i|| of the top features.

    Args:
      sizes: (size,) dataset sizes T.
      series: per size lists: train_loss, test_loss, data_dims (arrays of length T),
        top_feature_dims (arrays), W_norm, b_norm, h_norm, top_W_norm.
      m: hidden dimension; density: 1 - S.
    """
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    ax = axes[0]
    ax.plot(sizes, series["test_loss"], "o-", color="k", label="test")
    ax.plot(sizes, series["train_loss"], "s--", color="0.5", label="train")
    ax.axhline(1.0, color="0.8", lw=0.8)
    ax.axvline(10 / density, color="0.7", ls=":", lw=1, label="T(1-S) = 10")
    ax.set(xscale="log", xlabel="training set size T", ylabel="loss",
           title=f"test loss (predicting 0 gives 1), m={m}")
    ax.legend(frameon=False)
    ax = axes[1]
    for size, dims in zip(sizes, series["data_dims"], strict=True):
        ax.scatter(np.full(len(dims), size), dims, s=6, color=DATA_COLOUR, alpha=0.3, lw=0)
    for size, dims in zip(sizes, series["top_feature_dims"], strict=True):
        ax.scatter(np.full(len(dims), size), dims, s=10, color=FEATURE_COLOUR, alpha=0.6, lw=0)
    grid = np.geomspace(sizes.min(), sizes.max(), 100)
    ax.plot(grid, np.minimum(1, m / grid), color=DATA_COLOUR, lw=1, label="m / T")
    ax.axhline(2 / 5, color=FEATURE_COLOUR, lw=0.8, ls=":", label="2/5 (pentagon)")
    ax.scatter([], [], color=DATA_COLOUR, s=10, label="training points D_t")
    ax.scatter([], [], color=FEATURE_COLOUR, s=10, label="top features D_i")
    ax.set(xscale="log", yscale="log", ylim=(1e-4, 1.5), xlabel="training set size T",
           ylabel="dimensionality", title="data vs feature dimensionality")
    ax.legend(frameon=False, fontsize=7, loc="lower left")
    ax = axes[2]
    for key, label in (("W_norm", "||W||_F"), ("b_norm", "||b||"), ("h_norm", "mean ||h_t||"),
                       ("top_W_norm", "mean ||W_i||, top 5")):
        ax.plot(sizes, series[key], "o-", ms=3, label=label)
    ax.set(xscale="log", xlabel="training set size T", title="norms")
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def plot_memorisation_pictures(pictures: list[dict], max_lines: int = 300) -> Figure:
    """The paper's hidden-space pictures (m=2): per chosen T, the hidden vectors h_t of the
    training points (top row, red) and the feature directions W_i (bottom row, blue; the
    longest `max_lines`), each row scaled to its longest vector.

    Args:
      pictures: per column, dict with size, H (T, 2), W (n, 2), regime.
    """
    fig, axes = plt.subplots(2, len(pictures), figsize=(2.6 * len(pictures), 5.4),
                             squeeze=False)
    for col, pic in enumerate(pictures):
        for row, (vectors, colour) in enumerate(((pic["H"], DATA_COLOUR),
                                                 (pic["W"], FEATURE_COLOUR))):
            lengths = np.linalg.norm(vectors, axis=1)
            v = vectors[np.argsort(-lengths)[:max_lines]] / max(lengths.max(), 1e-9)
            ax = axes[row, col]
            ax.plot(np.stack([np.zeros(len(v)), v[:, 0]]), np.stack([np.zeros(len(v)), v[:, 1]]),
                    color=colour, lw=0.8, alpha=0.7)
            ax.set(xlim=(-1.1, 1.1), ylim=(-1.1, 1.1), aspect="equal", xticks=[], yticks=[])
        axes[0, col].set_title(f"T = {pic['size']}: {pic['regime']}", fontsize=9)
    axes[0, 0].set_ylabel("training points h_t")
    axes[1, 0].set_ylabel("features W_i")
    fig.tight_layout()
    return fig


def plot_size_by_hidden_map(sizes: np.ndarray, hidden: list[int], test_loss: np.ndarray,
                            density: float) -> Figure:
    """Test loss over dataset size T (x, log) and hidden dimension m (y), with the peak of each
    row marked and T(1-S) = 10 dotted.

    Args:
      test_loss: (hidden, size), NaN where not trained.
    """
    fig, ax = plt.subplots(figsize=(7, 0.6 * len(hidden) + 2))
    edges = np.sqrt(sizes[:-1] * sizes[1:])
    x = np.concatenate([[sizes[0] ** 2 / edges[0]], edges, [sizes[-1] ** 2 / edges[-1]]])
    y = np.arange(len(hidden) + 1) - 0.5
    mesh = ax.pcolormesh(x, y, test_loss, cmap="magma", norm=LogNorm(
        vmin=np.nanmin(test_loss), vmax=np.nanmax(test_loss)))
    fig.colorbar(mesh, ax=ax, label="test loss")
    peaks = np.nanargmax(test_loss, axis=1)
    ax.plot(sizes[peaks], np.arange(len(hidden)), "c*", ms=10, label="peak per m")
    ax.axvline(10 / density, color="w", ls=":", label="T(1-S) = 10")
    ax.set(xscale="log", yticks=range(len(hidden)), yticklabels=hidden,
           xlabel="training set size T", ylabel="hidden dimension m",
           title="test loss over T x m")
    ax.legend(frameon=False, fontsize=8, labelcolor="w", loc="upper right")
    return fig


def plot_ablations(curves: dict[str, tuple[np.ndarray, np.ndarray]], m: int) -> Figure:
    """Test loss against T for the ablations: {label: (sizes, test loss)}."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, (sizes, loss) in curves.items():
        ax.plot(sizes, loss, "o-", ms=4, label=label)
    ax.axhline(1.0, color="0.8", lw=0.8)
    ax.set(xscale="log", xlabel="training set size T", ylabel="test loss",
           title=f"ablations, m={m}")
    ax.legend(frameon=False)
    return fig
