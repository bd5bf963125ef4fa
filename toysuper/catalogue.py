"""The experiments by name, section and description, without importing them (or JAX): what
`toysuper --help` and `toysuper run --help` list. `toysuper.experiments.REGISTRY` holds the
experiments themselves; a test checks that the two agree."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Entry:
    section: str
    description: str
    extension: bool = False


CATALOGUE: dict[str, Entry] = {
    "intro": Entry("TMS 1",
              "five features in two dimensions: dropped, antipodal pairs, pentagon as sparsity "
              "grows"),
    "sparsity_sweep": Entry("TMS 2",
              "linear vs ReLU output at n=20, m=5 and n=80, m=20 over seven densities: "
              "superposition appears with sparsity, least important features first"),
    "phase_2in1": Entry("TMS 4",
              "phase diagram of 2 features in 1 dimension: empirical (grid of trained models) "
              "against theory"),
    "phase_3in2": Entry("TMS 4",
              "phase diagram of 3 features in 2 dimensions: empirical (grid of trained models) "
              "against theory"),
    "geometry": Entry("TMS 5",
              "uniform importance: D* sticky at 1 and 1/2, feature dimensionalities on the "
              "polytope fractions, feature graphs coloured by polytope"),
    "tetrahedra": Entry("TMS 5",
              "the dense end of the geometry figure: tetrahedra and triangles against the exact"
              " loss of each polytope, n=400, m=30"),
    "perturb_feature": Entry("TMS 5",
              "a pentagon of five features as the fifth one's density changes: deformation, "
              "then two digons"),
    "correlated": Entry("TMS 6",
              "correlated features orthogonal, anticorrelated antipodal, collapse onto "
              "principal components, local orthogonal bases"),
    "dynamics": Entry("TMS 7",
              "feature dimensionality over training: discrete jumps between energy levels; n=6,"
              " m=3 correlated sets through a PCA-like stage to an octahedron"),
    "adversarial": Entry("TMS 7",
              "the analytic attack: vulnerability tracks superposition; adversarial training "
              "removes it only at large attack norms"),
    "privileged_basis": Entry("TMS 8",
              "n=10 features in m=5 ReLU neurons (I=0.75^i), best of many restarts per density:"
              " monosemantic when dense, then k features in j neurons"),
    "absolute_value": Entry("TMS 9",
              "an MLP computing |x|: n=3 in m=6 neurons (two per feature) and n=100 in m=40 "
              "over seven densities; polysemantic neurons and asymmetric superposition"),
    "double_descent": Entry("Henighan 2023",
              "memorisation and double descent: relu_output models on fixed datasets of T "
              "points, T-gons at small T, a pentagon at large T, a test-loss bump between"),
    "exact_loss": Entry("Beyond: Chen et al. 2023",
              "noise-free training on the exact loss: phase diagram without sampling noise, and"
              " the k-gon critical points of the one-hot model", extension=True),
    "universality": Entry("Beyond: universality",
              "how often seeds find the same geometry (up to rotation, sign and symmetric "
              "permutations): entropy over sparsity", extension=True),
    "sae_recovery": Entry("Beyond: Sharkey et al. 2022",
              "sparse autoencoders on toy-model activations: recovery of the true features "
              "against sparsity and dictionary size", extension=True),
    "scaling_law": Entry("Beyond: Liu, Liu & Gore 2025",
              "superposition yields neural scaling: loss against width under power-law "
              "feature frequencies, strong (growth) versus weak (weight decay) superposition",
              extension=True),
    "bayesian_phase": Entry("Beyond: Chen et al. 2023",
              "dynamical versus Bayesian phase transitions of the one-hot TMS (c=6, r=2): "
              "LLCs by SGLD, the free-energy transition, SGD's k-gon plateaus", extension=True),
}
