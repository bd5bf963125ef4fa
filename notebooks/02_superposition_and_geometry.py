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
# # TMS sections 2-5: superposition against sparsity, and its geometry
#
# Elhage et al. (2022). Three experiments at quick fidelity (each reuses `../results/NAME`, or
# `$TOYSUPER_RESULTS/NAME` when set, if
# `toysuper reproduce` left it there):
# - `sparsity_sweep`: linear against ReLU-output models as features get sparser (figures 2-3);
# - `geometry`: with uniform importance, dimensions per feature D* and each feature's
#   dimensionality D_i against 1/(1-S), and the polytopes the features form;
# - `perturb_feature`: a pentagon as one feature's density changes.

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Image, Markdown

import toysuper as ts
from toysuper.analysis import feature_dimensionality
from toysuper.analysis.polytopes import name_group, polytopes
from toysuper.experiments.runner import claims_table, run_experiment

RESULTS = Path(os.environ.get("TOYSUPER_RESULTS", "../results"))



# %% [markdown]
# ## Superposition as a function of sparsity

# %%
sweep_report = run_experiment("sparsity_sweep", "quick", out=RESULTS / "sparsity_sweep")
Image(RESULTS / "sparsity_sweep" / "sparsity_sweep_n20.png")

# %%
Image(RESULTS / "sparsity_sweep" / "sparsity_sweep_n80.png")

# %%
Markdown("\n".join(claims_table(sweep_report["claims"])))

# %% [markdown]
# Each model kind and size is a part of the experiment, saved in its own directory and opened as
# an `xarray.Dataset`. The number of represented features (||W_i|| > 0.5) per density:

# %%
for part in ("linear_n20", "relu_output_n20"):
    best = ts.load(RESULTS / "sparsity_sweep" / part).best_over("seed").to_xarray()
    norms = np.sqrt((best["W"] ** 2).sum("hidden"))
    print(part, (norms > 0.5).sum("feature").values)

# %% [markdown]
# ## The geometry of superposition

# %%
geometry_report = run_experiment("geometry", "quick", out=RESULTS / "geometry")
Image(RESULTS / "geometry" / "geometry_dimensionality.png")

# %%
Image(RESULTS / "geometry" / "geometry_feature_graphs.png")

# %%
Markdown("\n".join(claims_table(geometry_report["claims"])))

# %% [markdown]
# The polytopes of one trained model, straight from its weights:

# %%
part = next(p.name for p in sorted((RESULTS / "geometry").iterdir()) if p.is_dir())
ds = ts.load(RESULTS / "geometry" / part).to_xarray()
W = ds["W"].sel(feature_probability=0.2, method="nearest").values
groups = polytopes(W)
print(f"{len(groups)} groups:", {g.name: sum(h.name == g.name for h in groups) for g in groups})
pentagon = next((g for g in groups if g.name == "pentagon"), None)
if pentagon is not None:
    print("a pentagon's D_i:", np.round(feature_dimensionality(W[list(pentagon.features)]), 3))

# %% [markdown]
# Tegum products: orthogonal polytopes together, named by their factors (here a triangle and a
# digon in three dimensions, the triangular bipyramid of the paper):

# %%
angle = 2 * np.pi * np.arange(3) / 3
bipyramid = np.zeros((5, 3))
bipyramid[:3, :2] = np.stack([np.cos(angle), np.sin(angle)], -1)
bipyramid[3:, 2] = [1, -1]
print(name_group(bipyramid), np.round(feature_dimensionality(bipyramid), 3))

# %% [markdown]
# ## Perturbing one feature of a pentagon

# %%
perturb_report = run_experiment("perturb_feature", "quick", out=RESULTS / "perturb_feature")
Image(RESULTS / "perturb_feature" / "perturb_feature.png")

# %%
Markdown("\n".join(claims_table(perturb_report["claims"])))

# %% [markdown]
# The norm-bias relation of the pentagon points, against the two candidate forms:

# %%
ds = ts.load(RESULTS / "perturb_feature").best_over("seed").to_xarray()
norms = np.sqrt((ds["W"] ** 2).sum("hidden")).values.ravel()
bias = ds["b"].values.ravel()
keep = norms > 0.5
b = np.linspace(bias[keep].min(), 0, 50)
plt.scatter(bias[keep], norms[keep], s=8, label="represented features (best of seeds)")
plt.plot(b, 1 / (1 - b), label="||W_i|| = 1/(1-b_i)")
plt.plot(b, np.sqrt(1 - b), label="||W_i||^2 = 1 - b_i")
plt.xlabel("b_i")
plt.ylabel("||W_i||")
plt.legend();
