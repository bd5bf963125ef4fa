"""Registry of paper experiments: `toysuper list` and `toysuper run NAME`."""

from toysuper.experiments import (
    absolute_value,
    adversarial,
    bayesian_phase,
    correlated,
    double_descent,
    dynamics,
    exact_loss,
    geometry,
    intro,
    perturb_feature,
    phase,
    privileged_basis,
    sae_recovery,
    scaling_law,
    sparsity_sweep,
    tetrahedra,
    universality,
)
from toysuper.experiments.base import FIDELITIES, Claim, Experiment

REGISTRY: dict[str, Experiment] = {
    e.name: e for e in (intro.EXPERIMENT, sparsity_sweep.EXPERIMENT, phase.PHASE_2IN1,
                        phase.PHASE_3IN2, geometry.EXPERIMENT, tetrahedra.EXPERIMENT,
                        perturb_feature.EXPERIMENT, correlated.EXPERIMENT, dynamics.EXPERIMENT,
                        adversarial.EXPERIMENT,
                        privileged_basis.EXPERIMENT,
                        absolute_value.EXPERIMENT, double_descent.EXPERIMENT,
                        exact_loss.EXPERIMENT, universality.EXPERIMENT,
                        sae_recovery.EXPERIMENT, scaling_law.EXPERIMENT,
                        bayesian_phase.EXPERIMENT)
}


def get_experiment(name: str) -> Experiment:
    """The registered experiment `name`; ValueError listing the valid names otherwise."""
    if name not in REGISTRY:
        raise ValueError(f"experiment={name!r} is unknown: choose from {', '.join(REGISTRY)}")
    return REGISTRY[name]


__all__ = ["FIDELITIES", "REGISTRY", "Claim", "Experiment", "get_experiment"]
