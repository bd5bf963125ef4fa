"""Bad input gets a ValueError naming the field, the value and what is allowed, before compiling."""

import numpy as np
import pytest

import toysuper as ts


@pytest.mark.parametrize(("build", "field"), [
    (lambda: ts.ModelConfig(5, 0), "n_hidden"),
    (lambda: ts.ModelConfig(0, 2), "n_features"),
    (lambda: ts.ModelConfig(5, 2, "mlp"), "kind"),
    (lambda: ts.TrainConfig(steps=150, log_every=100), "steps"),
    (lambda: ts.TrainConfig(schedule="step"), "schedule"),
    (lambda: ts.TrainConfig(batch_size=0), "batch_size"),
    (lambda: ts.Hyper.create(3, feature_probability=0.0), "feature_probability"),
    (lambda: ts.Hyper.create(3, feature_probability=1.5), "feature_probability"),
    (lambda: ts.Hyper.create(3, importance=[1, 2]), "importance"),
    (lambda: ts.Hyper.create(3, lr=-1), "lr"),
    (lambda: ts.Hyper.create(3, seed=-2), "seed"),
    (lambda: ts.decaying_importance(5, 1.5), "decay"),
])
def test_config_errors_name_the_field(build, field):
    with pytest.raises(ValueError, match=field):
        build()


MODEL, TRAIN = ts.ModelConfig(5, 2), ts.TrainConfig(steps=100)


@pytest.mark.parametrize(("axes", "fixed", "message"), [
    ({"feature_probability": []}, {}, "non-empty"),
    ({"feature_probability": [0.5, 0.0]}, {}, r"feature_probability.*\(0, 1\]"),
    ({"momentum": [0.9]}, {}, "field"),
    ({"seed": [0]}, {"seed": 1}, "no axis sweeps"),
    ({"importance": np.ones((2, 5))}, {}, "a name other than"),
    ({"seed": [0]}, {"temperature": 1}, "fixed"),
])
def test_sweep_errors(axes, fixed, message):
    with pytest.raises(ValueError, match=message):
        ts.Sweep(MODEL, TRAIN, axes=axes, fixed=fixed)


def test_axis_vectors_must_match_n_features():
    with pytest.raises(ValueError, match="n_features=5"):
        ts.Sweep(MODEL, TRAIN, axes=(ts.Axis("r", np.ones((2, 4)), "importance"),))


def test_helpers():
    np.testing.assert_allclose(ts.power_space(20, 10)[[0, -1]], [1, 0.05], rtol=1e-6)
    np.testing.assert_allclose(ts.decaying_importance(3, 0.7), [1, 0.7, 0.49], rtol=1e-6)
