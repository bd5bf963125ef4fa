"""Shared fixtures: small sweeps that train in seconds on CPU."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np
import pytest

import toysuper as ts


@pytest.fixture
def small_sweep():
    """2 densities x 3 seeds of the intro model, 200 steps."""
    return ts.Sweep(
        ts.ModelConfig(5, 2), ts.TrainConfig(steps=200, batch_size=256, log_every=50),
        axes={"feature_probability": np.array([1.0, 0.1]), "seed": range(3)},
        fixed={"importance": ts.decaying_importance(5, 0.9)},
    )
