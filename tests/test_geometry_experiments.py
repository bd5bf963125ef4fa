"""Analysis pieces of sparsity_sweep, geometry and perturb_feature, on constructed inputs, and a
learning threshold: the linear model keeps the top-m features however sparse the data."""

import numpy as np
import pytest
from shapes import regular_polygon

import toysuper as ts
from toysuper.analysis import clusters, represented
from toysuper.experiments import geometry, perturb_feature, sparsity_sweep


def test_enrichment_counts_the_window_against_windows_beside_it():
    D = np.array([0.5] * 12 + [0.512, 0.488, 0.489] + [0.2])  # 12 in, 1 and 2 beside, 1 far
    out = clusters.enrichment(D, 0.5)
    assert (out["centre"], out["side"]) == (12, 1.5)
    assert out["enrichment"] == pytest.approx(8.0)
    top = clusters.enrichment(np.array([1.0] * 12 + [0.99] * 7), 1.0)  # one side only
    assert (top["centre"], top["side"]) == (12, 7)
    assert clusters.is_cluster(out) and not clusters.is_cluster(top)  # top: 1.7x, not 2x
    assert not clusters.is_cluster(clusters.enrichment(np.array([0.4] * 9), 0.4))  # too few


def test_neighbouring_fractions_are_not_each_others_background():
    """3/8 and 2/5 are 0.025 apart: a pure cluster at each must be a cluster at each."""
    D = np.array([0.375] * 30 + [0.4] * 30)
    assert clusters.is_cluster(clusters.enrichment(D, 0.375))
    assert clusters.is_cluster(clusters.enrichment(D, 0.4))


def test_a_smooth_spread_of_dimensionalities_has_no_cluster():
    D = np.random.default_rng(0).uniform(0.3, 0.8, 5000)
    assert not any(clusters.is_cluster(clusters.enrichment(D, f))
                   for f in clusters.FRACTIONS.values())


def test_a_sticky_plateau_is_long_and_flat():
    p = np.geomspace(1, 1 / 20, 20)
    x = np.log(1 / p)
    smooth = 1 - 0.5 * x / np.log(4)  # crosses 1/2 at 1/(1-S) = 4, linearly in log
    plateau = np.clip(1 - x, 0.5, None) - 0.5 * np.clip(x - 2, 0, None) * 0.3
    span, flat = geometry.plateau(p, plateau)
    assert span >= geometry.PLATEAU_SPAN and geometry.sticky(span, flat)
    span, flat = geometry.plateau(p, smooth)
    assert not geometry.sticky(span, flat)
    assert geometry.plateau(p, np.linspace(1, 0.1, 20)) [0] < geometry.PLATEAU_SPAN


def test_packing_is_m_for_orthogonal_polytopes_and_less_for_random_directions():
    W = np.zeros((10, 4))
    W[:5, :2] = regular_polygon(5)
    W[5:, 2:] = np.concatenate([regular_polygon(3), [[0, 0]] * 2])[:5]
    D = np.asarray(ts.analysis.feature_dimensionality(W))
    assert geometry.packing(D[None], 4, np.array([0.5]))[0] == pytest.approx(1.0, abs=1e-5)
    noise = np.random.default_rng(0).normal(size=(100, 10))
    D_noise = np.asarray(ts.analysis.feature_dimensionality(noise))
    assert geometry.packing(D_noise[None], 10, np.array([0.5]))[0] < geometry.PACKED


def test_least_important_first():
    rep = np.array([True] * 6 + [False] * 2)
    superposed = np.array([False] * 3 + [True] * 3 + [False] * 2)
    assert sparsity_sweep.least_important_first(rep, superposed)
    superposed[1], superposed[4] = True, False  # an important feature superposed before others
    assert not sparsity_sweep.least_important_first(rep, superposed)


def test_represented_count_may_dip_by_one_feature_only():
    assert sparsity_sweep.never_falls(np.array([5, 8, 10, 11, 13, 14, 13]))
    assert not sparsity_sweep.never_falls(np.array([5, 8, 10, 11, 13, 14, 12]))
    assert not sparsity_sweep.never_falls(np.array([5, 8, 6, 11]))


def test_perturb_loss_crossing_interpolates_the_zero_of_the_difference():
    ratio = np.array([2.0, 1.0, 0.5, 0.25, 0.125])
    x = np.log(ratio)
    pentagon, digons = 1 + 0 * x, 1 + (x - np.log(0.3))  # equal at ratio 0.3
    assert perturb_feature.loss_crossing(ratio, pentagon, digons) == pytest.approx(0.3)
    assert perturb_feature.loss_crossing(ratio, pentagon, pentagon + 1) is None
    # a pentagon worse at the start (ratio 1) is not a transition going sparser
    assert perturb_feature.loss_crossing(ratio, digons + 5, digons) is None


def test_perturb_classify_and_crossing():
    digons = np.array([[1.0, 0], [0, 1], [-1, 0], [0, -1], [0, 0.01]])
    assert perturb_feature.classify(regular_polygon(5)) == perturb_feature.PHASES.index("pentagon")
    assert perturb_feature.classify(digons) == perturb_feature.PHASES.index("two digons")
    assert perturb_feature.classify(regular_polygon(5)[:, [0, 0]]) == perturb_feature.PHASES.index(
        "other")  # rank 1: not a pentagon
    ratio = np.array([2.0, 1.0, 0.5, 0.25, 0.125])
    assert perturb_feature.crossing(ratio, np.array([0, 0, 0, 1, 1], bool)) == pytest.approx(
        np.sqrt(0.5 * 0.25))
    assert perturb_feature.crossing(ratio, np.zeros(5, bool)) is None


def test_linear_model_keeps_the_top_m_features_when_sparse():
    """TMS section 2: without a ReLU, superposition does not pay at any sparsity."""
    sweep = ts.Sweep(ts.ModelConfig(8, 3, "linear"), ts.TrainConfig(steps=1500, batch_size=512),
                     axes={"feature_probability": [1.0, 0.05]},
                     fixed={"importance": ts.decaying_importance(8, 0.7), "lr": 1e-2,
                            "weight_decay": 0.0})
    W = ts.run_sweep(sweep, progress=False).dataset["W"].values
    top = np.arange(8) < 3
    assert np.array_equal(np.asarray(represented(W)), np.stack([top, top]))
