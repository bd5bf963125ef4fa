"""Memorisation analysis (Henighan et al. 2023) against constructed geometry, the held-out loss
against its closed form, and the models-in-turn chunk path against the batched one."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import toysuper as ts
from toysuper import engine
from toysuper.analysis.memorization import (
    data_dimensionality,
    describe,
    held_out_loss,
    regime,
)
from toysuper.data import SparseBatch, dataset_keys, sparse_dataset


def polygon(k: int, radius: float = 1.0) -> np.ndarray:
    angles = 2 * np.pi * np.arange(k) / k
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


@pytest.mark.parametrize("T", [5, 7, 12, 40])
def test_a_regular_T_gon_gives_each_point_m_over_T(T):
    np.testing.assert_allclose(data_dimensionality(polygon(T, 0.7)), 2 / T, rtol=1e-5)
    assert data_dimensionality(polygon(T)).sum() <= 2 + 1e-5


def one_hot_points(indices) -> SparseBatch:
    idx = jnp.asarray(indices, jnp.int32)[:, None]
    return SparseBatch(indices=idx, values=jnp.ones(idx.shape, jnp.float32))


def test_memorising_and_generalising_models_are_told_apart():
    n = 50
    # Memorising: point t is one-hot on feature t, and W_t puts it at a vertex of a 12-gon
    # (a feature seen once is a data point); the other features are 0.
    W_mem = np.zeros((n, 2))
    W_mem[:12] = polygon(12)
    mem = describe(W_mem, np.zeros(n), one_hot_points(range(12)), 12)
    np.testing.assert_allclose(mem["data_dims"], 2 / 12, rtol=1e-5)
    assert mem["regime"] == "memorising" and mem["point_share"] == pytest.approx(1, abs=1e-5)
    # Generalising: five features in a pentagon, 40 points made of them.
    W_gen = np.zeros((n, 2))
    W_gen[:5] = polygon(5)
    gen = describe(W_gen, np.zeros(n), one_hot_points(np.arange(40) % 5), 40)
    np.testing.assert_allclose(gen["top_feature_dims"], 2 / 5, rtol=1e-5)
    assert gen["regime"] == "generalising" and gen["top_feature_share"] == pytest.approx(1)
    assert regime(0.2, 0.2) == "in between" and regime(0.9, 0.2) == "memorising"


def test_held_out_loss_of_the_zero_model_is_one_and_of_a_bias_its_closed_form():
    """On unit-norm points the zero model's loss is exactly 1; a constant output c (W = 0,
    b = c) adds n c^2 - 2 c E[sum_i x_i]."""
    n = 40
    points = sparse_dataset(dataset_keys(5)[1], 0.1, n, 4000, 20)
    W = np.zeros((2, n, 3), np.float32)
    b = np.stack([np.zeros(n), np.full(n, 0.05)]).astype(np.float32)
    loss = held_out_loss(W, b, points)
    assert loss[0] == pytest.approx(1.0, abs=1e-6)
    mean_sum = float(jnp.mean(jnp.sum(points.values, axis=1)))
    assert loss[1] == pytest.approx(1 + n * 0.05**2 - 2 * 0.05 * mean_sum, rel=1e-5)


@pytest.mark.parametrize("block", [1, 3])
def test_models_in_turn_or_in_blocks_equal_models_in_a_batch(monkeypatch, block):
    """In turn (no batch axis) and in blocks of 3 (a block of 3 and a remainder of 1) as
    the whole chunk vmapped at once."""
    sweep = ts.Sweep(ts.ModelConfig(60, 2),
                     ts.TrainConfig(steps=200, log_every=100,
                                    objective=ts.FixedDataset(32, 16)),
                     axes={"dataset_size": [8, 32], "seed": range(2)},
                     fixed={"feature_probability": 0.05})
    results = {}
    for models in (block, None):
        monkeypatch.setattr(engine, "models_per_block", lambda m, t, v=models: v)
        jax.clear_caches()
        results[models] = ts.run_sweep(sweep, progress=False).dataset
    np.testing.assert_allclose(results[block]["loss_history"], results[None]["loss_history"],
                               rtol=1e-5)
    # Features no training point touches get rounding-sized gradients that Adam rescales to
    # full steps (see test_datasets), so their weights agree to ~1e-3 only.
    np.testing.assert_allclose(results[block]["W"], results[None]["W"], atol=3e-3)


@pytest.mark.slow
def test_double_descent_quick_reproduces_the_regimes_and_the_bump(tmp_path):
    from toysuper.experiments.runner import run_experiment

    report = run_experiment("double_descent", "quick", out=tmp_path, progress=False)
    passed = {c["name"]: c["passed"] for c in report["claims"]}
    for name in ("memorised_points_dim_m_over_T", "test_loss_bump", "norms_peak_at_small_T",
                 "more_steps_grow_the_bump"):
        assert passed[name], name


def test_pentagon_angles_of_a_regular_pentagon_among_small_features():
    from toysuper.experiments.double_descent import pentagon_angles

    angle = 2 * np.pi * np.arange(5) / 5 + 0.3
    W = np.concatenate([np.stack([np.cos(angle), np.sin(angle)], -1),
                        np.random.default_rng(0).normal(0, 0.02, (50, 2))])
    np.testing.assert_allclose(pentagon_angles(W), 72.0, atol=1e-3)
    W[1] = W[0] * 0.9 + W[2] * 0.1  # two directions close together: not a pentagon
    assert np.abs(pentagon_angles(W) - 72).max() > 10


def test_the_weight_decay_ablation_keeps_the_papers_total_decay():
    from toysuper.experiments import double_descent as dd

    for fidelity in ("quick", "paper"):
        total = dd.ablation_weight_decay(fidelity) * dd.FIDELITY[fidelity].steps
        assert total == pytest.approx(dd.PAPER_ABLATION_WEIGHT_DECAY * 50_000)
