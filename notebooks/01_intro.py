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
# # TMS section 1: five features in two dimensions
#
# [Elhage et al. (2022), *Toy Models of Superposition*](https://transformer-circuits.pub/2022/toy_model/index.html),
# figure 1: as features get sparser, a ReLU-output model with m=2 hidden dimensions goes from
# keeping the two most important features, to two antipodal pairs, to all five features in a
# pentagon.
#
# ## The model and its loss
# A feature vector x in R^5 (each feature active with probability p = 1 - S, then uniform in
# [0, 1)) is squeezed into h = x W in R^2 and read back as x' = ReLU(h W^T + b); feature i's
# squared error counts with importance I_i = 0.9^i. In JAX, for a batch of rows x:

# %%
import os
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from IPython.display import Markdown

import toysuper as ts
from toysuper.data import sample_sparse_uniform
from toysuper.experiments.report import claims_table
from toysuper.experiments.runner import run_experiment
from toysuper.plotting.intro import plot_intro


def model(W, b, x):
    return jax.nn.relu(x @ W @ W.T + b)


def loss(W, b, x, importance):
    return jnp.mean(jnp.sum(importance * (x - model(W, b, x)) ** 2, axis=-1))


# %% [markdown]
# toysuper's `relu_output` kind is this function (with its own initialisation and samplers); a
# check on random weights and one sampled batch:

# %%
kind, config = ts.MODEL_KINDS["relu_output"], ts.ModelConfig(n_features=5, n_hidden=2)
params = kind.init(jax.random.key(0), config)
x = sample_sparse_uniform(jax.random.key(1), jnp.full(5, 0.1), 1024)
importance = ts.decaying_importance(5, 0.9)
assert np.allclose(model(params.W, params.b, x), kind.apply(params, x), atol=1e-6)
float(loss(params.W, params.b, x, importance))

# %% [markdown]
# ## The paper's configuration, trained live
# The `intro` experiment at quick fidelity: ten densities from 1 to 0.05, 8 seeds each, 10,000
# AdamW steps, one compiled sweep (about 17 s of training on a 2-core CPU). It reuses
# `../results/intro` (or `$TOYSUPER_RESULTS/intro`) when that holds the same run.

# %%
RESULTS = Path(os.environ.get("TOYSUPER_RESULTS", "../results"))
OUT = RESULTS / "intro"
report = run_experiment("intro", "quick", out=OUT)
best = ts.load(OUT).best_over("seed").to_xarray()  # per density, the best of the seeds
plot_intro(best);

# %% [markdown]
# One density at a time (a slider with `pip install -e ".[notebooks]"`; without ipywidgets,
# the sparsest density):

# %%
try:
    from ipywidgets import IntSlider, interact

    interact(lambda k: plot_intro(best.isel(feature_probability=[k])),
             k=IntSlider(len(best.feature_probability) - 1, 0, len(best.feature_probability) - 1,
                         description="density"))
except ImportError:
    plot_intro(best.isel(feature_probability=[-1]));

# %% [markdown]
# What the paper claims, and what this run measured:

# %%
Markdown("\n".join(claims_table(report["claims"])))

# %% [markdown]
# The trained weights are an `xarray.Dataset` (with a `sparsity` coordinate S = 1 - p):

# %%
best[["loss", "seed", "sparsity"]].to_dataframe().round(4)
