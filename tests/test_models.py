"""Model families and the loss against closed forms."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from toysuper.config import ModelConfig
from toysuper.data import sample_sparse_uniform
from toysuper.models import MODEL_KINDS, TiedParams, weighted_mse


def test_apply_matches_paper_formulas():
    rng = np.random.default_rng(0)
    W, b, x = rng.normal(size=(6, 3)), rng.normal(size=6), rng.uniform(size=(4, 6))
    params = TiedParams(jnp.asarray(W), jnp.asarray(b))
    linear = (W @ W.T @ x.T).T + b  # paper: x' = W^T W x + b in its column layout
    np.testing.assert_allclose(MODEL_KINDS["linear"].apply(params, x), linear, rtol=1e-5)
    np.testing.assert_allclose(MODEL_KINDS["relu_output"].apply(params, x),
                               np.maximum(linear, 0), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", sorted(MODEL_KINDS))
def test_init_shapes_and_per_model_xavier_std(kind):
    cfg = ModelConfig(40, 10, kind)
    keys = jax.random.split(jax.random.key(0), 200)
    params = jax.vmap(lambda k: MODEL_KINDS[kind].init(k, cfg))(keys)
    assert params.W.shape == (200, 40, 10) and params.b.shape == (200, 40)
    np.testing.assert_array_equal(params.b, 0)
    np.testing.assert_allclose(np.std(params.W), np.sqrt(2 / 50), rtol=0.02)


def test_loss_at_optimal_bias_matches_closed_form():
    # W = 0: x' = ReLU(b). E[(x - b)^2] = p/3 - b p + b^2, minimised at b = p/2 with value
    # p/3 - p^2/4 (the "feature dropped" loss of TMS section 4).
    p = np.array([1.0, 0.5, 0.1], np.float32)
    importance = np.array([1.0, 2.0, 3.0], np.float32)
    params = TiedParams(jnp.zeros((3, 1)), jnp.asarray(p / 2))
    x = sample_sparse_uniform(jax.random.key(0), p, 1_000_000)
    mc = weighted_mse(params, x, importance, "relu_output")
    exact = np.sum(importance * (p / 3 - p**2 / 4))
    np.testing.assert_allclose(mc, exact, rtol=5e-3)


def test_loss_of_dedicated_dimension_is_zero():
    params = TiedParams(jnp.eye(3), jnp.zeros(3))
    x = sample_sparse_uniform(jax.random.key(1), jnp.full(3, 0.4), 1000)
    assert float(weighted_mse(params, x, jnp.ones(3), "linear")) < 1e-10
