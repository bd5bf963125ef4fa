"""Analysis pieces of sparsity_sweep, geometry and perturb_feature, on constructed inputs, and a
learning threshold: the linear model keeps the top-m features however sparse the data."""

import numpy as np
import pytest
from shapes import regular_polygon

import toysuper as ts
from toysuper.analysis import represented
from toysuper.experiments import geometry, perturb_feature, sparsity_sweep


def test_enrichment_counts_the_band_against_its_neighbours():
    D = np.array([0.5] * 10 + [0.48, 0.52] + [0.2])  # 10 in the band, 2 just beside, 1 far
    out = geometry.enrichment(D, 0.5, band=0.01)
    assert (out["centre"], out["side"]) == (10, 2)
    assert out["enrichment"] == pytest.approx(10 / 2 * 2)  # band 2w wide, sides 4w wide
    top = geometry.enrichment(np.array([1.0, 0.999, 0.975]), 1.0, band=0.01)
    assert (top["centre"], top["side"], top["enrichment"]) == (2, 1, 2.0)  # one side only
    assert geometry.is_cluster(out) and not geometry.is_cluster(top)  # top: too few features
    lonely = geometry.enrichment(np.array([0.4] * 3), 0.4)
    assert lonely["enrichment"] is None and geometry.is_cluster(lonely)


def test_plateau_span_is_the_longest_run_near_the_level():
    p = np.geomspace(1, 1 / 16, 5)  # 1, 1/2, 1/4, 1/8, 1/16
    dstar = np.array([1.0, 0.52, 0.49, 0.51, 0.3])
    assert geometry.plateau_span(p, dstar) == pytest.approx(4.0)  # from 1/2 to 1/8
    assert geometry.plateau_span(p, np.array([1.0, 0.8, 0.3, 0.2, 0.1])) == 1.0


def test_least_important_first():
    rep = np.array([True] * 6 + [False] * 2)
    superposed = np.array([False] * 3 + [True] * 3 + [False] * 2)
    assert sparsity_sweep.least_important_first(rep, superposed)
    superposed[1], superposed[4] = True, False  # an important feature superposed before others
    assert not sparsity_sweep.least_important_first(rep, superposed)


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
