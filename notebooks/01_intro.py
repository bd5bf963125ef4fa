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
# Elhage et al. (2022), figure 1: as features get sparser, a ReLU-output model with m=2 hidden
# dimensions goes from keeping the two most important features, to two antipodal pairs, to all
# five features in a pentagon. This runs the `intro` experiment at quick fidelity (reusing
# `../results/intro`, or `$TOYSUPER_RESULTS/intro` when set, if it is there, as `toysuper reproduce`
# leaves it) and shows its figure and the
# paper's claims next to what was measured.

# %%
import os
from pathlib import Path

from IPython.display import Image, Markdown

import toysuper as ts
from toysuper.experiments.report import claims_table
from toysuper.experiments.runner import run_experiment

RESULTS = Path(os.environ.get("TOYSUPER_RESULTS", "../results"))
OUT = RESULTS / "intro"
report = run_experiment("intro", "quick", out=OUT)

# %%
Image(OUT / "intro.png")

# %%
Markdown("\n".join(claims_table(report["claims"])))

# %% [markdown]
# The trained weights are an `xarray.Dataset`; per density, the best of the seeds:

# %%
best = ts.load(OUT).best_over("seed").to_xarray()
best[["loss", "seed"]].to_dataframe().round(4)
