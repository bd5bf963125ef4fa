"""One training run as a pure function: AdamW on the objective's loss inside `lax.scan`.

The loss of each step comes from `TrainConfig.objective` (`toysuper.objectives`): a fresh batch
drawn inside the scan by default, or a fixed training set regenerated from its key at the start of
each `advance` rather than carried, or an exact expected loss. Training never asks which.

    params, history = train(key, hyper, model_cfg, train_cfg)

A run is `init_state` followed by `advance` over all steps. `advance` may also be called on
consecutive segments of steps (the sweep does so to report progress and checkpoint); because the
data key of step t is `fold_in(data_key, t)`, a segmented run sees the same batches as an
uninterrupted one and matches it to float32 rounding (XLA may fuse scans of other lengths
differently); runs with the same segmentation are bit-identical.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct
from jaxtyping import Array, Float

from toysuper.config import TrainConfig
from toysuper.generators import with_generator
from toysuper.hyper import Hyper
from toysuper.models import ModelConfig, init_params


@struct.dataclass
class TrainState:
    """Everything a run carries between steps.

    Attributes:
      params: model parameters.
      opt_state: AdamW state.
      step: () int32, steps taken so far.
      data_key: PRNG key the objective draws its data from (a fresh batch's step t from
        fold_in(data_key, t); a fixed dataset's key is that of its training set).
      diverged_step: () int32, the first step whose loss was NaN or inf; -1 while finite.
      snapshots: with `TrainConfig.snapshot_steps`, the parameters after each of those steps
        (params-shaped leaves with a leading (snapshots,) axis; not yet reached: zeros); None
        otherwise.
    """

    params: Any
    opt_state: Any
    step: jax.Array
    data_key: jax.Array
    diverged_step: jax.Array
    snapshots: Any = None


def point_key(root_seed, seed) -> jax.Array:
    """The key of a model: fold_in(key(root_seed), seed). It depends on nothing else."""
    return jax.random.fold_in(jax.random.key(root_seed), seed)


def learning_rate_schedule(lr, cfg: TrainConfig) -> optax.Schedule:
    """The schedule named by `cfg.schedule`, peaking at the traced `lr`."""
    if cfg.schedule == "constant":
        return optax.constant_schedule(lr)
    if cfg.schedule == "linear":
        return optax.linear_schedule(lr, 0.0, cfg.steps)
    # optax.warmup_cosine_decay_schedule branches on the peak value in Python, so it cannot take
    # a traced lr; the same schedule joined from its two parts can.
    return optax.join_schedules(
        [optax.linear_schedule(0.0, lr, cfg.warmup_steps),
         optax.cosine_decay_schedule(lr, max(1, cfg.steps - cfg.warmup_steps),
                                     alpha=cfg.final_lr_fraction)],
        [cfg.warmup_steps])


def optimizer(hyper: Hyper, cfg: TrainConfig) -> optax.GradientTransformation:
    """AdamW with every value explicit (PyTorch semantics: decay scaled by the scheduled lr),
    its decay term `decoupled_weight_decay` (of either sign); "sgd": the same without Adam's
    scaling of the gradient."""
    direction = ([optax.scale_by_adam(b1=cfg.b1, b2=cfg.b2, eps=cfg.eps)]
                 if cfg.optimizer == "adamw" else [])
    return optax.chain(*direction,
                       decoupled_weight_decay(hyper.weight_decay, cfg.eps, cfg.decay_biases),
                       optax.scale_by_learning_rate(learning_rate_schedule(hyper.lr, cfg)))


def decoupled_weight_decay(weight_decay, eps: float, biases: bool = True
                           ) -> optax.GradientTransformation:
    """AdamW's decoupled decay term, added to the updates before the learning rate scales them.

    weight_decay >= 0: weight_decay * p on every parameter, as `torch.optim.AdamW` (and
    `optax.adamw`, to the same bits). weight_decay < 0, the "growth" of Liu, Liu and Gore 2025
    ("Superposition yields robust neural scaling", their AdamW): |weight_decay| * p *
    (1 - 1 / (||p_row|| + eps)) on parameters of two or more axes, pulling each row (a feature's
    direction W_i) towards unit norm, and nothing on vectors (biases). `weight_decay` may be
    traced, so one sweep spans both signs. `biases=False` leaves vectors undecayed for either
    sign (Liu, Liu and Gore decay W alone).
    """
    def term(p):
        if p.ndim < 2:
            if not biases:
                return jnp.zeros_like(p)
            return jnp.where(weight_decay >= 0, weight_decay * p, 0.0)
        norm = jnp.linalg.norm(p, axis=-1, keepdims=True) + eps
        return jnp.where(weight_decay >= 0, weight_decay * p, -weight_decay * p * (1 - 1 / norm))

    def update(updates, state, params):
        return jax.tree.map(lambda g, p: g + term(p), updates, params), state

    return optax.GradientTransformation(lambda params: optax.EmptyState(), update)


def init_state(key: jax.Array, hyper: Hyper, model_cfg: ModelConfig,
               train_cfg: TrainConfig) -> TrainState:
    """Initial parameters (from one half of `key`) and optimiser state; data from the other half,
    drawing its bits from `train_cfg.rng` (or where the objective says, e.g. a fixed dataset's
    `hyper.dataset_seed`)."""
    init_key, data_key = jax.random.split(key)
    data_key = train_cfg.objective.data_key(with_generator(data_key, train_cfg.rng), hyper)
    params = init_params(init_key, model_cfg, train_cfg.init)
    step = jnp.zeros((), jnp.int32)
    snapshots = None
    if train_cfg.snapshot_steps:
        snapshots = jax.tree.map(
            lambda p: jnp.zeros((len(train_cfg.snapshot_steps), *p.shape), p.dtype), params)
        snapshots = record_snapshot(snapshots, params, step, train_cfg.snapshot_steps)
    return TrainState(params=params, opt_state=optimizer(hyper, train_cfg).init(params),
                      step=step, data_key=data_key, diverged_step=jnp.full((), -1, jnp.int32),
                      snapshots=snapshots)


def record_snapshot(snapshots, params, step: jax.Array, snapshot_steps: tuple[int, ...]):
    """`snapshots` with `params` written in the slot of `step` if it is a snapshot step.

    Only one slot is read and rewritten (the next one due), so the cost per step is one copy
    of the parameters, not of the whole buffer.
    """
    steps = jnp.asarray(snapshot_steps, jnp.int32)
    slot = jnp.minimum(jnp.searchsorted(steps, step), len(snapshot_steps) - 1)
    due = steps[slot] == step
    return jax.tree.map(lambda buf, p: buf.at[slot].set(jnp.where(due, p, buf[slot])),
                        snapshots, params)


def advance(state: TrainState, hyper: Hyper, model_cfg: ModelConfig, train_cfg: TrainConfig,
            n_steps: int, shared: Any = None) -> tuple[TrainState, Float[Array, " window"]]:
    """Take `n_steps` AdamW steps (a multiple of `train_cfg.log_every`).

    A nested scan: the outer scan runs windows of `log_every` steps, the inner one the steps.
    `shared` is the arrays the objective reads as data (`Objective.shared`; taken from the
    objective itself when None).

    Returns:
      The new state and the mean training loss of each window, shape (n_steps // log_every,).
    """
    opt = optimizer(hyper, train_cfg)
    loss_and_grad = batch_loss_and_grad(state.data_key, hyper, model_cfg, train_cfg, shared)

    def step(carry, _):
        params, opt_state, t, diverged, snapshots = carry
        loss, grads = loss_and_grad(params, t)
        updates, opt_state = opt.update(grads, opt_state, params)
        diverged = jnp.where((diverged < 0) & ~jnp.isfinite(loss), t, diverged)
        params = optax.apply_updates(params, updates)
        if snapshots is not None:
            snapshots = record_snapshot(snapshots, params, t + 1, train_cfg.snapshot_steps)
        return (params, opt_state, t + 1, diverged, snapshots), loss

    def window(carry, _):
        carry, losses = jax.lax.scan(step, carry, None, length=train_cfg.log_every)
        return carry, jnp.mean(losses)

    carry = (state.params, state.opt_state, state.step, state.diverged_step, state.snapshots)
    (params, opt_state, t, diverged, snapshots), history = jax.lax.scan(
        window, carry, None, length=n_steps // train_cfg.log_every)
    return state.replace(params=params, opt_state=opt_state, step=t, diverged_step=diverged,
                         snapshots=snapshots), history


def batch_loss_and_grad(data_key: jax.Array, hyper: Hyper, model_cfg: ModelConfig,
                        train_cfg: TrainConfig, shared: Any = None):
    """(params, step t) -> (loss, grads) of step t (see `batch_loss`)."""
    return train_cfg.objective.loss_and_grad(data_key, hyper, model_cfg, train_cfg.batch_size,
                                             shared)


def batch_loss(data_key: jax.Array, hyper: Hyper, model_cfg: ModelConfig,
               train_cfg: TrainConfig, shared: Any = None):
    """(params, step t) -> the loss of step t, as `train_cfg.objective` produces it."""
    return train_cfg.objective.loss(data_key, hyper, model_cfg, train_cfg.batch_size, shared)


def train(key: jax.Array, hyper: Hyper, model_cfg: ModelConfig,
          train_cfg: TrainConfig) -> tuple[Any, Float[Array, " window"]]:
    """Train one model for `train_cfg.steps` steps.

    Args:
      key: the model's PRNG key (a sweep uses `point_key(root_seed, hyper.seed)`).
      hyper: traced hyperparameters of this model.
      model_cfg, train_cfg: static configuration.

    Returns:
      (params, history): final parameters and the mean loss per `log_every` window,
      shape (steps // log_every,).

    Example:
      >>> cfg, tc = ModelConfig(5, 2), TrainConfig(steps=1000)
      >>> hyper = Hyper.create(5, feature_probability=0.1, importance=0.9 ** jnp.arange(5))
      >>> params, history = jax.jit(train, static_argnums=(2, 3))(jax.random.key(0), hyper, cfg, tc)
    """
    state, history = advance(init_state(key, hyper, model_cfg, train_cfg), hyper, model_cfg,
                             train_cfg, train_cfg.steps)
    return state.params, history


def state_leaves(state: TrainState, to_host=np.asarray) -> list[np.ndarray]:
    """Host copies (made by `to_host`) of every leaf of `state`, the PRNG key as its raw uint32
    data, for saving."""
    raw = state.replace(data_key=jax.random.key_data(state.data_key))
    return [to_host(leaf) for leaf in jax.tree.leaves(raw)]


def state_from_leaves(template: TrainState, leaves: list[np.ndarray]) -> TrainState:
    """Inverse of `state_leaves`, shaped like `template` (e.g. a fresh `init_state`)."""
    raw = template.replace(data_key=jax.random.key_data(template.data_key))
    state = jax.tree.unflatten(jax.tree.structure(raw), [jnp.asarray(x) for x in leaves])
    return state.replace(data_key=jax.random.wrap_key_data(
        state.data_key, impl=jax.random.key_impl(template.data_key)))
