"""The sparse samplers against their distributions (Monte Carlo with tolerances)."""

import jax
import numpy as np
from scipy import stats

from toysuper.data import sample_sparse_signed_feature_major, sample_sparse_uniform


def test_density_and_uniform_values():
    p = np.array([1.0, 0.5, 0.1, 0.01], np.float32)
    x = np.asarray(sample_sparse_uniform(jax.random.key(0), p, 200_000))
    assert x.shape == (200_000, 4)
    assert np.all((x >= 0) & (x <= 1))
    active = x > 0
    n = len(x)
    # active fraction within 5 binomial standard errors of p
    assert np.all(np.abs(active.mean(0) - p) <= 5 * np.sqrt(p * (1 - p) / n) + 1e-6)
    for i in range(4):  # values of active features are U[0, 1]
        assert stats.kstest(x[active[:, i], i], "uniform").pvalue > 1e-3
    # E[x] = p/2 and E[x^2] = p/3, the moments the closed-form losses use
    np.testing.assert_allclose(x.mean(0), p / 2, rtol=0.03, atol=1e-3)
    np.testing.assert_allclose((x**2).mean(0), p / 3, rtol=0.03, atol=1e-3)


def test_features_independent():
    p = np.full(2, 0.3, np.float32)
    x = np.asarray(sample_sparse_uniform(jax.random.key(1), p, 200_000))
    both = ((x[:, 0] > 0) & (x[:, 1] > 0)).mean()
    assert abs(both - 0.09) < 5 * np.sqrt(0.09 * 0.91 / len(x))


def test_same_key_same_batch_other_key_other_batch():
    p = np.full(5, 0.2, np.float32)
    a = sample_sparse_uniform(jax.random.key(7), p, 64)
    np.testing.assert_array_equal(a, sample_sparse_uniform(jax.random.key(7), p, 64))
    assert not np.array_equal(a, sample_sparse_uniform(jax.random.key(8), p, 64))


def test_signed_sampler_density_and_uniform_values_on_both_sides():
    p = np.array([1.0, 0.3, 0.05], np.float32)
    xt = np.asarray(sample_sparse_signed_feature_major(jax.random.key(3), p, 200_000))
    assert xt.shape == (3, 200_000) and np.all((xt >= -1) & (xt < 1))
    active = xt != 0
    n = xt.shape[1]
    assert np.all(np.abs(active.mean(1) - p) <= 5 * np.sqrt(p * (1 - p) / n) + 1e-6)
    for i in range(3):  # active values are U[-1, 1]
        assert stats.kstest(xt[i, active[i]], "uniform", args=(-1, 2)).pvalue > 1e-3
    # E|x| = p/2 and E[x^2] = p/3: the moments of the |x| task's trivial losses
    np.testing.assert_allclose(np.abs(xt).mean(1), p / 2, rtol=0.03, atol=1e-3)
    np.testing.assert_allclose((xt**2).mean(1), p / 3, rtol=0.03, atol=1e-3)
