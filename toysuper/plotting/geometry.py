"""TMS section 5 figures: D* and every D_i against 1/(1-S); feature graphs coloured by polytope."""

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from toysuper.analysis.clusters import FRACTIONS
from toysuper.analysis.polytopes import GROUP_COS, NOT_LEARNED
from toysuper.analysis.summaries import dimensionality_summary

POLYTOPE_COLORS = {
    "dedicated": "k", "digon": "tab:blue", "triangle": "tab:green",
    "tetrahedron": "tab:purple", "pentagon": "tab:orange", "square antiprism": "tab:brown",
    "unknown": "0.75",
}
KGON_COLOR = "tab:pink"
GRAPH_PANELS = 4


def polytope_color(name: str) -> str:
    return POLYTOPE_COLORS.get(name, KGON_COLOR)


def plot_dimensionality(data: dict[str, dict | xr.Dataset],
                        fractions: dict[str, float] = FRACTIONS,
                        title: str | None = None) -> Figure:
    """One column per model size: D* = m / ||W||_F^2 against 1/(1-S) (top) and every feature's
    D_i against 1/(1-S), coloured by the polytope it belongs to, with the fractions as lines
    (TMS section 5).

    Args:
      data: {column label: a Dataset of one sweep over feature_probability (see
        `toysuper.analysis.summaries.dimensionality_summary`), or {"p": (density,),
        "dstar": (density,), "D": (density, n), "labels": density x n polytope names}}.
      fractions: the horizontal lines, name -> D.
      title: the figure's title (default: the paper's finding).
    """
    data = {k: dimensionality_summary(v) if isinstance(v, xr.Dataset) else v
            for k, v in data.items()}
    fig, axes = plt.subplots(2, len(data), figsize=(6 * len(data), 7), squeeze=False,
                             sharex="col", gridspec_kw={"height_ratios": [1, 2]})
    for col, (part, d) in enumerate(data.items()):
        x = 1 / d["p"]
        top, bottom = axes[0, col], axes[1, col]
        top.plot(x, d["dstar"], "k.-", lw=1)
        for level in (1, 0.5):
            top.axhline(level, color="0.7", lw=0.8, ls="--")
        top.set(xscale="log", ylim=(0, 1.1), ylabel="D* = m / ||W||_F^2",
                title=f"{part.replace('_', ', ')}: dimensions per feature")
        labels = np.array(d["labels"])
        xs = np.broadcast_to(x[:, None], d["D"].shape)
        jitter = np.exp(np.random.default_rng(0).uniform(-0.03, 0.03, d["D"].shape))
        for name in dict.fromkeys(labels.ravel()):
            if name == NOT_LEARNED:
                continue
            mask = labels == name
            bottom.scatter(xs[mask] * jitter[mask], d["D"][mask], s=5, alpha=0.6,
                           color=polytope_color(name), label=name, lw=0)
        for name, f in fractions.items():
            bottom.axhline(f, color="0.6", lw=0.6)
            bottom.text(x.max() * 1.05, f, name, va="center", fontsize=8)
        bottom.set(xscale="log", ylim=(0, 1.05), xlabel="1 / (1 - S)",
                   ylabel="feature dimensionality D_i")
        bottom.legend(fontsize=7, markerscale=2.5, loc="upper right", title="polytope",
                      title_fontsize=7)
    fig.suptitle(title or "The geometry of superposition: D* sticks at 1 and 1/2; the D_i "
                 "cluster on the polytope fractions", fontsize=10)
    fig.tight_layout()
    return fig


def plot_feature_graphs(d: dict, part: str, panels: int = GRAPH_PANELS) -> Figure:
    """At a few densities, the graph of represented features (edges where |cos| > GROUP_COS),
    each group drawn as a ring of nodes and coloured by its polytope.

    Args:
      d: {"p": (density,), "groups": per density the `Polytope`s, "cos": (density, n, n)
         cosines between features}, as `toysuper.experiments.geometry.summarise` makes.
    """
    sparse = np.flatnonzero(d["p"] <= 0.5)
    picks = sparse[np.unique(np.linspace(0, len(sparse) - 1, panels).round().astype(int))]
    fig, axes = plt.subplots(1, len(picks), figsize=(4 * len(picks), 4.4), squeeze=False)
    for ax, k in zip(axes[0], picks, strict=True):
        adjacency = np.abs(d["cos"][k]) > GROUP_COS
        groups = sorted(d["groups"][k], key=lambda poly: len(poly.features), reverse=True)
        side = int(np.ceil(np.sqrt(len(groups)))) or 1
        for g, poly in enumerate(groups):
            group = poly.features
            centre = np.array([g % side, -(g // side)], float)
            angle = 2 * np.pi * np.arange(len(group)) / len(group)
            radius = 0.0 if len(group) == 1 else 0.32
            pos = centre + radius * np.stack([np.cos(angle), np.sin(angle)], -1)
            color = polytope_color(poly.name)
            for a in range(len(group)):
                for b in range(a + 1, len(group)):
                    if adjacency[group[a], group[b]]:
                        ax.plot(*pos[[a, b]].T, color=color, lw=0.6, alpha=0.7)
            ax.scatter(*pos.T, s=10, color=color, zorder=3)
        count = f"{len(groups)} group" + "s" * (len(groups) != 1)
        ax.set(aspect="equal", xticks=[], yticks=[],
               title=f"1/(1-S) = {1 / d['p'][k]:.3g}: {count}")
        for spine in ax.spines.values():
            spine.set_visible(False)
    handles = [plt.Line2D([], [], marker="o", ls="", color=c, label=n)
               for n, c in (*POLYTOPE_COLORS.items(), ("other k-gon", KGON_COLOR))]
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8)
    fig.suptitle(f"Feature graphs ({part.replace('_', ', ')}): represented features linked "
                 f"where |cos| > {GROUP_COS}, coloured by polytope", fontsize=10)
    return fig
