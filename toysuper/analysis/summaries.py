"""What the paper's density figures show of any sweep over `feature_probability`: per density,
the weights' interference, superposition and dimensionality (TMS sections 2 and 5)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from toysuper.analysis.geometry import (
    dimensions_per_feature,
    feature_dimensionality,
    superposition,
)
from toysuper.analysis.polytopes import feature_labels, polytopes


def _weights(ds: xr.Dataset) -> np.ndarray:
    return ds["W"].transpose("feature_probability", "feature", "hidden").values


def sparsity_summary(ds: xr.Dataset) -> dict:
    """{"p": (density,), "W": (density, n, m), "superposition": (density, n)} of a Dataset with
    W (feature_probability, feature, hidden), e.g. `result.best_over("seed").dataset`: what
    `toysuper.plotting.sparsity.plot_sparsity_sweep` draws."""
    W = _weights(ds)
    return {"p": ds["feature_probability"].values, "W": W,
            "superposition": np.asarray(superposition(W))}


def dimensionality_summary(ds: xr.Dataset) -> dict:
    """{"p", "dstar": D* (density,), "D": D_i (density, n), "groups": each density's polytopes,
    "labels": each feature's polytope} of such a Dataset: what
    `toysuper.plotting.geometry.plot_dimensionality` draws."""
    W = _weights(ds)
    groups = [polytopes(w) for w in W]
    return {"p": ds["feature_probability"].values, "dstar": np.asarray(dimensions_per_feature(W)),
            "D": np.asarray(feature_dimensionality(W)), "groups": groups,
            "labels": [feature_labels(g, W.shape[1]) for g in groups]}
