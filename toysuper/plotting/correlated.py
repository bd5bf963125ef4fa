"""TMS section 6 (correlated features): m=2 pictures, collapse by density, local bases."""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from toysuper.plotting.style import INTERFERENCE_CMAP

SET_COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:purple")
PAIR_TITLES = {"correlated_2x2": "2 x 2 correlated", "anticorrelated_2x2": "2 x 2 anticorrelated",
               "correlated_3x2": "3 x 2 correlated"}


def draw_directions(ax: Axes, W: np.ndarray, sets: list[list[int]]) -> None:
    """Feature directions W_i (m=2) from the origin, coloured by set, on the unit circle."""
    ax.add_patch(plt.Circle((0, 0), 1, fill=False, color="0.85", lw=0.8))
    for k, members in enumerate(sets):
        for rank, i in enumerate(members):
            ax.plot([0, W[i, 0]], [0, W[i, 1]], color=SET_COLORS[k % len(SET_COLORS)], lw=2,
                    ls="-" if rank == 0 else "--")
    ax.set(xlim=(-1.25, 1.25), ylim=(-1.25, 1.25), aspect="equal", xticks=[], yticks=[])


def plot_pairs(W: dict[str, np.ndarray], sets: dict[str, list[list[int]]]) -> Figure:
    """The m=2 solutions: correlated pairs orthogonal, anticorrelated pairs antipodal, three
    correlated pairs side by side (sparsest density). One colour per set, dashed: its second
    member.

    Args:
      W: part -> (density, n, 2) best weights; sets: part -> feature indices of each set.
    """
    fig, axes = plt.subplots(1, len(PAIR_TITLES), figsize=(3.2 * len(PAIR_TITLES), 3.4))
    for ax, (part, title) in zip(axes, PAIR_TITLES.items(), strict=True):
        draw_directions(ax, W[part][0], sets[part])
        ax.set_title(title)
    fig.suptitle("Correlated features orthogonal, anticorrelated antipodal (one colour per set)")
    return fig


def plot_collapse(W: np.ndarray, sets: list[list[int]], density: np.ndarray,
                  collapsed: np.ndarray, paper_range: np.ndarray) -> Figure:
    """Three correlated pairs in m=2 across densities; each panel titled with the number of
    sets collapsed onto their principal component, and the paper's range.

    Args:
      W: (density, 6, 2); sets: the three pairs; density, collapsed: (k,); paper_range: (k, 2).
    """
    fig, axes = plt.subplots(1, len(density), figsize=(1.6 * len(density), 2.3))
    for ax, w, p, c, (lo, hi) in zip(axes, W, density, collapsed, paper_range, strict=True):
        draw_directions(ax, w, sets)
        paper = f"{lo}" if lo == hi else f"{lo}-{hi}"
        ax.set_title(f"p={p:g}\n{c} collapsed\n(paper {paper})", fontsize=8,
                     color="black" if lo <= c <= hi else "tab:red")
    fig.suptitle("Correlated pairs collapse onto their principal component as density grows",
                 y=1.12)
    return fig


def plot_local_bases(W: np.ndarray, sets: list[list[int]]) -> Figure:
    """W W^T of two sets of ten correlated features in m=10: orthogonal within each set (the
    diagonal blocks), in superposition across them (the off-diagonal blocks).

    Args:
      W: (20, 10) one model; sets: the feature indices of each set.
    """
    gram = W @ W.T
    fig, ax = plt.subplots(figsize=(4.4, 4))
    image = ax.imshow(gram, cmap=INTERFERENCE_CMAP, vmin=-1, vmax=1)
    for members in sets[:-1]:
        edge = members[-1] + 0.5
        ax.axhline(edge, color="k", lw=0.8)
        ax.axvline(edge, color="k", lw=0.8)
    ax.set(title="Local orthogonal bases: W W^T, 2 sets of 10 correlated", xlabel="feature j",
           ylabel="feature i")
    fig.colorbar(image, ax=ax, shrink=0.8)
    return fig
