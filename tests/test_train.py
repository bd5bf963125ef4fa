"""One training run: determinism, vmap and segment equivalence, AdamW semantics, learning."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from toysuper.analysis import represented
from toysuper.config import TrainConfig
from toysuper.hyper import Hyper, decaying_importance
from toysuper.models import ModelConfig
from toysuper.training import advance, init_state, learning_rate_schedule, optimizer, train

MODEL, TRAIN = ModelConfig(5, 2), TrainConfig(steps=300, batch_size=128, log_every=50)
jit_train = jax.jit(train, static_argnums=(2, 3))


def hyper(**kw):
    return Hyper.create(5, importance=decaying_importance(5, 0.9), **kw)


def test_same_key_same_result_other_key_other_result():
    h = hyper(feature_probability=0.1)
    a, hist_a = jit_train(jax.random.key(0), h, MODEL, TRAIN)
    b, hist_b = jit_train(jax.random.key(0), h, MODEL, TRAIN)
    np.testing.assert_array_equal(a.W, b.W)
    np.testing.assert_array_equal(hist_a, hist_b)
    c, _ = jit_train(jax.random.key(1), h, MODEL, TRAIN)
    assert not np.allclose(a.W, c.W)
    assert hist_a.shape == (TRAIN.steps // TRAIN.log_every,)


def test_vmap_equals_single_runs():
    p = np.array([1.0, 0.3, 0.05], np.float32)
    hs = jax.tree.map(lambda *x: np.stack(x), *[hyper(feature_probability=q) for q in p])
    keys = jax.random.split(jax.random.key(3), 3)
    batched, hist = jax.jit(jax.vmap(lambda k, h: train(k, h, MODEL, TRAIN)))(keys, hs)
    for i in range(3):
        single, single_hist = jit_train(keys[i], jax.tree.map(lambda x, i=i: x[i], hs), MODEL,
                                        TRAIN)
        np.testing.assert_allclose(batched.W[i], single.W, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(hist[i], single_hist, rtol=1e-5)


def test_segmented_run_equals_uninterrupted():
    """Segments see the same steps and batches; XLA may fuse a longer scan differently, so the
    match is to float32 rounding (a sweep always uses one segmentation, hence resumes exactly)."""
    h, key = hyper(feature_probability=0.2), jax.random.key(5)
    whole, whole_hist = jit_train(key, h, MODEL, TRAIN)
    step = jax.jit(functools.partial(advance, model_cfg=MODEL, train_cfg=TRAIN, n_steps=100))
    state = init_state(key, h, MODEL, TRAIN)
    hists = []
    for _ in range(3):
        state, hist = step(state, h)
        hists.append(hist)
    assert int(state.step) == TRAIN.steps
    np.testing.assert_allclose(state.params.W, whole.W, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(np.concatenate(hists), whole_hist, rtol=1e-6)


@pytest.mark.parametrize("wd", [0.1, -0.5])
def test_adamw_matches_pytorch_semantics(wd):
    """optax with our settings equals torch.optim.AdamW's update rule written out by hand, for
    weight decay of either sign (negative: each step first scales the weights up by 1 + lr|wd|,
    the "growth" of Liu, Liu and Gore 2025)."""
    cfg, lr = TrainConfig(steps=100, log_every=1), 0.01
    h = Hyper.create(1, lr=lr, weight_decay=wd)
    opt = optimizer(h, cfg)
    p = jnp.array([1.0, -2.0, 0.5])
    state = opt.init(p)
    ref, m, v = np.array(p, np.float64), np.zeros(3), np.zeros(3)
    rng = np.random.default_rng(0)
    for t in range(1, 6):
        g = rng.normal(size=3)
        updates, state = opt.update(jnp.asarray(g, jnp.float32), state, p)
        p = p + updates
        ref = ref * (1 - lr * wd)  # decoupled decay first, as torch does
        m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g**2
        ref = ref - lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
        np.testing.assert_allclose(p, ref, rtol=1e-5)


def test_schedules():
    lr = 2e-3
    const = learning_rate_schedule(lr, TrainConfig(steps=1000))
    linear = learning_rate_schedule(lr, TrainConfig(steps=1000, schedule="linear"))
    cosine = learning_rate_schedule(lr, TrainConfig(steps=1000, schedule="warmup_cosine",
                                                    warmup_steps=100))
    np.testing.assert_allclose([const(0), const(999)], [lr, lr])
    np.testing.assert_allclose([linear(0), linear(500), linear(1000)], [lr, lr / 2, 0], atol=1e-9)
    np.testing.assert_allclose([cosine(0), cosine(50), cosine(100), cosine(550), cosine(1000)],
                               [0, lr / 2, lr, lr / 2, 0], atol=1e-9, rtol=1e-5)


@pytest.mark.parametrize(("kind", "p"), [("relu_output", 1.0), ("linear", 0.05)])
def test_learns_exactly_the_top_two_features(kind, p):
    """Dense ReLU, and the linear model at any sparsity, keep the top-m features (TMS 2)."""
    cfg = TrainConfig(steps=10_000, batch_size=1024, log_every=100)
    params, hist = jit_train(jax.random.key(0), hyper(feature_probability=p),
                             ModelConfig(5, 2, kind), cfg)
    assert represented(params.W).tolist() == [True, True, False, False, False]
    assert hist[-1] < hist[0]
    if kind == "relu_output":  # a dropped feature's bias is its mean, E[x_i] = p / 2
        np.testing.assert_allclose(params.b[2:], p / 2, atol=0.05)
