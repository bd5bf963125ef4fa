"""Every claim must fail when the trained weights are replaced by noise.

A claim that passes on Gaussian noise of the trained parameters' own mean and std does not test
what training found. Each experiment's quick result is trained once per session into
$TOYSUPER_RESULTS (shared with the tests and notebooks that read it, see the root conftest.py),
then re-analysed with `noise_like` in place of the trained parameters. The experiments whose
quick results no other default test trains are checked by the slow test (`pytest -m slow`).
"""

import numpy as np
import pytest

import toysuper as ts
from toysuper.experiments import get_experiment
from toysuper.experiments.base import noise_like, sweep_parts
from toysuper.experiments.runner import run_experiment

IN_CI = ("intro", "phase_2in1", "phase_3in2")  # their quick results are trained for other tests
ELSEWHERE = ("sparsity_sweep", "geometry", "tetrahedra", "perturb_feature", "correlated",
             "dynamics", "adversarial", "privileged_basis", "absolute_value", "double_descent",
             "exact_loss", "universality", "sae_recovery", "scaling_law", "bayesian_phase")


def claims_on_noise(name: str, out) -> list:
    experiment = get_experiment(name)
    run_experiment(name, "quick", out=out, progress=False)  # reused when already trained
    parts = sweep_parts(experiment.sweep("quick", 0))
    results = {part: ts.load(out / part) for part in parts}
    trained = results if list(parts) != [""] else results[""]
    _, claims, _ = experiment.analyse(noise_like(trained, seed=1))
    return claims


def check(name: str, out) -> None:
    claims = [c for c in claims_on_noise(name, out) if c.trained]  # theory-only claims exempt
    assert claims
    assert [c.name for c in claims if c.passed] == []


@pytest.mark.parametrize("name", IN_CI)
def test_every_claim_fails_on_noise(name, shared_results):
    check(name, shared_results / name)


@pytest.mark.slow
@pytest.mark.parametrize("name", ELSEWHERE)
def test_every_claim_fails_on_noise_slow(name, shared_results):
    check(name, shared_results / name)


def test_noise_keeps_each_parameters_mean_and_std(small_sweep):
    result = ts.run_sweep(small_sweep, progress=False)
    noise = noise_like(result, seed=3)
    for name in ("W", "b"):
        trained, null = result.dataset[name].values, noise.dataset[name].values
        assert null.shape == trained.shape and not np.allclose(null, trained)
        error = float(trained.std()) / np.sqrt(trained.size)  # of the noise's sample mean
        assert null.mean() == pytest.approx(trained.mean(), abs=5 * error)
        assert null.std() == pytest.approx(trained.std(), rel=0.3)


def test_every_experiment_has_a_noise_test():
    from toysuper.experiments import REGISTRY

    assert sorted(IN_CI + ELSEWHERE) == sorted(REGISTRY)
