"""Model families and the loss against closed forms."""

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from toysuper.data import sample_sparse_uniform, sample_sparse_uniform_feature_major
from toysuper.models import (
    MODEL_KINDS,
    MLPParams,
    ModelConfig,
    TiedParams,
    weighted_mse,
    weighted_mse_feature_major,
)
from toysuper.objectives.population import population_loss


def test_apply_matches_paper_formulas():
    rng = np.random.default_rng(0)
    W, b, x = rng.normal(size=(6, 3)), rng.normal(size=6), rng.uniform(size=(4, 6))
    params = TiedParams(jnp.asarray(W), jnp.asarray(b))
    linear = (W @ W.T @ x.T).T + b  # paper: x' = W^T W x + b in its column layout
    np.testing.assert_allclose(MODEL_KINDS["linear"].apply(params, x), linear, rtol=1e-5)
    np.testing.assert_allclose(MODEL_KINDS["relu_output"].apply(params, x),
                               np.maximum(linear, 0), rtol=1e-5, atol=1e-6)


TOY_KINDS = sorted(k for k, spec in MODEL_KINDS.items() if not spec.dictionary)
SAE_KINDS = sorted(k for k, spec in MODEL_KINDS.items() if spec.dictionary)


@pytest.mark.parametrize("kind", TOY_KINDS)
def test_init_shapes_and_per_model_xavier_std(kind):
    cfg = ModelConfig(40, 10, kind)
    keys = jax.random.split(jax.random.key(0), 200)
    params = jax.vmap(lambda k: MODEL_KINDS[kind].init(k, cfg))(keys)
    assert params.W.shape == (200, 40, 10) and params.b.shape == (200, 40)
    np.testing.assert_array_equal(params.b, 0)
    np.testing.assert_allclose(np.std(params.W), np.sqrt(2 / 50), rtol=0.02)


@pytest.mark.parametrize("kind", SAE_KINDS)
def test_sae_init_is_unit_decoder_tied_encoder_zero_biases(kind):
    cfg = ModelConfig(40, 10, kind)
    keys = jax.random.split(jax.random.key(0), 50)
    params = jax.vmap(lambda k: MODEL_KINDS[kind].init(k, cfg))(keys)
    assert params.W.shape == params.W_enc.shape == (50, 40, 10)
    np.testing.assert_allclose(np.linalg.norm(params.W, axis=-1), 1, rtol=1e-5)
    np.testing.assert_array_equal(params.W_enc, params.W)
    np.testing.assert_array_equal(params.b, 0)
    np.testing.assert_array_equal(params.b_dec, 0)
    # directions are isotropic: the mean of each coordinate squared is 1 / hidden
    np.testing.assert_allclose(np.mean(np.asarray(params.W) ** 2, axis=(0, 1)), 0.1, rtol=0.1)


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


def test_hidden_relu_kinds_match_paper_formulas():
    rng = np.random.default_rng(1)
    W, W_out, b = rng.normal(size=(6, 3)), rng.normal(size=(6, 3)), rng.normal(size=6)
    x = rng.uniform(-1, 1, size=(4, 6))
    relu = partial(np.maximum, 0)
    hidden = MODEL_KINDS["relu_hidden"].apply(TiedParams(jnp.asarray(W), jnp.asarray(b)), x)
    np.testing.assert_allclose(hidden, relu((W @ relu(W.T @ x.T)).T + b), rtol=1e-5, atol=1e-6)
    mlp = MODEL_KINDS["abs_mlp"].apply(MLPParams(*map(jnp.asarray, (W, W_out, b))), x)
    np.testing.assert_allclose(mlp, relu((W_out @ relu(W.T @ x.T)).T + b), rtol=1e-5, atol=1e-6)


def test_abs_mlp_with_two_neurons_per_feature_computes_abs_exactly():
    """ReLU(x) + ReLU(-x) = |x|: W = [I, -I], W_out = [I, I], b = 0 has zero loss (TMS 9)."""
    n = 4
    eye = jnp.eye(n)
    params = MLPParams(W=jnp.concatenate([eye, -eye], 1), W_out=jnp.concatenate([eye, eye], 1),
                       b=jnp.zeros(n))
    x = MODEL_KINDS["abs_mlp"].sample(jax.random.key(3), jnp.full(n, 0.5), 4096).T
    assert float(jnp.min(x)) < -0.9  # signed inputs reach the negative side
    assert float(weighted_mse(params, x, jnp.ones(n), "abs_mlp")) < 1e-12
    # the tied reconstruction of the same inputs is far from |x|: the target matters
    assert float(weighted_mse(params, x, jnp.ones(n), "relu_hidden")) > 0.1


@pytest.mark.parametrize("kind", sorted(k for k, v in MODEL_KINDS.items() if v.apply_feature_major))
@pytest.mark.parametrize(("n", "m"), [(2, 1), (5, 2), (8, 8)])
def test_feature_major_path_equals_batched_dot(kind, n, m):
    """The unrolled training path computes the same loss and gradients as the reference."""
    rng = np.random.default_rng(n * m)
    model = MODEL_KINDS[kind]
    params = model.init(jax.random.key(n * m), ModelConfig(n, m, kind))
    params = params.replace(b=jnp.asarray(rng.normal(size=n) * 0.1, jnp.float32))
    xt = model.sample(jax.random.key(2), jnp.full(n, 0.3), 512)
    importance = jnp.asarray(rng.uniform(size=n), jnp.float32)
    np.testing.assert_allclose(model.apply_feature_major(params, xt).T,
                               model.apply(params, xt.T), rtol=1e-5, atol=1e-6)
    ref = jax.value_and_grad(weighted_mse)(params, xt.T, importance, kind)
    fm = jax.value_and_grad(weighted_mse_feature_major)(params, xt, importance, kind)
    np.testing.assert_allclose(fm[0], ref[0], rtol=1e-5)
    for got, want in zip(jax.tree.leaves(fm[1]), jax.tree.leaves(ref[1]), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)


def test_feature_major_sampler_is_the_transposed_batch():
    p = jnp.full(5, 0.3)
    np.testing.assert_array_equal(sample_sparse_uniform(jax.random.key(2), p, 512),
                                  sample_sparse_uniform_feature_major(jax.random.key(2), p, 512).T)


def test_exact_loss_of_relu_hidden_matches_monte_carlo():
    rng = np.random.default_rng(5)
    params = TiedParams(jnp.asarray(rng.normal(size=(3, 2)), jnp.float32),
                        jnp.asarray([-0.1, 0.05, 0.2], jnp.float32))
    p, importance = jnp.asarray([0.3, 0.6, 0.1]), jnp.asarray([1.0, 0.7, 0.5])
    exact = population_loss(params, p, importance, "relu_hidden", resolution=64)
    x = sample_sparse_uniform(jax.random.key(4), p, 1_000_000)
    np.testing.assert_allclose(weighted_mse(params, x, importance, "relu_hidden"), exact,
                               rtol=5e-3)


def test_exact_loss_refuses_kinds_with_other_inputs_or_targets():
    params = MODEL_KINDS["abs_mlp"].init(jax.random.key(0), ModelConfig(3, 6, "abs_mlp"))
    with pytest.raises(ValueError, match="kind='abs_mlp' is invalid"):
        population_loss(params, jnp.full(3, 0.5), jnp.ones(3), "abs_mlp")
