"""Restart selection by one common evaluation (`toysuper.evaluation`, `Result.best_over`)."""

import jax.numpy as jnp
import numpy as np
import pytest

import toysuper as ts
from toysuper.data import dataset_keys
from toysuper.evaluation import exact_available
from toysuper.models import TiedParams
from toysuper.objectives.population import population_losses
from toysuper.results import Result


def constructed(sweep: ts.Sweep, W: np.ndarray, b: np.ndarray, training_loss: np.ndarray
                ) -> Result:
    """A Result holding the given weights (size, n, m) and last-window training losses."""
    return Result.from_arrays(sweep, {"W": W, "b": b, "history": training_loss[:, None],
                                      "diverged_step": np.full(len(W), -1, np.int32)})


def regular_polygon(k: int, n: int, norm: float = 1.0) -> np.ndarray:
    """(n, 2): k unit directions of a regular k-gon (scaled by norm), the rest zero."""
    angle = 2 * np.pi * np.arange(k) / k
    W = np.zeros((n, 2), np.float32)
    W[:k] = norm * np.stack([np.cos(angle), np.sin(angle)], -1)
    return W


def two_antipodal_pairs(n: int) -> np.ndarray:
    W = np.zeros((n, 2), np.float32)
    W[:4] = [[1, 0], [-1, 0], [0, 1], [0, -1]]
    return W


def intro_like(seeds: int, p: float = 0.1) -> ts.Sweep:
    return ts.Sweep(ts.ModelConfig(5, 2), ts.TrainConfig(steps=100, log_every=100),
                    axes={"seed": range(seeds)}, fixed={"feature_probability": p})


def test_restarts_with_equal_weights_get_equal_evaluation():
    """Common random numbers: every restart of a point sees the same evaluation inputs."""
    sweep = intro_like(3)
    W = np.stack([regular_polygon(5, 5)] * 3)
    result = constructed(sweep, W, np.full((3, 5), -0.1, np.float32), np.array([0.3, 0.1, 0.2]))
    loss = result.evaluation_loss().values
    assert loss[0] == loss[1] == loss[2]


def test_sampled_evaluation_matches_the_exact_expected_loss():
    """At n=5 the evaluation samples; it must agree with the subset quadrature."""
    sweep = intro_like(2)
    W = np.stack([regular_polygon(5, 5, 1.1), two_antipodal_pairs(5)])
    b = np.stack([np.full(5, -0.1), np.zeros(5)]).astype(np.float32)
    result = constructed(sweep, W, b, np.zeros(2))
    assert not exact_available(sweep)
    exact = population_losses(W, b, np.full(5, 0.1), np.ones(5), resolution=12)
    np.testing.assert_allclose(result.evaluation_loss().values, exact, rtol=0.01)


def test_best_over_ranks_by_evaluation_not_by_noisy_training_loss():
    """The pentagon beats two antipodal pairs at p = 0.05 by about 10% of the loss; give it the
    worse training loss (as batch noise can), and the common evaluation still picks it."""
    sweep = intro_like(2, p=0.05)
    W = np.stack([two_antipodal_pairs(5), regular_polygon(5, 5, 1.05)])
    b = np.stack([np.zeros(5), np.full(5, -0.05)]).astype(np.float32)
    exact = population_losses(W, b, np.full(5, 0.05), np.ones(5), resolution=12)
    assert exact[1] < exact[0]
    result = constructed(sweep, W, b, training_loss=np.array([0.10, 0.11]))
    assert int(result.best_over("seed").dataset["seed"]) == 1
    assert int(result.best_over("seed", by="training").dataset["seed"]) == 0


def test_small_models_are_ranked_by_their_exact_loss():
    sweep = ts.Sweep(ts.ModelConfig(2, 1), ts.TrainConfig(steps=100, log_every=100),
                     axes={"feature_probability": [0.1, 0.9], "seed": range(2)})
    assert exact_available(sweep)
    W = np.array([[[1, 0]], [[1, -1]], [[1, 0]], [[1, -1]]], np.float32).transpose(0, 2, 1)
    b = np.zeros((4, 2), np.float32)
    b[[0, 2], 1] = [0.05, 0.45]  # a dropped feature's best bias is p/2: loss p/3 - p^2/4
    result = constructed(sweep, W, b, np.zeros(4))
    p = np.repeat([0.1, 0.9], 2)[:, None] * np.ones(2)
    exact = population_losses(W, b, p, np.ones(2), resolution=32)
    np.testing.assert_allclose(result.evaluation_loss().values.ravel(), exact, rtol=1e-5)
    best = result.best_over("seed").dataset["seed"].values
    # sparse: superposition (W = [1, -1]) wins, p^2/3 < p/3 - p^2/4; dense: dropping one wins
    assert best.tolist() == [1, 0]


def test_diverged_restarts_are_never_chosen_and_nan_evaluation_is_handled():
    sweep = intro_like(2)
    W = np.stack([regular_polygon(5, 5), np.full((5, 2), np.nan, np.float32)])
    result = constructed(sweep, W, np.zeros((2, 5), np.float32), np.array([1.0, 0.0]))
    assert bool(result.dataset["diverged"].values[1])
    assert int(result.best_over("seed").dataset["seed"]) == 0


def test_best_over_names_the_allowed_rankings():
    result = constructed(intro_like(2), np.zeros((2, 5, 2), np.float32),
                         np.zeros((2, 5), np.float32), np.zeros(2))
    with pytest.raises(ValueError, match=r"by='lowest'.*'evaluation' or 'training'"):
        result.best_over("seed", by="lowest")


def test_evaluation_of_a_fixed_dataset_is_its_training_loss():
    """Henighan et al. keep the lowest training loss: on a fixed set it carries no noise."""
    sweep = ts.Sweep(ts.ModelConfig(50, 2),
                     ts.TrainConfig(steps=200, log_every=100, schedule="constant",
                                    objective=ts.FixedDataset(capacity=32, max_active=16)),
                     axes={"seed": range(2)},
                     fixed={"feature_probability": 0.05, "dataset_size": 32})
    result = ts.run_sweep(sweep, progress=False)
    hyper = ts.Hyper.create(50, feature_probability=0.05, dataset_size=32)
    W, b = result.dataset["W"].values, result.dataset["b"].values
    expected = [float(sweep.train.objective.loss(dataset_keys(0)[0], hyper, sweep.model, 0)(
        TiedParams(jnp.asarray(W[k]), jnp.asarray(b[k])), 0)) for k in range(2)]
    np.testing.assert_allclose(result.evaluation_loss().values, expected, rtol=1e-5)
