"""The SGLD estimate of the local learning coefficient, the free-energy crossing and the k-gon
phases of the one-hot model (Chen et al. 2023)."""

import jax
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from toysuper.analysis.llc import SGLD, crossing, free_energy, llc_estimates, quartic_potential
from toysuper.analysis.onehot import kgon_phase, kgon_phases, phase_of
from toysuper.objectives.one_hot import one_hot_params_loss


@pytest.mark.parametrize("powers", [[1, 1, 1], [1, 2, 3], [2, 2]])
def test_llc_recovers_the_learning_coefficient_of_a_known_potential(powers):
    """K(w) = sum_i w_i^(2 k_i) has lambda = sum_i 1/(2 k_i); the estimate at n = 1,000 with
    eps 1e-4 lands within 10% (SGLD's step adds about eps x curvature / 4 to a quadratic's
    variance, and the localisation takes a little away)."""
    potential, expected = quartic_potential(powers)
    sgld = SGLD(step_size=1e-4, chains=8, burn_in=2000, draws=20_000)
    est = llc_estimates(jax.random.key(0), potential, np.zeros((1, len(powers))), 1000, sgld)
    assert est["llc"][0] == pytest.approx(expected, rel=0.1)
    assert est["samples"].shape == (1, 8, 200, len(powers))


def test_llc_of_a_point_does_not_depend_on_the_others():
    potential, _ = quartic_potential([1, 2])
    sgld = SGLD(chains=2, burn_in=10, draws=200)
    points = np.array([[0.0, 0.0], [0.1, -0.2], [0.3, 0.0]], np.float32)
    together = llc_estimates(jax.random.key(3), potential, points, 500, sgld)
    alone = llc_estimates(jax.random.key(3), potential, points[:2], 500, sgld)
    np.testing.assert_array_equal(together["llc_per_chain"][:2], alone["llc_per_chain"])


def test_llc_is_negative_at_a_point_that_is_not_a_minimum():
    """Started on a slope, the chains descend: E[L] < L(w*), and they end near the minimum."""
    potential, _ = quartic_potential([1, 1])
    est = llc_estimates(jax.random.key(0), potential, np.array([[1.0, 1.0]]), 1000,
                        SGLD(chains=4, burn_in=100, draws=1000))
    assert est["llc"][0] < 0
    assert np.abs(est["samples"][0, :, -1]).max() < 0.2


def test_sgld_settings_are_checked():
    with pytest.raises(ValueError, match=r"SGLD\.step_size"):
        SGLD(step_size=0)
    with pytest.raises(ValueError, match=r"SGLD\.chains"):
        SGLD(chains=0)
    with pytest.raises(ValueError, match=r"SGLD\.draws=150 is invalid: a positive multiple"):
        SGLD(draws=150)
    with pytest.raises(ValueError, match="n=1 is invalid"):
        SGLD().inverse_temperature(1)


def test_kgon_phases_have_the_papers_losses_and_prior_terms():
    """Chen et al. 2023 (c = 6): losses 0.11111 (4-gon), 0.10417 (4+), 0.06874 (5-gon), 0.06180
    (5+), 0.04819 (6-gon); prior terms 2, 2.00347, 3.62417, 3.62764, 6.37767."""
    phases = kgon_phases(6)
    paper = {(4, 0): (0.11111, 2.0), (4, 1): (0.10417, 2.00347), (5, 0): (0.06874, 3.62417),
             (5, 1): (0.06180, 3.62764), (6, 0): (0.04819, 6.37767)}
    for phase, (loss, prior) in paper.items():
        assert phases[phase]["loss"] == pytest.approx(loss, abs=1e-5)
        assert phases[phase]["prior"] == pytest.approx(prior, abs=1e-4)


def test_free_energy_crossing_is_the_papers_601():
    phases = kgon_phases(6)
    five = phases[(5, 0)] | {"llc": 7.0}
    six = phases[(6, 0)] | {"llc": 8.5}
    n = crossing(five, six)
    assert n == pytest.approx(601, abs=1)
    assert free_energy(n - 10, **six) > free_energy(n - 10, **five)
    assert free_energy(n + 10, **six) < free_energy(n + 10, **five)
    assert np.isnan(crossing(six, five))  # the 5-gon never wins back


@pytest.mark.parametrize("k, sigma", [(4, 2), (5, 0), (5, 1), (6, 0)])
def test_phase_of_names_a_rotated_permuted_noisy_kgon(k, sigma):
    point = kgon_phase(k, sigma, 6)
    rng = np.random.default_rng(k + sigma)
    order = rng.permutation(6)
    angle = rng.uniform(0, 2 * np.pi)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    W = np.asarray(point.W)[order] @ rotation + 0.03 * rng.normal(size=(6, 2))
    assert tuple(int(v) for v in phase_of(W, np.asarray(point.b)[order])) == (k, sigma)


def test_phase_of_refuses_what_is_no_polygon():
    W = np.array([[1.0, 0], [0.9, 0.1], [0, 1], [-1, 0], [0, 0], [0, 0]])  # two nearly equal
    assert phase_of(W, np.zeros(6))[0] == -1
    assert phase_of(np.full((6, 2), np.nan), np.zeros(6))[0] == -1


def test_llc_of_the_kgons_is_the_theory_at_large_n():
    """At n = 100,000 SGLD gives the 5-gon 7, the 5+ 8.5 and the 6-gon 8.5 (Chen et al. 2023)
    within 5%; at n = 1,000 the 6-gon's estimate exceeds d/2 = 9, which no minimum can."""
    from toysuper.experiments import bayesian_phase

    sgld = SGLD(step_size=bayesian_phase.LLC_STEP, chains=4, burn_in=4000, draws=16_000)
    llcs = bayesian_phase.measured_llcs(sgld)
    for phase, theory in bayesian_phase.THEORY_LLC_C6.items():
        assert llcs[phase]["llc"] == pytest.approx(theory, rel=0.05)
        assert llcs[phase]["escaped"] == 0
    six, unravel = ravel_pytree(kgon_phase(6, 0, 6))
    near = llc_estimates(jax.random.key(0), lambda w: one_hot_params_loss(unravel(w)),
                         six[None], 1000, SGLD(chains=4, burn_in=1000, draws=4000))
    assert near["llc"][0] > bayesian_phase.N_PARAMETERS / 2
