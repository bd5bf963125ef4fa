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
# # TMS sections 6-7: correlated features, learning dynamics, adversarial vulnerability
#
# Elhage et al. (2022). Three experiments at quick fidelity (each reuses `../results/NAME`, or
# `$TOYSUPER_RESULTS/NAME` when set, if `toysuper reproduce` left it there):
# - `correlated`: sets of features that fire together (correlated) or never together
#   (anticorrelated), declared with `FeatureSets`;
# - `dynamics`: the parameters recorded at log-spaced steps inside the compiled training loop
#   (`TrainConfig.snapshot_steps`), and the jumps of each feature's dimensionality;
# - `adversarial`: the analytic attack along (W^T W)_i, and adversarial training
#   (`TrainConfig.adversarial`).

# %%
import os
from pathlib import Path

import jax
import numpy as np
from IPython.display import Image, Markdown

import toysuper as ts
from toysuper.analysis import feature_dimensionality
from toysuper.analysis.correlation import within_cosines
from toysuper.data import sample_feature_sets_feature_major
from toysuper.experiments.runner import claims_table, run_experiment

RESULTS = Path(os.environ.get("TOYSUPER_RESULTS", "../results"))

# %% [markdown]
# ## Correlated and anticorrelated features
#
# A sampler spec is a list of sets; here is what one batch looks like: a correlated pair (both
# or neither), an anticorrelated pair (at most one), two independent features.

# %%
sets = ts.FeatureSets((("correlated", 2), ("anticorrelated", 2), ("independent", 2)))
x = sample_feature_sets_feature_major(jax.random.key(0), np.full(6, 0.3), 100_000, sets)
active = np.asarray(x).T > 0
print("density per feature:", active.mean(0).round(3))
print("correlated pair together:", (active[:, 0] == active[:, 1]).mean(),
      "| anticorrelated pair both on:", (active[:, 2] & active[:, 3]).mean())

# %%
corr_report = run_experiment("correlated", "quick", out=RESULTS / "correlated")
Image(RESULTS / "correlated" / "correlated_pairs.png")

# %%
Image(RESULTS / "correlated" / "correlated_collapse.png")

# %%
Image(RESULTS / "correlated" / "correlated_local_bases.png")

# %%
Markdown("\n".join(claims_table(corr_report["claims"])))

# %% [markdown]
# The within-set cosines of the best model at every density of the collapse sweep, straight
# from the `xarray.Dataset`:

# %%
collapse = ts.load(RESULTS / "correlated" / "correlated_3x2").best_over("seed").to_xarray()
for p in collapse["feature_probability"].values:
    W = collapse["W"].sel(feature_probability=p).values
    print(f"1-S = {p:<6.3g}", [round(float(within_cosines(W, s)[0]), 2)
                               for s in ([0, 1], [2, 3], [4, 5])])

# %% [markdown]
# ## Learning dynamics

# %%
dyn_report = run_experiment("dynamics", "quick", out=RESULTS / "dynamics")
Image(RESULTS / "dynamics" / "dynamics_jumps.png")

# %%
Image(RESULTS / "dynamics" / "dynamics_octahedron.png")

# %%
Markdown("\n".join(claims_table(dyn_report["claims"])))

# %% [markdown]
# The snapshots are ordinary result variables with a `snapshot` dimension:

# %%
uniform = ts.load(RESULTS / "dynamics" / "uniform").to_xarray()
D = feature_dimensionality(uniform["W_snapshots"].isel(seed=0).values)
print(uniform["W_snapshots"].dims, "steps:", uniform["snapshot"].values[[0, 1, -1]])
print("D_i at the last snapshot:", np.round(np.asarray(D[-1]), 2))

# %% [markdown]
# ## Adversarial vulnerability

# %%
adv_report = run_experiment("adversarial", "quick", out=RESULTS / "adversarial")
Image(RESULTS / "adversarial" / "adversarial.png")

# %%
Markdown("\n".join(claims_table(adv_report["claims"])))
