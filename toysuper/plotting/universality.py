"""Figure of the universality experiment: which geometries the seeds find at each density, and
the entropy of that distribution."""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

OTHER = "other (< 5% each)"


def plot_universality(data: dict, shapes: dict) -> Figure:
    """Per setting: stacked bars of the share of seeds in each geometry class against
    1/(1-S) (bars coloured by the class's geometry name), and the entropy in bits.

    Args:
      data: {setting: `toysuper.experiments.universality.classes_by_density(result)`}.
      shapes: {setting: (n, m)} for the titles.
    """
    shares_by_name = {}
    for name, d in data.items():
        for i, (names, shares) in enumerate(zip(d["names"], d["shares"], strict=True)):
            for label, share in zip(names, shares, strict=True):
                key = label if share >= 0.05 else OTHER
                shares_by_name.setdefault(key, {}).setdefault(name, np.zeros(len(d["density"])))
                shares_by_name[key][name][i] += share
    order = sorted(shares_by_name, key=lambda k: (k == OTHER, k))
    colors = {k: plt.cm.tab20(i % 20) for i, k in enumerate(order)}
    colors[OTHER] = (0.75, 0.75, 0.75, 1.0)
    fig, axes = plt.subplots(1, len(data), figsize=(6.5 * len(data), 4.6), squeeze=False)
    for ax, (name, d) in zip(axes[0], data.items(), strict=True):
        x = np.arange(len(d["density"]))
        bottom = np.zeros(len(x))
        for key in order:
            share = shares_by_name[key].get(name)
            if share is None:
                continue
            ax.bar(x, share, bottom=bottom, color=colors[key], width=0.8, edgecolor="white",
                   lw=0.5)
            bottom += share
        ax.set_xticks(x, [f"{1 / p:.3g}" for p in d["density"]], fontsize=8)
        ax.set(xlabel="1 / (1 - S)", ylabel="share of seeds", ylim=(0, 1))
        n, m = shapes[name]
        ax.set_title(f"{name}: n={n}, m={m}", fontsize=10)
        twin = ax.twinx()
        twin.plot(x, d["entropy"], "k-o", ms=4, lw=1.5)
        twin.plot(x, d["polytope_entropy"], "k--s", ms=4, lw=1.2)
        twin.set_ylabel("entropy (bits)")
        twin.set_ylim(0, max(2.0, float(np.max(d["entropy"])) * 1.1))
    fig.legend(handles=[Patch(color=colors[k], label=k) for k in order]
               + [plt.Line2D([], [], color="k", marker="o", label="entropy of the arrangement "
                             "(Gram classes)"),
                  plt.Line2D([], [], color="k", marker="s", ls="--",
                             label="entropy of the polytopes (names)")],
               loc="lower center", ncol=3, fontsize=7, bbox_to_anchor=(0.5, -0.02))
    fig.suptitle("Universality across seeds: the geometries training finds, up to rotation, "
                 "sign and symmetric permutations", fontsize=11)
    fig.tight_layout(rect=(0, 0.14, 1, 1))
    return fig
