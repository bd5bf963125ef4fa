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
# Elhage et al. (2022), [Toy Models of Superposition](https://transformer-circuits.pub/2022/toy_model/index.html).
# Three experiments, each trained here live at a smaller size than `toysuper run NAME` (the
# experiment's own quick sweep with fewer seeds, densities or steps: `Sweep.smaller`), then
# analysed and drawn with the experiment's own functions:
# - `sparsity_sweep`: linear against ReLU-output models as features get sparser (figures 2-3);
# - `geometry`: with uniform importance, dimensions per feature D* and each feature's
#   dimensionality D_i against 1/(1-S), and the polytopes the features form;
# - `perturb_feature`: a pentagon as one feature's density changes.
#
# The claims tables below are measured on these small runs; `toysuper run NAME` gives the
# experiment at quick fidelity, and the figures in `../figures/` were made that way.

# %%
import os
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown

import toysuper as ts
from toysuper.analysis import feature_dimensionality
from toysuper.analysis.polytopes import name_group, polytopes
from toysuper.data import sample_sparse_uniform
from toysuper.experiments import geometry, perturb_feature, sparsity_sweep
from toysuper.experiments.report import claims_table
from toysuper.plotting.sparsity import plot_sparsity_sweep

RESULTS = Path(os.environ.get("TOYSUPER_RESULTS", "../results")) / "notebook_02"

# %% [markdown]
# ## The two models, by hand ([TMS section 2](https://transformer-circuits.pub/2022/toy_model/index.html))
# Both squeeze x (n features) into h = x W (m < n dimensions) and read it back with the same W:
# the linear model x' = h W^T + b, the ReLU-output model x' = ReLU(h W^T + b). The loss weighs
# feature i's squared error by its importance I_i. Checked against the package's kinds:

# %%
def linear(W, b, x):
    return x @ W @ W.T + b


def relu_output(W, b, x):
    return jax.nn.relu(linear(W, b, x))


x = sample_sparse_uniform(jax.random.key(0), jnp.full(20, 0.1), 256)
for name, by_hand in (("linear", linear), ("relu_output", relu_output)):
    params = ts.MODEL_KINDS[name].init(jax.random.key(1), ts.ModelConfig(20, 5, name))
    assert np.allclose(by_hand(params.W, params.b, x), ts.MODEL_KINDS[name].apply(params, x),
                       atol=1e-5)

# %% [markdown]
# ## Superposition as a function of sparsity
#
# n=20 features, m=5 dimensions, importance 0.7^i; the linear model against the ReLU-output one
# at seven densities, best of 2 seeds (ranked by one common evaluation, `Result.best_over`),
# 3,000 steps (quick fidelity: 16 seeds, 5,000 steps).

# %%
parts = {part: s.smaller(steps=3000, seed=2) for part, s in sparsity_sweep.sweep("quick").items()
         if part.endswith("_n20")}
results = {part: ts.run_sweep(s, out=RESULTS / part) for part, s in parts.items()}
summary = {part: sparsity_sweep.summarise(r) for part, r in results.items()}
plot_sparsity_sweep({kind: summary[f"{kind}_n20"] for kind in sparsity_sweep.KINDS}, 20, 5);

# %% [markdown]
# Each model kind is its own sweep, saved in its own directory and opened as an
# `xarray.Dataset`. The number of represented features (||W_i|| > 0.5) per density:

# %%
for part, r in results.items():
    best = r.best_over("seed").to_xarray()
    norms = np.sqrt((best["W"] ** 2).sum("hidden"))
    print(f"{part:<16}", (norms > 0.5).sum("feature").values)

# %% [markdown]
# ## The geometry of superposition
#
# Uniform importance, n=100 features in m=10 dimensions, one model per density (8 densities
# from 1 to 1/20 and 3,000 steps here; 16 densities and 5,000 steps at quick fidelity; 40
# densities, 10,000 steps and n=400, m=30 in the paper).

# %%
geo_parts = {part: s.smaller(steps=3000, feature_probability=8)
             for part, s in geometry.sweep("quick").items()}
geo_results = {part: ts.run_sweep(s, out=RESULTS / part) for part, s in geo_parts.items()}
geo_metrics, geo_claims, geo_data = geometry.analyse(geo_results)
figs = geometry.figures(geo_data)
figs["geometry_dimensionality"]

# %%
figs["geometry_feature_graphs"]

# %%
Markdown("\n".join(claims_table([c.to_dict() for c in geo_claims])))

# %% [markdown]
# The polytopes of one trained model, straight from its weights:

# %%
ds = next(iter(geo_results.values())).to_xarray()
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
#
# Four features at density 0.05 and a fifth whose density varies (7 relative densities x 4
# seeds here); the best seed of each point by its exact expected loss.

# %%
perturb = ts.run_sweep(perturb_feature.sweep("quick").smaller(relative_density=7, seed=4),
                       out=RESULTS / "perturb_feature")
perturb_metrics, perturb_claims, perturb_data = perturb_feature.analyse(perturb)
perturb_feature.figures(perturb_data)["perturb_feature"]

# %%
Markdown("\n".join(claims_table([c.to_dict() for c in perturb_claims])))

# %% [markdown]
# The norm-bias relation of the pentagon points, against the printed form and the one that
# holds:

# %%
norms = np.sqrt((perturb_data["W"] ** 2).sum(-1)).ravel()
bias = perturb_data["b"].ravel()
keep = norms > 0.5
b = np.linspace(bias[keep].min(), 0, 50)
plt.scatter(bias[keep], norms[keep], s=8, label="represented features (best of seeds)")
plt.plot(b, 1 / (1 - b), label="||W_i|| = 1/(1-b_i) (as printed)")
plt.plot(b, np.sqrt(1 - b), label="||W_i||^2 = 1 - b_i")
plt.xlabel("b_i")
plt.ylabel("||W_i||")
plt.legend();
