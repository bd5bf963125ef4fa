"""Liu, Liu and Gore 2025: power-law frequencies, inputs of magnitude U[0, 2], the loss exponent,
and the claims of `scaling_law` on constructed weights and on noise."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from toysuper.analysis.scaling import (
    loss_exponent,
    power_law_frequencies,
    represented_fraction,
    unrepresented_loss,
)
from toysuper.experiments import scaling_law
from toysuper.experiments.base import constructed, noise_like
from toysuper.hyper import Hyper
from toysuper.models import ModelConfig, TiedParams
from toysuper.objectives import FreshBatches

TINY = scaling_law.Fidelity(60, (4, 6, 9), (1.5, 2.0), (-1.0, 0.1), 64, 100, 10)


def test_power_law_frequencies():
    p = power_law_frequencies(1000, 1.5)
    assert p.sum() == pytest.approx(1.0, rel=1e-5)
    assert p[0] / p[1] == pytest.approx(2**1.5, rel=1e-5)
    assert power_law_frequencies(100, 1.2, expected_active=3).sum() == pytest.approx(3, rel=1e-5)
    with pytest.raises(ValueError, match="expected_active"):
        power_law_frequencies(10, 3.0, expected_active=2)


def test_loss_exponent_recovers_a_power_law():
    widths = np.array([10, 15, 25, 39, 63, 100])
    exponent, r2 = loss_exponent(widths, np.stack([3 * widths**-1.3, 0.1 * widths**-0.4]))
    np.testing.assert_allclose(exponent, [1.3, 0.4], rtol=1e-6)
    np.testing.assert_allclose(r2, 1.0, rtol=1e-9)


def test_represented_fraction_and_unrepresented_loss():
    W = np.zeros((5, 2))
    W[0], W[3] = [1, 0], [0, 0.6]
    p = np.array([0.4, 0.3, 0.2, 0.05, 0.05])
    assert represented_fraction(W) == pytest.approx(0.4)
    assert unrepresented_loss(W, p, 4 / 3) == pytest.approx(4 / 3 * 0.55)


def test_magnitude_two_is_magnitude_one_with_half_the_bias_and_four_times_the_loss():
    """x -> 2x: ||2x - ReLU(2x W W^T + b)||^2 = 4 ||x - ReLU(x W W^T + b/2)||^2, same key."""
    model = ModelConfig(20, 4, "relu_output")
    hyper = jax.tree.map(jnp.asarray, Hyper.create(20, feature_probability=0.2))
    W = jax.random.normal(jax.random.key(1), (20, 4)) / 2
    b = jax.random.normal(jax.random.key(2), (20,)) / 4
    doubled = FreshBatches(magnitude=2.0).loss(jax.random.key(0), hyper, model, 128)
    plain = FreshBatches().loss(jax.random.key(0), hyper, model, 128)
    np.testing.assert_allclose(doubled(TiedParams(W, b), 3),
                               4 * plain(TiedParams(W, b / 2), 3), rtol=1e-5)
    assert not FreshBatches(magnitude=2.0).tms_inputs and FreshBatches().tms_inputs
    with pytest.raises(ValueError, match="magnitude"):
        FreshBatches(magnitude=0)


def scaling_results(weak_rows: str) -> dict:
    """Constructed results of TINY: strong superposition every feature at a random unit
    direction; weak either the m most frequent features on orthonormal directions and the
    rest at 0 (`weak_rows="top"`), or every feature at a unit direction (`"all"`)."""
    rng = np.random.default_rng(0)
    results = {}
    for part, sweep in scaling_law.sweeps_at(TINY).items():
        n, m = sweep.model.n_features, sweep.model.n_hidden
        W = np.zeros((*sweep.shape, n, m))
        strong = rng.normal(size=(n, m))
        W[:, 0] = strong / np.linalg.norm(strong, axis=-1, keepdims=True)
        if weak_rows == "top":
            W[:, 1, :m] = np.eye(m)
        else:
            W[:, 1] = W[:, 0]
        results[part] = constructed(sweep, {"W": W, "b": np.zeros((*sweep.shape, n))})
    return results


def verdicts(results) -> dict[str, bool]:
    _, claims, _ = scaling_law.analyse(results)
    return {c.name: c.passed for c in claims}


def test_represented_fraction_and_weak_loss_claims_pass_on_their_picture():
    passed = verdicts(scaling_results("top"))
    assert passed["represented_fraction_tells_regimes_apart"]
    assert passed["weak_loss_is_unrepresented_frequency"]


def test_claims_fail_when_the_weak_models_represent_everything():
    passed = verdicts(scaling_results("all"))
    assert not passed["represented_fraction_tells_regimes_apart"]
    assert not passed["weak_loss_is_unrepresented_frequency"]


def test_exponent_claims_fail_when_the_loss_does_not_fall_with_width():
    """Every model at W = 0, b = 0: the same loss at every width, an exponent of 0."""
    results = {}
    for part, sweep in scaling_law.sweeps_at(TINY).items():
        n, m = sweep.model.n_features, sweep.model.n_hidden
        results[part] = constructed(sweep, {"W": np.zeros((*sweep.shape, n, m)),
                                            "b": np.zeros((*sweep.shape, n))})
    passed = verdicts(results)
    assert not passed["strong_superposition_loss_about_1_over_m"]
    assert not passed["weak_superposition_exponent_follows_alpha"]


def test_claims_fail_on_noise():
    _, claims, _ = scaling_law.analyse(noise_like(scaling_results("top"), seed=1))
    assert [c.name for c in claims if c.passed] == []


def test_paper_fidelity_is_their_grid():
    paper = scaling_law.FIDELITY["paper"]
    assert paper.widths == (10, 15, 25, 39, 63, 100)
    assert paper.alphas[0] == 1 and paper.alphas[-1] == 2 and len(paper.alphas) == 9
    assert len(paper.weight_decays) == 10 and (paper.batch_size, paper.steps) == (2048, 20_000)
    sweep = scaling_law.width_sweep(paper, 10, 0)
    assert dataclasses.asdict(sweep.train.objective)["magnitude"] == 2.0
    assert sweep.train.final_lr_fraction == 0.05 and not sweep.train.decay_biases


def test_unit_rows_initialisation():
    """Liu, Liu and Gore's W ~ N(0, 1/m), b ~ N(0, 1); refused for a kind that is not tied."""
    from toysuper.models import init_params

    params = init_params(jax.random.key(0), ModelConfig(4000, 16), "unit_rows")
    assert float(jnp.std(params.W)) == pytest.approx(0.25, rel=0.02)
    assert float(jnp.mean(jnp.sum(params.W**2, -1))) == pytest.approx(1.0, rel=0.02)
    assert float(jnp.std(params.b)) == pytest.approx(1.0, rel=0.05)
    default = init_params(jax.random.key(0), ModelConfig(40, 4))
    assert float(jnp.abs(default.b).max()) == 0.0
    sweep = scaling_law.width_sweep(TINY, 4, 0)
    with pytest.raises(ValueError, match="init='unit_rows' is invalid"):
        dataclasses.replace(sweep, model=ModelConfig(60, 4, "abs_mlp"))
