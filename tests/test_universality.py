"""Comparing geometries across seeds up to rotation, sign and symmetric permutations."""

import numpy as np
import pytest

from toysuper.analysis.universality import (
    entropy_bits,
    geometry_classes,
    geometry_name,
    gram_distance,
    symmetric_permutations,
)


def polygon(k, n, norm=1.0):
    angles = 2 * np.pi * np.arange(k) / k
    W = np.zeros((n, 2))
    W[:k] = norm * np.stack([np.cos(angles), np.sin(angles)], -1)
    return W


def rotation(theta, flip=False):
    R = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    return R @ np.diag([1, -1]) if flip else R


def test_same_geometry_up_to_rotation_sign_and_permutation():
    W = polygon(5, 6)
    perm = np.array([3, 0, 4, 1, 2, 5])
    other = W[perm] @ rotation(1.3, flip=True)
    perms = symmetric_permutations(np.ones(6))
    assert gram_distance(W, other, perms) < 1e-12
    assert gram_distance(W, polygon(6, 6), perms) > 0.3  # a hexagon is another geometry


def test_permutations_only_within_equal_importance():
    W = polygon(5, 5)
    swapped = W[[1, 0, 2, 3, 4]]
    distinct = np.arange(5, 0, -1.0)
    assert len(symmetric_permutations(distinct)) == 1
    assert gram_distance(W, swapped, symmetric_permutations(distinct)) > 0.1
    assert len(symmetric_permutations(np.array([1, 1, 2, 2, 2.0]))) == 2 * 6


def test_too_many_permutations_is_refused():
    with pytest.raises(ValueError, match="importance"):
        symmetric_permutations(np.ones(9))


def test_classes_and_entropy():
    rng = np.random.default_rng(0)
    models = [polygon(5, 6) @ rotation(rng.uniform(0, 6)) for _ in range(6)]
    models += [polygon(6, 6)[rng.permutation(6)] @ rotation(rng.uniform(0, 6)) for _ in range(2)]
    loss = np.array([2.0] * 6 + [1.0] * 2)
    labels, reps = geometry_classes(np.stack(models), np.ones(6), loss)
    assert labels.tolist() == [1] * 6 + [0] * 2 and len(reps) == 2  # class 0: lowest loss
    assert entropy_bits(labels) == pytest.approx(-(0.75 * np.log2(0.75) + 0.25 * np.log2(0.25)))
    assert entropy_bits(np.zeros(5)) == 0


def test_geometry_names():
    assert geometry_name(polygon(5, 6)) == "pentagon + 1 not learned"
    W = np.zeros((5, 2))
    W[0], W[1], W[2], W[3] = [1, 0], [-1, 0], [0, 1], [0, -1]
    assert geometry_name(W) == "2 x digon + 1 not learned"
