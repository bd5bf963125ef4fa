"""Polytope naming and tegum products on exact constructions, noisy ones, and mixtures."""

import numpy as np
import pytest
from shapes import direct_sum, embed, regular_polygon, square_antiprism, tetrahedron

from toysuper.analysis import feature_dimensionality
from toysuper.analysis.polytopes import (
    GROUP_COS,
    label_features,
    name_group,
    polytope_counts,
    polytopes,
)

SHAPES = {
    "dedicated": (np.eye(1), 1.0),
    "digon": (regular_polygon(2)[:, :1], 1 / 2),
    "triangle": (regular_polygon(3), 2 / 3),
    "tetrahedron": (tetrahedron(), 3 / 4),
    "pentagon": (regular_polygon(5), 2 / 5),
    "square antiprism": (square_antiprism(), 3 / 8),
    "6-gon": (regular_polygon(6), 1 / 3),
    "7-gon": (regular_polygon(7), 2 / 7),
}


@pytest.mark.parametrize("name", list(SHAPES))
@pytest.mark.parametrize("noise", [0.0, 0.02])
def test_uniform_polytopes_are_named_with_their_dimensionality(name, noise):
    shape, dim = SHAPES[name]
    rng = np.random.default_rng(0)
    W = embed(shape, 6, seed=1) * 0.9 + noise * rng.normal(size=(len(shape), 6))
    [poly] = polytopes(W)
    assert poly.name == name and poly.features == tuple(range(len(shape)))
    assert np.allclose(feature_dimensionality(W), dim, atol=0.05 if noise else 1e-6)


@pytest.mark.parametrize("factors, name", [
    (("triangle", "digon"), "triangular bipyramid"),
    (("digon", "digon", "digon"), "octahedron"),
    (("pentagon", "digon"), "pentagonal bipyramid"),
    (("digon", "digon"), "square"),
    (("pentagon", "triangle"), "pentagon x triangle"),
])
def test_tegum_products_factor_into_their_polytopes(factors, name):
    W = embed(direct_sum(*(SHAPES[f][0] for f in factors)), 7, seed=2)
    assert name_group(W) == name
    # D_i of a tegum product are those of its factors (TMS: 3 x 2/3 + 2 x 1/2 for a bipyramid)
    expected = np.concatenate([np.full(len(SHAPES[f][0]), SHAPES[f][1]) for f in factors])
    assert np.allclose(feature_dimensionality(W), expected, atol=1e-6)


def test_noisy_tegum_product_is_split_into_irreducible_groups():
    """A bipyramid whose digon leans a little towards the triangle: still a triangle and a
    digon, and still a tegum product."""
    rng = np.random.default_rng(3)
    W = direct_sum(SHAPES["triangle"][0], SHAPES["digon"][0])
    W[3:, 0] = [0.1, -0.1]  # the digon leans towards the triangle's plane
    W = embed(W, 5, seed=4)
    W = W + 0.01 * rng.normal(size=W.shape)
    unit = W / np.linalg.norm(W, axis=1, keepdims=True)
    cross = np.abs(unit[:3] @ unit[3:].T)
    assert 0.05 < cross.max() < GROUP_COS  # weak, not zero, interference between the factors
    assert sorted(p.name for p in polytopes(W)) == ["digon", "triangle"]
    assert name_group(W) == "triangular bipyramid"


def test_mixed_model_labels_every_feature():
    W = direct_sum(SHAPES["pentagon"][0], SHAPES["triangle"][0], SHAPES["digon"][0],
                   np.eye(1), np.zeros((2, 1)))
    W = embed(W, W.shape[1], seed=5)
    assert label_features(W) == (["pentagon"] * 5 + ["triangle"] * 3 + ["digon"] * 2
                                 + ["dedicated"] + ["not learned"] * 2)
    assert polytope_counts(W) == {"pentagon": 1, "triangle": 1, "digon": 1, "dedicated": 1}


def test_irregular_groups_are_unknown():
    rng = np.random.default_rng(6)
    W = rng.normal(size=(6, 3))
    assert [p.name for p in polytopes(W)] == ["unknown"]
    lopsided = regular_polygon(3) * np.array([[1.0], [1.0], [2.0]])  # a triangle with unequal norms
    assert name_group(lopsided) == "unknown"
