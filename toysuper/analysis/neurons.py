"""Neurons and the features they read, in models with a privileged hidden basis (TMS sections 8-9).

A neuron j reads feature i when the weight W_ij (feature i into neuron j) is substantial: above
`threshold` (`W_ij > threshold` for a ReLU-hidden autoencoder whose inputs are >= 0, where only
positive weights can make the neuron fire; `|W_ij| > threshold` for the |x| model, whose inputs
take both signs). The bipartite graph of these connections splits into components; a component
of k features and j neurons is the paper's "k features in j neurons", and a monosemantic neuron
is a component of one feature and one neuron.

Array functions accept any leading axes; `neuron_groups` and `regime` take one model.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from toysuper.analysis.polytopes import components

READ_WEIGHT = 0.3  # |W_ij| above which neuron j counts as reading feature i


def connections(W: np.ndarray, threshold: float = READ_WEIGHT,
                signed: bool = False) -> np.ndarray:
    """(..., feature, neuron) bool: which neuron reads which feature.

    Args:
      W: (..., n_features, n_hidden) input weights, W[..., i, j] = feature i into neuron j.
      threshold: the weight above which a connection counts.
      signed: count negative weights too (|W_ij| > threshold), for inputs of both signs.
    """
    W = np.asarray(W)
    return (np.abs(W) if signed else W) > threshold


def features_per_neuron(links: np.ndarray) -> np.ndarray:
    """(..., neuron) how many features each neuron reads (its polysemanticity; 1 = monosemantic,
    0 = dead)."""
    return np.asarray(links).sum(-2)


def neurons_per_feature(links: np.ndarray) -> np.ndarray:
    """(..., feature) how many neurons read each feature (0 = not represented)."""
    return np.asarray(links).sum(-1)


@dataclasses.dataclass(frozen=True)
class NeuronGroup:
    """A connected set of features and the neurons that read them.

    Attributes:
      features: feature indices, sorted.
      neurons: neuron indices, sorted.
    """

    features: tuple[int, ...]
    neurons: tuple[int, ...]

    @property
    def monosemantic(self) -> bool:
        return len(self.features) == 1 and len(self.neurons) == 1

    def describe(self) -> str:
        return f"{len(self.features)} in {len(self.neurons)}"


def neuron_groups(links: np.ndarray) -> list[NeuronGroup]:
    """Components of one model's feature-neuron graph `links` (n_features, n_hidden), ignoring
    features no neuron reads and neurons that read nothing; largest first."""
    links = np.asarray(links, bool)
    n, m = links.shape
    adjacency = np.zeros((n + m, n + m), bool)
    adjacency[:n, n:], adjacency[n:, :n] = links, links.T
    nodes = [i for i in range(n) if links[i].any()] + [n + j for j in range(m) if links[:, j].any()]
    groups = [NeuronGroup(tuple(i for i in c if i < n), tuple(i - n for i in c if i >= n))
              for c in components(adjacency, nodes)]
    return sorted(groups, key=lambda g: (-len(g.features), -len(g.neurons), g.features))


MONOSEMANTIC = "monosemantic"


def regime(links: np.ndarray) -> str:
    """How one model (n_features, n_hidden) uses its neurons, in the paper's words (TMS 8):
    "monosemantic" when every used neuron reads one feature and every read feature one neuron,
    otherwise "k in j", the largest group's k features in j neurons."""
    groups = neuron_groups(links)
    if all(g.monosemantic for g in groups):
        return MONOSEMANTIC
    return groups[0].describe()
