"""TMS section 7 (adversarial robustness): vulnerability against sparsity, and adversarial
training against attack norm."""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure


def plot_adversarial(data: dict, removed: float) -> Figure:
    """Left: relative vulnerability and ||W||_F^2 / m against 1/(1-S). Right: ||W||_F^2 / m
    after adversarial training against the attack norm.

    Args:
      data: what `toysuper.experiments.adversarial.analyse` returns; removed: the features per
        dimension at or below which superposition counts as removed.
    """
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    x = 1 / data["density"]
    left.plot(x, data["relative"], "o-", color="tab:red", label="relative vulnerability")
    left.set(xscale="log", xlabel="1/(1-S)", ylabel="vulnerability / no-superposition model",
             title="Vulnerability tracks superposition")
    twin = left.twinx()
    twin.plot(x, data["per_dim"], "s--", color="tab:blue", label="||W||_F^2 / m")
    twin.set_ylabel("features per dimension ||W||_F^2 / m", color="tab:blue")
    handles = left.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    left.legend(handles=handles, loc="upper left", fontsize=8)
    right.plot(np.asarray(data["attack_norm"]) * 100, data["adv_per_dim"], "o-", color="k")
    right.axhline(removed, color="0.6", ls=":", lw=1)
    if data["removal_norm"] is not None:
        right.axvline(data["removal_norm"] * 100, color="tab:red", lw=1,
                      label=f"removed at {data['removal_norm']:.0%}")
        right.legend(fontsize=8)
    right.set(xlabel="training attack norm (% of mean input norm)",
              ylabel="||W||_F^2 / m after training",
              title="Adversarial training removes superposition")
    fig.tight_layout()
    return fig
