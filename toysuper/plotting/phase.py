"""TMS section 4 figure: empirical and theoretical phase diagrams side by side, and a cut."""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from toysuper.analysis.phase import PHASES

PHASE_COLORS = ("#d9d9d9", "#3b75af", "#d6453d", "#8e5ea2")  # not learned, dedicated, antipodal,
# other superposition: grey, blue, red and purple as in the paper's legend


def _edges(values: np.ndarray) -> np.ndarray:
    """Cell edges of a log-spaced grid."""
    logv = np.log(values)
    mid = (logv[1:] + logv[:-1]) / 2
    return np.exp(np.concatenate([[2 * logv[0] - mid[0]], mid, [2 * logv[-1] - mid[-1]]]))


def plot_phase_diagrams(d: dict, cut: dict, n: int, m: int) -> Figure:
    """Three panels: the empirical phase of the extra feature over (density, relative
    importance), the theoretical phase, and the optimised candidate losses along a cut.

    Args:
      d: `toysuper.analysis.phase.diagrams(result.dataset)`: r, p, empirical, theory, off_boundary.
      cut: `toysuper.experiments.phase.cut(n, m)`: r, p, losses (candidate, p), names.
    """
    cmap = ListedColormap(PHASE_COLORS)
    norm = BoundaryNorm(np.arange(len(PHASES) + 1) - 0.5, cmap.N)
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2), gridspec_kw={"width_ratios": [1, 1, 1.15]})
    px, ry = _edges(d["p"]), _edges(d["r"])
    for ax, key, title in ((axes[0], "empirical", "Empirical (lowest-loss model per point)"),
                           (axes[1], "theory", "Theory (optimised candidates)")):
        ax.pcolormesh(px, ry, d[key], cmap=cmap, norm=norm)
        ax.set(xscale="log", yscale="log", xlabel="feature density 1 - S",
               ylabel="relative importance of the extra feature", title=title)
    disagree = (d["empirical"] != d["theory"]) & d["off_boundary"]
    pp, rr = np.meshgrid(d["p"], d["r"])
    axes[0].scatter(pp[disagree], rr[disagree], marker="x", color="k", s=12, lw=0.8,
                    label="disagrees with theory")
    axes[0].legend(loc="lower left", fontsize=7, framealpha=0.8)
    axes[1].legend(handles=[Patch(color=c, label=f"extra feature: {name}")
                            for c, name in zip(PHASE_COLORS, PHASES, strict=True)],
                   loc="lower left", fontsize=7, framealpha=0.8)
    ax = axes[2]
    for k, name in enumerate(cut["names"]):
        ax.plot(cut["p"], cut["losses"][k] / cut["p"], label=str(name),
                ls="-" if k < 5 else "--", lw=1.5)
    best = cut["losses"].min(0) / cut["p"]
    ax.plot(cut["p"], best, color="k", lw=3, alpha=0.25, label="minimum")
    switch = np.flatnonzero(cut["superposed"][:-1] != cut["superposed"][1:])
    for k in switch:
        ax.axvline(np.sqrt(cut["p"][k] * cut["p"][k + 1]), color="k", ls=":", lw=1)
    ax.set(xscale="log", xlabel="feature density 1 - S", ylabel="optimised loss / density",
           title=f"Candidate losses along r = {cut['r']:.3g}: they cross (first order)")
    ax.legend(fontsize=7)
    fig.suptitle(f"Superposition phase diagram: {n} features in {m} dimension"
                 f"{'s' if m > 1 else ''} (TMS section 4)", fontsize=11)
    fig.tight_layout()
    return fig
