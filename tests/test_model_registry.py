"""A new model kind is one registry entry: it trains, saves and loads through unchanged code."""

import dataclasses
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import struct

import toysuper as ts
from toysuper import results
from toysuper.data import sample_sparse_uniform_feature_major
from toysuper.models import MODEL_KINDS, ModelKind, xavier_normal


@struct.dataclass
class ScaledParams:
    W: jax.Array
    b: jax.Array
    scale: jax.Array


def init_scaled(key, cfg):
    return ScaledParams(W=xavier_normal(key, cfg.n_features, cfg.n_hidden),
                        b=jnp.zeros(cfg.n_features), scale=jnp.asarray(0.5))


def apply_scaled(params, x):
    return params.scale * (x @ params.W) @ params.W.T + params.b


TOY = ModelKind(init_scaled, apply_scaled, "x' = s x W W^T + b, trained to output 2x",
                target=lambda x: 2.0 * x,
                param_dims={"W": ("feature", "hidden"), "b": ("feature",), "scale": ()})


def test_toy_kind_trains_through_the_unchanged_sweep(monkeypatch, tmp_path):
    monkeypatch.setitem(MODEL_KINDS, "scaled_toy", TOY)
    sweep = ts.Sweep(ts.ModelConfig(3, 3, "scaled_toy"),
                     ts.TrainConfig(steps=1500, batch_size=256, log_every=100),
                     axes={"seed": range(2)}, fixed={"lr": 1e-2, "weight_decay": 0.0})
    ds = ts.run_sweep(sweep, out=tmp_path / "toy", progress=False).to_xarray()
    assert ds["scale"].dims == ("seed",) and ds["W"].dims == ("seed", "feature", "hidden")
    # learned: s W W^T = 2 I, the only zero-loss solution when every feature is dense
    for seed in range(2):
        s, W = float(ds["scale"][seed]), ds["W"].values[seed]
        np.testing.assert_allclose(s * W @ W.T, 2 * np.eye(3), atol=0.05)
    assert float(ds["loss"].max()) < 0.01 * float(ds["loss_history"].values[:, 0].min())
    loaded = ts.load(tmp_path / "toy").to_xarray()
    np.testing.assert_array_equal(loaded["scale"].values, ds["scale"].values)
    assert not loaded["diverged"].any()


def test_registering_a_kind_again_replaces_what_was_compiled(tmp_path):
    """The same name, another input distribution: the second sweep trains the new kind (the
    compiled code of the first is dropped) and a result directory of the first is stale."""
    saved = dict(MODEL_KINDS)
    scaled_up = dataclasses.replace(MODEL_KINDS["relu_output"],
                                    sample=lambda *a: 10 * sample_sparse_uniform_feature_major(*a))
    try:
        ts.register_kind("custom", MODEL_KINDS["relu_output"])
        sweep = ts.Sweep(ts.ModelConfig(3, 2, "custom"),
                         ts.TrainConfig(steps=200, batch_size=128, log_every=100),
                         fixed={"feature_probability": 0.5})
        plain = ts.run_sweep(sweep, out=tmp_path, progress=False)
        ts.register_kind("custom", scaled_up)
        assert results.stale(tmp_path)
        again = ts.run_sweep(sweep, out=tmp_path, progress=False)
        fresh = subprocess.run(
            [sys.executable, "-c", FRESH_PROCESS.format(steps=200)], capture_output=True,
            text=True, check=True).stdout
    finally:
        MODEL_KINDS.clear()
        MODEL_KINDS.update(saved)
    assert float(again.dataset["loss"]) == pytest.approx(float(fresh), rel=1e-5)
    assert float(again.dataset["loss"]) > 10 * float(plain.dataset["loss"])


FRESH_PROCESS = """
import dataclasses, toysuper as ts
from toysuper.data import sample_sparse_uniform_feature_major as sample
ts.register_kind("custom", dataclasses.replace(ts.MODEL_KINDS["relu_output"],
                                               sample=lambda *a: 10 * sample(*a)))
sweep = ts.Sweep(ts.ModelConfig(3, 2, "custom"), ts.TrainConfig(steps={steps}, batch_size=128,
                 log_every=100), fixed={{"feature_probability": 0.5}})
print(float(ts.run_sweep(sweep, progress=False).dataset["loss"]))
"""


@pytest.mark.parametrize(("name", "kind", "pattern"), [
    ("relu_output", TOY, "built-in"), ("", TOY, "non-empty"), ("new", "relu", "a ModelKind")])
def test_register_kind_bad_input(name, kind, pattern):
    with pytest.raises(ValueError, match=pattern):
        ts.register_kind(name, kind)


def test_a_registered_kinds_fingerprint_is_the_same_in_every_process():
    """A kind with lambdas and comprehensions inside: the same fingerprint in two processes (so
    its results are reused), another after a change of its code."""
    script = """
import dataclasses, toysuper as ts
from toysuper.models import MODEL_KINDS, kind_fingerprint
from toysuper.data import sample_sparse_uniform_feature_major as sample
ts.register_kind("c", dataclasses.replace(MODEL_KINDS["abs_mlp"],
                 sample=lambda *a: SCALE * [s for s in [sample(*a)]][0]))
print(kind_fingerprint("c"))
"""
    def fingerprint(scale):
        return subprocess.run([sys.executable, "-c", script.replace("SCALE", scale)],
                              capture_output=True, text=True, check=True).stdout.strip()

    assert fingerprint("2") == fingerprint("2") != fingerprint("3")
