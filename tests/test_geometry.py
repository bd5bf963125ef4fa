"""Feature geometry against exact polytopes and invariants (TMS section 5)."""

import numpy as np
import pytest
import xarray as xr
from shapes import regular_polygon, tetrahedron

from toysuper.analysis import (
    dimensions_per_feature,
    feature_dimensionality,
    feature_norms,
    interference,
    represented,
    superposition,
)


@pytest.mark.parametrize(("W", "expected"), [
    (np.eye(3), 1.0),                          # dedicated dimensions
    (np.array([[1.0, 0], [-1.0, 0]]), 1 / 2),  # antipodal pair (digon)
    (regular_polygon(3), 2 / 3),               # triangle
    (regular_polygon(5), 2 / 5),               # pentagon
    (tetrahedron(), 3 / 4),                    # tetrahedron
])
def test_polytope_dimensionality(W, expected):
    np.testing.assert_allclose(feature_dimensionality(W), expected, rtol=1e-5)
    # D_i does not depend on the common scale or a rotation of the hidden space
    rot, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(W.shape[1],) * 2))
    np.testing.assert_allclose(feature_dimensionality(2.5 * W @ rot), expected, rtol=1e-5)


def test_dropped_feature_is_zero_not_nan():
    W = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    np.testing.assert_array_equal(feature_dimensionality(W), [1, 1, 0])
    np.testing.assert_array_equal(superposition(W), [0, 0, 0])
    assert dimensions_per_feature(np.zeros((4, 2))) == np.inf


def test_mixed_geometry_digon_plus_dedicated():
    # an antipodal pair in one dimension, a dedicated feature in the other, one dropped
    W = np.array([[1.0, 0, 0], [-1.0, 0, 0], [0, 1.0, 0], [0, 0, 0]])
    np.testing.assert_allclose(feature_dimensionality(W), [0.5, 0.5, 1, 0])
    np.testing.assert_allclose(superposition(W), [1, 1, 0, 0])
    assert represented(W).tolist() == [True, True, True, False]
    np.testing.assert_allclose(dimensions_per_feature(W), 3 / 3)


@pytest.mark.parametrize("m", [1, 2, 5, 12])
def test_sum_of_dimensionalities_at_most_m(m):
    W = np.random.default_rng(m).normal(size=(50, 20, m)) * np.random.default_rng(1).uniform(
        0, 2, size=(50, 20, 1))
    D = np.asarray(feature_dimensionality(W))
    assert D.shape == (50, 20)
    assert np.all((D >= 0) & (D <= 1 + 1e-6))
    assert np.all(D.sum(-1) <= m + 1e-4)


def test_leading_axes_and_formulas():
    rng = np.random.default_rng(3)
    W = rng.normal(size=(2, 3, 6, 4))
    np.testing.assert_allclose(feature_norms(W), np.linalg.norm(W, axis=-1), rtol=1e-6)
    gram = np.einsum("...ih,...jh->...ij", W, W)
    np.testing.assert_allclose(interference(W), gram, rtol=1e-5)
    unit = W / np.linalg.norm(W, axis=-1, keepdims=True)
    proj = np.einsum("...ih,...jh->...ij", unit, W) ** 2
    np.testing.assert_allclose(feature_dimensionality(W),
                               np.linalg.norm(W, axis=-1) ** 2 / proj.sum(-1), rtol=1e-4)
    off = proj.sum(-1) - np.diagonal(proj, axis1=-2, axis2=-1)
    np.testing.assert_allclose(superposition(W), off, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(dimensions_per_feature(W), 4 / (W**2).sum((-2, -1)), rtol=1e-5)


def test_analysis_of_a_dataarray_keeps_the_sweeps_dims():
    """`feature_dimensionality(ds["W"])` and friends: DataArray in, DataArray out with the sweep's
    dims and coordinates, the same numbers as on the bare array."""
    rng = np.random.default_rng(0)
    W = xr.DataArray(rng.normal(size=(3, 2, 5, 2)).astype(np.float32),
                     dims=("feature_probability", "seed", "feature", "hidden"),
                     coords={"feature_probability": [1.0, 0.1, 0.01], "seed": [0, 1],
                             "feature": np.arange(5), "hidden": np.arange(2)})
    W = W.assign_coords(sparsity=("feature_probability", [0.0, 0.9, 0.99]))
    for fn, dims in [(feature_dimensionality, ("feature",)), (feature_norms, ("feature",)),
                     (superposition, ("feature",)), (interference, ("feature", "other_feature")),
                     (dimensions_per_feature, ())]:
        out = fn(W)
        assert isinstance(out, xr.DataArray) and out.name == fn.__name__
        assert out.dims == ("feature_probability", "seed", *dims)
        np.testing.assert_allclose(out.values, np.asarray(fn(W.values)), rtol=1e-6)
        assert "sparsity" in out.coords and "hidden" not in out.coords
    assert feature_dimensionality(W).sel(seed=1, feature_probability=0.1).dims == ("feature",)
    with pytest.raises(ValueError, match=r"W\.dims"):
        feature_dimensionality(W.transpose("hidden", ...))
