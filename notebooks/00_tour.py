# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # A five-minute tour of toysuper
#
# Define a sweep, train every model of it in one compiled call, open it as an `xarray.Dataset`,
# keep the best seed per point, and measure feature geometry. Sizes here are small enough for a
# laptop CPU in under a minute.

# %%
import matplotlib.pyplot as plt
import numpy as np

import toysuper as ts
from toysuper.analysis import feature_dimensionality

# %% [markdown]
# A grid of 6 densities x 4 seeds of the intro model (n=5 features, m=2 hidden dimensions,
# importance 0.9^i). Static settings (shapes, steps) go in the configs; everything swept is traced,
# so a new grid of the same size reuses the compiled program.

# %%
sweep = ts.Sweep(
    ts.ModelConfig(n_features=5, n_hidden=2, kind="relu_output"),
    ts.TrainConfig(steps=3000),
    axes={"feature_probability": np.geomspace(1, 0.05, 6), "seed": range(4)},
    fixed={"importance": ts.decaying_importance(5, 0.9)},
)
result = ts.run_sweep(sweep, out="../runs/tour")  # resumable: rerun and it loads the result
ds = result.to_xarray()
ds

# %% [markdown]
# The paper's best-of-k protocol: per density, keep the seed with the lowest loss. The analysis
# functions take the Dataset's DataArrays and keep their dims, so the feature dimensionality
# D_i (TMS section 5) is one line (a `sparsity` coordinate S = 1 - p sits beside the density).

# %%
best = result.best_over("seed").to_xarray()
best["D"] = feature_dimensionality(best["W"])  # dims (feature_probability, feature)
best[["loss", "seed", "D"]].to_dataframe().unstack("feature").round(3)

# %%
fig, ax = plt.subplots(figsize=(5, 3))
for i in best.feature.values:
    ax.plot(1 / best.feature_probability, best["D"].sel(feature=i), "o-", label=f"feature {i}")
ax.set(xscale="log", xlabel="1 / (1 - S)", ylabel="feature dimensionality D_i")
ax.axhline(0.5, color="0.8", lw=0.8)
ax.axhline(0.4, color="0.8", lw=0.8)
ax.legend(fontsize=7);
