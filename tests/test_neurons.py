"""Neuron analysis (TMS sections 8-9) on constructed weights, and two learning thresholds."""

import itertools

import numpy as np

import toysuper as ts
from toysuper.analysis.neurons import (
    MONOSEMANTIC,
    connections,
    features_per_neuron,
    neuron_groups,
    neurons_per_feature,
    regime,
)
from toysuper.experiments import absolute_value, privileged_basis


def three_in_two_plus_monosemantic() -> np.ndarray:
    """10 features, 5 neurons: features 0-2 each on their own neuron, features 3-5 share
    neurons 3 and 4 (3 in 2), features 6-9 unread."""
    W = np.zeros((10, 5))
    W[[0, 1, 2], [0, 1, 2]] = 1.0
    W[3, 3], W[4, 3], W[4, 4], W[5, 4] = 0.9, 0.7, 0.7, 0.9
    W[3, 4] = -0.5  # inhibitory: no connection for a ReLU-hidden model with x >= 0
    return W


def test_groups_and_regime_of_a_constructed_model():
    W = three_in_two_plus_monosemantic()
    links = connections(W)
    np.testing.assert_array_equal(features_per_neuron(links), [1, 1, 1, 2, 2])
    np.testing.assert_array_equal(neurons_per_feature(links), [1, 1, 1, 1, 2, 1, 0, 0, 0, 0])
    groups = neuron_groups(links)
    assert [(g.features, g.neurons) for g in groups] == [
        ((3, 4, 5), (3, 4)), ((0,), (0,)), ((1,), (1,)), ((2,), (2,))]
    assert regime(links) == "3 in 2"
    # signed reading (inputs of both signs) counts the negative weight: feature 3 on 2 neurons
    assert neurons_per_feature(connections(W, signed=True))[3] == 2


def test_regime_is_invariant_to_permuting_features_and_neurons():
    W = three_in_two_plus_monosemantic()
    rng = np.random.default_rng(0)
    for _ in range(5):
        P = W[rng.permutation(10)][:, rng.permutation(5)]
        assert regime(connections(P)) == "3 in 2"
        assert sorted(g.describe() for g in neuron_groups(connections(P))) == [
            "1 in 1", "1 in 1", "1 in 1", "3 in 2"]


def test_monosemantic_and_dead_neurons():
    W = np.zeros((10, 5))
    W[[4, 1, 0], [0, 2, 3]] = [1.0, 0.8, 0.5]  # neurons 1 and 4 dead
    links = connections(W)
    assert regime(links) == MONOSEMANTIC
    np.testing.assert_array_equal(features_per_neuron(links), [1, 0, 1, 1, 0])


def test_each_feature_on_a_pair_of_neurons():
    """The ten pairs of five neurons hold ten features: the sparsest regime of TMS 8."""
    W = np.zeros((10, 5))
    for i, (a, b) in enumerate(itertools.combinations(range(5), 2)):
        W[i, [a, b]] = 0.7
    assert privileged_basis.on_neuron_pairs(connections(W))
    assert regime(connections(W)) == "10 in 5"
    W[:2] = 0  # 8 features: not the pair regime
    assert not privileged_basis.on_neuron_pairs(connections(W))


def motif_model() -> tuple[np.ndarray, np.ndarray]:
    """4 features, 3 neurons: neuron 0 stores feature 0 (weight 2) and feature 1 (weight -0.5);
    neuron 1 reads feature 0 and writes -1 onto feature 1's output; neuron 2 reads feature 2."""
    W, W_out = np.zeros((4, 3)), np.zeros((4, 3))
    W[0, 0], W[1, 0], W[0, 1], W[2, 2] = 2.0, -0.5, 1.0, 1.0
    W_out[0, 0], W_out[1, 0], W_out[1, 1], W_out[2, 2] = 0.5, 2.0, -1.0, 1.0
    return W, W_out


def test_asymmetric_motif_found_and_its_parts_required():
    W, W_out = motif_model()
    assert absolute_value.asymmetric_motifs(W, W_out) == [
        {"neuron": 0, "strong": 0, "weak": 1, "weights": [2.0, -0.5], "inhibitors": [1]}]
    no_inhibitor = W_out.copy()
    no_inhibitor[1, 1] = 0.0
    assert absolute_value.asymmetric_motifs(W, no_inhibitor) == []
    symmetric = W.copy()
    symmetric[1, 0] = -1.5
    assert absolute_value.asymmetric_motifs(symmetric, W_out) == []


def test_sign_pairs_of_the_exact_abs_solution():
    W = np.concatenate([np.eye(3), -np.eye(3)], 1)
    assert absolute_value.sign_pairs(W) == {"positive": [1, 1, 1], "negative": [1, 1, 1],
                                            "features_per_neuron": [1] * 6}


def test_abs_model_learns_two_neurons_per_feature():
    """Learning threshold: n=3, m=6 trained 3,000 steps finds ReLU(x) and ReLU(-x) per feature."""
    sweep = absolute_value.sweep("quick")["n3_m6"]
    best = ts.run_sweep(sweep, progress=False).best_over("seed").dataset
    pairs = absolute_value.sign_pairs(best["W"].values)
    assert pairs == {"positive": [1, 1, 1], "negative": [1, 1, 1], "features_per_neuron": [1] * 6}
    assert float(best["loss"]) < 0.01  # predicting the mean |x| = 1/2 would cost 3/12 = 0.25


def test_privileged_basis_dense_is_monosemantic():
    """Learning threshold: at p = 1 the best of 24 restarts gives each of the top 5 features its
    own neuron."""
    sweep = privileged_basis.sweep("quick")
    sweep = ts.Sweep(sweep.model, sweep.train, axes={"seed": range(24)},
                     fixed=sweep.fixed | {"feature_probability": 1.0})
    best = ts.run_sweep(sweep, progress=False).best_over("seed").dataset
    links = connections(best["W"].values)
    assert regime(links) == MONOSEMANTIC
    np.testing.assert_array_equal(neurons_per_feature(links), [1] * 5 + [0] * 5)
