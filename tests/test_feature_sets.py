"""Correlated and anticorrelated feature sets (TMS section 6): the sampler's statistics
(Monte Carlo with binomial tolerances), its validation, and the set geometry measures."""

import jax
import numpy as np
import pytest
from scipy import stats

import toysuper as ts
from toysuper.analysis.correlation import (
    across_cosines,
    collapsed_count,
    is_collapsed,
    within_cosines,
)
from toysuper.data import FeatureSets, sample_feature_sets_feature_major

SETS = FeatureSets((("correlated", 3), ("anticorrelated", 4), ("independent", 2),
                    ("anticorrelated", 2)))
N = 200_000


def within(observed, expected, n=N):
    """|observed - expected| within 5 binomial standard errors."""
    return abs(observed - expected) <= 5 * np.sqrt(expected * (1 - expected) / n) + 1e-9


@pytest.fixture(scope="module")
def batch():
    p = np.array([0.3] * 3 + [0.4] * 4 + [0.2, 0.6] + [0.5] * 2, np.float32)
    x = np.asarray(sample_feature_sets_feature_major(jax.random.key(0), p, N, SETS))
    return p, x


def test_set_activation_rate_and_members(batch):
    _, x = batch
    active = x > 0
    correlated, anti, anti2 = active[0:3], active[3:7], active[9:11]
    assert np.all(correlated == correlated[0])  # a correlated set: all members or none
    assert within(correlated[0].mean(), 0.3)
    for members, rate in ((anti, 0.4), (anti2, 0.5)):
        count = members.sum(0)
        assert count.max() == 1  # never more than one member of an anticorrelated set
        assert within((count == 1).mean(), rate)  # the set is active with its density


def test_marginal_density_per_feature(batch):
    _, x = batch
    expected = np.array([0.3] * 3 + [0.1] * 4 + [0.2, 0.6] + [0.25] * 2)  # anti: p / size
    for i, e in enumerate(expected):
        assert within((x[i] > 0).mean(), e), i


def test_active_values_uniform(batch):
    _, x = batch
    for i in range(x.shape[0]):
        assert stats.kstest(x[i][x[i] > 0], "uniform").pvalue > 1e-3


def test_sets_independent(batch):
    _, x = batch
    a, b, c = x[0] > 0, (x[3:7] > 0).any(0), x[7] > 0  # correlated, anticorrelated, independent
    for u, v in ((a, b), (a, c), (b, c)):
        assert within((u & v).mean(), u.mean() * v.mean())


def test_values_independent_within_correlated_set(batch):
    _, x = batch
    on = x[0] > 0
    assert abs(np.corrcoef(x[0][on], x[1][on])[0, 1]) < 5 / np.sqrt(on.sum())


def test_validation_names_the_field():
    with pytest.raises(ValueError, match="feature_sets kind"):
        FeatureSets((("clustered", 2),))
    with pytest.raises(ValueError, match="feature_sets size"):
        FeatureSets((("correlated", 0),))
    with pytest.raises(ValueError, match="n_features=5"):
        ts.Sweep(ts.ModelConfig(5, 2), ts.TrainConfig(steps=100, objective=ts.FreshBatches(
            FeatureSets((("correlated", 2), ("correlated", 2))))))
    with pytest.raises(ValueError, match=r"model\.kind"):
        ts.Sweep(ts.ModelConfig(4, 2, "abs_mlp"), ts.TrainConfig(
            steps=100, objective=ts.FreshBatches(FeatureSets((("correlated", 2),
                                                              ("correlated", 2))))))


def test_config_round_trips_and_old_hashes_unchanged(small_sweep):
    sets = FeatureSets((("correlated", 2), ("anticorrelated", 3)))
    sweep = ts.Sweep(ts.ModelConfig(5, 2), ts.TrainConfig(steps=100, log_every=50,
                                                          objective=ts.FreshBatches(sets)))
    again = ts.Sweep.from_dict(sweep.to_dict())
    assert again.train.objective.feature_sets == sets and again.config_hash() == sweep.config_hash()
    assert "feature_sets" not in small_sweep.to_dict()["train"]


def test_sets_train_differently_from_independent_features():
    """Anticorrelated pairs in m=1 can share the dimension antipodally; independent ones pay
    for interference: a learning difference the sampler must produce."""
    def final_loss(sets):
        sweep = ts.Sweep(ts.ModelConfig(2, 1), ts.TrainConfig(
            steps=2000, batch_size=512, log_every=100,
            objective=ts.FreshBatches(FeatureSets(sets))),
            fixed={"feature_probability": 0.5, "seed": 0})
        r = ts.run_sweep(sweep, progress=False).to_xarray()
        return float(r["loss"]), r["W"].values[:, 0]

    anti_loss, anti_W = final_loss((("anticorrelated", 2),))
    assert anti_W[0] * anti_W[1] < -0.8  # antipodal, both kept
    assert anti_loss < 0.01
    indep_loss, _ = final_loss((("independent", 2),))
    assert indep_loss > 5 * anti_loss


def test_within_across_and_collapse_on_constructed_geometries():
    e = np.eye(4)
    W = np.stack([e[0], e[1], -e[0], -e[1]])  # two orthogonal pairs, antipodal across sets
    sets = [[0, 1], [2, 3]]
    np.testing.assert_allclose(within_cosines(W, [0, 1]), [0.0], atol=1e-12)
    np.testing.assert_allclose(np.sort(across_cosines(W, sets)), [-1, -1, 0, 0], atol=1e-12)
    assert collapsed_count(W, sets) == 0
    v = np.array([1.0, 1.0, 0, 0]) / 2  # both members on the principal component
    W2 = np.stack([v, v * 1.02, e[2], e[3]])
    assert is_collapsed(W2, [0, 1]) and not is_collapsed(W2, [2, 3])
    W3 = np.stack([v, v * 0.1, e[2], e[3]])  # second member dropped: not a collapse
    assert collapsed_count(W3, sets) == 0
