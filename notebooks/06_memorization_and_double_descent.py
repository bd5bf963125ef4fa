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
# # Memorisation and double descent (Henighan et al. 2023)
#
# relu_output models trained full batch on a fixed set of T unit-norm sparse points. Small T:
# the model memorises (the hidden vectors h_t of the training points spread into a T-gon);
# large T: it learns features (five in a pentagon for m=2); in between the test loss peaks.
#
# The dataset size is a traced sweep axis (sets padded to a capacity and masked), so one
# compiled sweep trains many T at once. This notebook trains the m=2 parts of the quick
# experiment up to T=256 live, on one training set per size instead of four (`Sweep.smaller`),
# and shows the full experiment's figures if `toysuper run double_descent` left them in
# `../results/double_descent` (or `$TOYSUPER_RESULTS/double_descent` when set).

# %%
import os
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from IPython.display import Markdown, display

import toysuper as ts
from toysuper.data import densify
from toysuper.experiments import double_descent as dd
from toysuper.experiments.report import claims_table
from toysuper.experiments.runner import redraw
from toysuper.plotting.double_descent import plot_double_descent, plot_memorisation_pictures

RESULTS = Path(os.environ.get("TOYSUPER_RESULTS", "../results")) / "double_descent"
LIVE = RESULTS.parent / "notebook_06"
parts = {name: s.smaller(dataset_seed=1) for name, s in dd.sweep("quick").items()
         if name in ("m2_T64", "m2_T256")}
for name, s in parts.items():
    print(name, dict(zip([a.name for a in s.axes], s.shape, strict=True)), s.train.objective)

# %% [markdown]
# ## The loss on a fixed dataset, by hand ([Henighan et al. 2023](https://transformer-circuits.pub/2023/toy-double-descent/index.html))
# The same ReLU-output model, trained full batch on T fixed points, each sparse and rescaled to
# unit norm: the loss is the mean over the T points of ||x_t - ReLU(x_t W W^T + b)||^2 (so
# predicting 0 costs exactly 1). The `FixedDataset` objective computes it from the points'
# active features only; by hand on the dense points it is the same:

# %%
objective = ts.FixedDataset(capacity=64, max_active=16)
points = densify(objective.points(0.05, 100, 64), 100)  # (64, 100), unit norm
params = ts.MODEL_KINDS["relu_output"].init(jax.random.key(0), ts.ModelConfig(100, 2))
by_hand = jnp.mean(jnp.sum((points - jax.nn.relu(points @ params.W @ params.W.T + params.b))
                           ** 2, axis=-1))
hyper = ts.Hyper.create(100, feature_probability=0.05, dataset_size=64)
packaged = objective.loss(objective.data_key(None, hyper), hyper, ts.ModelConfig(100, 2), 0)
print(float(by_hand), float(packaged(params, 0)))
assert np.isclose(by_hand, packaged(params, 0), rtol=1e-5)

# %%
results = [ts.run_sweep(s, out=LIVE / name) for name, s in parts.items()]
ds = results[-1].to_xarray()
ds

# %% [markdown]
# The best of the inits (lowest training loss) at every T, described: dimensionalities of the
# training points and of the features, the regime, the norms and the loss on 10,000 held-out
# points.

# %%
held_out = dd.held_out_set(results[0].sweep, dd.TEST_POINTS)
main = dd.series(results, held_out, keep_models=True)
sizes = np.array(main["size"])
for k, size in enumerate(sizes):
    print(f"T={size:4d} {main['regime'][k]:<12} train {main['train_loss'][k]:.3f} "
          f"test {main['test_loss'][k]:.3f}  median D_t T/m {main['point_share'][k]:.2f}  "
          f"||W|| {main['W_norm'][k]:5.2f} ||b|| {main['b_norm'][k]:5.2f}")

# %%
plot_double_descent(sizes, main, dd.PICTURE_HIDDEN, dd.FIDELITY["quick"].density)

# %%
chosen = [0, int(np.argmax(main["test_loss"])), len(sizes) - 1]
plot_memorisation_pictures([{"size": int(sizes[k]), "H": main["H"][k], "W": main["W"][k],
                             "regime": main["regime"][k]} for k in chosen])

# %% [markdown]
# ## The whole experiment
# `toysuper run double_descent --fidelity quick` (about 5 minutes on 2 CPU cores) adds T up to
# 2,048 (the pentagon), the T x m map and the ablations at m=4. Its figures and claims, if it
# has been run:

# %%
if (RESULTS / "metrics.json").exists():
    import json

    report = json.loads((RESULTS / "metrics.json").read_text())
    display(Markdown("\n".join(claims_table(report["claims"]))))
    for figure in redraw("double_descent", RESULTS).values():  # from the trained models
        display(figure)
else:
    print("not run yet: toysuper run double_descent --fidelity quick --out results/double_descent")
