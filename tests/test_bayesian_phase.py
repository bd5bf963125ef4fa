"""Chen et al. 2023 on finite data: the one-hot training set, plain SGD, and the claims of
`bayesian_phase` on constructed weights and on noise."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import toysuper as ts
from toysuper.analysis.onehot import kgon_phase
from toysuper.experiments import bayesian_phase
from toysuper.experiments.base import constructed, noise_like
from toysuper.hyper import Hyper
from toysuper.models import ModelConfig, TiedParams
from toysuper.objectives import OneHotDataset
from toysuper.objectives.one_hot import one_hot_loss, one_hot_points, one_hot_points_loss
from toysuper.training import learning_rate_schedule, optimizer

MODEL = ModelConfig(6, 2, "relu_output")
TINY = bayesian_phase.Fidelity(seeds=4, steps=100, chains=1, burn_in=10, draws=100)


def test_one_hot_points_loss_is_the_exact_loss_in_the_limit():
    """Monte Carlo over 400,000 one-hot points against the closed form."""
    params = kgon_phase(5, 1, 6)
    W = params.W + 0.2 * jax.random.normal(jax.random.key(1), params.W.shape)
    feature, magnitude = one_hot_points(jax.random.key(0), 6, 400_000)
    sampled = one_hot_points_loss(W, params.b, feature, magnitude)
    assert float(sampled) == pytest.approx(float(one_hot_loss(W, params.b)), rel=0.01)


def test_minibatch_is_drawn_from_the_first_dataset_size_points():
    objective = OneHotDataset(capacity=50)
    hyper = Hyper.create(6, dataset_size=3, dataset_seed=2)
    loss = objective.loss(jax.random.key(0), jax.tree.map(jnp.asarray, hyper), MODEL, 20)
    feature, magnitude = objective.points(6, dataset_seed=2)
    params = TiedParams(W=jax.random.normal(jax.random.key(5), (6, 2)), b=jnp.zeros(6))
    rows = jax.random.randint(jax.random.fold_in(jax.random.key(0), 7), (20,), 0, 3)
    expected = one_hot_points_loss(params.W, params.b, feature[rows], magnitude[rows])
    np.testing.assert_allclose(loss(params, 7), expected, rtol=1e-6)
    assert int(rows.max()) < 3


def test_dataset_size_above_capacity_is_refused():
    sweep = bayesian_phase.sgd_sweep([200], 100, 2, 0)
    with pytest.raises(ValueError, match="dataset_size"):
        ts.Sweep(sweep.model, dataclasses.replace(sweep.train, objective=OneHotDataset(100)),
                 axes={"dataset_size": [200]}, fixed={"lr": 0.005})


def test_sgd_step_is_minus_lr_times_the_gradient_plus_decoupled_decay():
    cfg = ts.TrainConfig(optimizer="sgd")
    hyper = Hyper.create(6, lr=0.005, weight_decay=0.1)
    params = TiedParams(W=jnp.ones((6, 2)), b=jnp.full(6, 2.0))
    grads = TiedParams(W=jnp.full((6, 2), 0.3), b=jnp.full(6, -0.5))
    opt = optimizer(hyper, cfg)
    updates, _ = opt.update(grads, opt.init(params), params)
    np.testing.assert_allclose(updates.W, -0.005 * (0.3 + 0.1 * 1.0), rtol=1e-6)
    np.testing.assert_allclose(updates.b, -0.005 * (-0.5 + 0.1 * 2.0), rtol=1e-6)
    no_bias_decay = optimizer(hyper, dataclasses.replace(cfg, decay_biases=False))
    updates, _ = no_bias_decay.update(grads, no_bias_decay.init(params), params)
    np.testing.assert_allclose(updates.b, -0.005 * -0.5, rtol=1e-6)


def test_cosine_ends_at_its_floor_and_new_fields_keep_old_hashes():
    cfg = ts.TrainConfig(steps=1000, schedule="warmup_cosine", warmup_steps=100,
                         final_lr_fraction=0.05)
    schedule = learning_rate_schedule(0.01, cfg)
    assert float(schedule(1000)) == pytest.approx(5e-4)
    assert float(schedule(100)) == pytest.approx(0.01)
    d = ts.TrainConfig().to_dict()
    assert not {"final_lr_fraction", "decay_biases", "optimizer", "init", "magnitude"} & set(d)
    for config in (cfg, ts.TrainConfig(optimizer="sgd", decay_biases=False,
                                       objective=ts.objectives.FreshBatches(magnitude=2.0))):
        assert ts.TrainConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="optimizer='adam' is invalid"):
        ts.TrainConfig(optimizer="adam")
    with pytest.raises(ValueError, match="final_lr_fraction"):
        ts.TrainConfig(final_lr_fraction=1.5)
    with pytest.raises(ValueError, match=r"final_lr_fraction=0\.05 is invalid: 0 with schedule"):
        ts.TrainConfig(final_lr_fraction=0.05)
    two = ts.objectives.FreshBatches(magnitude=np.float32(2))
    assert two == ts.objectives.FreshBatches(magnitude=2) and two.to_dict() == {"magnitude": 2.0}
    with pytest.raises(ValueError, match="magnitude"):
        ts.objectives.FreshBatches(magnitude=True)


SIZES = (200, 400, 1000)


def sgd_results(final_phase) -> dict:
    """Constructed SGD results at n = 200, 400 and 1,000: every run at `final_phase(n)` from
    its first snapshot to its last."""
    sweep = bayesian_phase.sgd_sweep(list(SIZES), TINY.steps, TINY.seeds, 0)
    snaps = len(sweep.train.snapshot_steps)
    W, b = [], []
    for n in SIZES:
        point = kgon_phase(*final_phase(n), 6)
        W.append(np.broadcast_to(np.asarray(point.W), (TINY.seeds, 6, 2)))
        b.append(np.broadcast_to(np.asarray(point.b), (TINY.seeds, 6)))
    W, b = np.stack(W), np.stack(b)
    params = {"W": W, "b": b, "W_snapshots": np.repeat(W[:, :, None], snaps, 2),
              "b_snapshots": np.repeat(b[:, :, None], snaps, 2)}
    return {"sgd": constructed(sweep, params)}


def verdicts(results) -> dict[str, bool]:
    _, claims, _ = bayesian_phase.analyse(results, TINY)
    return {c.name: c.passed for c in claims}


def test_claims_on_runs_that_sit_at_the_6gon_throughout():
    """All runs at the 6-gon: they end at a k-gon, but never pass between phases, and at n =
    200 and 400 the posterior prefers the 5-gon (among the 5-gon, 5+ and 6-gon)."""
    passed = verdicts(sgd_results(lambda n: (6, 0)))
    assert passed["sgd_ends_at_kgons"]
    assert not passed["sgd_passes_through_kgons"]
    assert passed["posterior_and_sgd_prefer_different_phases"]


def test_claims_on_runs_that_agree_with_the_posterior():
    passed = verdicts(sgd_results(lambda n: (5, 0) if n < 601 else (6, 0)))
    assert not passed["posterior_and_sgd_prefer_different_phases"]


def test_disagreement_at_one_size_is_not_a_range():
    passed = verdicts(sgd_results(lambda n: (5, 0) if n == 400 else (6, 0)))
    assert not passed["posterior_and_sgd_prefer_different_phases"]  # differs at n = 200 only


def test_trained_claims_fail_on_noise():
    results = sgd_results(lambda n: (6, 0))
    _, claims, _ = bayesian_phase.analyse(noise_like(results, seed=1), TINY)
    assert [c.name for c in claims if c.trained and c.passed] == []
