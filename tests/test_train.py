"""One training run: determinism, vmap and segment equivalence, AdamW semantics, learning."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
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


def test_adamw_matches_pytorch_semantics():
    """optax with our settings equals torch.optim.AdamW's update rule written out by hand."""
    cfg, lr, wd = TrainConfig(steps=100, log_every=1), 0.01, 0.1
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


def test_positive_weight_decay_is_optax_adamw_to_the_bit():
    cfg = TrainConfig(steps=100, log_every=1)
    h = Hyper.create(1, lr=0.01, weight_decay=0.3)
    ours, reference = optimizer(h, cfg), optax.adamw(0.01, b1=cfg.b1, b2=cfg.b2, eps=cfg.eps,
                                                    weight_decay=0.3)
    rng = np.random.default_rng(1)
    p = q = {"W": jnp.asarray(rng.normal(size=(4, 2)), jnp.float32), "b": jnp.ones(4)}
    s, t = ours.init(p), reference.init(q)
    for _ in range(5):
        g = jax.tree.map(lambda x: jnp.asarray(rng.normal(size=x.shape), jnp.float32), p)
        u, s = ours.update(g, s, p)
        v, t = reference.update(g, t, q)
        p, q = optax.apply_updates(p, u), optax.apply_updates(q, v)
        for k in p:
            np.testing.assert_array_equal(p[k], q[k])


def test_negative_weight_decay_is_growth_towards_unit_rows():
    """weight_decay < 0, Liu, Liu and Gore 2025's AdamW written out by hand: before the Adam
    step, each row of W moves by lr * wd * W_i * (1 - 1 / (||W_i|| + eps)) (towards norm 1:
    short rows grow, long ones shrink), and the bias is not decayed."""
    cfg, lr, wd, eps = TrainConfig(steps=100, log_every=1), 0.01, -0.5, 1e-8
    opt = optimizer(Hyper.create(1, lr=lr, weight_decay=wd), cfg)
    W = np.array([[0.2, 0.1], [3.0, -1.0], [0.0, 0.5]])
    b = np.array([0.3, -0.2, 1.0])
    params = {"W": jnp.asarray(W, jnp.float32), "b": jnp.asarray(b, jnp.float32)}
    state = opt.init(params)
    ref = {"W": W.copy(), "b": b.copy()}
    m = {k: np.zeros_like(v) for k, v in ref.items()}
    v = {k: np.zeros_like(x) for k, x in ref.items()}
    rng = np.random.default_rng(0)
    for t in range(1, 6):
        g = {k: rng.normal(size=x.shape) for k, x in ref.items()}
        updates, state = opt.update(jax.tree.map(lambda x: jnp.asarray(x, jnp.float32), g),
                                    state, params)
        params = optax.apply_updates(params, updates)
        norms = np.linalg.norm(ref["W"], axis=1, keepdims=True) + eps
        ref["W"] = ref["W"] + lr * wd * ref["W"] * (1 - 1 / norms)
        for k in ref:
            m[k] = 0.9 * m[k] + 0.1 * g[k]
            v[k] = 0.999 * v[k] + 0.001 * g[k] ** 2
            ref[k] = ref[k] - lr * (m[k] / (1 - 0.9**t)) / (np.sqrt(v[k] / (1 - 0.999**t)) + eps)
        for k in ref:
            np.testing.assert_allclose(params[k], ref[k], rtol=1e-5, atol=1e-6)
    # with no gradient, growth alone brings every nonzero row to unit norm
    h = Hyper.create(1, lr=0.1, weight_decay=-1.0)
    opt, W = optimizer(h, cfg), jnp.asarray([[0.1, 0.0], [0.0, 3.0]], jnp.float32)
    state, zero = opt.init(W), jnp.zeros((2, 2))
    for _ in range(400):
        updates, state = opt.update(zero, state, W)
        W = optax.apply_updates(W, updates)
    np.testing.assert_allclose(np.linalg.norm(W, axis=1), [1.0, 1.0], rtol=1e-3)


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
