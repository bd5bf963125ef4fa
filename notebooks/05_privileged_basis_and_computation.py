# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # TMS sections 8-9: superposition in a privileged basis, and computation in superposition
#
# Elhage et al. (2022). Two experiments at quick fidelity (each reuses `../results/NAME` if
# `toysuper reproduce` left it there):
# - `privileged_basis`: a ReLU on the hidden layer (`relu_hidden`) makes neurons meaningful; as
#   features get sparser the best model goes from monosemantic neurons to k features in j
#   neurons;
# - `absolute_value`: an untied MLP (`abs_mlp`) computing |x| of signed sparse inputs, with two
#   neurons per feature when it can afford them and polysemantic neurons when it cannot.
#
# Both model kinds are entries of `toysuper.MODEL_KINDS`: the engine that trains them is the one
# of every other experiment.

# %%
from pathlib import Path

import numpy as np
from IPython.display import Image, Markdown

import toysuper as ts
from toysuper.analysis.neurons import connections, neuron_groups, regime
from toysuper.experiments import absolute_value
from toysuper.experiments.runner import claims_table, run_experiment

RESULTS = Path("../results")
print({name: kind.description for name, kind in ts.MODEL_KINDS.items()})

# %% [markdown]
# ## A privileged basis: which neuron reads which feature

# %%
basis_report = run_experiment("privileged_basis", "quick", out=RESULTS / "privileged_basis")
Image(RESULTS / "privileged_basis" / "privileged_basis.png")

# %%
Markdown("\n".join(claims_table(basis_report["claims"])))

# %% [markdown]
# Why restarts matter: the regime of every restart at each density (the figure shows the best).
# Dense models often stop in a rotated basis that the ReLU punishes; the lowest loss is the
# monosemantic one.

# %%
ds = ts.load(RESULTS / "privileged_basis").to_xarray()
for density in ds["feature_probability"].values:
    models = ds.sel(feature_probability=density)
    labels = [regime(connections(w)) for w in models["W"].values]
    best = int(models["loss"].argmin())
    print(f"1-S = {density:<5.3g} best: {labels[best]:<13} "
          f"restarts: {dict(zip(*np.unique(labels, return_counts=True), strict=True))}")

# %% [markdown]
# ## Computing |x| in superposition

# %%
abs_report = run_experiment("absolute_value", "quick", out=RESULTS / "absolute_value")
Image(RESULTS / "absolute_value" / "absolute_value_n3.png")

# %%
Image(RESULTS / "absolute_value" / "absolute_value_n100.png")

# %%
Markdown("\n".join(claims_table(abs_report["claims"])))

# %% [markdown]
# The asymmetric superposition motifs found, with their input weights (strong, weak) and the
# neurons that inhibit the weak feature's output:

# %%
big = ts.load(RESULTS / "absolute_value" / "n100_m40").to_xarray()
for density in big["feature_probability"].values:
    model = big.sel(feature_probability=density)
    motifs = absolute_value.asymmetric_motifs(model["W"].values, model["W_out"].values)
    groups = neuron_groups(connections(model["W"].values, signed=True))
    print(f"1-S = {density:<6.3g} largest neuron group: {groups[0].describe():<9} "
          f"motifs: {motifs[:2]}")
