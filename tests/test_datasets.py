"""Fixed finite datasets (Henighan et al. 2023): the sparse sampler's statistics, the sparse loss
against the dense one, full-batch training with a traced, padded dataset size."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import toysuper as ts
from toysuper import engine
from toysuper.data import dataset_keys, densify, min_max_active, sparse_dataset
from toysuper.models import TiedParams, weighted_mse_rows, weighted_mse_sparse
from toysuper.training import point_key


def dense_points(n, p, size, seed=0, k=None):
    k = k or min_max_active(n, p, size)
    return np.asarray(densify(sparse_dataset(dataset_keys(seed)[0], p, n, size, k), n))


def test_points_have_unit_norm_and_the_bernoulli_statistics():
    n, p, size = 300, 0.02, 20_000
    x = dense_points(n, p, size)
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5)
    active = x > 0
    # Marginal density per feature: the binomial standard error is sqrt(p(1-p)/size) ~ 0.001;
    # the no-active-feature fallback (probability (1-p)^n = 0.002) adds 0.002/n per feature.
    assert np.abs(active.mean(0) - p).max() < 5 * math.sqrt(p * (1 - p) / size) + 1e-4
    # Count of active features per point: Binomial(n, p) mean and variance.
    counts = active.sum(1)
    assert abs(counts.mean() - n * p) < 0.05 * n * p
    assert abs(counts.var() - n * p * (1 - p)) < 0.1 * n * p * (1 - p)
    # Independence across features: the correlation of two features' activity is ~0.
    assert abs(np.corrcoef(active[:, 0], active[:, 1])[0, 1]) < 0.03


def test_an_empty_point_becomes_one_hot_and_a_larger_set_extends_a_smaller():
    """(With the same number of slots K: the gap draws depend on K.)"""
    x = dense_points(4, 0.05, 2000)  # P(empty) = 0.95^4 = 0.81
    assert ((x > 0).sum(1) >= 1).all()
    one_hot = (x > 0).sum(1) == 1
    np.testing.assert_allclose(x[one_hot].max(1), 1.0, atol=1e-6)
    share = np.bincount(x[one_hot].argmax(1), minlength=4) / one_hot.sum()
    assert np.abs(share - 0.25).max() < 0.05
    small, large = dense_points(50, 0.1, 64, k=20), dense_points(50, 0.1, 300, k=20)[:64]
    np.testing.assert_array_equal(small > 0, large > 0)
    np.testing.assert_allclose(small, large, rtol=1e-6)  # the same up to vectorised rounding


@pytest.mark.parametrize("n, p, points", [(6, 0.5, 1), (40, 0.1, 100), (1000, 0.01, 4096)])
def test_min_max_active_is_the_least_k_of_the_binomial_tail(n, p, points):
    k = min_max_active(n, p, points, miss=1e-6)

    def above(k):  # P(Binomial(n, p) > k), summed exactly
        return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k + 1, n + 1))

    assert above(k) * points < 1e-6 <= above(k - 1) * points


@pytest.mark.parametrize("kind", ["relu_output", "linear"])
def test_sparse_loss_and_gradients_equal_the_dense_ones(kind):
    n, m, size = 60, 3, 32
    data = sparse_dataset(dataset_keys(3)[0], 0.1, n, size, 20)
    k1, k2, k3 = jax.random.split(jax.random.key(1), 3)
    params = TiedParams(W=jax.random.normal(k1, (n, m)) * 0.4,
                        b=jax.random.normal(k2, (n,)) * 0.2)
    importance = jax.random.uniform(k3, (n,)) + 0.5
    row_weight = jnp.where(jnp.arange(size) < 20, 1 / 20, 0.0)
    dense = jax.value_and_grad(weighted_mse_rows)(params, densify(data, n), row_weight,
                                                  importance, kind)
    sparse = jax.value_and_grad(weighted_mse_sparse)(params, data, row_weight, importance, kind)
    np.testing.assert_allclose(sparse[0], dense[0], rtol=1e-5)
    for a, b in zip(jax.tree.leaves(sparse[1]), jax.tree.leaves(dense[1]), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def finite_sweep(layout="sparse", capacity=64, sizes=(2, 16, 64), steps=400):
    return ts.Sweep(
        ts.ModelConfig(80, 2),
        ts.TrainConfig(steps=steps, log_every=100, schedule="warmup_cosine", warmup_steps=20,
                       objective=ts.FixedDataset(capacity, 24, layout)),
        axes={"dataset_size": list(sizes), "seed": range(2)},
        fixed={"feature_probability": 0.05, "weight_decay": 0.01})


def test_sparse_and_dense_layouts_train_the_same_models():
    sparse = ts.run_sweep(finite_sweep("sparse"), progress=False).dataset
    dense = ts.run_sweep(finite_sweep("dense"), progress=False).dataset
    np.testing.assert_allclose(sparse["loss_history"], dense["loss_history"], rtol=1e-4)
    # Weights of features the data barely touch get gradients near float rounding, which Adam
    # rescales to full-size steps, so they differ by up to ~1e-3 between the two summations.
    np.testing.assert_allclose(sparse["W"], dense["W"], atol=3e-3)
    np.testing.assert_allclose(sparse["W"].sel(dataset_size=64), dense["W"].sel(dataset_size=64),
                               rtol=1e-3, atol=1e-5)


def test_padding_does_not_change_a_model_and_size_is_traced():
    padded = ts.run_sweep(finite_sweep(capacity=64, sizes=(16, 64)), progress=False).dataset
    before = engine._advance_chunk._cache_size()
    exact = ts.run_sweep(finite_sweep(capacity=64, sizes=(16, 40)), progress=False).dataset
    assert engine._advance_chunk._cache_size() == before  # a new size: no recompile
    alone = ts.run_sweep(finite_sweep(capacity=16, sizes=(16,)), progress=False).dataset
    for ds in (exact, alone):
        np.testing.assert_allclose(padded["W"].sel(dataset_size=16), ds["W"].sel(dataset_size=16),
                                   rtol=1e-4, atol=1e-6)


def test_a_lone_run_with_the_default_size_trains_on_the_whole_capacity():
    """dataset_size 0 (the Hyper default) means the capacity, as a sweep's point of size 64."""
    sweep = finite_sweep(capacity=64, sizes=(64,))
    in_sweep = ts.run_sweep(sweep, progress=False).dataset["loss_history"].values[0, 0]
    hyper = ts.Hyper.create(80, feature_probability=0.05, weight_decay=0.01)
    _, alone = jax.jit(ts.train, static_argnums=(2, 3))(point_key(0, 0), hyper, sweep.model,
                                                         sweep.train)
    np.testing.assert_allclose(alone, in_sweep, rtol=1e-5)


def test_two_points_are_memorised_and_many_are_not():
    """Learning threshold: m=2 dimensions store 2 unit points exactly (h_t on orthogonal axes,
    training loss -> 0); 64 points of ~4 active features each cannot all be stored."""
    ds = ts.run_sweep(finite_sweep(sizes=(2, 64), steps=2000), progress=False).dataset
    best = ds["loss"].min("seed")
    assert float(best.sel(dataset_size=2)) < 0.02
    assert float(best.sel(dataset_size=64)) > 0.3


def test_dataset_inputs_are_validated():
    dataset = ts.FixedDataset(64, 24)
    train = ts.TrainConfig(steps=100, objective=dataset)
    with pytest.raises(ValueError, match=r"FixedDataset\.max_active"):
        ts.Sweep(ts.ModelConfig(80, 2),
                 ts.TrainConfig(steps=100, objective=ts.FixedDataset(64, 4)),
                 fixed={"feature_probability": 0.05})
    with pytest.raises(ValueError, match="dataset_size"):
        ts.Sweep(ts.ModelConfig(80, 2), train, axes={"dataset_size": [8, 65]},
                 fixed={"feature_probability": 0.05})
    with pytest.raises(ValueError, match="one density for all features"):
        ts.Sweep(ts.ModelConfig(80, 2), train,
                 fixed={"feature_probability": np.linspace(0.01, 0.05, 80)})
    with pytest.raises(ValueError, match=r"model\.kind"):
        ts.Sweep(ts.ModelConfig(80, 2, "abs_mlp"), train, fixed={"feature_probability": 0.05})
    with pytest.raises(ValueError, match=r"only with the objective FixedDataset"):
        ts.Sweep(ts.ModelConfig(80, 2), ts.TrainConfig(steps=100), axes={"dataset_size": [8]})
    with pytest.raises(ValueError, match=r"FixedDataset\.layout"):
        ts.FixedDataset(64, 24, "csr")
