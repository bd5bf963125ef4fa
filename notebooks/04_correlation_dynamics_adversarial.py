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
# Elhage et al. (2022), [Toy Models of Superposition](https://transformer-circuits.pub/2022/toy_model/index.html).
# Three experiments, each trained here live at a smaller size than `toysuper run NAME` (the
# experiment's quick sweeps with fewer seeds, densities or steps: `Sweep.smaller`), then analysed
# and drawn with the experiment's own functions (the claims tables are measured on these runs):
# - `correlated`: sets of features that fire together (correlated) or never together
#   (anticorrelated), declared with `FeatureSets`;
# - `dynamics`: the parameters recorded at log-spaced steps inside the compiled training loop
#   (`TrainConfig.snapshot_steps`), and the jumps of each feature's dimensionality;
# - `adversarial`: the analytic attack along (W^T W)_i, and adversarial training
#   (the objective `AdversarialBatches`).

# %%
import os
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from IPython.display import Markdown

import toysuper as ts
from toysuper.analysis import feature_dimensionality
from toysuper.analysis.correlation import within_cosines
from toysuper.attacks import attack_directions
from toysuper.data import sample_feature_sets_feature_major
from toysuper.experiments import adversarial, correlated, dynamics
from toysuper.experiments.report import claims_table

RESULTS = Path(os.environ.get("TOYSUPER_RESULTS", "../results")) / "notebook_04"


def train(parts: dict, **smaller: dict) -> dict:
    """Train each part of an experiment at the size `smaller[part]` gives (Sweep.smaller)."""
    return {part: ts.run_sweep(s.smaller(**smaller.get(part, {})), out=RESULTS / part)
            for part, s in parts.items()}

# %% [markdown]
# ## The attack, by hand ([TMS section 7](https://transformer-circuits.pub/2022/toy_model/index.html))
# The same ReLU-output model as in section 2. Output i reads the input through row i of the Gram
# matrix G = W W^T, so the input change of a given norm that moves feature i's pre-activation most
# is along G_i / ||G_i||; without superposition G_i = e_i and only feature i moves. Checked
# against `toysuper.attacks`:

# %%
params = ts.MODEL_KINDS["relu_output"].init(jax.random.key(0), ts.ModelConfig(6, 3))
gram = params.W @ params.W.T
by_hand = gram / jnp.linalg.norm(gram, axis=-1, keepdims=True)
assert np.allclose(by_hand, attack_directions(params.W), atol=1e-6)

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

# %% [markdown]
# Two seeds per setting and 3,000 steps here (quick fidelity: four seeds, 10,000 steps), and
# six of the twelve densities of the collapse sweep:

# %%
corr = train(correlated.sweep("quick"),
             **{part: {"steps": 3000, "seed": 2, "feature_probability": 6}
                for part in correlated.sweep("quick")})
corr_metrics, corr_claims, corr_data = correlated.analyse(corr)
corr_figures = correlated.figures(corr_data)
corr_figures["correlated_pairs"]

# %%
corr_figures["correlated_collapse"]

# %%
corr_figures["correlated_local_bases"]

# %%
Markdown("\n".join(claims_table([c.to_dict() for c in corr_claims])))

# %% [markdown]
# The within-set cosines of the best model at every density of the collapse sweep, straight
# from the `xarray.Dataset`:

# %%
collapse = corr["correlated_3x2"].best_over("seed").to_xarray()
for p in collapse["feature_probability"].values:
    W = collapse["W"].sel(feature_probability=p).values
    print(f"1-S = {p:<6.3g}", [round(float(within_cosines(W, s)[0]), 2)
                               for s in ([0, 1], [2, 3], [4, 5])])

# %% [markdown]
# ## Learning dynamics

# %% [markdown]
# One seed of the uniform setting (n=400 features in m=30 dimensions, a snapshot every 100
# steps) for 2,000 steps, and two seeds of the correlated one for the full 10,000 (quick
# fidelity: two seeds each, 10,000 steps; the paper: ten):

# %%
dyn = train(dynamics.sweep("quick"), uniform={"seed": 1, "steps": 2000}, octahedron={"seed": 2})
dyn_metrics, dyn_claims, dyn_data = dynamics.analyse(dyn)
dyn_figures = dynamics.figures(dyn_data)
dyn_figures["dynamics_jumps"]

# %%
dyn_figures["dynamics_octahedron"]

# %%
Markdown("\n".join(claims_table([c.to_dict() for c in dyn_claims])))

# %% [markdown]
# The snapshots are ordinary result variables with a `snapshot` dimension:

# %%
uniform = dyn["uniform"].to_xarray()
D = feature_dimensionality(uniform["W_snapshots"].isel(seed=0).values)
print(uniform["W_snapshots"].dims, "steps:", uniform["snapshot"].values[[0, 1, -1]])
print("D_i at the last snapshot:", np.round(np.asarray(D[-1]), 2))

# %% [markdown]
# ## Adversarial vulnerability

# %% [markdown]
# Six densities and five attack norms, 2,000 steps here (quick fidelity: ten densities, seven
# norms, 5,000 steps):

# %%
adv = train(adversarial.sweep("quick"),
            vulnerability={"steps": 2000, "feature_probability": 6},
            adversarial_training={"steps": 2000, "attack_norm": 5})
adv_metrics, adv_claims, adv_data = adversarial.analyse(adv)
adversarial.figures(adv_data)["adversarial"]

# %%
Markdown("\n".join(claims_table([c.to_dict() for c in adv_claims])))
