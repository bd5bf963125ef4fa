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
# # TMS sections 8-9: superposition in a privileged basis, and computation in superposition
#
# Elhage et al. (2022), [Toy Models of Superposition](https://transformer-circuits.pub/2022/toy_model/index.html).
# Two experiments, each trained here live at a smaller size than `toysuper run NAME` (the
# experiment's quick sweep with fewer restarts, densities or steps: `Sweep.smaller`), then
# analysed and drawn with the experiment's own functions:
# - `privileged_basis`: a ReLU on the hidden layer (`relu_hidden`) makes neurons meaningful; as
#   features get sparser the best model goes from monosemantic neurons to k features in j
#   neurons;
# - `absolute_value`: an untied MLP (`abs_mlp`) computing |x| of signed sparse inputs, with two
#   neurons per feature when it can afford them and polysemantic neurons when it cannot.
#
# Both model kinds are entries of `toysuper.MODEL_KINDS`: the engine that trains them is the one
# of every other experiment. The claims tables are measured on these small runs.

# %%
import os
from pathlib import Path

import jax
import numpy as np
from IPython.display import Markdown

import toysuper as ts
from toysuper.analysis.neurons import connections, neuron_groups, regime
from toysuper.experiments import absolute_value, privileged_basis
from toysuper.experiments.report import claims_table

RESULTS = Path(os.environ.get("TOYSUPER_RESULTS", "../results")) / "notebook_05"
print({name: kind.description for name, kind in ts.MODEL_KINDS.items()})

# %% [markdown]
# ## The models, by hand ([TMS sections 8-9](https://transformer-circuits.pub/2022/toy_model/index.html))
# A ReLU on the hidden layer makes its basis privileged: x' = ReLU(ReLU(x W) W^T + b)
# (`relu_hidden`). Computing |x| takes an untied MLP on inputs in [-1, 1]:
# y' = ReLU(ReLU(x W) W_out^T + b) (`abs_mlp`), trained to output |x|. Checked against the kinds:

# %%
def relu_hidden(W, b, x):
    return jax.nn.relu(jax.nn.relu(x @ W) @ W.T + b)


def abs_mlp(W, W_out, b, x):
    return jax.nn.relu(jax.nn.relu(x @ W) @ W_out.T + b)


x = jax.random.uniform(jax.random.key(0), (256, 10), minval=-1.0, maxval=1.0)
hidden = ts.MODEL_KINDS["relu_hidden"].init(jax.random.key(1), ts.ModelConfig(10, 5, "relu_hidden"))
mlp = ts.MODEL_KINDS["abs_mlp"].init(jax.random.key(2), ts.ModelConfig(10, 5, "abs_mlp"))
assert np.allclose(relu_hidden(hidden.W, hidden.b, x),
                   ts.MODEL_KINDS["relu_hidden"].apply(hidden, x), atol=1e-5)
assert np.allclose(abs_mlp(mlp.W, mlp.W_out, mlp.b, x), ts.MODEL_KINDS["abs_mlp"].apply(mlp, x),
                   atol=1e-5)

# %% [markdown]
# ## A privileged basis: which neuron reads which feature
#
# n=10 features, m=5 ReLU neurons, importance 0.75^i; 4 restarts x 3,000 steps per density
# here (quick fidelity: 24 x 6,000; the paper: 1,000), the best by one common evaluation.

# %%
basis = ts.run_sweep(privileged_basis.sweep("quick").smaller(steps=3000, seed=4),
                     out=RESULTS / "privileged_basis")
basis_metrics, basis_claims, basis_data = privileged_basis.analyse(basis)
privileged_basis.figures(basis_data)["privileged_basis"]

# %%
Markdown("\n".join(claims_table([c.to_dict() for c in basis_claims])))

# %% [markdown]
# Why restarts matter: the regime of every restart at each density (the figure shows the
# best). Dense models often stop in a rotated basis that the ReLU punishes; the lowest loss is
# the monosemantic one.

# %%
for row in basis_metrics["per_density"]:
    print(f"1-S = {row['feature_probability']:<5.3g} best: {row['regime']:<24} "
          f"restarts: {row['restarts_by_regime']}")

# %% [markdown]
# The analysis works on any weights: the best dense model's neuron groups, straight from the
# `xarray.Dataset`.

# %%
best = basis.best_over("seed").to_xarray()
links = connections(best["W"].sel(feature_probability=1.0).values)
print(regime(links), [g.describe() for g in neuron_groups(links)])

# %% [markdown]
# ## Computing |x| in superposition
#
# n=3 features in m=6 neurons (best of 4 seeds), and n=100 features in m=40 neurons at four
# densities, one seed, 3,000 steps (quick fidelity: seven densities, three seeds, 5,000 steps).

# %%
abs_parts = absolute_value.sweep("quick")
abs_parts["n100_m40"] = abs_parts["n100_m40"].smaller(steps=3000, feature_probability=4, seed=1)
abs_results = {part: ts.run_sweep(s, out=RESULTS / part) for part, s in abs_parts.items()}
abs_metrics, abs_claims, abs_data = absolute_value.analyse(abs_results)
abs_figures = absolute_value.figures(abs_data)
abs_figures["absolute_value_n3"]

# %%
abs_figures["absolute_value_n100"]

# %%
Markdown("\n".join(claims_table([c.to_dict() for c in abs_claims])))

# %% [markdown]
# The asymmetric superposition motifs found, with their input weights (strong, weak) and the
# neurons that inhibit the weak feature's output:

# %%
for row in abs_metrics["n100_m40"]:
    print(f"1-S = {row['feature_probability']:<6.3g} polysemantic neurons: "
          f"{row['polysemantic_neurons']:<3} motifs: {row['asymmetric_motifs'][:2]}")
