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
# # TMS section 4: superposition as a phase change
#
# An extra feature of relative importance r competes with features of importance 1 for too few
# hidden dimensions (2 features in 1 dimension, 3 in 2). Over a grid of r and feature density,
# we train several models per point in one sweep, classify what the extra feature became, and
# compare with theory: each candidate solution's expected loss, with its norms and biases
# optimised on the exact population loss. This runs both experiments at quick fidelity (reusing
# `../results/`, or `$TOYSUPER_RESULTS` when set, if `toysuper reproduce` left them there).

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown, display

import toysuper as ts
from toysuper.analysis.phase import PHASES, diagrams
from toysuper.experiments.report import claims_table
from toysuper.experiments.runner import redraw, run_experiment

RESULTS = Path(os.environ.get("TOYSUPER_RESULTS", "../results"))
reports = {name: run_experiment(name, "quick", out=RESULTS / name)
           for name in ("phase_2in1", "phase_3in2")}

# %% [markdown]
# The figures, drawn from the trained models (`redraw` loads and analyses a result; it never
# trains):

# %%
for name in reports:
    for figure in redraw(name, RESULTS / name).values():
        display(figure)

# %% [markdown]
# The paper's claims next to what was measured:

# %%
for name, r in reports.items():
    display(Markdown(f"**{name}**\n\n" + "\n".join(claims_table(r["claims"]))))

# %% [markdown]
# How often does a single training run find the theoretical optimum? Agreement with theory (at
# points away from the boundaries) of the best of the first k seeds. A seed shares its
# initialisation across the grid, so restarts help in steps.

# %%
fig, ax = plt.subplots(figsize=(4, 3))
for name, r in reports.items():
    k = np.arange(1, len(r["metrics"]["agreement_by_restarts"]) + 1)
    ax.plot(k, r["metrics"]["agreement_by_restarts"], "o-", label=name)
ax.set(xlabel="restarts k (best of k)", ylabel="agreement with theory", ylim=(0, 1.05))
ax.legend();

# %% [markdown]
# The data behind a diagram, as arrays: the phase of every trained model and the theory.

# %%
d = diagrams(ts.load(RESULTS / "phase_3in2").dataset)
counts = {PHASES[k]: int((d["empirical"] == k).sum()) for k in range(len(PHASES))}
counts
