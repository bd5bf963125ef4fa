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

import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown, display

import toysuper as ts
from toysuper.analysis.phase import PHASES, closed_form_losses_2in1, diagrams
from toysuper.experiments.report import claims_table
from toysuper.experiments.runner import redraw, run_experiment
from toysuper.models import TiedParams
from toysuper.objectives.population import population_loss

RESULTS = Path(os.environ.get("TOYSUPER_RESULTS", "../results"))
reports = {name: run_experiment(name, "quick", out=RESULTS / name)
           for name in ("phase_2in1", "phase_3in2")}

# %% [markdown]
# ## The three candidates, by hand ([TMS section 4](https://transformer-circuits.pub/2022/toy_model/index.html))
# Two features in one dimension (m=1), feature 2 of importance r, both at density p. A weight
# vector W in {[1, 0], [0, 1], [1, -1]} (extra feature not learned, extra feature alone, both
# antipodal) with biases 0 on represented features and the mean p/2 on a dropped one has the
# paper's closed-form losses; the quadrature the exact-loss objective trains on agrees:

# %%
r, p = 0.5, 0.1
candidates = {"not learned": ([[1.0], [0.0]], [0.0, p / 2]),
               "dedicated": ([[0.0], [1.0]], [p / 2, 0.0]),
               "antipodal": ([[1.0], [-1.0]], [0.0, 0.0])}
closed = closed_form_losses_2in1(r, p)
for name, (W, b) in candidates.items():
    quadrature = population_loss(TiedParams(jnp.array(W), jnp.array(b)), jnp.full(2, p),
                                 jnp.array([1.0, r]))
    print(f"{name:>11}: closed form {float(closed[name]):.6f}, quadrature {float(quadrature):.6f}")

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
