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
# Elhage et al. (2022). Two experiments at quick fidelity (each reuses `../results/NAME`, or
# `$TOYSUPER_RESULTS/NAME` when set, if
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
import os
from pathlib import Path

from IPython.display import Image, Markdown

import toysuper as ts
from toysuper.analysis.neurons import connections, neuron_groups, regime
from toysuper.experiments.runner import claims_table, run_experiment

RESULTS = Path(os.environ.get("TOYSUPER_RESULTS", "../results"))
print({name: kind.description for name, kind in ts.MODEL_KINDS.items()})

# %% [markdown]
# ## A privileged basis: which neuron reads which feature

# %%
basis_report = run_experiment("privileged_basis", "quick", out=RESULTS / "privileged_basis")
Image(RESULTS / "privileged_basis" / "privileged_basis.png")

# %%
Markdown("\n".join(claims_table(basis_report["claims"])))

# %% [markdown]
# Why restarts matter: the regime of every restart at each density, from `metrics.json` (the
# figure shows the best). Dense models often stop in a rotated basis that the ReLU punishes; the
# lowest loss is the monosemantic one.

# %%
for row in basis_report["metrics"]["per_density"]:
    print(f"1-S = {row['feature_probability']:<5.3g} best: {row['regime']:<24} "
          f"restarts: {row['restarts_by_regime']}")

# %% [markdown]
# The analysis works on any weights: the best dense model's neuron groups, straight from the
# `xarray.Dataset`.

# %%
best = ts.load(RESULTS / "privileged_basis").best_over("seed").to_xarray()
links = connections(best["W"].sel(feature_probability=1.0).values)
print(regime(links), [g.describe() for g in neuron_groups(links)])

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
for row in abs_report["metrics"]["n100_m40"]:
    print(f"1-S = {row['feature_probability']:<6.3g} polysemantic neurons: "
          f"{row['polysemantic_neurons']:<3} motifs: {row['asymmetric_motifs'][:2]}")
