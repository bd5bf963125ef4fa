"""One common evaluation of trained models, to rank the restarts of a grid point.

A model's training loss (the mean of its last log window) is measured on that model's own random
batches, so two restarts of one grid point are compared through different noise, about 0.3-1% of
the loss at batch 1024: as large as the gap between competing geometries (a pentagon against two
antipodal pairs). Ranking by it picks the most common basin, not the best one. The paper's
best-of-k keeps the model of lowest loss; we measure that loss the same way for every restart:

- the exact expected loss (`toysuper.objectives.population`) where it is cheap, i.e. tied
  reconstruction kinds on sparse uniform inputs with n_features <= EXACT_MAX_FEATURES;
- the objective's own deterministic loss when it has one (a fixed training set, as in Henighan
  et al. 2023, whose protocol keeps the lowest training loss; exact-loss training);
- otherwise the training objective on EVAL_SAMPLES fresh samples drawn from one evaluation key
  shared by every model of the sweep: common random numbers, so the restarts of a point see the
  same inputs and their difference carries no sampling noise of its own.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from toysuper.engine import estimate_bytes_per_model, memory_budget
from toysuper.models import MODEL_KINDS
from toysuper.objectives.population import population_losses
from toysuper.sweep import Sweep
from toysuper.training import batch_loss

EVAL_SAMPLES = 1 << 16  # per model; the standard error of a loss difference under common inputs
EVAL_BATCH = 8192  # samples per evaluated batch (memory: batch x n_features per model at once)
EVAL_SEED = 2**31 - 3  # the evaluation key, fold_in(key(EVAL_SEED), step); no model seed uses it
EXACT_MAX_FEATURES = 4  # subset quadrature costs resolution^n nodes: exact ranking up to n = 4
EXACT_RESOLUTION = 32  # midpoint-rule points per active feature for exact ranking
MAX_MODELS_AT_ONCE = 32


def models_at_once(bytes_per_model: int) -> int:
    """How many models fit the per-device memory budget at once (1 to MAX_MODELS_AT_ONCE)."""
    return int(max(1, min(MAX_MODELS_AT_ONCE, memory_budget() // max(1, bytes_per_model))))


def exact_available(sweep: Sweep) -> bool:
    """Whether `evaluation_loss` ranks this sweep's models by their exact expected loss."""
    return (sweep.train.objective.tms_inputs
            and MODEL_KINDS[sweep.model.kind].reconstructs_sparse_uniform
            and sweep.model.n_features <= EXACT_MAX_FEATURES)


def evaluation_loss(sweep: Sweep, params: dict[str, np.ndarray],
                    batch_size: int | None = None) -> np.ndarray:
    """The common evaluation loss of every model of `sweep`.

    Args:
      sweep: the sweep that trained the models.
      params: each parameter of the model kind with a leading (size,) axis in the sweep's C
        order (e.g. W (size, n, m), b (size, n)).
      batch_size: models evaluated at once; default: as many as the per-device memory budget
        (`toysuper.engine.memory_budget`) holds, at most MAX_MODELS_AT_ONCE.

    Returns:
      (size,) losses; NaN where a model's parameters are not finite.
    """
    hyper = sweep.grid_hyper()
    n = sweep.model.n_features
    if exact_available(sweep):
        nodes = (EXACT_RESOLUTION + 1) ** n
        return population_losses(params["W"], params["b"], hyper.feature_probability,
                                 hyper.importance, sweep.model.kind, EXACT_RESOLUTION,
                                 batch_size=batch_size or models_at_once(16 * nodes * n))
    objective = sweep.train.objective
    deterministic = objective.deterministic
    n_batches = 1 if deterministic else max(1, EVAL_SAMPLES // EVAL_BATCH)
    train_cfg = sweep.train if deterministic else dataclasses.replace(
        sweep.train, batch_size=min(EVAL_BATCH, EVAL_SAMPLES), snapshot_steps=())
    batch_size = batch_size or models_at_once(estimate_bytes_per_model(sweep.model, train_cfg))
    param_type = type(MODEL_KINDS[sweep.model.kind].init(jax.random.key(0), sweep.model))
    shared = objective.shared()

    def one(args):
        p, h = args
        key = objective.data_key(jax.random.key(EVAL_SEED), h)
        loss = batch_loss(key, h, sweep.model, train_cfg, shared)
        model = param_type(**p)
        return jnp.mean(jax.lax.map(lambda t: loss(model, t), jnp.arange(n_batches)))

    run = jax.jit(lambda ps, hs: jax.lax.map(one, (ps, hs), batch_size=batch_size))
    losses = run({k: jnp.asarray(v) for k, v in params.items()}, jax.tree.map(jnp.asarray, hyper))
    return np.asarray(losses)
